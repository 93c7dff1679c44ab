"""Rolled-up counts of the settled part of the message log, for the metrics
endpoint (``finance.connect.metrics``).

A scrape must answer in well under a second with a million messages in the
log, which a ``GROUP BY`` over the whole log cannot do. So the log is split at
a *horizon* (a timestamp): rows created before it are counted once, by the
fold cron, into the rows of this table; a scrape adds the rows created since
(the tail, found through the ``create_date`` indexes created below). Messages
and attempts are never deleted, their connection, direction and company never
change and attempts never change at all, so the folded counts stay true.

One row per company, connection, direction and ``kind``: ``messages`` rows
count messages (``message_count``), ``attempts`` rows hold the attempts of one
HTTP status class (``aggregate``, see ``lib.metrics.AttemptAggregate``). One
``horizon`` row holds the horizon and the bucket layout the aggregates use.
Written by the engine only (``_cron_fold_metrics``): no group reads it.
"""

from odoo import fields, models
from odoo.tools import SQL


class FinanceConnectMetricsRollup(models.Model):
    _name = "finance.connect.metrics.rollup"
    _description = "Finance Connect metrics rollup"
    _log_access = False

    kind = fields.Selection(
        [("horizon", "Horizon"), ("messages", "Messages"), ("attempts", "Attempts")],
        required=True,
        readonly=True,
    )
    company_id = fields.Many2one("res.company", readonly=True, ondelete="cascade", index=True)
    connection_id = fields.Many2one("finance.connect.connection", readonly=True, ondelete="cascade")
    direction = fields.Char(readonly=True)
    status_class = fields.Char(readonly=True)
    message_count = fields.Integer(readonly=True)
    aggregate = fields.Json(readonly=True)
    horizon = fields.Datetime(
        readonly=True, help="Rows created before this instant are counted in the rollup."
    )
    layout = fields.Char(readonly=True, help="Latency buckets of the folded aggregates.")

    def init(self):
        # One row per key (the horizon row's key is all empty).
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS finance_connect_metrics_rollup_key_uniq"
                " ON finance_connect_metrics_rollup (kind, coalesce(company_id, 0),"
                " coalesce(connection_id, 0), coalesce(direction, ''),"
                " coalesce(status_class, ''))"
            )
        )
        # The scrape reads the tail of the log (rows created since the horizon)
        # and the messages that are not done (few, next to the done ones): both
        # through these indexes, never through the whole log.
        cr = self.env.cr
        cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS finance_connect_message_create_date_idx"
                " ON finance_connect_message (create_date)"
            )
        )
        cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS finance_connect_message_attempt_create_date_idx"
                " ON finance_connect_message_attempt (create_date)"
            )
        )
        cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS finance_connect_message_not_done_idx"
                " ON finance_connect_message (company_id, connection_id, direction, state)"
                " INCLUDE (create_date) WHERE state <> 'done'"
            )
        )
