"""Service tiers benchmark (issue 16). Prints figures; asserts nothing.

Run through ``setup/bench-tiers`` (throwaway database, sandbox counterparty in
its own process, then this script with ``--conf`` and ``--db``).

The latency of payment-status webhooks (a PSP connection, critical tier)
processed while a large reporting push (a BI connection, bulk tier) is being
delivered, beside the same figures with no push. The job runner is played by
threads of this process, each with its own database cursor, running the real
job bodies (``finance.connect.handler._drain``, ``finance.connect.delivery._drain``)
the way queue_job would with ``root:4``: one thread for the critical channel,
three for the bulk channel. Only our gate (``finance.connect.tier``) limits
how many bulk jobs run at once; a bulk job that finds no slot is "put back in
the queue" (its thread sleeps briefly). Three runs:

1. quiet: webhooks only;
2. push, bulk capacity 1 (the default tier capacity);
3. push, bulk capacity 3 (what happens without the gate: bulk takes every thread).

A webhook's latency runs from the moment it is stored (committed, as the
webhook route does before answering 202) to the commit of the job that
processed it. The push is ``--rows`` reporting rows in messages of
``--rows-per-message`` rows each, POSTed to the sandbox counterparty; during a
push run webhooks arrive at ``--rate`` until the push is over, and only those
stored while it ran are counted.
"""

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from contextlib import contextmanager

