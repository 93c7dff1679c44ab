"""Ignore exceptions with a reason."""

from odoo import fields, models


class FinanceConnectExceptionIgnore(models.TransientModel):
    _name = "finance.connect.exception.ignore"
    _description = "Ignore Finance Connect exceptions"

    exception_ids = fields.Many2many("finance.connect.exception")
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.exception_ids._ignore(self.reason)
        return {"type": "ir.actions.act_window_close"}
