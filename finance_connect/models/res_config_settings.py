"""Retention of the message log per class, in the Invoicing settings."""

from odoo import fields, models


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
