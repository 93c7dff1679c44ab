"""Inbound webhooks: ``POST /finance_connect/webhook/<connection token>``.

Thin on purpose: check the declared length, collect the headers and hand the
request to ``finance.connect.webhook.receiver._receive``, which reads the body
(bounded, once its token is known), verifies and stores it and says what to
answer. Whatever the input, the answer is never a 500 and never carries a
traceback. Verification, storage and the answer codes are documented in
``models/finance_connect_webhook_receiver.py``.
"""

import logging

from werkzeug.exceptions import HTTPException

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..lib.webhook_inbound import (
    BAD_REQUEST,
    HARD_LIMIT_BYTES,
    UNAUTHORIZED,
    new_correlation_id,
    safe_token,
)

_logger = logging.getLogger(__name__)


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
            httprequest = request.httprequest
            correlation = safe_token(httprequest.headers.get("X-Correlation-Id"))
            if not request.db:  # no database selected: no token can be known
                return self._answer(404, UNAUTHORIZED, correlation)
            length = httprequest.content_length
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
            Receiver = request.env(user=SUPERUSER_ID, su=True)["finance.connect.webhook.receiver"]
            status, payload, headers = Receiver._receive(
                token,
                dict(httprequest.headers.items()),
                httprequest.headers.get("Content-Type"),
                length,
                httprequest.remote_addr,
                correlation,
                self._read_body,
            )
            return request.make_json_response(payload, headers=headers, status=status)
        except Exception:
            _logger.exception("finance_connect: webhook request failed")
            try:
                request.env.cr.rollback()
            except Exception:
                _logger.warning("finance_connect: rollback after a webhook failure failed")
            return self._answer(400, BAD_REQUEST, correlation)

    @staticmethod
    def _read_body():
        """The raw body, read once, bounded by Content-Length (chunked bodies,
        without one, are refused before); ``None`` when the client went away
        before sending it all. Cached: should Odoo itself run the endpoint
        again after a serialization failure, it sees the same bytes instead of
        an exhausted stream."""
        try:
            return request.httprequest.get_data(cache=True)
        except HTTPException:
            return None

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
