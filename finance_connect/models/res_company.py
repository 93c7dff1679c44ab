"""The company switch of the four-eyes control."""

from odoo import api, fields, models
from odoo.exceptions import AccessError

ADMIN_GROUP = "finance_connect.group_administrator"


class ResCompany(models.Model):
    _name = "res.company"
    _inherit = ["res.company", "finance.connect.four.eyes.mixin"]
    # An approved request to turn four-eyes off is written as superuser: the
    # approving Finance Connect administrator need not administer Odoo's companies.
    _fc_four_eyes_apply_sudo = True

    fc_four_eyes = fields.Boolean(
        string="Four-eyes control",
        default=True,
        help="Changes of production connections' endpoints, authentication and secrets, of "
        "their account, journal and bank account mappings, and of bank CSV profiles take "
        "effect once a second person approves them; pain.001 batches are sent by another "
        "user than the one who created them. Turning it off is itself approved by another "
        "Finance Connect administrator.",
    )

    @api.model
    def _fc_four_eyes_fields(self):
        return frozenset({"fc_four_eyes"})

    def _fc_four_eyes_on(self, vals=None):
        """Turning four-eyes on takes effect at once; turning it off is guarded."""
        if vals is not None and vals.get("fc_four_eyes"):
            return self.browse()
        return self.filtered("fc_four_eyes")

    def _fc_four_eyes_scope(self, vals=None):
        return {"company_id": self.id}

    def write(self, vals):
        if "fc_four_eyes" in vals and not self.env.su:
            if not self.env.user.has_group(ADMIN_GROUP):
                raise AccessError(
                    self.env._("Only Finance Connect administrators switch the four-eyes control.")
                )
        held = self._fc_four_eyes_write(vals)
        if held is not None:
            return held
        return super().write(vals)
