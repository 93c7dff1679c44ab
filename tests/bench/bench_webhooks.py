"""Inbound webhook benchmark and duplicate storm (issue 4). Prints figures; asserts nothing.

Run through ``setup/bench-webhooks``, which creates a throwaway database, starts
Odoo with two HTTP workers (job runner off, so that processing jobs do not
compete with the route for the workers) and calls this script with
``--base-url``, ``--conf`` and ``--db``. What it does:

1. Load: signed Standard Webhooks deliveries (a unique webhook-id each) to
   ``/finance_connect/webhook/<token>``, side by side with the bare route
   ``/finance_connect/ping`` (POST of the same body, answers 200 "ok") and with
   Odoo's own ``GET /web/health``, at a concurrency equal to the worker count
   and at 8 times it. Prints requests/s, p50 and p99 of each, and the
   webhook/bare ratios against the targets (>= 80 % of the throughput, p99 at
   most 1.5 times).
2. Duplicate storm: 100 rounds of 10 concurrent deliveries of one webhook-id.
   Prints the answers (one 202 and nine 200 expected per round), the messages
   and queued jobs per webhook-id, then runs those jobs (twice) in this process
   and prints the processing attempts per message: exactly one effect each.
3. No oracle: sequential bad-signature, unknown-token and paused-token
   requests; prints their status codes, bodies (identical or not) and p50 / p90
   latencies.
"""

import argparse
import asyncio
import hashlib
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook_client import (
    create_connection,
    init_odoo,
    odoo_env,
    percentile,
    request_bytes,
    send_raw,
)

BODY_TEMPLATE = {
    "type": "payment.settled",
    "data": {
        "payment_id": "pay_0",
        "amount": "1234.56",
        "currency": "EUR",
        "counterparty": {"name": "ACME Supplies B.V.", "iban": "NL91ABNA0417164300"},
        "remittance": "INV/2025/00042",
    },
}


class Load:
    """Builds the requests of one route."""

    def __init__(self, host, port, token=None, secret=None):
        from odoo.addons.finance_connect.lib import signing

        self.signing = signing
        self.host, self.port = host, port
        self.token, self.secret = token, secret
        self.counter = 0

    def body(self):
        self.counter += 1
        payload = dict(
            BODY_TEMPLATE, data=dict(BODY_TEMPLATE["data"], payment_id=f"pay_{self.counter}")
        )
        return json.dumps(payload, separators=(",", ":")).encode()

    def webhook(self, msg_id=None, body=None, secret=None):
        body = body or self.body()
        headers = self.signing.sign_headers(
            secret or self.secret, msg_id or "msg_" + uuid.uuid4().hex, body
        )
        headers["Content-Type"] = "application/json"
        headers["X-Correlation-Id"] = "bench-" + uuid.uuid4().hex[:12]
        return request_bytes(
            self.host, self.port, "POST", f"/finance_connect/webhook/{self.token}", body, headers
        )

    def bare(self):
        return request_bytes(
            self.host,
            self.port,
            "POST",
            "/finance_connect/ping",
            self.body(),
            {"Content-Type": "application/json"},
        )

    def health(self):
        return request_bytes(self.host, self.port, "GET", "/web/health")


async def run_load(load, make, concurrency, seconds):
    """Drive ``make()`` requests with ``concurrency`` clients for ``seconds``."""
    latencies, statuses = [], Counter()
    deadline = time.perf_counter() + seconds

    async def client():
        while time.perf_counter() < deadline:
            status, _h, _b, elapsed = await send_raw(load.host, load.port, make())
            statuses[status] += 1
            latencies.append(elapsed)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "statuses": dict(statuses),
    }


def merge(results):
    total = sum(r["requests"] for r in results)
    return {
        "requests": total,
        "rps": sum(r["rps"] for r in results) / len(results),
        "p50": sum(r["p50"] for r in results) / len(results),
        "p99": sum(r["p99"] for r in results) / len(results),
        "statuses": dict(sum((Counter(r["statuses"]) for r in results), Counter())),
    }


