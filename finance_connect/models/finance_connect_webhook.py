"""Signed inbound webhooks: verify, store, acknowledge fast, process once.

``POST /finance_connect/webhook/<token>`` (``controllers/webhook.py``) reads the
raw request once and hands it to :meth:`FinanceConnectConnection._webhook_receive`,
which returns ``(status, JSON body, extra headers)``:

======  =====================================================================
status  when
======  =====================================================================
202     stored as a new inbound message; its processing job is queued
200     the same webhook-id (or provider event id) was stored before: the
        original reference is answered and nothing changes
400     malformed signature headers, or a body that is not its content type
401     missing or wrong signature, stale timestamp, no secret configured
404     unknown, archived or paused token: same body as 401, answered
        before the body is read (``_webhook_preflight``)
413     body over the connection's ``max_body_kib``
415     content type (or CSV charset) not accepted
429     over ``rate_limit_per_minute`` (messages + rejections of the last
        60 s), with ``Retry-After``
503     a concurrent duplicate could not be read back yet (``Retry-After: 1``)
======  =====================================================================

Order of the checks: token and declared size (before the body is read), rate
limit, size, content type, signature, body.
Nothing is parsed before the signature is verified except the content type.
Refused requests are not stored as messages; they are counted in
``finance.connect.webhook.rejection`` (429s are not, and unknown tokens only
as one aggregated row per worker and minute: a flood must not cost a row per
request) and a burst of failed signatures opens one exception.

Hot path: the token index and each connection's settings (verifier, keys,
limits, secrets still encrypted) are cached per worker (``ormcache``) and
dropped in every worker when a connection or a secret changes; the exact rate
limit count runs only once the worker's own sliding window nears the limit. A
new message costs one INSERT (in a savepoint, against the unique key) and one
queue.job.

Extension points (EXTEND in other addons):

- ``_webhook_get_verifier``: another signature scheme (add it to
  ``lib.signing.VERIFIERS`` and to the ``webhook_verifier`` selection);
- ``_webhook_secret_candidates``: more secrets that may sign;
- ``_webhook_event_type``: read the event type of another body format;
- ``_webhook_prepare_message_vals``: more values on the stored message;
- handlers of the stored messages: ``finance.connect.handler._get_handlers``.
"""

import logging
import math
from datetime import timedelta
from typing import NamedTuple

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import config, frozendict

from ..exceptions import WebhookNotConfigured
from ..lib import signing
from ..lib import webhook_inbound as inbound
from ..lib.payloads import sha256_hex
from ..lib.secretbox import SecretBoxError
from .finance_connect_connection import hash_token
from .finance_connect_webhook_rejection import SIGNATURE_REASONS

_logger = logging.getLogger(__name__)

#: Largest body the route reads at all (``max_body_kib`` cannot exceed it).
HARD_LIMIT_BYTES = 64 * 1024 * 1024
RATE_WINDOW_SECONDS = 60

UNAUTHORIZED = {
    "error": "unauthorized",
    "message": "The request could not be authenticated.",
}
BAD_REQUEST = {"error": "bad_request", "message": "The request is malformed."}

#: Fields whose change drops the cached webhook settings of every worker.
WEBHOOK_SETTING_FIELDS = frozenset(
    {
        "webhook_token_hash",
        "active",
        "paused",
        "company_id",
        "webhook_verifier",
        "webhook_public_key",
        "webhook_tolerance",
        "max_body_kib",
        "rate_limit_per_minute",
        "webhook_previous_expiry",
        "webhook_secret",
    }
)

#: Secrets (``finance.connect.secret`` names) the webhook route uses.
WEBHOOK_SECRET_NAMES = frozenset({"webhook_secret", "webhook_secret_previous"})

#: Requests seen by this worker per connection (a cheap pre-check before the
#: exact rate limit count in the database).
_LOCAL_WINDOW = inbound.SlidingWindowCounter(RATE_WINDOW_SECONDS)


class WebhookSettings(NamedTuple):
    """Cached, read-only view of a connection for the webhook route."""

    connection_id: int
    company_id: int
    usable: bool
    verifier: str
    public_keys: tuple
    tolerance: int
    max_body_bytes: int
    rate_limit: int
    secrets: tuple


