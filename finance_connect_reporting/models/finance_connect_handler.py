"""Acknowledgements of feed deliveries from reporting connections."""

import json

from odoo import api, models
from odoo.addons.finance_connect.exceptions import HandlerError


class FinanceConnectHandler(models.AbstractModel):
    _inherit = "finance.connect.handler"

    @api.model
    def _get_handlers(self):
        # EXTENDS finance_connect
        handlers = super()._get_handlers()
        handlers[("reporting", "feed.ack")] = "_handle_feed_ack"
        handlers[("planning", "feed.ack")] = "_handle_feed_ack"
        return handlers

    @api.model
    def _handle_feed_ack(self, message):
        """``{"delivery": "<reference>", "control": {...}}``: match the totals."""
        try:
            body = json.loads(message.sudo().payload or "{}")
        except ValueError as exc:
            raise HandlerError(f"the acknowledgement is not JSON: {exc}", "schema") from exc
        if not isinstance(body, dict):
            raise HandlerError("the acknowledgement is not a JSON object", "schema")
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        delivery = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .search(
                [
                    ("name", "=", data.get("delivery") or ""),
                    ("company_id", "=", message.company_id.id),
                ],
                limit=1,
            )
        )
        if not delivery:
            raise HandlerError(f"unknown delivery {data.get('delivery')!r}", "other")
        return delivery._acknowledge(data.get("control"), source=message.reference)
