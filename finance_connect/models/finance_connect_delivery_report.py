"""Delivery statistics: one read-only row per attempt, for the dashboard's
graph and pivot views (throughput, failure rate and latency over time, per
connection). A SQL query over the attempts and their messages, no table."""

from odoo import fields, models
from odoo.tools import SQL

from .finance_connect_metrics import STATUS_CLASS_SQL


class FinanceConnectDeliveryReport(models.Model):
    _name = "finance.connect.delivery.report"
    _description = "Finance Connect delivery statistics"
    _auto = False
    _rec_name = "at"
    _order = "at desc"

    at = fields.Datetime(string="When", readonly=True)
    connection_id = fields.Many2one("finance.connect.connection", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    direction = fields.Selection([("out", "Outbound"), ("in", "Inbound")], readonly=True)
    event_type = fields.Char(readonly=True)
    status_class = fields.Selection(
        [
            ("1xx", "1xx"),
            ("2xx", "2xx"),
            ("3xx", "3xx"),
            ("4xx", "4xx"),
            ("5xx", "5xx"),
            ("none", "No HTTP answer"),
        ],
        string="HTTP status class",
        readonly=True,
    )
    outcome = fields.Selection(
        [("done", "Done"), ("retry", "Will retry"), ("fail", "Failed")], readonly=True
    )
    delivered = fields.Integer(readonly=True)
    failed = fields.Integer(string="Failures", readonly=True)
    # The mean of the rows' 0 / 100 is the failure rate of a group.
    failure_rate = fields.Float(string="Failure rate (%)", readonly=True, aggregator="avg")
    latency_ms = fields.Float(string="Mean latency (ms)", readonly=True, aggregator="avg")

    _depends = {
        "finance.connect.message.attempt": [
            "at",
            "company_id",
            "http_status",
            "latency_ms",
            "message_id",
            "outcome",
        ],
        "finance.connect.message": ["connection_id", "direction", "event_type"],
    }

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT a.id, a.at, m.connection_id, a.company_id, m.direction, m.event_type,
                   %(klass)s AS status_class, a.outcome,
                   (a.outcome = 'done')::int AS delivered,
                   (a.outcome <> 'done')::int AS failed,
                   CASE WHEN a.outcome = 'done' THEN 0.0 ELSE 100.0 END AS failure_rate,
                   a.latency_ms
              FROM finance_connect_message_attempt a
              JOIN finance_connect_message m ON m.id = a.message_id
            """,
            klass=STATUS_CLASS_SQL,
        )
