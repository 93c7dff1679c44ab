"""OpenMetrics endpoint: ``GET /finance_connect/metrics`` with
``Authorization: Bearer <token>`` (a company's metrics token).

Thin on purpose: the Authorization and Accept headers go to
``finance.connect.metrics._metrics_answer``, which checks the token and builds
the exposition (``models/finance_connect_metrics.py``). No session, no login.
"""

import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request

_logger = logging.getLogger(__name__)


class FinanceConnectMetricsController(http.Controller):
    @http.route(
        "/finance_connect/metrics",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def finance_connect_metrics(self, **_params):
        if not request.db:  # no database selected: no token can be known
            return request.make_response(b"Not Found\n", status=404)
        headers = request.httprequest.headers
        try:
            env = request.env(user=SUPERUSER_ID, su=True)
            status, body, answer_headers = env["finance.connect.metrics"]._metrics_answer(
                headers.get("Authorization"), headers.get("Accept")
            )
        except Exception:
            _logger.exception("finance_connect: metrics request failed")
            return request.make_response(
                b"Metrics unavailable\n",
                headers=[("Content-Type", "text/plain; charset=utf-8")],
                status=503,
            )
        return request.make_response(body, headers=list(answer_headers.items()), status=status)
