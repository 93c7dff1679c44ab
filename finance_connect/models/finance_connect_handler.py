"""Registry of inbound message handlers, keyed by connection kind and event type.

Addons register handlers by extending ``_get_handlers``::

    def _get_handlers(self):
        handlers = super()._get_handlers()
        handlers[("bank", "statement")] = "_handle_bank_statement"
        return handlers

A handler is a method of this model taking the message; it returns a short
result text, raises ``HandlerRetry`` for a transient problem and
``HandlerError`` for one a person must fix (it opens an exception).

The first attempt of the messages a connection receives is processed by the
connection's inbound drain job (``_drain``, queued by ``_schedule_drain``);
replays and handler retries get a job per message (``_job_process``).
"""

import logging

from odoo import api, fields, models
from odoo.tools import SQL

from ..exceptions import HandlerError, HandlerRetry
from .finance_connect_delivery import DRAIN_BATCH
from .finance_connect_tier import GATE_RETRY_SECONDS

_logger = logging.getLogger(__name__)


class FinanceConnectHandler(models.AbstractModel):
    _name = "finance.connect.handler"
    _description = "Finance Connect inbound handlers"

    @api.model
    def _schedule_drain(self, connection):
        """Queue the job processing the messages ``connection`` received, unless
        one is pending already (its identity key): a flood of webhooks costs one
        lookup each instead of one job each."""
        connection.ensure_one()
        key = f"finance_connect-inbound-{connection.id}"
        # The common case under load, answered by queue_job's partial index
        # without building a job (with_delay checks again when it does).
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM queue_job WHERE identity_key = %s"
                " AND state IN ('pending', 'enqueued') LIMIT 1",
                key,
            )
        )
        if self.env.cr.fetchone():
            return None
        return (
            connection.with_context(tracking_disable=True)
            .with_delay(
                channel=connection._get_channel(),
                identity_key=key,
                max_retries=0,
                description=f"Process messages received from {connection.name}",
            )
            ._job_drain_inbound()
        )

    @api.model
    def _drain(self, connection, limit=DRAIN_BATCH):
        """Process the first attempt of the messages received by ``connection``.

        Idempotent: messages are picked with ``FOR UPDATE SKIP LOCKED`` and
        only while queued without a job of their own (replays and retries have
        one); each runs through its handler in a savepoint (``_dispatch``), so
        one failing message does not hold back the others. A follow-up job is
        queued when more wait.
        """
        connection.ensure_one()
        conn = connection.sudo()
        wait = self.env["finance.connect.delivery"]._gate_wait(
            conn,
            retry=lambda: conn.with_delay(
                channel=conn._get_channel(),
                eta=GATE_RETRY_SECONDS,
                identity_key=f"finance_connect-inbound-{conn.id}",
                max_retries=0,
            )._job_drain_inbound(),
        )
        if wait:
            return wait
        Message = self.env["finance.connect.message"].sudo()
        Message.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM finance_connect_message
                 WHERE connection_id = %s AND direction = 'in' AND state = 'queued'
                   AND job_uuid IS NULL
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                connection.id,
                limit,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        outcomes = {}
        for message in Message.browse(ids):
            key = (message._job_process() or "").split(":")[0]
            outcomes[key] = outcomes.get(key, 0) + 1
        if len(ids) == limit:
            self._schedule_drain(connection)
        return f"{len(ids)} message(s): {outcomes}"

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
            return self._fail(message, attempt, str(exc), exc.category, fix=exc.fix)
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
    def _fail(self, message, attempt, error, category, fix=None):
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
            fix=fix,
        )
        return f"failed: {error[:200]}"

    @api.model
    def _handle_record_event(self, message):
        """Generic handler: the event is recorded in the log; nothing else to do."""
        return "recorded"
