"""The delivery engine: outbound messages out, attempt by attempt.

Queue jobs run on the records (``finance.connect.connection._job_drain``,
``finance.connect.message._job_send``) and hand over to this AbstractModel, as
inbound messages are handed to ``finance.connect.handler``:

- first attempts are delivered by the connection's drain jobs, one per shard
  (``parallel_deliveries``), many messages per job over one keep-alive
  connection (:meth:`_drain`);
- each attempt is recorded; a transient failure is retried with backoff by
  queueing the next attempt (``message._enqueue_send``); a message that
  cannot be delivered lands in the exception inbox (:meth:`_send`);
- the connection's circuit breaker (``_circuit_*``, also used by the bank
  addon's statement pulls) and rate limit hold sends back;
- a cron wakes what was queued without a job (:meth:`_wake_queues`).

The connection's dashboard figures come from the same log
(:meth:`_get_dashboard_values`).
"""

import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import payloads as lib_payloads
from ..lib import retry as lib_retry
from ..lib import signing
from .finance_connect_message import FINAL_STATES
from .finance_connect_tier import GATE_RETRY_SECONDS

DRAIN_BATCH = 100
#: First key of the advisory lock that lets one ordered drain per connection run.
ORDER_LOCK_KEY = 0x46430100


class FinanceConnectDelivery(models.AbstractModel):
    _name = "finance.connect.delivery"
    _description = "Finance Connect delivery engine"

    # ------------------------------------------------------------------
    # Drains: first attempts, many per job
    # ------------------------------------------------------------------

    @api.model
    def _schedule_drain(self, connection, shards):
        """Queue one drain job of ``connection`` per shard (deduplicated while
        one is pending)."""
        connection.ensure_one()
        if connection.sudo().deliver_in_order:
            shards = [0]  # one line per connection (_drain_in_order)
        for shard in sorted(set(shards)):
            connection.with_delay(
                channel=connection._get_channel(),
                identity_key=f"finance_connect-drain-{connection.id}-{shard}",
                max_retries=0,
                description=f"Deliver queued messages of {connection.name} (shard {shard})",
            )._job_drain(shard)

    @api.model
    def _drain(self, connection, shard, limit=DRAIN_BATCH):
        """Deliver the queued first attempts of one shard of ``connection``.

        Idempotent: messages are picked with ``FOR UPDATE SKIP LOCKED``, so
        two drains never send the same message, and a message already
        delivered is no longer queued. At most ``limit`` messages per job (a
        crashed job re-sends at most that many, with the same webhook-ids);
        a follow-up job is queued when more wait.
        """
        connection.ensure_one()
        conn = connection.sudo()
        wait = self._gate_wait(
            conn,
            retry=lambda: conn.with_delay(
                channel=conn._get_channel(),
                eta=GATE_RETRY_SECONDS,
                max_retries=0,
                identity_key=f"finance_connect-drain-{conn.id}-{shard}",
            )._job_drain(shard),
        )
        if wait:
            return wait
        if conn.circuit_state == "open" and not self._circuit_allows_send(conn):
            wait = self._circuit_seconds_left(conn)
            conn.with_delay(
                channel=conn._get_channel(),
                eta=max(wait, 1),
                max_retries=0,
                identity_key=f"finance_connect-drain-{conn.id}-{shard}",
            )._job_drain(shard)
            return f"circuit open: drain postponed {wait}s"
        if conn.deliver_in_order:
            return self._drain_in_order(conn, limit)
        Message = self.env["finance.connect.message"]
        Message.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM finance_connect_message
                 WHERE connection_id = %s AND direction = 'out' AND state = 'queued'
                   AND COALESCE(attempt_count, 0) = 0 AND batch_id IS NULL
                   AND mod(id, %s) = %s
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                conn.id,
                max(1, conn.parallel_deliveries),
                shard,
                limit,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        outcomes = {}
        for message in Message.sudo().browse(ids):
            outcome = self._send(message, 1, in_drain=True)
            key = outcome.split(":")[0]
            outcomes[key] = outcomes.get(key, 0) + 1
        if len(ids) == limit:
            self._schedule_drain(conn, [shard])
        return f"{len(ids)} message(s): {outcomes}"

    @api.model
    def _drain_in_order(self, conn, limit=DRAIN_BATCH):
        """Deliver the waiting messages of ``conn`` strictly in the order of their
        events (message id), for a connection that asks for ordering.

        One line per connection (shard 0 only): the oldest message waiting
        (queued, or retrying after a failure) goes first, and the drain stops at
        the first one that does not go through, so no later event overtakes it.
        The retry of that message is sent by this drain, at its time.
        """
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", ORDER_LOCK_KEY, conn.id)
        )
        if not self.env.cr.fetchone()[0]:
            # Another drain of this connection is sending: go after it.
            conn.with_delay(
                channel=conn._get_channel(), eta=GATE_RETRY_SECONDS, max_retries=0
            )._job_drain(0)
            return "another drain of this connection is sending: postponed"
        Message = self.env["finance.connect.message"]
        Message.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM finance_connect_message
                 WHERE connection_id = %s AND direction = 'out'
                   AND state IN ('queued', 'retrying') AND batch_id IS NULL
                 ORDER BY id
                 LIMIT %s
                """,
                conn.id,
                limit,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        sent = 0
        due = fields.Datetime.now() + timedelta(seconds=2)
        for message in Message.sudo().browse(ids):
            if message.state == "retrying" and (message.next_retry_at or due) > due:
                # Its retry job wakes this drain when the backoff is over.
                return f"{sent} message(s) in order; {message.reference} waits for its retry"
            # After the cool-down the head of the line is the probe (half-open).
            probe = conn.circuit_state == "half_open" and not sent
            self._send(message, message.attempt_count + 1, in_drain=True, probe=probe)
            if message.state != "done":
                return f"{sent} message(s) in order; stopped at {message.reference}"
            sent += 1
        if len(ids) == limit:
            self._schedule_drain(conn, [0])
        return f"{sent} message(s) in order"

    @api.model
    def _gate_wait(self, conn, retry=None):
        """``None`` when a job of ``conn`` may work now (it holds a slot of its
        tier, ``finance.connect.tier._gate_try_enter``), else why not. A job
        that found its tier busy is queued again, by ``retry`` or as a drain of
        every shard, a few seconds later; paused work waits to be resumed
        (``_wake_connections``)."""
        Tier = self.env["finance.connect.tier"]
        reason = Tier._gate_try_enter(conn)
        if reason and "busy" in reason:
            if retry:
                retry()
            else:
                for shard in self._get_shards(conn):
                    conn.with_delay(
                        channel=conn._get_channel(),
                        eta=GATE_RETRY_SECONDS,
                        max_retries=0,
                        identity_key=f"finance_connect-drain-{conn.id}-{shard}",
                    )._job_drain(shard)
            return f"{reason}: postponed {GATE_RETRY_SECONDS}s"
        if reason:
            return f"{reason}: the queued messages wait"
        return None

    @api.model
    def _get_shards(self, conn):
        """The drain shards of ``conn``: one when it delivers in order."""
        return range(1 if conn.deliver_in_order else max(1, conn.parallel_deliveries))

    @api.model
    def _wake_connections(self, connections):
        """Queue the drains of ``connections`` now (after a resume), outbound and
        inbound; paused ones and those of paused tiers stay asleep."""
        Tier = self.env["finance.connect.tier"]
        for conn in connections.sudo():
            if not conn.active or conn.paused or Tier._get_tier(conn.tier).paused:
                continue
            self._schedule_drain(conn, self._get_shards(conn))
            self.env["finance.connect.handler"]._schedule_drain(conn)

    @api.model
    def _wake_queues(self, age_seconds=60):
        """Queue drains for messages queued longer than ``age_seconds`` without a job.

        A drain is not queued again while one is pending; a message stored just
        as the pending drain started (and read the queue) waits for the next
        message or for this cron: never lost, at most a minute late.
        """
        cr = self.env.cr
        self.env["finance.connect.message"].flush_model()
        cr.execute(
            SQL(
                """
                SELECT DISTINCT connection_id, direction
                  FROM finance_connect_message
                 WHERE state = 'queued'
                   AND create_date < (now() at time zone 'utc') - %s * interval '1 second'
                   AND ((direction = 'in' AND job_uuid IS NULL)
                     OR (direction = 'out' AND COALESCE(attempt_count, 0) = 0
                         AND batch_id IS NULL))
                """,
                age_seconds,
            )
        )
        rows = cr.fetchall()
        woken = 0
        paused_tiers = set(
            self.env["finance.connect.tier"].sudo().search([("paused", "=", True)]).mapped("code")
        )
        for connection_id, direction in rows:
            conn = self.env["finance.connect.connection"].sudo().browse(connection_id)
            if conn.paused or conn.tier in paused_tiers:
                continue  # resumed by a button, which wakes its queues
            if direction == "in":
                self.env["finance.connect.handler"]._schedule_drain(conn)
            else:
                self._schedule_drain(conn, self._get_shards(conn))
            woken += 1
        return woken

    # ------------------------------------------------------------------
    # One attempt
    # ------------------------------------------------------------------

    @api.model
    def _send(self, message, attempt=1, in_drain=False, probe=False):
        """Deliver ``message`` once (attempt number ``attempt``); idempotent.

        Re-reads the state and does nothing when the message is already
        delivered, cancelled or waiting for a later attempt. Records the outcome
        of the attempt on the message; schedules the next attempt on a
        transient failure; moves the message to the exception inbox on a
        permanent one.
        """
        message.ensure_one()
        msg = message.sudo()
        if msg.state in FINAL_STATES or msg.state == "failed" and attempt <= msg.attempt_count:
            return f"nothing to do: message is {msg.state}"
        if attempt <= msg.attempt_count:
            return f"nothing to do: attempt {attempt} already ran"
        conn = msg.connection_id
        if not conn.active or conn.paused:
            msg._enqueue_send(attempt, eta=300)
            return "connection paused: postponed 5 minutes"
        # A drain holds a slot of the tier already and keeps the order itself.
        if not in_drain and conn.deliver_in_order:
            # Ordered connections send their retries from the drain, in line.
            self._schedule_drain(conn, [0])
            return "delivered in order by the connection's drain"
        if not in_drain:
            wait = self._gate_wait(
                conn, retry=lambda: msg._enqueue_send(attempt, eta=GATE_RETRY_SECONDS)
            )
            if wait:
                if "paused" in wait:
                    msg._enqueue_send(attempt, eta=60)
                return wait
        if not probe and not self._circuit_allows_send(conn):
            wait = self._circuit_seconds_left(conn)
            msg._enqueue_send(attempt, eta=max(wait, 1))
            return f"circuit open: postponed {wait}s"
        if conn.rate_limit_per_minute and self._rate_limited(conn):
            msg._enqueue_send(attempt, eta=5)
            return "rate limit reached: postponed 5s"
        result = self._send_request(msg)
        return self.with_env(msg.env)._record_outcome(msg, attempt, result)

    @api.model
    def _rate_limited(self, connection):
        """Whether ``connection`` made ``rate_limit_per_minute`` attempts in the
        last minute."""
        self.env["finance.connect.message.attempt"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM finance_connect_message_attempt a
                  JOIN finance_connect_message m ON m.id = a.message_id
                 WHERE m.connection_id = %s
                   AND a.at > (now() at time zone 'utc') - interval '1 minute'
                """,
                connection.id,
            )
        )
        return self.env.cr.fetchone()[0] >= connection.rate_limit_per_minute

    @api.model
    def _prepare_request_headers(self, message, body):
        """Headers of one delivery: signature, correlation and idempotency.

        The webhook-id is the message's own and the same on every retry.
        """
        conn = message.connection_id
        headers = {
            "Content-Type": message.content_type or "application/json",
            "User-Agent": "finance_connect/18.0",
            "X-Correlation-Id": message.correlation_id,
            "Idempotency-Key": message.idempotency_key,
            "X-Finance-Connect-Event": message.event_type,
        }
        secret = conn._get_secret("webhook_secret")
        if secret:
            headers.update(signing.sign_headers(secret, message.webhook_id, body))
        else:
            headers["webhook-id"] = message.webhook_id
            headers["webhook-timestamp"] = str(int(time.time()))
        headers.update(self.env["finance.connect.http"]._get_auth_headers(conn))
        return headers

    @api.model
    def _send_request(self, message):
        """POST the payload of ``message`` to its connection; returns an HttpResult."""
        conn = message.connection_id
        body = (message.payload or "").encode()
        return self.env["finance.connect.http"]._request(
            "POST",
            conn._get_outbound_url(
                message.subscription_id.path if message.subscription_id else None
            ),
            data=body,
            headers=self._prepare_request_headers(message, body),
            timeout=(conn.timeout_connect, conn.timeout_read),
            verify=conn.verify_tls,
        )

    @api.model
    def _record_outcome(self, message, attempt, result):
        """Store the attempt and move ``message`` on: done, retrying or failed."""
        conn = message.connection_id
        if result.status:
            outcome = lib_retry.classify_status(result.status)
        else:
            outcome = "retry"  # timeouts and connection errors are transient
        retry_after = lib_retry.parse_retry_after(result.headers.get("Retry-After"))
        exhausted = attempt >= conn.max_attempts
        delay = 0
        if outcome == "retry" and not exhausted:
            delay = int(
                lib_retry.backoff_seconds(
                    attempt, base=conn.backoff_base, cap=conn.backoff_cap, retry_after=retry_after
                )
            )
        self.env["finance.connect.message.attempt"].sudo().create(
            {
                "message_id": message.id,
                "http_status": result.status,
                "latency_ms": result.latency_ms,
                "outcome": "done" if outcome == "done" else ("retry" if delay else "fail"),
                "error": False if outcome == "done" else result.excerpt(),
                "retry_in": delay,
            }
        )
        common = {
            "attempt_count": attempt,
            "response_status": result.status,
            "response_excerpt": result.excerpt() if result.status else False,
        }
        if outcome == "done":
            self._circuit_record_success(conn)
            message._set_state(
                "done",
                f"HTTP {result.status}",
                done_at=fields.Datetime.now(),
                error=False,
                next_retry_at=False,
                external_id=lib_payloads.external_id(result.body) or message.external_id,
                **common,
            )
            message._on_delivered()
            return f"delivered: HTTP {result.status}"
        error = result.error or f"HTTP {result.status}: {result.excerpt()[:300]}"
        if outcome == "retry":
            self._circuit_record_failure(conn)
        if outcome == "retry" and not exhausted:
            message._set_state(
                "retrying",
                error[:200],
                error=error,
                next_retry_at=fields.Datetime.now() + timedelta(seconds=delay),
                **common,
            )
            message._enqueue_send(attempt + 1, eta=delay)
            message._update_record_state()
            return f"attempt {attempt} failed ({error[:100]}); retry in {delay}s"
        message._set_state("failed", error[:200], error=error, next_retry_at=False, **common)
        category = "remote_unavailable" if outcome == "retry" else "remote_rejected"
        text = (
            self.env._(
                "%(conn)s could not be reached after %(n)s attempts (last: %(error)s). "
                "Check that the system is up, then replay the message.",
                conn=conn.display_name,
                n=attempt,
                error=error[:300],
            )
            if category == "remote_unavailable"
            else self.env._(
                "%(conn)s rejected %(ref)s with %(error)s. Correct the data or the "
                "connection settings, then replay the message.",
                conn=conn.display_name,
                ref=message.reference,
                error=error[:300],
            )
        )
        self.env["finance.connect.exception"]._open_for_message(message, category, text)
        message._on_failed()
        return f"failed: {error[:200]}"

    # ------------------------------------------------------------------
    # Circuit breaker of a connection
    # ------------------------------------------------------------------

    @api.model
    def _circuit_allows_send(self, connection):
        """Whether a call to ``connection`` may go out now; an open circuit lets
        one probe through after its cool-down (half-open)."""
        connection.ensure_one()
        if connection.circuit_state == "closed":
            return True
        now = fields.Datetime.now()
        cooled = (connection.circuit_changed_at or now) + timedelta(
            seconds=connection.circuit_cooldown
        )
        if now < cooled:
            return False
        # Cool-down over (or a probe that never reported back): let one probe out.
        connection.sudo().write({"circuit_state": "half_open", "circuit_changed_at": now})
        return True

    @api.model
    def _circuit_seconds_left(self, connection):
        """Seconds until the open circuit of ``connection`` lets a probe out."""
        connection.ensure_one()
        if not connection.circuit_changed_at:
            return 0
        end = connection.circuit_changed_at + timedelta(seconds=connection.circuit_cooldown)
        return max(0, int((end - fields.Datetime.now()).total_seconds()) + 1)

    @api.model
    def _circuit_record_success(self, connection):
        """A call to ``connection`` went through: the circuit closes."""
        connection.ensure_one()
        if connection.circuit_state != "closed" or connection.consecutive_failures:
            was_open = connection.circuit_state != "closed"
            connection.sudo().write(
                {
                    "circuit_state": "closed",
                    "consecutive_failures": 0,
                    "circuit_changed_at": fields.Datetime.now(),
                    "circuit_opened_at": False,
                }
            )
            if was_open:
                self.env["finance.connect.audit"]._log(connection, "circuit_closed")
        if connection.sudo().degraded:
            self._degrade_end(connection)

    @api.model
    def _circuit_record_failure(self, connection):
        """A call to ``connection`` failed for a transient reason: after
        ``circuit_threshold`` in a row (or a failed probe) the circuit opens."""
        connection.ensure_one()
        failures = connection.consecutive_failures + 1
        vals = {"consecutive_failures": failures}
        if connection.circuit_state == "half_open" or (
            connection.circuit_state == "closed" and failures >= connection.circuit_threshold
        ):
            vals.update(circuit_state="open", circuit_changed_at=fields.Datetime.now())
            if not connection.circuit_opened_at:
                vals["circuit_opened_at"] = vals["circuit_changed_at"]
            self.env["finance.connect.audit"]._log(
                connection, "circuit_opened", f"{failures} consecutive failures"
            )
        connection.sudo().write(vals)
        if connection.circuit_opened_at and connection.degrade_after_minutes:
            self._degrade_check(connection)

    # ------------------------------------------------------------------
    # Degraded mode: real time becomes batch while a system stays down
    # ------------------------------------------------------------------

    @api.model
    def _degrade_check(self, connections=None):
        """Put into degraded mode the connections (all, by default) whose circuit
        has been open for longer than their ``degrade_after_minutes``: their
        real-time subscriptions collect events into batches
        (``finance.connect.subscription._get_effective_mode``). Returns them."""
        Connection = self.env["finance.connect.connection"].sudo()
        if connections is None:
            connections = Connection.search(
                [
                    ("degraded", "=", False),
                    ("degrade_after_minutes", ">", 0),
                    ("circuit_opened_at", "!=", False),
                ]
            )
        now = fields.Datetime.now()
        degraded = Connection.browse()
        for conn in connections.sudo():
            if conn.degraded or not conn.degrade_after_minutes or not conn.circuit_opened_at:
                continue
            if conn.circuit_state == "closed":
                continue
            if now - conn.circuit_opened_at < timedelta(minutes=conn.degrade_after_minutes):
                continue
            conn.write({"degraded": True, "degraded_since": now})
            self.env["finance.connect.audit"]._log(
                conn, "degraded_on", f"circuit open since {conn.circuit_opened_at}"
            )
            degraded |= conn
        return degraded

    @api.model
    def _degrade_end(self, connection):
        """The system is back: the events collected while degraded go out first
        (one batch per subscription, after every message queued before them),
        then real time resumes."""
        conn = connection.sudo()
        Message = self.env["finance.connect.message"].sudo()
        for sub in conn.subscription_ids.filtered(lambda s: s.mode == "realtime"):
            items = Message.search(
                [
                    ("subscription_id", "=", sub.id),
                    ("state", "=", "new"),
                    ("direction", "=", "out"),
                    ("batch_id", "=", False),
                    ("waiting_for", "=", False),
                ],
                order="id",
            )
            if items:
                sub._send_batch(items)
        conn.write({"degraded": False, "degraded_since": False})
        self.env["finance.connect.audit"]._log(conn, "degraded_off")

    # ------------------------------------------------------------------
    # Figures of the connection dashboard
    # ------------------------------------------------------------------

    @api.model
    def _get_dashboard_values(self, connections):
        """The dashboard field values of each of ``connections``, in order:
        today's outcomes, the queue, and the last day's failure rate and
        latencies (over the delivery attempts)."""
        counts, stats, open_exc = {}, {}, {}
        if connections.ids:
            counts, stats, open_exc = self._read_dashboard_figures(connections)
        values = []
        for conn in connections:
            done, failed, retrying, depth, total = counts.get(conn.id, (0, 0, 0, 0, 0))
            rate, last_ok, p50, p95 = stats.get(conn.id, (0, False, 0, 0))
            values.append(
                {
                    "dash_today_done": done,
                    "dash_today_failed": failed,
                    "dash_today_retrying": retrying,
                    "dash_queue_depth": depth,
                    "message_count": total,
                    "dash_failure_rate": round((rate or 0) * 100, 1),
                    "dash_last_success": last_ok or False,
                    "dash_latency_p50": round(p50 or 0, 1),
                    "dash_latency_p95": round(p95 or 0, 1),
                    "exception_open_count": open_exc.get(conn, 0),
                }
            )
        return values

    @api.model
    def _read_dashboard_figures(self, connections):
        """``(counts, stats, open exceptions)`` of saved ``connections``, by id
        (exceptions by connection)."""
        self.env["finance.connect.message"].flush_model()
        self.env["finance.connect.message.attempt"].flush_model()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT connection_id,
                       count(*) FILTER (WHERE state = 'done' AND create_date >= %(today)s),
                       count(*) FILTER (WHERE state = 'failed' AND create_date >= %(today)s),
                       count(*) FILTER (WHERE state = 'retrying'),
                       count(*) FILTER (WHERE state IN ('new', 'queued', 'sending', 'retrying')),
                       count(*)
                  FROM finance_connect_message
                 WHERE connection_id IN %(ids)s
                 GROUP BY connection_id
                """,
                ids=tuple(connections.ids),
                today=fields.Date.context_today(connections),
            )
        )
        counts = {row[0]: row[1:] for row in cr.fetchall()}
        cr.execute(
            SQL(
                """
                SELECT m.connection_id,
                       count(*) FILTER (WHERE a.outcome <> 'done')::float
                           / nullif(count(*), 0),
                       max(a.at) FILTER (WHERE a.outcome = 'done'),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY a.latency_ms),
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY a.latency_ms)
                  FROM finance_connect_message_attempt a
                  JOIN finance_connect_message m ON m.id = a.message_id
                 WHERE m.connection_id IN %(ids)s
                   AND a.at >= now() at time zone 'utc' - interval '1 day'
                 GROUP BY m.connection_id
                """,
                ids=tuple(connections.ids),
            )
        )
        stats = {row[0]: row[1:] for row in cr.fetchall()}
        open_exc = dict(
            self.env["finance.connect.exception"]._read_group(
                [
                    ("connection_id", "in", connections.ids),
                    ("state", "in", ("open", "in_progress")),
                ],
                ["connection_id"],
                ["__count"],
            )
        )
        return counts, stats, open_exc
