"""Inbound webhooks: ``POST /finance_connect/webhook/<connection token>``.

Thin on purpose: read the raw body once (bounded), collect the headers, hand
both to ``finance.connect.connection._webhook_receive`` and turn its answer into
a JSON response. Whatever the input, the answer is never a 500 and never
carries a traceback. Verification, storage and the answer codes are documented
in ``models/finance_connect_webhook.py``.
"""

import logging
import random
import time

from werkzeug.exceptions import HTTPException

from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..lib.webhook_inbound import new_correlation_id, safe_token
from ..models.finance_connect_webhook import BAD_REQUEST, HARD_LIMIT_BYTES, UNAUTHORIZED

_logger = logging.getLogger(__name__)

CONCURRENCY_TRIES = 5


class FinanceConnectWebhookController(http.Controller):
    @http.route(
        "/finance_connect/webhook/<string:token>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def finance_connect_webhook(self, token, **_params):
        correlation = ""
        try:
            correlation = safe_token(request.httprequest.headers.get("X-Correlation-Id"))
            if not request.db:  # no database selected: no token can be known
                return self._answer(404, UNAUTHORIZED, correlation)
            length = request.httprequest.content_length
            if length is None:
                return self._answer(
                    411,
                    {"error": "length_required", "message": "Send the body with a Content-Length."},
                    correlation,
                )
            if length > HARD_LIMIT_BYTES:
                return self._answer(
                    413,
                    {"error": "payload_too_large", "max_bytes": HARD_LIMIT_BYTES},
                    correlation,
                )
            # The token first: an unknown token, or a body over the
            # connection's limit, is answered before the body is read.
            refused = self._preflight(token, length, correlation)
            if refused:
                status, payload, extra = refused
                return request.make_json_response(payload, headers=extra, status=status)
            # Read once, bounded by Content-Length (chunked bodies, without
            # one, are refused above). Cached: should Odoo itself run the
            # endpoint again after a serialization failure, it sees the same
            # bytes instead of an exhausted stream.
            try:
                body = request.httprequest.get_data(cache=True)
            except HTTPException:  # the client went away before sending it all
                return self._answer(400, BAD_REQUEST, correlation)
            headers = dict(request.httprequest.headers.items())
            status, payload, extra = self._receive(
                token,
                headers,
                body,
                request.httprequest.headers.get("Content-Type"),
                request.httprequest.remote_addr,
                correlation,
            )
            return request.make_json_response(payload, headers=extra, status=status)
        except Exception:
            _logger.exception("finance_connect: webhook request failed")
            try:
                request.env.cr.rollback()
            except Exception:
                _logger.warning("finance_connect: rollback after a webhook failure failed")
            return self._answer(400, BAD_REQUEST, correlation)

    def _preflight(self, token, length, correlation):
        env = request.env(user=SUPERUSER_ID, su=True)
        result = env["finance.connect.connection"]._webhook_preflight(
            token, length, request.httprequest.remote_addr, correlation
        )
        if result:
            env.flush_all()
        return result

    def _receive(self, token, headers, body, content_type, remote_addr, correlation):
        """Run the model method; start over on a fresh snapshot after a
        serialization failure (two deliveries racing on the same rows)."""
        env = request.env(user=SUPERUSER_ID, su=True)
        Connection = env["finance.connect.connection"]
        for attempt in range(1, CONCURRENCY_TRIES + 1):
            try:
                result = Connection._webhook_receive(
                    token, headers, body, content_type, remote_addr
                )
                env.flush_all()
                return result
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                env.cr.rollback()
                env.reset()
                if attempt == CONCURRENCY_TRIES:
                    break
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        return (
            503,
            {"error": "retry", "message": "Please retry this delivery."},
            {
                "Retry-After": "1",
                "X-Correlation-Id": correlation or new_correlation_id(),
            },
        )

    def _answer(self, status, payload, correlation):
        return request.make_json_response(
            payload,
            headers={"X-Correlation-Id": correlation or new_correlation_id()},
            status=status,
        )

    @http.route(
        "/finance_connect/ping",
        type="http",
        auth="none",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def finance_connect_ping(self, **_params):
        """Answer 200 "ok" and nothing else: a liveness probe, and the bare
        route the webhook benchmark compares against."""
        return request.make_response("ok", headers=[("Content-Type", "text/plain")])
