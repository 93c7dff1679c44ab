"""Match by hand: an unmatched bank line and the counterpart the accountant picks."""

from odoo import api, fields, models
from odoo.exceptions import UserError


class FinanceConnectBankMatchWizard(models.TransientModel):
    _name = "finance.connect.bank.match.wizard"
    _description = "Match a bank line by hand"

    line_id = fields.Many2one(
        "account.bank.statement.line", string="Bank line", required=True, readonly=True
    )
    company_id = fields.Many2one(related="line_id.company_id")
    currency_id = fields.Many2one(related="line_id.currency_id")
    amount = fields.Monetary(related="line_id.amount")
    payment_ref = fields.Char(related="line_id.payment_ref", string="Label")
    partner_id = fields.Many2one(related="line_id.partner_id")
    date = fields.Date(related="line_id.date")
    candidate_ids = fields.Many2many(
        "account.move.line",
        compute="_compute_candidate_ids",
        string="Candidates",
        help="Open receivable and payable items: the proposed one, then the partner's items "
        "of the same amount, the partner's others, other items of the same amount.",
    )
    counterpart_id = fields.Many2one(
        "account.move.line",
        string="Match with",
        domain="[('company_id', '=', company_id), ('parent_state', '=', 'posted'), "
        "('reconciled', '=', False), ('account_id.reconcile', '=', True), "
        "('account_id.account_type', 'in', ('asset_receivable', 'liability_payable'))]",
    )

    @api.depends("line_id")
    def _compute_candidate_ids(self):
        matcher = self.env["finance.connect.bank.matcher"]
        for wizard in self:
            wizard.candidate_ids = matcher._candidates(wizard.line_id) if wizard.line_id else False

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        for wizard in wizards:
            wizard.line_id.check_access("write")
            if not wizard.counterpart_id:
                wizard.counterpart_id = wizard.candidate_ids[:1]
        return wizards

    def action_match(self):
        """Reconcile the bank line with the chosen counterpart."""
        self.ensure_one()
        line, item = self.line_id, self.counterpart_id
        if not item:
            raise UserError(self.env._("Choose the item this bank line pays or settles."))
        line.check_access("write")
        item.check_access("write")
        self.env["finance.connect.bank.matcher"]._match_by_hand(line, item)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Matched by hand"),
                "message": self.env._(
                    "%(line)s is reconciled with %(item)s.",
                    line=line.payment_ref or line.display_name,
                    item=item.display_name,
                ),
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
