"""Lines of a payment batch: one payment each, with its end-to-end id and bank status.

A payment is in at most one batch that is not rejected: a partial unique
index enforces it. Lines are written by the engine only (the batch's buttons
and the bank's status reports).
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL


class FinanceConnectPaymentBatchLine(models.Model):
    _name = "finance.connect.payment.batch.line"
    _description = "Finance Connect payment batch line"

    batch_id = fields.Many2one(
        "finance.connect.payment.batch", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="batch_id.company_id", store=True)
    payment_id = fields.Many2one("account.payment", required=True, ondelete="restrict", index=True)
    end_to_end_id = fields.Char(readonly=True)
    amount = fields.Monetary(related="payment_id.amount")
    currency_id = fields.Many2one(related="payment_id.currency_id")
    partner_id = fields.Many2one(related="payment_id.partner_id")
    state = fields.Selection(
        [("pending", "Pending"), ("accepted", "Accepted"), ("rejected", "Rejected")],
        default="pending",
        required=True,
        readonly=True,
    )
    reason = fields.Char(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(self.env._("Payment batch lines are added by Finance Connect only."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            raise AccessError(
                self.env._("Payment batch lines change only through the bank's status reports.")
            )
        return super().write(vals)

    def init(self):
        # A payment is in at most one batch that is not rejected.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (payment_id) WHERE state != 'rejected'",
                SQL.identifier("finance_connect_payment_batch_line_payment_uniq"),
                SQL.identifier(self._table),
            )
        )
