"""Signed inbound webhooks: verify, store, acknowledge fast, process once.

``POST /finance_connect/webhook/<token>`` (``controllers/webhook.py``) reads the
raw request and hands it to :meth:`FinanceConnectWebhookReceiver._receive`,
which returns ``(status, JSON body, extra headers)``:

======  =====================================================================
status  when
======  =====================================================================
202     stored as a new inbound message; its processing is queued
200     the same webhook-id (or provider event id) was stored before: the
        original reference is answered and nothing changes
400     malformed signature headers, or a body that is not its content type
401     missing or wrong signature, stale timestamp, no secret configured
404     unknown, archived or paused token: same body as 401, answered
        before the body is read (``_preflight``)
413     body over the connection's ``max_body_kib``
415     content type (or CSV charset) not accepted
429     over ``rate_limit_per_minute`` (messages + rejections of the last
        60 s), with ``Retry-After``
503     a concurrent duplicate could not be read back yet, or the delivery
        kept colliding with concurrent ones (``Retry-After: 1``)
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
new message costs one INSERT (in a savepoint, against the unique key) and, at
most, one queue.job (the connection's inbound drain).

Extension points (EXTEND in other addons; each gets the connection):

- ``_get_verifier``: another signature scheme (add it to
  ``lib.signing.VERIFIERS`` and to the ``webhook_verifier`` selection);
- ``_get_secret_candidates``: more secrets that may sign;
- ``_get_event_type``: read the event type of another body format;
- ``_prepare_message_vals``: more values on the stored message;
- handlers of the stored messages: ``finance.connect.handler._get_handlers``.
"""

import logging
import random
import time

from odoo import api, fields, models, tools
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, config, frozendict

from ..exceptions import WebhookNotConfigured
from ..lib import signing
from ..lib import webhook_inbound as inbound
from ..lib.payloads import sha256_hex
from ..lib.secretbox import SecretBoxError
from .finance_connect_secret import WEBHOOK_SECRET_NAMES
from .finance_connect_webhook_rejection import SIGNATURE_REASONS

_logger = logging.getLogger(__name__)

#: Fields of a connection whose change drops the settings every worker caches
#: (``_settings``; ``finance.connect.connection.write``).
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

#: A delivery that collides with concurrent ones (serialization failure) is
#: run again on a fresh snapshot, at most this many times in all.
CONCURRENCY_TRIES = 5

#: Requests seen by this worker per connection (a cheap pre-check before the
#: exact rate limit count in the database).
_LOCAL_WINDOW = inbound.SlidingWindowCounter(inbound.RATE_WINDOW_SECONDS)


