"""Inbound webhook requests that were refused, counted per connection.

A refused request is never stored as an integration message: only when, from
where and why it was refused is kept here (never its body or headers). The
rows feed the connection's inbound rate limit and the burst alarm (too many
signature failures in a short window open one exception, ``_check_burst``),
and are purged after a retention period.
"""

import math
import threading
import time
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..lib.webhook_inbound import RATE_WINDOW_SECONDS

REASONS = [
    ("unknown_token", "Unknown token"),
    ("paused", "Connection paused or archived"),
    ("too_large", "Body too large"),
    ("unsupported_content_type", "Unsupported content type"),
    ("malformed", "Malformed signature headers"),
    ("missing_signature", "Missing signature"),
    ("bad_signature", "Wrong signature"),
    ("stale_timestamp", "Timestamp out of tolerance"),
    ("not_configured", "No secret or key configured"),
    ("malformed_body", "Body is not its content type"),
    ("invalid", "Refused by the verifier"),
]
#: Reasons that count towards the burst alarm: failed authentication attempts.
SIGNATURE_REASONS = (
    "malformed",
    "missing_signature",
    "bad_signature",
    "stale_timestamp",
    "not_configured",
    "invalid",
)
#: Unknown-token refusals are aggregated per worker: at most one row per
#: this many seconds, carrying how many requests it stands for.
UNKNOWN_TOKEN_FLUSH_SECONDS = 60


