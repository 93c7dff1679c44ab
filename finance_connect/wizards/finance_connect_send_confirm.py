"""Send again: "Send now" on records that were sent already asks first."""

from odoo import api, fields, models
from odoo.exceptions import UserError

MIXIN = "finance.connect.integration.mixin"


class FinanceConnectSendConfirm(models.TransientModel):
    _name = "finance.connect.send.confirm"
    _description = "Send records again"

    res_model = fields.Char(required=True, readonly=True)
    res_ids = fields.Json(required=True, readonly=True)
    summary = fields.Text(readonly=True)

    @api.model
    def _for(self, records, summary):
        return self.create({"res_model": records._name, "res_ids": records.ids, "summary": summary})

    def _records(self):
        self.ensure_one()
        if self.res_model not in self.pool[MIXIN]._inherit_children:
            raise UserError(self.env._("These records cannot be sent."))
        ids = [i for i in (self.res_ids or []) if isinstance(i, int)]
        return self.env[self.res_model].browse(ids).exists()

    def action_send_again(self):
        """Send the records again (their own write access is checked there)."""
        records = self._records()
        return records.with_context(fc_send_again=True).action_fc_send_now()