import requests


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Bench:
    def __init__(self, args):
        import odoo

        self.args = args
        odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
        self.registry = odoo.modules.registry.Registry(args.db)

    @contextmanager
    def env(self):
        from odoo import SUPERUSER_ID, api

        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def prepare(self):
        with self.env() as env:
            company = env.ref("base.main_company")
            env["ir.config_parameter"].set_param(
                "finance_connect.outbound_allowed_hosts", "127.0.0.1"
            )
            common = {
                "company_id": company.id,
                "base_url": self.args.sandbox_url,
                "outbound_path": "/events",
                "rate_limit_per_minute": 0,
                "circuit_threshold": 100000,
                "timeout_read": 30,
                "parallel_deliveries": 3,
            }
            psp = env["finance.connect.connection"].create(
                dict(common, name="Bench PSP", kind="psp")
            )
            bi = env["finance.connect.connection"].create(
                dict(common, name="Bench BI", kind="reporting")
            )
            self.psp_id, self.bi_id = psp.id, bi.id
            self.bulk_tier_id = env.ref("finance_connect.tier_bulk").id
            print(f"tiers: PSP -> {psp.tier}, BI -> {bi.tier}")

    def set_bulk_capacity(self, capacity):
        with self.env() as env:
            env["finance.connect.tier"].browse(self.bulk_tier_id).capacity = capacity

    def queue_push(self):
        """The reporting push: ``rows`` rows in outbound messages of the BI connection."""
        rows, per = self.args.rows, self.args.rows_per_message
        t0 = time.perf_counter()
        count = 0
        with self.env() as env:
            Message = env["finance.connect.message"]
            vals = []
            for start in range(0, rows, per):
                payload = json.dumps(
                    {
                        "event_id": f"push-{uuid.uuid4().hex}",
                        "rows": [
                            {
                                "line": i,
                                "account": f"{600000 + i % 400}",
                                "date": "2026-01-15",
                                "debit": f"{(i % 9973) * 1.37:.2f}",
                                "credit": "0.00",
                            }
                            for i in range(start, min(start + per, rows))
                        ],
                    }
                )
                vals.append(
                    {
                        "direction": "out",
                        "connection_id": self.bi_id,
                        "event_type": "record.synced",
                        "idempotency_key": f"push-{uuid.uuid4().hex}",
                        "payload": payload,
                        "state": "queued",
                    }
                )
                count += 1
            Message._create_idempotent_many(vals)
        print(f"  push queued: {rows} rows in {count} messages ({time.perf_counter() - t0:.1f} s)")
        return count

    def store_webhook(self, env):
        key = uuid.uuid4().hex
        message, _created = env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.psp_id,
                "event_type": "payment.state_changed",
                "idempotency_key": key,
                "webhook_id": key,
                "payload": json.dumps({"id": key, "status": "paid"}),
                "state": "queued",
            }
        )
        return message.id

    def run(self, label, push):
        stop = threading.Event()
        stored, processed = {}, {}
        lock = threading.Lock()
        bulk_jobs = {"run": 0, "postponed": 0, "max_parallel": 0, "now": 0}
        errors = []
        push_end = [0.0]

        def producer():
            interval = 1.0 / self.args.rate
            for _ in range(self.args.webhooks):
                if push and push_end[0] and len(stored) >= 20:
                    break  # the push is over: the rest would be a quiet run
                t = time.perf_counter()
                with self.env() as env:
                    mid = self.store_webhook(env)
                    env.cr.commit()
                with lock:
                    stored[mid] = time.perf_counter()
                time.sleep(max(0, interval - (time.perf_counter() - t)))

        def critical_worker():
            while not stop.is_set() or len(processed) < len(stored):
                try:
                    with self.env() as env:
                        env.cr.execute(
                            "SELECT id FROM finance_connect_message WHERE connection_id = %s"
                            " AND direction = 'in' AND state = 'queued'",
                            (self.psp_id,),
                        )
                        ids = [r[0] for r in env.cr.fetchall()]
                        if ids:
                            conn = env["finance.connect.connection"].browse(self.psp_id)
                            env["finance.connect.handler"]._drain(conn)
                        env.cr.commit()
                    done = time.perf_counter()
                    with lock:
                        for mid in ids:
                            processed.setdefault(mid, done)
                except Exception as exc:  # a bench reports, never crashes
                    errors.append(f"critical: {exc}")
                time.sleep(0.01)

        def bulk_worker(shard):
            while not stop.is_set():
                try:
                    with self.env() as env:
                        conn = env["finance.connect.connection"].browse(self.bi_id)
                        env.cr.execute(
                            "SELECT count(*) FROM finance_connect_message WHERE connection_id"
                            " = %s AND direction = 'out' AND state = 'queued'",
                            (self.bi_id,),
                        )
                        if not env.cr.fetchone()[0]:
                            with lock:
                                push_end[0] = max(push_end[0], time.perf_counter())
                            return
                        outcome = env["finance.connect.delivery"]._drain(
                            conn, shard, limit=self.args.messages_per_job
                        )
                        busy = "busy" in outcome
                        if not busy:
                            with lock:
                                bulk_jobs["now"] += 1
                                bulk_jobs["max_parallel"] = max(
                                    bulk_jobs["max_parallel"], bulk_jobs["now"]
                                )
                        env.cr.commit()
                    with lock:
                        if busy:
                            bulk_jobs["postponed"] += 1
                        else:
                            bulk_jobs["run"] += 1
                            bulk_jobs["now"] -= 1
                    if busy:
                        time.sleep(0.05)  # queue_job would run it again after its ETA
                except Exception as exc:
                    errors.append(f"bulk: {exc}")
                    return

        with self.env() as env:  # drop the drain jobs the stores queued: threads run them
            env.cr.execute("DELETE FROM queue_job")
        requests.post(self.args.sandbox_url + "/_sandbox/reset", json={}, timeout=10)
        threads = [threading.Thread(target=critical_worker)]
        if push:
            threads += [threading.Thread(target=bulk_worker, args=(s,)) for s in range(3)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        time.sleep(self.args.warmup)
        producer()
        stop.set()
        threads[0].join()
        webhooks_done = time.perf_counter() - t0
        for th in threads[1:]:
            th.join()
        total = time.perf_counter() - t0
        latencies = [(processed[m] - stored[m]) * 1000 for m in stored if m in processed]
        if push:  # only the webhooks stored while the push was being delivered
            latencies = [
                (processed[m] - stored[m]) * 1000
                for m in stored
                if m in processed and stored[m] < push_end[0]
            ]
        with self.env() as env:
            env.cr.execute(
                "SELECT count(*) FILTER (WHERE state = 'done'), count(*)"
                " FROM finance_connect_message WHERE connection_id = %s AND direction = 'out'",
                (self.bi_id,),
            )
            bi_done, bi_total = env.cr.fetchone()
            env.cr.execute("DELETE FROM queue_job")
        p50, p95 = pct(latencies, 0.5), pct(latencies, 0.95)
        print(
            f"  {label}: {len(latencies)}/{self.args.webhooks} webhooks "
            f"{'stored while the push ran' if push else 'processed'}, "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, mean {statistics.fmean(latencies):.1f} ms"
        )
        if push:
            print(
                f"    push: {bi_done}/{bi_total} messages (all pushes so far) delivered; "
                f"push took {push_end[0] - t0:.1f} s, run {total:.1f} s "
                f"(webhooks done after {webhooks_done:.1f} s); bulk jobs run "
                f"{bulk_jobs['run']}, put back by the gate {bulk_jobs['postponed']}, "
                f"at most {bulk_jobs['max_parallel']} at once"
            )
        for error in errors[:5]:
            print("    error:", error)
        return p50, p95


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--sandbox-url", required=True)
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--rows-per-message", type=int, default=500)
    parser.add_argument("--messages-per-job", type=int, default=4)
    parser.add_argument(
        "--webhooks", type=int, default=300, help="at most; a push run stops with the push"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="webhooks per second")
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    print("command:", " ".join(sys.argv))
    print(
        f"sizes: push of {args.rows} rows ({args.rows_per_message} rows per message, "
        f"{args.messages_per_job} messages per bulk job); {args.webhooks} payment-status "
        f"webhooks at {args.rate:g}/s"
    )
    bench = Bench(args)
    bench.prepare()
    quiet = bench.run("quiet (no push)", push=False)
    bench.set_bulk_capacity(1)
    bench.queue_push()
    gated = bench.run("during the push, bulk capacity 1", push=True)
    bench.set_bulk_capacity(3)
    bench.queue_push()
    open_ = bench.run("during the push, bulk capacity 3 (no gate to speak of)", push=True)
    print("\nratio of p95 to the quiet run's (target: within 1.5x):")
    for label, figures in (("bulk capacity 1", gated), ("bulk capacity 3", open_)):
        print(f"  {label}: p95 {figures[1] / quiet[1]:.2f}x, p50 {figures[0] / quiet[0]:.2f}x")


if __name__ == "__main__":
    main()