class _UnknownTokenTally:
    """Per-process count of unknown-token refusals not yet written."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = 0
        self.flushed_at = None

    def add(self, now):
        """Count one; return how many to write now (0: keep counting)."""
        with self.lock:
            self.pending += 1
            if self.flushed_at is not None and now - self.flushed_at < UNKNOWN_TOKEN_FLUSH_SECONDS:
                return 0
            count, self.pending, self.flushed_at = self.pending, 0, now
            return count


_UNKNOWN_TALLY = _UnknownTokenTally()


class FinanceConnectWebhookRejection(models.Model):
    _name = "finance.connect.webhook.rejection"
    _description = "Finance Connect refused inbound webhook"
    _order = "id desc"
    _rec_name = "reason"

    connection_id = fields.Many2one(
        "finance.connect.connection",
        readonly=True,
        ondelete="cascade",
        help="Empty when the token in the URL belongs to no connection.",
    )
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    reason = fields.Selection(REASONS, required=True, readonly=True, index=True)
    http_status = fields.Integer(string="HTTP status", readonly=True)
    remote_addr = fields.Char(string="Remote address", readonly=True)
    request_count = fields.Integer(
        string="Requests",
        default=1,
        readonly=True,
        help="How many refused requests this row stands for (unknown tokens are "
        "counted together, one row per worker and minute at most).",
    )

    def init(self):
        res = super().init()
        # The rate limit and the burst alarm count a connection's recent rows.
        tools.create_index(
            self.env.cr,
            "finance_connect_webhook_rejection_connection_at_idx",
            self._table,
            ["connection_id", "at"],
        )
        return res

    @api.model
    def _record(self, connection, reason, status, remote_addr, company_id=None):
        """Count one refused request (``connection`` may be empty)."""
        if reason not in dict(REASONS):
            reason = "invalid"
        if company_id is None:
            company_id = connection.company_id.id if connection else False
        return self.sudo().create(
            {
                "connection_id": connection.id if connection else False,
                "company_id": company_id,
                "reason": reason,
                "http_status": status,
                "remote_addr": (remote_addr or "")[:64] or False,
            }
        )

    @api.model
    def _record_unknown_token(self, remote_addr):
        """Count one request with a token of no connection: written as one row
        per worker and minute at most (a flood of guesses costs no row each)."""
        count = _UNKNOWN_TALLY.add(time.monotonic())
        if not count:
            return self.browse()
        record = self._record(
            self.env["finance.connect.connection"],
            "unknown_token",
            404,
            remote_addr,
            company_id=False,
        )
        record.request_count = count
        return record

    @api.model
    def _count_recent(self, connection, seconds, reasons=None):
        """Rows of ``connection`` in the last ``seconds`` (optionally of ``reasons``)."""
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM finance_connect_webhook_rejection
                 WHERE connection_id = %s AND at > %s%s
                """,
                connection.id or 0,
                fields.Datetime.now() - timedelta(seconds=seconds),
                SQL(" AND reason IN %s", tuple(reasons)) if reasons else SQL(),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _count_requests(self, connection):
        """Inbound messages + counted rejections of ``connection`` in the rate
        limit's window: ``(count, age in seconds of the oldest)``."""
        since = fields.Datetime.now() - timedelta(seconds=RATE_WINDOW_SECONDS)
        self.env["finance.connect.message"].flush_model(["create_date"])
        self.flush_model(["at"])
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*), min(t) FROM (
                    SELECT create_date AS t FROM finance_connect_message
                     WHERE connection_id = %(conn)s AND direction = 'in'
                       AND create_date > %(since)s
                    UNION ALL
                    SELECT at FROM finance_connect_webhook_rejection
                     WHERE connection_id = %(conn)s AND at > %(since)s
                ) recent
                """,
                conn=connection.id,
                since=since,
            )
        )
        count, oldest = self.env.cr.fetchone()
        age = (fields.Datetime.now() - oldest).total_seconds() if oldest else 0
        return count, age

    @api.model
    def _get_burst_settings(self):
        """``(threshold, window in seconds)`` of the rejection alarm."""
        ICP = self.env["ir.config_parameter"].sudo()
        try:
            threshold = int(ICP.get_param("finance_connect.webhook_rejection_burst", 20))
            window = int(ICP.get_param("finance_connect.webhook_rejection_window", 300))
        except ValueError:
            threshold, window = 20, 300
        return max(threshold, 1), max(window, 1)

    @api.model
    def _check_burst(self, connection):
        """Open one "signature" exception when more than the threshold of
        signature failures reached ``connection`` within the window; nothing
        while it is open."""
        threshold, window = self._get_burst_settings()
        count = self._count_recent(connection, window, SIGNATURE_REASONS)
        if count <= threshold:
            return None
        Exception_ = self.env["finance.connect.exception"].sudo()
        fingerprint = f"webhook_rejections:{connection.id}"
        domain = [("fingerprint", "=", fingerprint), ("state", "in", ("open", "in_progress"))]
        if Exception_.search_count(domain, limit=1):
            return None
        # Two requests crossing the threshold at once: this update makes the
        # later transaction fail with a serialization error; the receiver runs
        # it again on a fresh snapshot, where it sees the first exception.
        self.env.cr.execute(
            SQL(
                "UPDATE finance_connect_connection SET webhook_rejection_alert_at = %s"
                " WHERE id = %s",
                fields.Datetime.now(),
                connection.id,
            )
        )
        connection.invalidate_recordset(["webhook_rejection_alert_at"])
        minutes = max(1, math.ceil(window / 60))
        return Exception_._open(
            "signature",
            self.env._("Refused webhooks: %(conn)s", conn=connection.display_name),
            self.env._(
                "%(count)s webhooks sent to %(conn)s were refused for a missing or "
                "wrong signature within %(minutes)s minutes. Either the sender uses "
                "an old or wrong secret (check the secret and its rotation at the "
                "sender) or someone who knows the webhook URL is probing it (give "
                "the connection a new webhook URL). The refused requests are listed "
                "under Webhook rejections; none of them was stored.",
                count=count,
                conn=connection.display_name,
                minutes=minutes,
            ),
            connection=connection,
            fingerprint=fingerprint,
        )

    @api.model
    def _cron_purge(self):
        """Delete rows older than ``finance_connect.webhook_rejection_retention_days``."""
        days = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("finance_connect.webhook_rejection_retention_days", 30)
        )
        old = self.sudo().search([("at", "<", fields.Datetime.now() - timedelta(days=days))])
        old.unlink()
        return len(old)
