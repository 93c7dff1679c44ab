"""Inbound handlers of the bank addon (see finance.connect.handler)."""

import json

from odoo import api, models
from odoo.addons.finance_connect.exceptions import HandlerError

from ..lib import pain002
from ..lib.model import ParseError
from ..lib.psp import PSP_EVENTS


class FinanceConnectHandler(models.AbstractModel):
    _inherit = "finance.connect.handler"

    @api.model
    def _get_handlers(self):
        # EXTENDS finance_connect
        handlers = super()._get_handlers()
        handlers[("bank", "statement")] = "_handle_bank_statement"
        handlers[("bank", "payment_status")] = "_handle_bank_payment_status"
        for event in PSP_EVENTS:
            handlers[("psp", event)] = "_handle_psp_event"
        return handlers

    @api.model
    def _message_file(self, message):
        """(bytes, filename) of a message carrying a bank file.

        The payload is the file itself, or a JSON object ``{"filename": ...,
        "content_base64": ...}`` (``"content"`` for text files).
        """
        Import = self.env["finance.connect.bank.import"]
        data = Import._decode_payload(message)
        filename = message.fc_filename or message.reference
        if "json" in (message.content_type or "") or data.lstrip()[:1] == b"{":
            try:
                envelope = json.loads(data)
            except ValueError as exc:
                raise HandlerError(f"the message is not valid JSON: {exc}", "schema") from exc
            if not isinstance(envelope, dict):
                raise HandlerError("the message is not a JSON object", "schema")
            filename = envelope.get("filename") or filename
            if envelope.get("content_base64"):
                import base64
                import binascii

                try:
                    data = base64.b64decode(envelope["content_base64"], validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise HandlerError(f"content_base64 is not base64: {exc}", "schema") from exc
            elif isinstance(envelope.get("content"), str):
                data = envelope["content"].encode("utf-8")
            else:
                raise HandlerError("the JSON message has no content_base64 or content", "schema")
        return data, filename

    @api.model
    def _handle_bank_statement(self, message):
        """A statement file pushed or pulled from a bank connection."""
        data, filename = self._message_file(message)
        result = (
            self.env["finance.connect.bank.import"]
            .with_context(fc_bank_file_exception=False)
            ._import_file(data, filename, connection=message.connection_id, message=message)
        )
        if result["file_errors"] and not result["statements"]:
            # Nothing of the file could be read: the message fails (one exception).
            raise HandlerError("; ".join(result["file_errors"])[:2000], "bank_file")
        statements = result["statements"]
        if statements and all(outcome["status"] == "refused" for outcome in statements):
            # Every statement refused (a balance mismatch...): nothing was imported,
            # so the message fails, into one exception of the refusal's category
            # (counted again when a replay meets the same refusal).
            raise HandlerError(
                "; ".join(result["errors"])[:2000],
                statements[0]["category"],
                fix=statements[0].get("record"),
            )
        return result["summary"]

    @api.model
    def _handle_bank_payment_status(self, message):
        """A pain.002 status report from a bank connection."""
        data, filename = self._message_file(message)
        try:
            report = pain002.parse_pain002(data, filename)
        except ParseError as exc:
            raise HandlerError(str(exc), "schema") from exc
        return self.env["finance.connect.bank.status"]._apply_pain002(report, message)

    @api.model
    def _handle_psp_event(self, message):
        return self.env["finance.connect.psp.event"]._apply_psp_event(message)
