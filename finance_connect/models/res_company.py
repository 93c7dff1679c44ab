"""Retention of the message log per message class, per company."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

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
    _inherit = "res.company"

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