class FinanceConnectConnection(models.Model):
    _inherit = "finance.connect.connection"  # pylint: disable=consider-merging-classes-inherited

    webhook_rejection_alert_at = fields.Datetime(
        string="Last rejection alarm",
        readonly=True,
        copy=False,
        help="When a burst of refused webhooks last opened an exception.",
    )

    @api.constrains("max_body_kib")
    def _check_max_body_kib(self):
        limit = HARD_LIMIT_BYTES // 1024
        for conn in self:
            if not 1 <= conn.max_body_kib <= limit:
                raise ValidationError(
                    self.env._(
                        "The maximum inbound body must lie between 1 and %(limit)s KiB.",
                        limit=limit,
                    )
                )

    # ------------------------------------------------------------------
    # Entry point (called by the controller, as superuser)
    # ------------------------------------------------------------------

    @api.model
    def _webhook_receive(self, token, headers, body, content_type, remote_addr):
        """Verify, store and acknowledge one inbound webhook.

        ``headers`` is a mapping of the request headers, ``body`` the raw
        bytes. Returns ``(status, payload dict, extra headers dict)``; never
        raises for anything the caller sends.
        """
        headers = {str(k).lower(): v for k, v in (headers or {}).items()}
        body = bytes(body or b"")
        correlation = inbound.safe_token(headers.get("x-correlation-id"))

        conn, settings = self._webhook_find_connection(token)
        if not conn:
            return self._webhook_refuse_token(settings, headers, body, remote_addr, correlation)
        # Work in the connection's company from here on: records are created
        # there, and nothing has to read the (superuser's) default company.
        conn = conn.with_company(settings.company_id)

        refused = conn._webhook_check_limits(settings, body, remote_addr, correlation)
        if refused:
            return refused
        try:
            kind, _media_type, charset = inbound.content_kind(content_type)
        except inbound.UnsupportedContentType as exc:
            return conn._webhook_reject(
                exc.reason,
                415,
                remote_addr,
                correlation,
                {
                    "error": "unsupported_media_type",
                    "message": "Accepted content types: " + ", ".join(inbound.CONTENT_TYPES),
                },
            )
        try:
            message_id = conn._webhook_verify(settings, headers, body)
        except signing.MalformedHeaders as exc:
            return conn._webhook_reject(
                exc.reason,
                400,
                remote_addr,
                correlation,
                {
                    "error": "bad_request",
                    "message": "The signature headers are malformed.",
                },
            )
        except signing.WebhookVerificationError as exc:
            return conn._webhook_reject(exc.reason, 401, remote_addr, correlation, UNAUTHORIZED)
        try:
            decoded = conn._webhook_parse_body(kind, body, charset)
        except inbound.MalformedBody as exc:
            return conn._webhook_reject(
                exc.reason,
                400,
                remote_addr,
                correlation,
                {
                    "error": "bad_request",
                    "message": "The body is not what its content type declares.",
                },
            )
        return conn._webhook_store(
            settings, message_id, body, decoded, content_type, headers, remote_addr, correlation
        )

    # ------------------------------------------------------------------
    # Settings, cached per worker
    # ------------------------------------------------------------------

    @api.model
    @tools.ormcache()
    def _webhook_token_index(self):
        """``{sha256 of token: connection id}`` of every connection, archived and
        paused ones included (they answer 404, but their refusals are counted).
        Tokens are never stored in clear, only their hash."""
        self.env.cr.execute(
            "SELECT webhook_token_hash, id FROM finance_connect_connection "
            "WHERE webhook_token_hash IS NOT NULL"
        )
        return frozendict(self.env.cr.fetchall())

    @api.model
    @tools.ormcache("connection_id")
    def _webhook_settings(self, connection_id):
        """What the route needs to know about a connection, decrypted once.

        Cached per worker (no query on the hot path) and dropped, in every
        worker, whenever a connection or one of its webhook secrets changes
        (see ``write`` below and ``finance.connect.secret``). Secrets are
        cached encrypted; the validity of a previous secret is checked at each
        request, not when caching.
        """
        conn = self.sudo().with_context(active_test=False).browse(connection_id).exists()
        if not conn:
            return None
        return WebhookSettings(
            connection_id=conn.id,
            company_id=conn.company_id.id,
            usable=conn.active and not conn.paused,
            verifier=conn.webhook_verifier,
            public_keys=(conn.webhook_public_key,) if conn.webhook_public_key else (),
            tolerance=conn.webhook_tolerance if conn.webhook_tolerance > 0 else 300,
            max_body_bytes=min(conn.max_body_kib * 1024, HARD_LIMIT_BYTES),
            rate_limit=max(conn.rate_limit_per_minute, 0),
            secrets=conn._webhook_secret_candidates(),
        )

    def _webhook_secret_candidates(self):
        """``((ciphertext, valid until or None, slot), ...)`` of the secrets that may
        sign a webhook: the current one, and the previous one until its expiry.

        Encrypted as stored: the cache never holds a secret in clear, each
        request decrypts what it needs (``_webhook_verify``). EXTEND to add
        others.
        """
        self.ensure_one()
        stored = {
            row.name: row.ciphertext
            for row in self.env["finance.connect.secret"]
            .sudo()
            .search([("connection_id", "=", self.id), ("name", "in", tuple(WEBHOOK_SECRET_NAMES))])
        }
        Secret = self.env["finance.connect.secret"]
        candidates = []
        if stored.get("webhook_secret"):
            candidates.append(
                (stored["webhook_secret"], None, Secret._slot(self.id, "webhook_secret"))
            )
        if stored.get("webhook_secret_previous") and self.webhook_previous_expiry:
            candidates.append(
                (
                    stored["webhook_secret_previous"],
                    self.webhook_previous_expiry,
                    Secret._slot(self.id, "webhook_secret_previous"),
                )
            )
        return tuple(candidates)

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        if WEBHOOK_SETTING_FIELDS.intersection(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    # ------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------

    @api.model
    def _webhook_find_connection(self, token):
        """``(connection, settings)`` of ``token``: the connection is empty when
        the token is unknown, or its connection archived or paused (then only
        the settings are returned)."""
        if not isinstance(token, str) or not 16 <= len(token) <= 128 or not token.isprintable():
            # No stored token has control characters (PostgreSQL refuses a NUL).
            return self.browse(), None
        token_hash = hash_token(token)
        connection_id = self._webhook_token_index().get(token_hash)
        if connection_id is None:
            connection_id = self._webhook_token_lookup(token_hash)
            settings = self._webhook_settings(connection_id) if connection_id else None
        else:
            settings = self._webhook_settings(connection_id)
            if settings is None or not settings.usable:
                # Paused or archived: the same query as for an unknown token,
                # so that the two 404s cannot be told apart by their timing.
                self._webhook_token_query(token_hash)
        if settings is None or not settings.usable:
            return self.browse(), settings
        return self.browse(settings.connection_id), settings

    @api.model
    def _webhook_token_query(self, token_hash):
        self.env.cr.execute(
            "SELECT id FROM finance_connect_connection WHERE webhook_token_hash = %s",
            (token_hash,),
        )
        row = self.env.cr.fetchone()
        return row[0] if row else None

    @api.model
    def _webhook_token_lookup(self, token_hash):
        """The connection id of a token (hash) missing from the cached index.

        Usually the token is unknown (one indexed query). When it exists, the
        index is out of date (a connection created where no cache signaling
        happens, e.g. a script): the caches are dropped, in every worker at the
        end of this transaction.
        """
        connection_id = self._webhook_token_query(token_hash)
        if connection_id:
            self.env.registry.clear_cache()
        return connection_id

    @api.model
    def _webhook_preflight(self, token, content_length, remote_addr, correlation):
        """What the route answers before it reads the body, or ``None``.

        The token is looked up first (cached index, no query for a known
        one): an unknown, paused or archived token is answered 404 at once,
        and a body over the connection's own size limit 413, without reading
        or HMACing a byte of it.
        """
        conn, settings = self._webhook_find_connection(token)
        if not conn:
            return self._webhook_refuse_token(settings, None, None, remote_addr, correlation)
        if content_length is not None and content_length > settings.max_body_bytes:
            return conn.with_company(settings.company_id)._webhook_reject(
                "too_large",
                413,
                remote_addr,
                correlation,
                {"error": "payload_too_large", "max_bytes": settings.max_body_bytes},
            )
        return None

    @api.model
    def _webhook_refuse_token(self, settings, headers, body, remote_addr, correlation):
        """404 for an unknown or paused token, with the same body as a bad
        signature. Cheap: the body is not read (see ``_webhook_preflight``);
        an unknown token costs no row per request, only one aggregated row
        per worker and minute (``webhook.rejection._record_unknown_token``).
        Tokens are long random secrets: telling a valid one apart by timing
        would not help guess one."""
        Rejection = self.env["finance.connect.webhook.rejection"]
        if settings:
            Rejection._record(
                self.browse(settings.connection_id),
                "paused",
                404,
                remote_addr,
                company_id=settings.company_id,
            )
        else:
            Rejection._record_unknown_token(remote_addr)
        return self._webhook_answer(404, UNAUTHORIZED, correlation)

    def _webhook_check_limits(self, settings, body, remote_addr, correlation):
        """429 over the rate limit, 413 over the size limit; ``None`` when fine.

        The exact count (messages and rejections of the last 60 s, in the
        database) only runs once this worker alone has seen more than half of
        its share of the limit: far below it, no query is spent.
        """
        self.ensure_one()
        limit = settings.rate_limit
        if limit:
            workers = max(1, int(config.get("workers") or 0))
            if _LOCAL_WINDOW.count(self.id) >= limit / (2 * workers):
                count, oldest_age = self._webhook_recent_requests()
                if count >= limit:
                    wait = inbound.retry_after(oldest_age, RATE_WINDOW_SECONDS)
                    return self._webhook_answer(
                        429,
                        {
                            "error": "rate_limited",
                            "message": "Too many requests.",
                            "retry_after": wait,
                        },
                        correlation,
                        {"Retry-After": str(wait)},
                    )
            _LOCAL_WINDOW.add(self.id)
        if len(body) > settings.max_body_bytes:
            return self._webhook_reject(
                "too_large",
                413,
                remote_addr,
                correlation,
                {
                    "error": "payload_too_large",
                    "message": "The body is over the size limit of this connection.",
                    "max_bytes": settings.max_body_bytes,
                },
            )
        return None

    def _webhook_recent_requests(self):
        """Inbound messages + counted rejections of the last minute: ``(count,
        age in seconds of the oldest)``."""
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(seconds=RATE_WINDOW_SECONDS)
        self.env["finance.connect.message"].flush_model(["create_date"])
        self.env["finance.connect.webhook.rejection"].flush_model(["at"])
        self.env.cr.execute(
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
            {"conn": self.id, "since": since},
        )
        count, oldest = self.env.cr.fetchone()
        age = (fields.Datetime.now() - oldest).total_seconds() if oldest else 0
        return count, age

    def _webhook_get_verifier(self, settings):
        """The verifier function of the connection's scheme. EXTEND for others."""
        return signing.get_verifier(settings.verifier)

    def _webhook_verify(self, settings, headers, body):
        """Verify the signature; return the provider's message id ("" if none).

        Raise a ``signing.WebhookVerificationError``. A connection without a
        usable secret or key refuses everything (``not_configured``), as does
        a verifier that fails in an unexpected way (``invalid``).
        """
        self.ensure_one()
        try:
            verifier = self._webhook_get_verifier(settings)
        except KeyError:
            raise WebhookNotConfigured("unknown signature scheme") from None
        secrets = self._webhook_decrypt(settings.secrets)
        try:
            message_id = verifier(
                headers,
                body,
                secrets=secrets,
                public_keys=settings.public_keys,
                tolerance=settings.tolerance,
            )
        except signing.WebhookVerificationError:
            raise
        except ValueError:
            # The verifiers raise ValueError when no secret / key is configured
            # or a configured one cannot be decoded.
            raise WebhookNotConfigured("no usable webhook secret or key") from None
        except Exception:
            _logger.exception("finance_connect: webhook verifier of connection %s failed", self.id)
            raise signing.WebhookVerificationError("verifier failed") from None
        return message_id if isinstance(message_id, str) else ""

    def _webhook_decrypt(self, candidates):
        """The secrets in clear among ``candidates`` that are valid now; one
        that cannot be decrypted (key changed) is left out and logged."""
        now = fields.Datetime.now()
        try:
            box = self.env["finance.connect.secret"]._get_box()
        except UserError:
            _logger.warning("finance_connect: no encryption key, webhooks cannot be verified")
            return []
        secrets = []
        for ciphertext, until, slot in candidates:
            if until is not None and until <= now:
                continue
            try:
                secrets.append(box.decrypt(ciphertext, slot))
            except SecretBoxError:
                _logger.warning(
                    "finance_connect: a webhook secret of connection %s cannot be decrypted",
                    self.id,
                )
        return secrets

    def _webhook_parse_body(self, kind, body, charset):
        """Check the body against its declared kind; return what is stored.

        Raise ``webhook_inbound.MalformedBody`` (answered 400).
        """
        self.ensure_one()
        return inbound.decode_body(kind, body, charset)

    def _webhook_event_type(self, decoded, headers):
        """Event type of a verified request. EXTEND for other body formats."""
        return inbound.event_type(decoded.data, headers.get("x-event-type"))

    def _webhook_prepare_message_vals(
        self, settings, message_id, body, decoded, content_type, headers, remote_addr, correlation
    ):
        """Values of the inbound message. EXTEND to add more."""
        self.ensure_one()
        key = inbound.idempotency_key(message_id, body)
        stamp = fields.Datetime.now().isoformat(sep=" ", timespec="seconds")
        return {
            "direction": "in",
            "connection_id": self.id,
            "company_id": settings.company_id,
            "event_type": self._webhook_event_type(decoded, headers),
            "idempotency_key": key,
            "webhook_id": key,
            "external_id": key,
            "correlation_id": correlation or inbound.new_correlation_id(),
            "content_type": inbound.clean_content_type(content_type),
            "payload": decoded.payload,
            "payload_encoding": decoded.encoding,
            "payload_sha256": sha256_hex(body),
            "state": "queued",
            "state_log": f"{stamp} webhook: received from "
            f"{(remote_addr or '?')[:64]} -> queued\n",
        }

    def _webhook_store(
        self, settings, message_id, body, decoded, content_type, headers, remote_addr, correlation
    ):
        """Store the message once and queue its processing: 202; 200 for a repeat.

        The database constraint on (connection, direction, idempotency key)
        decides which of several concurrent deliveries creates the message.
        """
        self.ensure_one()
        vals = self._webhook_prepare_message_vals(
            settings,
            message_id,
            body,
            decoded,
            content_type,
            headers,
            remote_addr,
            correlation,
        )
        Message = self.env["finance.connect.message"].sudo()
        message, created = Message._create_idempotent(vals)
        if created:
            message._webhook_enqueue_process()
            return self._webhook_answer(
                202,
                {
                    "status": "accepted",
                    "reference": message.reference,
                    "correlation_id": message.correlation_id,
                },
                message.correlation_id,
            )
        if message:
            reference, original_correlation = message.reference, message.correlation_id
        else:
            found = self._webhook_committed_duplicate(vals["idempotency_key"])
            if not found:
                return self._webhook_answer(
                    503,
                    {"error": "retry", "message": "Please retry this delivery."},
                    correlation,
                    {"Retry-After": "1"},
                )
            reference, original_correlation = found
        correlation = correlation or original_correlation
        return self._webhook_answer(
            200,
            {"status": "duplicate", "reference": reference, "correlation_id": correlation},
            correlation,
        )

    def _webhook_committed_duplicate(self, key):
        """``(reference, correlation id)`` of the message a concurrent delivery
        committed after this transaction began (invisible to its snapshot)."""
        self.ensure_one()
        with self.env.registry.cursor() as cr:
            cr.execute(
                """
                SELECT reference, correlation_id FROM finance_connect_message
                 WHERE connection_id = %s AND direction = 'in' AND idempotency_key = %s
                """,
                (self.id, key),
            )
            return cr.fetchone()

    # ------------------------------------------------------------------
    # Rejections
    # ------------------------------------------------------------------

    def _webhook_reject(self, reason, status, remote_addr, correlation, payload):
        """Count a refused request of this connection and build its answer."""
        self.ensure_one()
        settings = self._webhook_settings(self.id)
        self.env["finance.connect.webhook.rejection"]._record(
            self,
            reason,
            status,
            remote_addr,
            company_id=settings.company_id if settings else None,
        )
        if reason in SIGNATURE_REASONS:
            self._webhook_check_burst()
        return self._webhook_answer(status, payload, correlation)

    def _webhook_burst_settings(self):
        """``(threshold, window in seconds)`` of the rejection alarm."""
        ICP = self.env["ir.config_parameter"].sudo()
        try:
            threshold = int(ICP.get_param("finance_connect.webhook_rejection_burst", 20))
            window = int(ICP.get_param("finance_connect.webhook_rejection_window", 300))
        except ValueError:
            threshold, window = 20, 300
        return max(threshold, 1), max(window, 1)

    def _webhook_check_burst(self):
        """Open one "signature" exception when more than the threshold of
        signature failures arrived within the window; nothing while it is open."""
        self.ensure_one()
        threshold, window = self._webhook_burst_settings()
        Rejection = self.env["finance.connect.webhook.rejection"]
        count = Rejection._count_recent(self, window, SIGNATURE_REASONS)
        if count <= threshold:
            return None
        Exception_ = self.env["finance.connect.exception"].sudo()
        fingerprint = f"webhook_rejections:{self.id}"
        domain = [("fingerprint", "=", fingerprint), ("state", "in", ("open", "in_progress"))]
        if Exception_.search_count(domain, limit=1):
            return None
        # Two requests crossing the threshold at once: this update makes the
        # later transaction fail with a serialization error; the controller
        # runs it again on a fresh snapshot, where it sees the first exception.
        self.env.cr.execute(
            "UPDATE finance_connect_connection SET webhook_rejection_alert_at = %s "
            "WHERE id = %s",
            (fields.Datetime.now(), self.id),
        )
        self.invalidate_recordset(["webhook_rejection_alert_at"])
        minutes = max(1, math.ceil(window / 60))
        return Exception_._open(
            "signature",
            self.env._("Refused webhooks: %(conn)s", conn=self.display_name),
            self.env._(
                "%(count)s webhooks sent to %(conn)s were refused for a missing or "
                "wrong signature within %(minutes)s minutes. Either the sender uses "
                "an old or wrong secret (check the secret and its rotation at the "
                "sender) or someone who knows the webhook URL is probing it (give "
                "the connection a new webhook URL). The refused requests are listed "
                "under Webhook rejections; none of them was stored.",
                count=count,
                conn=self.display_name,
                minutes=minutes,
            ),
            connection=self,
            fingerprint=fingerprint,
        )

    # ------------------------------------------------------------------
    # Answers
    # ------------------------------------------------------------------

    @api.model
    def _webhook_answer(self, status, payload, correlation, headers=None):
        """``(status, payload, headers)`` echoing the correlation id."""
        extra = dict(headers or {})
        extra["X-Correlation-Id"] = correlation or inbound.new_correlation_id()
        return status, dict(payload), extra


class FinanceConnectMessage(models.Model):
    _inherit = "finance.connect.message"

    payload_encoding = fields.Selection(
        [(inbound.TEXT, "Text"), (inbound.BASE64, "Base64")],
        default=inbound.TEXT,
        readonly=True,
        help="Bodies that are not UTF-8 text are stored as base64 of their bytes.",
    )

    def init(self):
        res = super().init()
        # The inbound rate limit counts a connection's messages of the last minute.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS finance_connect_message_inbound_recent_idx
                ON finance_connect_message (connection_id, create_date)
             WHERE direction = 'in'
            """
        )
        return res

    def _webhook_enqueue_process(self):
        """Queue the processing of a message the route has just created.

        First attempts are processed by the connection's inbound drain job
        (``finance.connect.connection._job_drain_inbound``), queued unless one
        is pending: no job per message on the hot path. Replays and retries go
        through ``_enqueue_process`` and get a job of their own.
        """
        self.ensure_one()
        return self.connection_id._schedule_inbound_drain()

    def _job_process(self):
        # EXTENDS finance_connect: the route does not spend an UPDATE on the
        # message to record its job; the job records itself when it runs.
        job_uuid = self.env.context.get("job_uuid")
        if job_uuid and len(self) == 1 and self.job_uuid != job_uuid:
            self.sudo().job_uuid = job_uuid
        return super()._job_process()

    def _get_payload_bytes(self):
        """The exact bytes received (or sent) for this message."""
        self.ensure_one()
        msg = self.sudo()
        return inbound.payload_bytes(msg.payload, msg.payload_encoding)


class FinanceConnectSecret(models.Model):
    _inherit = "finance.connect.secret"

    # The webhook route caches decrypted webhook secrets per worker: any change
    # of a secret drops that cache in every worker (through the registry's
    # cache signaling, at the end of the transaction).

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._webhook_drop_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self._webhook_drop_cache()
        return result

    def unlink(self):
        self._webhook_drop_cache()
        return super().unlink()

    def _webhook_drop_cache(self):
        if WEBHOOK_SECRET_NAMES.intersection(self.sudo().mapped("name")):
            self.env.registry.clear_cache()
