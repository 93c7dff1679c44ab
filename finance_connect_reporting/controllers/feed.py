"""Pull endpoint of reporting feeds (thin: verify, hand off, answer JSON).

- ``GET  /finance_connect/feed/<token>/rows?cursor=&limit=`` one page of rows;
- ``POST /finance_connect/feed/<token>/ack`` ``{"delivery", "control"}``.

The token is the feed's secret (compared in constant time); an unknown
token is a 404, a bad cursor a 400, an unmapped account a 409.
"""

import json
import logging

from odoo import SUPERUSER_ID, http
from odoo.addons.finance_connect.models.finance_connect_message import MappingMissing
from odoo.exceptions import UserError
from odoo.http import request

from ..lib.cursor import InvalidCursor

_logger = logging.getLogger(__name__)
ACK_MAX_BYTES = 64 * 1024


class FinanceConnectFeedController(http.Controller):
    def _feed(self, token):
        return request.env(user=SUPERUSER_ID)["finance.connect.feed"]._fc_from_token(token)

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
        self, token, cursor=None, limit=None, date_from=None, date_to=None, **_kw
    ):
        feed = self._feed(token)
        if not feed:
            return request.make_json_response({"error": "not_found"}, status=404)
        try:
            page = feed._fc_pull_page_json(cursor, limit or 1000, date_from, date_to)
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
        feed = self._feed(token)
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
        delivery = feed.delivery_ids.filtered(lambda d: d.name == body.get("delivery"))[:1]
        if not delivery:
            return request.make_json_response({"error": "unknown_delivery"}, status=404)
        result = delivery._acknowledge(body.get("control"), source="pull acknowledgement")
        return request.make_json_response(
            {"delivery": delivery.name, "state": delivery.state, "result": result}
        )
