"""Benchmark of the metrics endpoint with a large message log. Prints figures;
asserts nothing.

Run by ``setup/bench-metrics``, which creates a throwaway database (the addons
without demo data), starts Odoo on a free loopback port (threaded, crons off)
and calls this script with ``--base-url``, ``--conf`` and ``--db``. What it
does:

1. Fills the log with ``--messages`` messages (default 1,000,000) over
   ``--connections`` connections and 90 days, with about 1.15 attempts each
   (one per delivered message, a failed first try for one in ten, six for a
   dead letter) and an open exception per dead letter: a bulk SQL insert into
   our own tables (a benchmark fixture, not how the engine writes), committed
   and analysed. Prints the row counts and table sizes.
2. Times ``GET /finance_connect/metrics`` over real HTTP with the company's
   bearer token, three times, before any fold (the whole log read live).
3. Runs the fold cron (``_cron_fold_metrics``) and prints its time, adds
   ``--tail`` new messages with attempts (the traffic since the last fold),
   then times ``--requests`` scrapes over real HTTP (OpenMetrics, as
   Prometheus asks) and as many calls of the model method in this process:
   p50, p95, min, max, the body's size and its number of series; and, for
   the HTTP overhead, the bare route ``/finance_connect/ping``.
"""

import argparse
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook_client import init_odoo, percentile

PAYLOAD = '{"event_type":"invoice.posted","schema_version":1,"data":{"number":"INV/2026/%s"}}'
ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def _env(conf, db):
    from odoo import SUPERUSER_ID, api

    cr = init_odoo(conf, db).cursor()
    return api.Environment(cr, SUPERUSER_ID, {}), cr


def _fill(env, connection_ids, messages, first=1, days=90):
    """Insert ``messages`` messages (ids from ``first``) and their attempts."""
    from odoo.tools import SQL

    cr = env.cr
    company = env.company.id
    conns = list(connection_ids)
    cr.execute(
        SQL(
            """
            INSERT INTO finance_connect_message
                (reference, direction, connection_id, company_id, event_type,
                 idempotency_key, webhook_id, correlation_id, content_type, payload,
                 payload_sha256, state, attempt_count, active, create_date, write_date,
                 create_uid, write_uid, response_status)
            SELECT 'FCB-' || g, CASE WHEN mod(g, 5) = 0 THEN 'in' ELSE 'out' END,
                   (%(conns)s)[1 + mod(g, %(n)s)], %(company)s, 'invoice.posted',
                   'bench-' || g, 'msg_bench_' || g, md5(g::text), 'application/json',
                   format(%(payload)s, g), md5('p' || g),
                   CASE WHEN mod(g, 200) = 0 THEN 'failed'
                        WHEN mod(g, 1000) = 1 THEN 'queued'
                        WHEN mod(g, 1000) = 2 THEN 'retrying'
                        WHEN mod(g, 1000) = 3 THEN 'cancelled'
                        ELSE 'done' END,
                   CASE WHEN mod(g, 200) = 0 THEN 6 WHEN mod(g, 10) = 0 THEN 2 ELSE 1 END,
                   true, ts, ts, 1, 1, 200
              FROM generate_series(%(first)s, %(last)s) g,
                   LATERAL (SELECT (now() AT TIME ZONE 'UTC')
                           - make_interval(secs => (%(last)s - g) * %(step)s)) t(ts)
            """,
            conns=conns,
            n=len(conns),
            company=company,
            payload=PAYLOAD,
            first=first,
            last=first + messages - 1,
            step=days * 86400.0 / max(messages, 1),
        )
    )
    # Attempts: one per message (6 for a dead letter, a failed try first for
    # one in ten), as the engine would have recorded them.
    cr.execute(
        SQL(
            """
            INSERT INTO finance_connect_message_attempt
                (message_id, company_id, http_status, latency_ms, outcome, at,
                 create_date, write_date, create_uid, write_uid)
            SELECT m.id, m.company_id,
                   CASE WHEN m.state = 'failed' THEN 503 WHEN k < m.attempt_count THEN 500
                        WHEN m.direction = 'in' THEN NULL ELSE 200 END,
                   CASE WHEN m.direction = 'in' AND m.state <> 'failed' THEN NULL
                        ELSE 20 + mod(m.id::bigint * 7919 + k * 104729, 1500) END,
                   CASE WHEN m.state = 'failed' OR k < m.attempt_count THEN
                             CASE WHEN k = m.attempt_count THEN 'fail' ELSE 'retry' END
                        ELSE 'done' END,
                   m.create_date, m.create_date, m.create_date, 1, 1
              FROM finance_connect_message m, generate_series(1, m.attempt_count) k
             WHERE starts_with(m.reference, 'FCB-') AND m.id >= %(low)s
               AND m.state NOT IN ('queued', 'cancelled')
            """,
            low=_min_bench_id(cr, first),
        )
    )
    cr.execute(
        SQL(
            """
            INSERT INTO finance_connect_exception
                (name, description, category, state, priority, connection_id, company_id,
                 message_id, fingerprint, occurrences, last_seen, create_date, write_date)
            SELECT 'Remote unavailable: ' || m.reference, 'bench', 'remote_unavailable',
                   'open', '0', m.connection_id, m.company_id, m.id, 'bench:' || m.id, 1,
                   m.create_date, m.create_date, m.create_date
              FROM finance_connect_message m
             WHERE starts_with(m.reference, 'FCB-') AND m.state = 'failed' AND m.id >= %(low)s
            """,
            low=_min_bench_id(cr, first),
        )
    )


