"""The OpenMetrics endpoint: ``GET /finance_connect/metrics``.

The controller hands the request's ``Authorization`` and ``Accept`` headers to
``_metrics_answer``, which checks the bearer token (one per company, see
``finance.connect.metrics.token``) and encodes the families of that company
with ``prometheus_client`` (``lib/metrics.py``).

What a scrape reads, with a handful of ``GROUP BY`` queries and never the whole
log: the rolled-up counts of the settled past (``finance.connect.metrics.rollup``,
folded by ``_cron_fold_metrics``), plus the rows created since the rollup's
horizon, plus the messages that are not done (a partial index). Every value is
exact at the time of the scrape; the rollup only makes it cheap.

Extension point (documented in ``readme/DEVELOP.md``): ``_metrics_families``
returns the metric families of one company; sibling addons EXTEND it and append
theirs (the reporting addon adds its feeds).
"""

import json
import logging
from collections import defaultdict

from odoo import api, models
from odoo.tools import SQL

from ..lib import metrics as lib_metrics

_logger = logging.getLogger(__name__)

#: Message states of a waiting message (the dashboard's queue depth too).
QUEUE_STATES = ("new", "queued", "sending", "retrying")
#: pg_advisory_xact_lock key of the fold: two folds never run at once.
FOLD_LOCK_KEY = 0x46434D45  # "FCME"
UNAUTHORIZED_BODY = b"Unauthorized\n"
REALM = 'Bearer realm="finance_connect metrics"'
STATUS_CLASS_SQL = SQL(
    "CASE WHEN a.http_status BETWEEN 100 AND 599"
    " THEN (a.http_status / 100)::text || 'xx' ELSE 'none' END"
)