async def bench_load(args, load):
    print(
        f"\n== Load: {args.workers} Odoo HTTP workers, {args.seconds:.0f} s per run, "
        f"{args.rounds} alternating rounds per route and concurrency =="
    )
    routes = {
        "bare POST /finance_connect/ping": load.bare,
        "signed POST /finance_connect/webhook": load.webhook,
        "GET /web/health (Odoo's own)": load.health,
    }
    # Warm-up: workers import, registries load, caches fill.
    await run_load(load, load.webhook, args.workers, 3)
    await run_load(load, load.bare, args.workers, 2)
    summary = {}
    for concurrency in (args.workers, 8 * args.workers):
        results = {name: [] for name in routes}
        for _round in range(args.rounds):
            for name, make in routes.items():
                results[name].append(await run_load(load, make, concurrency, args.seconds))
        print(f"\nconcurrency {concurrency}:")
        print(f"  {'route':40} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for name, runs in results.items():
            r = merge(runs)
            summary[(name, concurrency)] = r
            print(
                f"  {name:40} {r['requests']:8d} {r['rps']:8.1f} {r['p50']:8.1f} "
                f"{r['p99']:8.1f}  {r['statuses']}"
            )
        bare = summary[("bare POST /finance_connect/ping", concurrency)]
        hook = summary[("signed POST /finance_connect/webhook", concurrency)]
        print(
            f"  webhook / bare: throughput {hook['rps'] / bare['rps'] * 100:.0f} % "
            f"(target >= 80 %), p99 {hook['p99'] / bare['p99']:.2f}x (target <= 1.5x)"
        )
    return summary


async def bench_duplicates(args, load, conn_id):
    print(
        f"\n== Duplicate storm: {args.dup_rounds} rounds x {args.dup_concurrency} "
        "concurrent deliveries of one webhook-id =="
    )
    ids, per_round = [], Counter()
    statuses = Counter()
    references_ok = 0
    for _round in range(args.dup_rounds):
        msg_id = "msg_dup_" + uuid.uuid4().hex
        ids.append(msg_id)
        data = load.webhook(msg_id=msg_id)
        answers = await asyncio.gather(
            *(send_raw(load.host, load.port, data) for _ in range(args.dup_concurrency))
        )
        codes = sorted(a[0] for a in answers)
        statuses.update(codes)
        per_round[tuple(codes)] += 1
        refs = set()
        for _status, _h, body, _t in answers:
            try:
                refs.add(json.loads(body)["reference"])
            except (ValueError, KeyError, TypeError):
                refs.add(None)
        references_ok += refs != {None} and len(refs) == 1
    print(f"  answers: {dict(statuses)}")
    print(
        f"  rounds by answer pattern: "
        f"{ {'/'.join(map(str, k)): v for k, v in per_round.items()} }"
    )
    print(
        f"  rounds where all answers carry the same reference: "
        f"{references_ok}/{args.dup_rounds}"
    )

    from odoo.addons.queue_job.job import Job

    with odoo_env() as env:
        Message = env["finance.connect.message"].with_context(active_test=False)
        messages = Message.search([("connection_id", "=", conn_id), ("webhook_id", "in", ids)])
        per_id = Counter(messages.mapped("webhook_id"))
        # First attempts are processed by the connection's inbound drain job(s).
        jobs = env["queue.job"].search(
            [("identity_key", "=", f"finance_connect-inbound-{conn_id}")]
        )
        uuids = jobs.mapped("uuid")
    print(
        f"  messages: {len(messages)} for {len(ids)} webhook-ids; "
        f"per webhook-id: {dict(Counter(per_id.values()))} (count: ids)"
    )
    print(
        f"  processing jobs queued for them: {len(jobs)} drain job(s) of the connection "
        "(one pending at a time serves every message)"
    )
    # Run each job twice, as a crashed-and-restarted runner might: one effect.
    for _time in range(2):
        for job_uuid in uuids:
            with odoo_env() as env:
                job = Job.load(env, job_uuid)
                job.set_started()
                # A drain takes at most 100 messages: run it until none is left.
                while not job.perform().startswith("0 message"):
                    pass
                job.set_done()
                job.store()
    with odoo_env() as env:
        messages = env["finance.connect.message"].browse(messages.ids)
        attempts = Counter(len(m.attempt_ids) for m in messages)
        states = Counter(messages.mapped("state"))
    print(
        f"  after running every job twice: states {dict(states)}, "
        f"processing attempts per message {dict(attempts)} (attempts: messages)"
    )


async def bench_oracle(args, load, paused_token):
    print(f"\n== No oracle: {args.oracle_requests} sequential requests each ==")
    from odoo.addons.finance_connect.lib import signing

    wrong = signing.generate_secret()
    cases = {
        "bad signature (401)": lambda: load.webhook(secret=wrong),
        "unknown token (404)": lambda: Load(load.host, load.port, "u" * 32, load.secret).webhook(),
        "paused token (404)": lambda: Load(
            load.host, load.port, paused_token, load.secret
        ).webhook(),
    }
    bodies = {}
    for _round in range(2):  # interleave to spread noise
        for name, make in cases.items():
            for _ in range(args.oracle_requests // 2):
                status, _h, body, elapsed = await send_raw(load.host, load.port, make())
                entry = bodies.setdefault(
                    name, {"statuses": Counter(), "bodies": set(), "latencies": []}
                )
                entry["statuses"][status] += 1
                entry["bodies"].add(hashlib.sha256(body).hexdigest()[:12])
                entry["latencies"].append(elapsed * 1000)
    for name, entry in bodies.items():
        print(
            f"  {name:22} statuses {dict(entry['statuses'])} body sha256 "
            f"{sorted(entry['bodies'])} p50 {percentile(entry['latencies'], 50):.1f} ms "
            f"p90 {percentile(entry['latencies'], 90):.1f} ms"
        )
    all_bodies = set().union(*(e["bodies"] for e in bodies.values()))
    print(f"  distinct bodies across the three: {len(all_bodies)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dup-rounds", type=int, default=100)
    parser.add_argument("--dup-concurrency", type=int, default=10)
    parser.add_argument("--oracle-requests", type=int, default=200)
    args = parser.parse_args()

    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    init_odoo(args.conf, args.db)
    host, port = args.base_url.removeprefix("http://").rstrip("/").split(":")
    # A limit far above what two workers can serve: the rate limit check runs
    # (cheaply) on every request, as it would in production.
    conn_id, token, secret = create_connection("Bench webhooks", rate_limit_per_minute=1_000_000)
    _paused_id, paused_token, _s = create_connection("Bench paused", paused=True)
    load = Load(host, int(port), token, secret)

    async def run():
        await bench_load(args, load)
        await bench_duplicates(args, load, conn_id)
        await bench_oracle(args, load, paused_token)

    asyncio.run(run())


if __name__ == "__main__":
    main()
