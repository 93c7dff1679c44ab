"""Append-only audit trail of what people and the engine did."""

from odoo import api, fields, models
from odoo.exceptions import UserError


class FinanceConnectAudit(models.Model):
    _name = "finance.connect.audit"
    _inherit = ["finance.connect.log.chained.mixin"]
    _description = "Finance Connect audit trail"
    _order = "id desc"
    # The canonical content of the tamper-evident log (readme/DEVELOP.md).
    _log_chain_fields = (
        "id",
        "company_id",
        "user_id",
        "res_model",
        "res_id",
        "action",
        "detail",
        "create_date",
        "create_uid",
    )

    create_date = fields.Datetime(string="When", readonly=True, index=True)
    user_id = fields.Many2one("res.users", string="Who", readonly=True, index=True)
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    res_model = fields.Char(string="Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(model_field="res_model", readonly=True, index=True)
    action = fields.Char(readonly=True, required=True)
    detail = fields.Text(readonly=True)

    @api.model
    def _log(self, record, action, detail="", company=None):
        """Append one audit line about ``record`` (never a secret in ``detail``)."""
        if company is None:
            company = record.company_id if "company_id" in record._fields else None
        return self.sudo().create(
            {
                "user_id": self.env.uid,
                "company_id": company.id if company else False,
                "res_model": record._name if record else False,
                "res_id": record.id if record else False,
                "action": action,
                "detail": detail or False,
            }
        )

    def write(self, vals):  # pylint: disable=method-required-super
        # Append-only by design: no super(), nothing is ever changed.
        raise UserError(self.env._("The audit trail cannot be changed."))

    def unlink(self):  # pylint: disable=method-required-super,no-raise-unlink
        # Append-only by design: the audit trail is never deleted.
        raise UserError(  # pylint: disable=no-raise-unlink
            self.env._("The audit trail cannot be deleted.")
        )