class FinanceConnectMetrics(models.AbstractModel):
    _name = "finance.connect.metrics"
    _description = "Finance Connect metrics (OpenMetrics endpoint)"

    # ------------------------------------------------------------------
    # The request
    # ------------------------------------------------------------------

    @api.model
    def _metrics_answer(self, authorization, accept):
        """``(status, body, headers)`` of one scrape.

        No token: 401; an unknown, revoked or rotated token: 401 with
        ``error="invalid_token"`` (RFC 6750). Neither says anything else.
        """
        refused = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        token = self._metrics_bearer(authorization)
        if token is None:
            return 401, UNAUTHORIZED_BODY, dict(refused, **{"WWW-Authenticate": REALM})
        company = self.env["finance.connect.metrics.token"]._metrics_company_from_token(token)
        if not company:
            challenge = REALM + ', error="invalid_token"'
            return 401, UNAUTHORIZED_BODY, dict(refused, **{"WWW-Authenticate": challenge})
        body, content_type = lib_metrics.encode(lambda: self._metrics_families(company), accept)
        return 200, body, {"Content-Type": content_type, "Cache-Control": "no-store"}

    @api.model
    def _metrics_bearer(self, authorization):
        """The token of an ``Authorization: Bearer <token>`` header, or None."""
        scheme, _sep, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return None
        return value

    # ------------------------------------------------------------------
    # The families (extension point)
    # ------------------------------------------------------------------

    @api.model
    def _metrics_families(self, company):
        """The metric families of ``company`` (a list of ``prometheus_client``
        metric families). EXTEND in sibling addons: call super() and append
        families named ``finance_connect_<what>``, read with a few aggregate
        queries limited to ``company``."""
        return lib_metrics.snapshot_families(self._metrics_snapshot(company))

    @api.model
    def _metrics_snapshot(self, company):
        """Read what one scrape of ``company`` exposes (a ``lib.metrics.Snapshot``)."""
        self.env.flush_all()
        categories = tuple(
            self.env["finance.connect.exception"]._fields["category"].get_values(self.env)
        )
        snap = lib_metrics.Snapshot(
            states=tuple(self.env["finance.connect.message"]._fields["state"].get_values(self.env)),
            categories=categories,
            sla_category="sla" if "sla" in categories else None,
        )
        horizon, rolled_messages, rolled_attempts = self._metrics_read_rollup(company)
        self._metrics_read_connections(company, snap)
        self._metrics_read_messages(company, horizon, rolled_messages, snap)
        since = self._metrics_since("a", horizon)
        snap.attempts = rolled_attempts
        for _company, conn_id, direction, klass, agg in self._metrics_attempt_rows(
            SQL("a.company_id = %s AND %s", company.id, since)
        ):
            lib_metrics.add_into(snap.attempts, (conn_id, direction, klass), agg)
        self.env.cr.execute(
            SQL(
                "SELECT connection_id, category, count(*) FROM finance_connect_exception"
                " WHERE company_id = %s AND state IN ('open', 'in_progress')"
                " GROUP BY connection_id, category",
                company.id,
            )
        )
        snap.exceptions = {(conn_id, cat): n for conn_id, cat, n in self.env.cr.fetchall()}
        missing = {
            key[0] for key in [*snap.message_counts, *snap.attempts, *snap.exceptions] if key[0]
        } - set(snap.connections)
        if missing:  # a series of a connection of another company (moved records)
            self.env.cr.execute(
                SQL(
                    "SELECT id, name FROM finance_connect_connection WHERE id IN %s",
                    tuple(missing),
                )
            )
            snap.connections.update(self.env.cr.fetchall())
        return snap

    @api.model
    def _metrics_read_connections(self, company, snap):
        self.env.cr.execute(
            SQL(
                "SELECT id, name, active, circuit_state FROM finance_connect_connection"
                " WHERE company_id = %s",
                company.id,
            )
        )
        for conn_id, name, active, circuit in self.env.cr.fetchall():
            snap.connections[conn_id] = name
            if active:
                snap.active_connections[conn_id] = circuit or "closed"

    @api.model
    def _metrics_read_messages(self, company, horizon, rolled, snap):
        """Messages by state: the total per connection and direction (rollup +
        tail) less the messages that are not done (read through a partial
        index) gives the done ones; the waiting ones give the queue."""
        totals = defaultdict(int, rolled)
        for _company, conn_id, direction, count in self._metrics_message_rows(
            SQL("m.company_id = %s AND %s", company.id, self._metrics_since("m", horizon))
        ):
            totals[conn_id, direction] += count
        self.env.cr.execute(
            SQL(
                "SELECT connection_id, direction, state, count(*),"
                " extract(epoch FROM (clock_timestamp() AT TIME ZONE 'UTC') - min(create_date))"
                " FROM finance_connect_message"
                " WHERE company_id = %s AND state <> 'done'"
                " GROUP BY connection_id, direction, state",
                company.id,
            )
        )
        not_done = defaultdict(int)
        queue = defaultdict(lambda: [0, 0.0])
        for conn_id, direction, state, count, age in self.env.cr.fetchall():
            snap.message_counts[conn_id, direction, state] = count
            not_done[conn_id, direction] += count
            if state in QUEUE_STATES:
                queue[conn_id, direction][0] += count
                queue[conn_id, direction][1] = max(queue[conn_id, direction][1], float(age or 0))
        for key in set(totals) | set(not_done):
            snap.message_counts[(*key, "done")] = totals.get(key, 0) - not_done.get(key, 0)
        snap.queue = {key: tuple(value) for key, value in queue.items()}

    # ------------------------------------------------------------------
    # Aggregates shared by the scrape (the tail) and the fold (the past)
    # ------------------------------------------------------------------

    @api.model
    def _metrics_since(self, alias, horizon, until=None):
        """``<alias>.create_date`` in ``[horizon, until)`` (open ends when None)."""
        column = SQL.identifier(alias, "create_date")
        parts = [SQL("TRUE")]
        if horizon:
            parts.append(SQL("%s >= %s", column, horizon))
        if until:
            parts.append(SQL("%s < %s", column, until))
        return SQL(" AND ").join(parts)

    @api.model
    def _metrics_message_rows(self, where):
        """``(company, connection, direction, count)`` of the messages ``where``
        (alias ``m``) selects."""
        self.env.cr.execute(
            SQL(
                "SELECT m.company_id, m.connection_id, m.direction, count(*)"
                " FROM finance_connect_message m WHERE %s"
                " GROUP BY m.company_id, m.connection_id, m.direction",
                where,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _metrics_attempt_rows(self, where):
        """``(company, connection, direction, status class, AttemptAggregate)``
        of the attempts ``where`` (alias ``a``, message ``m``) selects."""
        buckets = SQL(", ").join(
            SQL("count(*) FILTER (WHERE a.latency_ms <= %s)", round(bound * 1000, 6))
            for bound in lib_metrics.LATENCY_BUCKETS
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT a.company_id, m.connection_id, m.direction, %(klass)s AS klass,
                       count(*), count(*) FILTER (WHERE a.outcome <> 'done'),
                       count(a.latency_ms), coalesce(sum(a.latency_ms), 0) / 1000.0,
                       %(buckets)s
                  FROM finance_connect_message_attempt a
                  JOIN finance_connect_message m ON m.id = a.message_id
                 WHERE %(where)s
                 GROUP BY a.company_id, m.connection_id, m.direction, klass
                """,
                klass=STATUS_CLASS_SQL,
                buckets=buckets,
                where=where,
            )
        )
        return [
            (
                row[0],
                row[1],
                row[2],
                row[3],
                lib_metrics.AttemptAggregate.from_row(row[4], row[5], row[6], row[7], row[8:]),
            )
            for row in self.env.cr.fetchall()
        ]

    # ------------------------------------------------------------------
    # The rollup
    # ------------------------------------------------------------------

    @api.model
    def _metrics_layout(self):
        return json.dumps(list(lib_metrics.LATENCY_BUCKETS))

    @api.model
    def _metrics_read_rollup(self, company):
        """``(horizon, {(connection, direction): messages}, {(connection,
        direction, class): AttemptAggregate})`` folded for ``company``; no
        horizon (everything is read live) while the rollup is empty or was
        folded with other latency buckets."""
        self.env.cr.execute(
            SQL(
                "SELECT kind, connection_id, direction, status_class, message_count,"
                " aggregate, horizon, layout FROM finance_connect_metrics_rollup"
                " WHERE kind = 'horizon' OR company_id = %s",
                company.id,
            )
        )
        rows = self.env.cr.fetchall()
        head = [row for row in rows if row[0] == "horizon"]
        if not head or not head[0][6] or head[0][7] != self._metrics_layout():
            return None, {}, {}
        messages, attempts = {}, {}
        for kind, conn_id, direction, klass, count, aggregate, _h, _l in rows:
            if kind == "messages":
                messages[conn_id, direction] = count or 0
            elif kind == "attempts":
                attempts[conn_id, direction, klass] = lib_metrics.AttemptAggregate.from_json(
                    aggregate
                )
        return head[0][6], messages, attempts

    @api.model
    def _cron_fold_metrics(self):
        """Fold the settled part of the log into the rollup (cron).

        The horizon is read first, in this transaction: the start of the oldest
        transaction still running in the database (or now). A transaction that
        started before it has ended, so every row created before it (its
        ``create_date`` is its transaction's start) is committed or gone. The
        fold then runs in a new transaction, whose snapshot sees them all.
        """
        horizon = self._metrics_settled_horizon()
        with self.env.registry.cursor() as cr:
            return self.with_env(self.env(cr=cr))._metrics_fold(horizon)

    @api.model
    def _metrics_settled_horizon(self):
        self.env.cr.execute(
            SQL(
                "SELECT date_trunc('second', LEAST(clock_timestamp(), min(xact_start))"
                " AT TIME ZONE 'UTC') FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND xact_start IS NOT NULL"
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _metrics_fold(self, horizon):
        """Add the messages and attempts created in ``[previous horizon,
        horizon)`` to the rollup; returns whether it moved."""
        cr = self.env.cr
        cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s)", FOLD_LOCK_KEY))
        if not cr.fetchone()[0]:
            return False
        Rollup = self.env["finance.connect.metrics.rollup"].sudo()
        layout = self._metrics_layout()
        head = Rollup.search([("kind", "=", "horizon")], limit=1)
        if head and head.layout != layout:
            # Other buckets: fold everything again.
            Rollup.search([("kind", "in", ("horizon", "messages", "attempts"))]).unlink()
            head = Rollup.browse()
        since = head.horizon if head else None
        if since and horizon <= since:
            return False
        existing = {
            (
                row.kind,
                row.company_id.id,
                row.connection_id.id,
                row.direction,
                row.status_class or "",
            ): row
            for row in Rollup.search([("kind", "in", ("messages", "attempts"))])
        }
        for company_id, conn_id, direction, count in self._metrics_message_rows(
            self._metrics_since("m", since, horizon)
        ):
            row = existing.get(("messages", company_id, conn_id, direction, ""))
            if row:
                row.message_count += count
            else:
                Rollup.create(
                    {
                        "kind": "messages",
                        "company_id": company_id,
                        "connection_id": conn_id,
                        "direction": direction,
                        "message_count": count,
                    }
                )
        for company_id, conn_id, direction, klass, agg in self._metrics_attempt_rows(
            self._metrics_since("a", since, horizon)
        ):
            row = existing.get(("attempts", company_id, conn_id, direction, klass))
            if row:
                total = lib_metrics.AttemptAggregate.from_json(row.aggregate).add(agg)
                row.aggregate = total.to_json()
            else:
                Rollup.create(
                    {
                        "kind": "attempts",
                        "company_id": company_id,
                        "connection_id": conn_id,
                        "direction": direction,
                        "status_class": klass,
                        "aggregate": agg.to_json(),
                    }
                )
        if head:
            head.horizon = horizon
        else:
            Rollup.create({"kind": "horizon", "horizon": horizon, "layout": layout})
        Rollup.flush_model()
        _logger.info("finance_connect: metrics folded up to %s", horizon)
        return True
