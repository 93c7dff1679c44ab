"""Pull endpoint of reporting feeds (thin: verify, hand off, answer JSON).

- ``GET  /finance_connect/feed/<token>/rows?cursor=&limit=`` one page of rows;
- ``GET  /finance_connect/feed/<token>/rows?cursor=&format=jsonl`` the rest of
  the run as one JSON Lines download, its control totals and next cursor in
  ``X-Finance-Connect-*`` headers;
- ``POST /finance_connect/feed/<token>/ack`` ``{"delivery", "control"}``.

The token is the feed's secret (compared in constant time); an unknown
token is a 404, a bad cursor a 400, an unmapped account a 409.
"""

import json
import logging
import tempfile

from werkzeug.wsgi import wrap_file

from odoo import SUPERUSER_ID, http
from odoo.addons.finance_connect.exceptions import MappingMissing
from odoo.exceptions import UserError
from odoo.http import Response, request

from ..lib.cursor import InvalidCursor

_logger = logging.getLogger(__name__)
ACK_MAX_BYTES = 64 * 1024


class FinanceConnectFeedController(http.Controller):
    def _pull(self):
        return request.env(user=SUPERUSER_ID)["finance.connect.feed.pull"]

    @http.route(
        "/finance_connect/feed/<string:token>/rows",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def finance_connect_feed_rows(
        self, token, cursor=None, limit=None, date_from=None, date_to=None, **kw
    ):
        pull = self._pull()
        feed = pull._from_token(token)
        if not feed:
            return request.make_json_response({"error": "not_found"}, status=404)
        answer = kw.get("format") or "json"
        if answer not in ("json", "jsonl"):
            return request.make_json_response(
                {"error": "bad_request", "message": "format is json or jsonl"}, status=400
            )
        try:
            if answer == "jsonl":
                return self._run_jsonl_response(pull, feed, cursor)
            page = pull._pull_page_json(feed, cursor, limit or 1000, date_from, date_to)
        except InvalidCursor as exc:
            return request.make_json_response(
                {"error": "invalid_cursor", "message": str(exc)}, status=400
            )
        except MappingMissing as exc:
            # The mapping exception is opened (and kept) before answering.
            request.env.cr.commit()
            return request.make_json_response(
                {"error": "unmapped", "message": str(exc)}, status=409
            )
        except (UserError, ValueError) as exc:
            return request.make_json_response(
                {"error": "bad_request", "message": str(exc)}, status=400
            )
        return request.make_response(page, headers=[("Content-Type", "application/json")])

    def _run_jsonl_response(self, pull, feed, cursor):
        """The rest of the run as JSON Lines, spooled to a temporary file (memory
        stays flat) and sent from it; the body's SHA-256 is the control hash."""
        spool = tempfile.TemporaryFile()
        try:
            delivery, totals, next_cursor = pull._pull_run_jsonl(feed, spool, cursor)
        except Exception:
            spool.close()
            raise
        size = spool.tell()
        spool.seek(0)
        headers = [
            ("Content-Length", str(size)),
            ("X-Finance-Connect-Delivery", delivery.name),
            ("X-Finance-Connect-Next-Cursor", next_cursor),
            ("X-Finance-Connect-Row-Count", str(totals.row_count)),
            ("X-Finance-Connect-Total-Debit", str(totals.debit)),
            ("X-Finance-Connect-Total-Credit", str(totals.credit)),
            ("X-Finance-Connect-SHA256", totals.sha256),
        ]
        return Response(
            wrap_file(request.httprequest.environ, spool),
            headers=headers,
            mimetype="application/jsonl",
            direct_passthrough=True,
        )

    @http.route(
        "/finance_connect/feed/<string:token>/ack",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def finance_connect_feed_ack(self, token, **_kw):
        pull = self._pull()
        feed = pull._from_token(token)
        if not feed:
            return request.make_json_response({"error": "not_found"}, status=404)
        length = request.httprequest.content_length
        if length is None or length > ACK_MAX_BYTES:
            return request.make_json_response({"error": "bad_length"}, status=413)
        try:
            body = json.loads(request.httprequest.get_data() or b"{}")
        except ValueError:
            return request.make_json_response({"error": "not_json"}, status=400)
        if not isinstance(body, dict):
            return request.make_json_response({"error": "not_json_object"}, status=400)
        delivery, result = pull._pull_acknowledge(feed, body)
        if not delivery:
            return request.make_json_response({"error": "unknown_delivery"}, status=404)
        return request.make_json_response(
            {"delivery": delivery.name, "state": delivery.state, "result": result}
        )
