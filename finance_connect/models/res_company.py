"""The company's Finance Connect settings: the four-eyes switch, and the
retention of the message log per message class."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

ADMIN_GROUP = "finance_connect.group_administrator"


#: Retention class of a message (``finance.connect.message.retention_class``)
#: -> the company field holding its retention in days.
RETENTION_DAY_FIELDS = {
    "statement": "fc_retention_statement_days",
    "payment_file": "fc_retention_payment_file_days",
    "feed": "fc_retention_feed_days",
    "webhook": "fc_retention_webhook_days",
    "other": "fc_retention_other_days",
}
RETENTION_HELP = (
    "Days after which the delivered messages of this class are archived (hidden from "
    "the log, never deleted: their payload and hash stay). 0: the system default "
    "(finance_connect.retention_days, 90 days)."
)


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

    fc_retention_statement_days = fields.Integer(
        string="Retention of bank statements (days)", help=RETENTION_HELP
    )
    fc_retention_payment_file_days = fields.Integer(
        string="Retention of payment files (days)", help=RETENTION_HELP
    )
    fc_retention_feed_days = fields.Integer(
        string="Retention of feed deliveries (days)", help=RETENTION_HELP
    )
    fc_retention_webhook_days = fields.Integer(
        string="Retention of received webhooks (days)", help=RETENTION_HELP
    )
    fc_retention_other_days = fields.Integer(
        string="Retention of other messages (days)", help=RETENTION_HELP
    )

    @api.constrains(*RETENTION_DAY_FIELDS.values())
    def _check_fc_retention_days(self):
        for company in self:
            for name in RETENTION_DAY_FIELDS.values():
                if company[name] < 0:
                    raise ValidationError(
                        self.env._(
                            "%(field)s cannot be negative: enter a number of days, or 0 "
                            "for the system default.",
                            field=self._fields[name].string,
                        )
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
