"""One delivery or processing attempt of an integration message."""

from odoo import fields, models


class FinanceConnectMessageAttempt(models.Model):
    _name = "finance.connect.message.attempt"
    _inherit = ["finance.connect.log.chained.mixin"]
    _description = "Finance Connect message attempt"
    _order = "id"
    # The canonical content of the tamper-evident log (readme/DEVELOP.md).
    _log_chain_fields = (
        "id",
        "company_id",
        "message_id",
        "at",
        "http_status",
        "latency_ms",
        "outcome",
        "error",
        "retry_in",
        "create_date",
        "create_uid",
    )

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