class FinanceConnectWebhookReceiver(models.AbstractModel):
    _name = "finance.connect.webhook.receiver"
    _description = "Finance Connect inbound webhooks"

    # ------------------------------------------------------------------
    # Entry point (the route's one call, as superuser)
    # ------------------------------------------------------------------

    @api.model
    def _receive(
        self, token, headers, content_type, content_length, remote_addr, correlation, read_body
    ):
        """Answer one inbound webhook request: ``(status, payload, headers)``.

        ``headers`` is a mapping of the request headers, ``content_length``
        the declared length, ``correlation`` the caller's correlation id (made
        safe) and ``read_body`` a function returning the raw body (``None``
        when the client went away before sending it all): it is called only
        once the token and the declared size are accepted. The verification
        and the storage run again on a fresh snapshot after a serialization
        failure (two deliveries racing on the same rows).
        """
        refused = self._preflight(token, content_length, remote_addr, correlation)
        if refused:
            self.env.flush_all()
            return refused
        body = read_body()
        if body is None:
            return self._answer(400, inbound.BAD_REQUEST, correlation)
        for attempt in range(1, CONCURRENCY_TRIES + 1):
            try:
                result = self._verify_and_store(token, headers, body, content_type, remote_addr)
                self.env.flush_all()
                return result
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                self.env.cr.rollback()
                self.env.reset()
                if attempt == CONCURRENCY_TRIES:
                    break
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        return self._answer(503, inbound.RETRY, correlation, {"Retry-After": "1"})

    @api.model
    def _preflight(self, token, content_length, remote_addr, correlation):
        """What the route answers before it reads the body, or ``None``.

        The token is looked up first (cached index, no query for a known
        one): an unknown, paused or archived token is answered 404 at once,
        and a body over the connection's own size limit 413, without reading
        or HMACing a byte of it.
        """
        conn, settings = self._find_connection(token)
        if not conn:
            return self._refuse_token(settings, remote_addr, correlation)
        if content_length is not None and content_length > settings.max_body_bytes:
            return self.with_company(settings.company_id)._reject(
                conn,
                "too_large",
                413,
                remote_addr,
                correlation,
                {"error": "payload_too_large", "max_bytes": settings.max_body_bytes},
            )
        return None

    @api.model
    def _verify_and_store(self, token, headers, body, content_type, remote_addr):
        """Verify, store and acknowledge one inbound webhook whose body is read.

        ``body`` is the raw bytes. Returns ``(status, payload dict, extra
        headers dict)``; never raises for anything the caller sends.
        """
        headers = {str(k).lower(): v for k, v in (headers or {}).items()}
        request = inbound.InboundRequest(
            headers=headers,
            body=bytes(body or b""),
            content_type=content_type,
            remote_addr=remote_addr,
            correlation=inbound.safe_token(headers.get("x-correlation-id")),
        )
        conn, settings = self._find_connection(token)
        if not conn:
            return self._refuse_token(settings, remote_addr, request.correlation)
        # Work in the connection's company from here on: records are created
        # there, and nothing has to read the (superuser's) default company.
        conn = conn.with_company(settings.company_id)
        receiver = self.with_env(conn.env)
        refused = receiver._check_limits(conn, settings, request)
        if refused:
            return refused
        try:
            kind, _media_type, charset = inbound.content_kind(content_type)
            message_id = receiver._verify(conn, settings, request.headers, request.body)
            decoded = inbound.decode_body(kind, request.body, charset)
        except inbound.UnsupportedContentType as exc:
            refusal = exc.reason, 415, inbound.UNSUPPORTED_MEDIA_TYPE
        except signing.MalformedHeaders as exc:
            refusal = exc.reason, 400, inbound.MALFORMED_HEADERS
        except signing.WebhookVerificationError as exc:
            refusal = exc.reason, 401, inbound.UNAUTHORIZED
        except inbound.MalformedBody as exc:
            refusal = exc.reason, 400, inbound.MALFORMED_BODY
        else:
            return receiver._store(conn, settings, message_id, decoded, request)
        reason, status, payload = refusal
        return receiver._reject(conn, reason, status, remote_addr, request.correlation, payload)

    @api.model
    def _get_url(self, token):
        """The URL the webhooks of the connection with ``token`` are posted to."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return f"{base}/finance_connect/webhook/{token}"

    # ------------------------------------------------------------------
    # Settings, cached per worker
    # ------------------------------------------------------------------

    @api.model
    @tools.ormcache()
    def _token_index(self):
        """``{sha256 of token: connection id}`` of every connection, archived and
        paused ones included (they answer 404, but their refusals are counted).
        Tokens are never stored in clear, only their hash."""
        self.env.cr.execute(
            SQL(
                "SELECT webhook_token_hash, id FROM finance_connect_connection"
                " WHERE webhook_token_hash IS NOT NULL"
            )
        )
        return frozendict(self.env.cr.fetchall())

    @api.model
    @tools.ormcache("connection_id")
    def _settings(self, connection_id):
        """What the route needs to know about a connection, decrypted once.

        Cached per worker (no query on the hot path) and dropped, in every
        worker, whenever a connection or one of its webhook secrets changes
        (``write`` of ``finance.connect.connection`` and of
        ``finance.connect.secret``). Secrets are cached encrypted; the
        validity of a previous secret is checked at each request, not when
        caching.
        """
        conn = (
            self.env["finance.connect.connection"]
            .sudo()
            .with_context(active_test=False)
            .browse(connection_id)
            .exists()
        )
        if not conn:
            return None
        return inbound.WebhookSettings(
            connection_id=conn.id,
            company_id=conn.company_id.id,
            usable=conn.active and not conn.paused,
            verifier=conn.webhook_verifier,
            public_keys=(conn.webhook_public_key,) if conn.webhook_public_key else (),
            tolerance=conn.webhook_tolerance if conn.webhook_tolerance > 0 else 300,
            max_body_bytes=min(conn.max_body_kib * 1024, inbound.HARD_LIMIT_BYTES),
            rate_limit=max(conn.rate_limit_per_minute, 0),
            secrets=self._get_secret_candidates(conn),
        )

    @api.model
    def _get_secret_candidates(self, connection):
        """``((ciphertext, valid until or None, slot), ...)`` of the secrets that may
        sign a webhook to ``connection``: the current one, and the previous one
        until its expiry.

        Encrypted as stored: the cache never holds a secret in clear, each
        request decrypts what it needs (``_verify``). EXTEND to add others.
        """
        Secret = self.env["finance.connect.secret"]
        stored = {
            row.name: row.ciphertext
            for row in Secret.sudo().search(
                [
                    ("connection_id", "=", connection.id),
                    ("name", "in", tuple(WEBHOOK_SECRET_NAMES)),
                ]
            )
        }
        candidates = []
        if stored.get("webhook_secret"):
            candidates.append(
                (stored["webhook_secret"], None, Secret._slot(connection.id, "webhook_secret"))
            )
        if stored.get("webhook_secret_previous") and connection.webhook_previous_expiry:
            candidates.append(
                (
                    stored["webhook_secret_previous"],
                    connection.webhook_previous_expiry,
                    Secret._slot(connection.id, "webhook_secret_previous"),
                )
            )
        return tuple(candidates)

    # ------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------

    @api.model
    def _find_connection(self, token):
        """``(connection, settings)`` of ``token``: the connection is empty when
        the token is unknown, or its connection archived or paused (then only
        the settings are returned)."""
        Connection = self.env["finance.connect.connection"]
        if not isinstance(token, str) or not 16 <= len(token) <= 128 or not token.isprintable():
            # No stored token has control characters (PostgreSQL refuses a NUL).
            return Connection, None
        token_hash = inbound.hash_token(token)
        connection_id = self._token_index().get(token_hash)
        if connection_id is None:
            connection_id = self._token_lookup(token_hash)
            settings = self._settings(connection_id) if connection_id else None
        else:
            settings = self._settings(connection_id)
            if settings is None or not settings.usable:
                # Paused or archived: the same query as for an unknown token,
                # so that the two 404s cannot be told apart by their timing.
                self._token_query(token_hash)
        if settings is None or not settings.usable:
            return Connection, settings
        return Connection.browse(settings.connection_id), settings

    @api.model
    def _token_query(self, token_hash):
        self.env.cr.execute(
            SQL(
                "SELECT id FROM finance_connect_connection WHERE webhook_token_hash = %s",
                token_hash,
            )
        )
        row = self.env.cr.fetchone()
        return row[0] if row else None

    @api.model
    def _token_lookup(self, token_hash):
        """The connection id of a token (hash) missing from the cached index.

        Usually the token is unknown (one indexed query). When it exists, the
        index is out of date (a connection created where no cache signaling
        happens, e.g. a script): the caches are dropped, in every worker at the
        end of this transaction.
        """
        connection_id = self._token_query(token_hash)
        if connection_id:
            self.env.registry.clear_cache()
        return connection_id

    @api.model
    def _refuse_token(self, settings, remote_addr, correlation):
        """404 for an unknown or paused token, with the same body as a bad
        signature. Cheap: the body is not read (see ``_preflight``); an
        unknown token costs no row per request, only one aggregated row per
        worker and minute (``webhook.rejection._record_unknown_token``).
        Tokens are long random secrets: telling a valid one apart by timing
        would not help guess one."""
        Rejection = self.env["finance.connect.webhook.rejection"]
        if settings:
            Rejection._record(
                self.env["finance.connect.connection"].browse(settings.connection_id),
                "paused",
                404,
                remote_addr,
                company_id=settings.company_id,
            )
        else:
            Rejection._record_unknown_token(remote_addr)
        return self._answer(404, inbound.UNAUTHORIZED, correlation)

    @api.model
    def _check_limits(self, connection, settings, request):
        """429 over the rate limit, 413 over the size limit; ``None`` when fine.

        The exact count (messages and rejections of the last 60 s, in the
        database) only runs once this worker alone has seen more than half of
        its share of the limit: far below it, no query is spent.
        """
        limit = settings.rate_limit
        if limit:
            workers = max(1, int(config.get("workers") or 0))
            if _LOCAL_WINDOW.count(connection.id) >= limit / (2 * workers):
                count, oldest_age = self.env["finance.connect.webhook.rejection"]._count_requests(
                    connection
                )
                if count >= limit:
                    wait = inbound.retry_after(oldest_age, inbound.RATE_WINDOW_SECONDS)
                    return self._answer(
                        429,
                        {
                            "error": "rate_limited",
                            "message": "Too many requests.",
                            "retry_after": wait,
                        },
                        request.correlation,
                        {"Retry-After": str(wait)},
                    )
            _LOCAL_WINDOW.add(connection.id)
        if len(request.body) > settings.max_body_bytes:
            return self._reject(
                connection,
                "too_large",
                413,
                request.remote_addr,
                request.correlation,
                {
                    "error": "payload_too_large",
                    "message": "The body is over the size limit of this connection.",
                    "max_bytes": settings.max_body_bytes,
                },
            )
        return None

    @api.model
    def _get_verifier(self, connection, settings):
        """The verifier function of the connection's scheme. EXTEND for others."""
        return signing.get_verifier(settings.verifier)

    @api.model
    def _verify(self, connection, settings, headers, body):
        """Verify the signature; return the provider's message id ("" if none).

        Raise a ``signing.WebhookVerificationError``. A connection without a
        usable secret or key refuses everything (``not_configured``), as does
        a verifier that fails in an unexpected way (``invalid``).
        """
        try:
            verifier = self._get_verifier(connection, settings)
        except KeyError:
            raise WebhookNotConfigured("unknown signature scheme") from None
        secrets = self._decrypt(connection, settings.secrets)
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
            _logger.exception(
                "finance_connect: webhook verifier of connection %s failed", connection.id
            )
            raise signing.WebhookVerificationError("verifier failed") from None
        return message_id if isinstance(message_id, str) else ""

    @api.model
    def _decrypt(self, connection, candidates):
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
                    connection.id,
                )
        return secrets

    @api.model
    def _get_event_type(self, connection, decoded, headers):
        """Event type of a verified request. EXTEND for other body formats."""
        return inbound.event_type(decoded.data, headers.get("x-event-type"))

    @api.model
    def _prepare_message_vals(self, connection, settings, message_id, decoded, request):
        """Values of the inbound message (``request``: an ``InboundRequest``).
        EXTEND to add more."""
        key = inbound.idempotency_key(message_id, request.body)
        stamp = fields.Datetime.now().isoformat(sep=" ", timespec="seconds")
        return {
            "direction": "in",
            "connection_id": connection.id,
            "company_id": settings.company_id,
            "event_type": self._get_event_type(connection, decoded, request.headers),
            "idempotency_key": key,
            "webhook_id": key,
            "external_id": key,
            "correlation_id": request.correlation or inbound.new_correlation_id(),
            "content_type": inbound.clean_content_type(request.content_type),
            "payload": decoded.payload,
            "payload_encoding": decoded.encoding,
            "payload_sha256": sha256_hex(request.body),
            "state": "queued",
            "state_log": f"{stamp} webhook: received from "
            f"{(request.remote_addr or '?')[:64]} -> queued\n",
        }

    @api.model
    def _store(self, connection, settings, message_id, decoded, request):
        """Store the message once and queue its processing: 202; 200 for a repeat.

        The database constraint on (connection, direction, idempotency key)
        decides which of several concurrent deliveries creates the message.
        A new message is processed by the connection's inbound drain job,
        queued unless one is pending: no job per message on the hot path.
        """
        vals = self._prepare_message_vals(connection, settings, message_id, decoded, request)
        message, created = self.env["finance.connect.message"].sudo()._create_idempotent(vals)
        if created:
            self.env["finance.connect.handler"]._schedule_drain(connection)
            return self._answer(
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
            found = self._committed_duplicate(connection, vals["idempotency_key"])
            if not found:
                return self._answer(503, inbound.RETRY, request.correlation, {"Retry-After": "1"})
            reference, original_correlation = found
        correlation = request.correlation or original_correlation
        return self._answer(
            200,
            {"status": "duplicate", "reference": reference, "correlation_id": correlation},
            correlation,
        )

    @api.model
    def _committed_duplicate(self, connection, key):
        """``(reference, correlation id)`` of the message a concurrent delivery
        committed after this transaction began (invisible to its snapshot)."""
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL(
                    """
                    SELECT reference, correlation_id FROM finance_connect_message
                     WHERE connection_id = %s AND direction = 'in' AND idempotency_key = %s
                    """,
                    connection.id,
                    key,
                )
            )
            return cr.fetchone()

    # ------------------------------------------------------------------
    # Answers
    # ------------------------------------------------------------------

    @api.model
    def _reject(self, connection, reason, status, remote_addr, correlation, payload):
        """Count a refused request of ``connection`` and build its answer; a
        burst of signature failures opens an exception (``_check_burst``)."""
        settings = self._settings(connection.id)
        Rejection = self.env["finance.connect.webhook.rejection"]
        Rejection._record(
            connection,
            reason,
            status,
            remote_addr,
            company_id=settings.company_id if settings else None,
        )
        if reason in SIGNATURE_REASONS:
            Rejection._check_burst(connection)
        return self._answer(status, payload, correlation)

    @api.model
    def _answer(self, status, payload, correlation, headers=None):
        """``(status, payload, headers)`` echoing the correlation id."""
        extra = dict(headers or {})
        extra["X-Correlation-Id"] = correlation or inbound.new_correlation_id()
        return status, dict(payload), extra