def _min_bench_id(cr, first):
    from odoo.tools import SQL

    cr.execute(
        SQL(
            "SELECT min(id) FROM finance_connect_message WHERE reference = %s",
            f"FCB-{first}",
        )
    )
    return cr.fetchone()[0] or 0


def _sizes(cr):
    from odoo.tools import SQL

    out = {}
    for table in (
        "finance_connect_message",
        "finance_connect_message_attempt",
        "finance_connect_exception",
        "finance_connect_metrics_rollup",
    ):
        cr.execute(
            SQL(
                "SELECT count(*), pg_total_relation_size(%s::regclass) FROM %s",
                table,
                SQL.identifier(table),
            )
        )
        out[table] = cr.fetchone()
    return out


def _print_sizes(cr):
    for table, (rows, size) in _sizes(cr).items():
        print(f"  {table:<34} {rows:>10,} rows  {size / 2**20:>8.1f} MiB")


def _figures(label, seconds, extra=""):
    ms = [s * 1000 for s in seconds]
    print(
        f"  {label:<40} p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms"
        f"  min {min(ms):7.1f}  max {max(ms):7.1f}  (n={len(ms)}){extra}"
    )


def _scrape(url, token):
    headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT} if token else {}
    request = urllib.request.Request(url, headers=headers)
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as answer:
        body = answer.read()
        status = answer.status
    return time.perf_counter() - start, status, body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--tail", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    from odoo.tools import SQL

    env, cr = _env(args.conf, args.db)
    Connection = env["finance.connect.connection"]
    conns = Connection.create(
        [
            {"name": f"Bench bank {n}", "kind": "bank", "base_url": "https://bank.example"}
            for n in range(1, args.connections + 1)
        ]
    )
    token = env["finance.connect.metrics.token"]._issue_metrics_token(env.company)
    cr.commit()

    print(f"Filling the log: {args.messages:,} messages over {len(conns)} connections")
    start = time.perf_counter()
    _fill(env, conns.ids, args.messages)
    cr.commit()
    print(f"  filled in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    old_isolation = cr._cnx.isolation_level
    cr._cnx.set_isolation_level(0)  # VACUUM runs outside a transaction
    for table in ("finance_connect_message", "finance_connect_message_attempt"):
        cr.execute(SQL("VACUUM ANALYZE %s", SQL.identifier(table)))
    cr._cnx.set_isolation_level(old_isolation)
    print(f"  vacuum analyze in {time.perf_counter() - start:.1f} s")
    _print_sizes(cr)
    cr.commit()

    url = f"{args.base_url}/finance_connect/metrics"
    print("\nBefore any fold (the whole log read live by each scrape), over HTTP:")
    _scrape(url, token)  # loads the registry in the server
    _figures("GET /finance_connect/metrics", [_scrape(url, token)[0] for _ in range(3)])

    print("\nFold (the cron, once after the fill; then every 5 minutes on the new rows):")
    start = time.perf_counter()
    env["finance.connect.metrics"]._cron_fold_metrics()
    print(f"  _cron_fold_metrics               {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    env["finance.connect.metrics"]._cron_fold_metrics()
    print(f"  _cron_fold_metrics, nothing new  {(time.perf_counter() - start) * 1000:.1f} ms")
    cr.commit()
    # Created after the fold's horizon, as the traffic since the last fold is.
    _fill(env, conns.ids, args.tail, first=args.messages + 1, days=0)
    cr.commit()
    print(f"  then {args.tail:,} new messages (the tail a scrape reads live)")
    _print_sizes(cr)

    print(f"\n{args.requests} scrapes after the fold:")
    timings, statuses, body = [], {}, b""
    for _ in range(args.requests):
        elapsed, status, body = _scrape(url, token)
        statuses[status] = statuses.get(status, 0) + 1
        timings.append(elapsed)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    _figures(
        "GET /finance_connect/metrics (HTTP)",
        timings,
        f"  {len(body) / 1024:.1f} KiB, {series} series, HTTP {statuses}",
    )
    Metrics = env["finance.connect.metrics"]
    calls = []
    for _ in range(args.requests):
        start = time.perf_counter()
        Metrics._metrics_answer(f"Bearer {token}", ACCEPT)
        calls.append(time.perf_counter() - start)
        cr.rollback()
    _figures("_metrics_answer (in process)", calls)
    ping = [_scrape(f"{args.base_url}/finance_connect/ping", None)[0] for _ in range(args.requests)]
    _figures("GET /finance_connect/ping (bare route)", ping)
    print(
        f"  median of the HTTP scrapes: {percentile(timings, 50) * 1000:.1f} ms"
        " (target: under 100 ms)"
    )
    cr.close()


if __name__ == "__main__":
    sys.exit(main())
