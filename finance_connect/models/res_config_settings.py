"""Settings: the company's four-eyes control (turning it off is a change request)
and the retention of the message log per class (Invoicing settings)."""

from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    fc_retention_statement_days = fields.Integer(
        related="company_id.fc_retention_statement_days", readonly=False
    )
    fc_retention_payment_file_days = fields.Integer(
        related="company_id.fc_retention_payment_file_days", readonly=False
    )
    fc_retention_feed_days = fields.Integer(
        related="company_id.fc_retention_feed_days", readonly=False
    )
    fc_retention_webhook_days = fields.Integer(
        related="company_id.fc_retention_webhook_days", readonly=False
    )
    fc_retention_other_days = fields.Integer(
        related="company_id.fc_retention_other_days", readonly=False
    )
    fc_four_eyes = fields.Boolean(
        string="Four-eyes control",
        compute="_compute_fc_four_eyes",
        store=True,
        readonly=False,
        help="Guarded changes of production connections, their money mappings and bank CSV "
        "profiles wait for a second person's approval; turning this off does too.",
    )
    fc_four_eyes_reason = fields.Char(
        string="Reason for turning four-eyes off",
        help="Turning four-eyes off opens a change request with this reason; another "
        "Finance Connect administrator approves it.",
    )

    @api.depends("company_id")
    def _compute_fc_four_eyes(self):
        for settings in self:
            settings.fc_four_eyes = settings.company_id.fc_four_eyes

    def set_values(self):
        res = super().set_values()
        for settings in self:
            if settings.company_id.fc_four_eyes != settings.fc_four_eyes:
                settings.company_id.with_context(
                    fc_change_reason=settings.fc_four_eyes_reason
                ).write({"fc_four_eyes": settings.fc_four_eyes})
        return res
