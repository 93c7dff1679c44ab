"""One delivery or processing attempt of an integration message."""

from odoo import fields, models


class FinanceConnectMessageAttempt(models.Model):
    _name = "finance.connect.message.attempt"
    _description = "Finance Connect message attempt"
    _order = "id"

    message_id = fields.Many2one(
        "finance.connect.message", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="message_id.company_id", store=True)
    at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    http_status = fields.Integer(string="HTTP status")
    latency_ms = fields.Float(string="Latency (ms)")
    outcome = fields.Selection(
        [("done", "Done"), ("retry", "Will retry"), ("fail", "Failed")], required=True
    )
    error = fields.Text(string="Error excerpt")
    retry_in = fields.Integer(string="Retry in (s)")
