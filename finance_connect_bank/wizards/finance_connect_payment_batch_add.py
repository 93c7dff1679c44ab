"""Add payments to a draft payment batch, from the batch's form."""

from odoo import api, fields, models
from odoo.exceptions import UserError


class FinanceConnectPaymentBatchAdd(models.TransientModel):
    _name = "finance.connect.payment.batch.add"
    _description = "Add payments to a payment batch"

    batch_id = fields.Many2one("finance.connect.payment.batch", required=True, readonly=True)
    journal_id = fields.Many2one(related="batch_id.journal_id")
    candidate_ids = fields.Many2many(
        "account.payment",
        compute="_compute_candidate_ids",
        string="Payments that may be added",
    )
    payment_ids = fields.Many2many(
        "account.payment",
        string="Payments",
        domain="[('id', 'in', candidate_ids)]",
        help="Posted vendor payments of the batch's journal that are in no other batch.",
    )

    @api.depends("batch_id")
    def _compute_candidate_ids(self):
        Batch = self.env["finance.connect.payment.batch"].sudo()
        for wizard in self:
            payments = self.env["account.payment"].search(
                [
                    ("journal_id", "=", wizard.batch_id.journal_id.id),
                    ("payment_type", "=", "outbound"),
                    ("partner_type", "=", "supplier"),
                    ("state", "in", ("in_process", "paid")),
                ]
            )
            wizard.candidate_ids = payments - Batch._open_batch_lines(payments).payment_id

    def action_add(self):
        """Add the chosen payments (checked: vendor payments, bank accounts, one batch)."""
        self.ensure_one()
        batch = self.batch_id
        batch._check_act()
        if batch.state != "draft":
            raise UserError(self.env._("Batch %(name)s was sent already.", name=batch.name))
        if not self.payment_ids:
            raise UserError(self.env._("Choose the payments to add."))
        batch._check_payments(self.payment_ids, batch.journal_id)
        added = batch._add_payments(self.payment_ids)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": batch.name,
                "message": self.env._(
                    "%(n)s payment(s) added: %(count)s in the batch, %(amount)s.",
                    n=len(added),
                    count=len(batch.line_ids),
                    amount=batch.currency_id.format(batch.amount_total),
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
