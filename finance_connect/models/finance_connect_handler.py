"""Registry of inbound message handlers, keyed by connection kind and event type.

Addons register handlers by extending ``_get_handlers``::

    def _get_handlers(self):
        handlers = super()._get_handlers()
        handlers[("bank", "statement")] = "_handle_bank_statement"
        return handlers

A handler is a method of this model taking the message; it returns a short
result text, raises ``HandlerRetry`` for a transient problem and
``HandlerError`` for one a person must fix (it opens an exception).
"""

import logging

from odoo import api, fields, models

from ..exceptions import HandlerError, HandlerRetry

_logger = logging.getLogger(__name__)


class FinanceConnectHandler(models.AbstractModel):
    _name = "finance.connect.handler"
    _description = "Finance Connect inbound handlers"

    @api.model
    def _get_handlers(self):
        """Map (connection kind or "*", event type or "*") -> handler method name."""
        return {("*", "*"): "_handle_record_event"}

    @api.model
    def _find_handler(self, message):
        handlers = self._get_handlers()
        kind, event = message.connection_id.kind, message.event_type
        for key in ((kind, event), ("*", event), (kind, "*"), ("*", "*")):
            if key in handlers:
                return getattr(self, handlers[key])
        return None

    @api.model
    def _dispatch(self, message):
        """Run the handler of ``message`` and record the outcome on it."""
        handler = self._find_handler(message)
        attempt = message.attempt_count + 1
        Attempt = self.env["finance.connect.message.attempt"].sudo()
        try:
            with self.env.cr.savepoint():
                result = handler(message) or "processed"
        except HandlerRetry as exc:
            Attempt.create(
                {
                    "message_id": message.id,
                    "outcome": "retry",
                    "error": str(exc)[:2000],
                    "retry_in": exc.seconds,
                }
            )
            if attempt >= message.connection_id.max_attempts:
                return self._fail(message, attempt, str(exc), "remote_unavailable")
            message._set_state("retrying", str(exc)[:200], attempt_count=attempt, error=str(exc))
            message.with_delay(
                channel=message.connection_id._get_channel(),
                eta=exc.seconds,
                identity_key=f"finance_connect-process-{message.id}-{attempt + 1}",
                max_retries=0,
            )._job_process()
            return f"retry in {exc.seconds}s: {exc}"
        except HandlerError as exc:
            Attempt.create({"message_id": message.id, "outcome": "fail", "error": str(exc)[:2000]})
            return self._fail(message, attempt, str(exc), exc.category)
        except Exception as exc:
            _logger.exception("finance_connect: handler failed for %s", message.reference)
            Attempt.create(
                {
                    "message_id": message.id,
                    "outcome": "fail",
                    "error": f"{type(exc).__name__}: {exc}"[:2000],
                }
            )
            return self._fail(message, attempt, f"{type(exc).__name__}: {exc}", "other")
        Attempt.create({"message_id": message.id, "outcome": "done"})
        message._set_state(
            "done", result[:200], attempt_count=attempt, done_at=fields.Datetime.now(), error=False
        )
        return result

    @api.model
    def _fail(self, message, attempt, error, category):
        message._set_state("failed", error[:200], attempt_count=attempt, error=error)
        self.env["finance.connect.exception"]._open_for_message(
            message,
            category,
            self.env._(
                "The %(event)s message %(ref)s from %(conn)s could not be processed: "
                "%(error)s. Fix the cause, then replay the message.",
                event=message.event_type,
                ref=message.reference,
                conn=message.connection_id.display_name,
                error=error[:500],
            ),
        )
        return f"failed: {error[:200]}"

    @api.model
    def _handle_record_event(self, message):
        """Generic handler: the event is recorded in the log; nothing else to do."""
        return "recorded"
