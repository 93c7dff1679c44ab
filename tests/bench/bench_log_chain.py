"""Benchmark of the tamper-evident log (``finance.connect.log.chain``). Prints
figures; asserts nothing.

Run by ``setup/bench-log-chain``, which creates a throwaway database (the
addons without demo data) and calls this script with ``--conf`` and ``--db``.
What it does:

1. Cost per stored message: ``--messages`` messages stored one per
   transaction (``_create_idempotent`` then commit, what a webhook request
   does), half with the chain on and half with it off (the digest
   registration patched out), in alternating rounds; then the same number in
   transactions of ``--batch`` messages (``_create_idempotent_many``, what a
   bank import or an outbound burst does). Prints ms per message each way and
   the difference (target: under 0.5 ms).
2. A log of ``--rows`` messages with their attempts (the bulk SQL fixture of
   ``bench_metrics.py``), then, from an empty chain: the digests of every
   row (``_insert_entries``, one ``INSERT ... SELECT`` per model), the
   sealing (``_seal``: its own cursor, session lock), and a full
   verification (``_verify``: chain walk plus every row's digest compared
   with its latest entry plus every payload's SHA-256), in rows/s (target:
   over 50,000 rows/s).
3. One message's state changed in SQL, verified again: the finding.
"""

import argparse
import sys
import time
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import _fill
from webhook_client import create_connection, init_odoo, odoo_env


def _store_one_per_transaction(connection_id, count, tag):
    """``count`` messages, one committed transaction each; seconds."""
    started = time.perf_counter()
    for i in range(count):
        with odoo_env() as env:
            env["finance.connect.message"]._create_idempotent(
                {
                    "direction": "in",
                    "connection_id": connection_id,
                    "event_type": "payment_status",
                    "idempotency_key": f"bench-chain-{tag}-{i}",
                    "payload": '{"id": "%s-%s", "amount": "12.50"}' % (tag, i),
                }
            )
    return time.perf_counter() - started


def _store_batches(connection_id, count, batch, tag):
    """``count`` messages in committed transactions of ``batch``; seconds."""
    started = time.perf_counter()
    for start in range(0, count, batch):
        with odoo_env() as env:
            env["finance.connect.message"]._create_idempotent_many(
                [
                    {
                        "direction": "out",
                        "connection_id": connection_id,
                        "event_type": "invoice.posted",
                        "idempotency_key": f"bench-chain-{tag}-{i}",
                        "payload": '{"number": "INV/%s/%s"}' % (tag, i),
                    }
                    for i in range(start, min(start + batch, count))
                ]
            )
    return time.perf_counter() - started


def _chain_off():
    from odoo.addons.finance_connect.models.finance_connect_log_chained_mixin import (
        FinanceConnectLogChainedMixin,
    )

    return patch.object(FinanceConnectLogChainedMixin, "_log_chain_register", lambda self: None)


class _ChainClock:
    """Time spent in the chain's own code (registration and the precommit
    INSERT), measured directly: the end-to-end difference between runs with
    the chain on and off is at the mercy of the machine's other load."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        from odoo.addons.finance_connect.models.finance_connect_log_chain import (
            FinanceConnectLogChain,
        )
        from odoo.addons.finance_connect.models.finance_connect_log_chained_mixin import (
            FinanceConnectLogChainedMixin,
        )

        clock = self

        def timed(original):
            def wrapper(self, *args, **kwargs):
                started = time.perf_counter()
                try:
                    return original(self, *args, **kwargs)
                finally:
                    clock.seconds += time.perf_counter() - started

            return wrapper

        self._patches = [
            patch.object(
                FinanceConnectLogChain,
                "_write_pending",
                timed(FinanceConnectLogChain._write_pending),
            ),
            patch.object(
                FinanceConnectLogChainedMixin,
                "_log_chain_register",
                timed(FinanceConnectLogChainedMixin._log_chain_register),
            ),
        ]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in self._patches:
            p.stop()


def _cost(connection_id, messages, batch, rounds=8):
    per_round = max(1, messages // (2 * rounds))
    single = {"on": 0.0, "off": 0.0}
    bulk = {"on": 0.0, "off": 0.0}
    inside = {"single": 0.0, "bulk": 0.0}
    # Warm-up (caches, first jobs), not counted.
    _store_one_per_transaction(connection_id, 20, "warm")
    for r in range(rounds):
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            if mode == "off":
                with _chain_off():
                    single[mode] += _store_one_per_transaction(connection_id, per_round, f"s{r}off")
                    bulk[mode] += _store_batches(connection_id, per_round, batch, f"b{r}off")
            else:
                with _ChainClock() as clock:
                    single[mode] += _store_one_per_transaction(connection_id, per_round, f"s{r}on")
                inside["single"] += clock.seconds
                with _ChainClock() as clock:
                    bulk[mode] += _store_batches(connection_id, per_round, batch, f"b{r}on")
                inside["bulk"] += clock.seconds
    n = per_round * rounds
    print(f"1. cost per stored message ({n:,} messages each way, {rounds} alternating rounds)")
    for label, times, own in (
        ("one per transaction (webhook)", single, inside["single"]),
        (f"{batch} per transaction (import)", bulk, inside["bulk"]),
    ):
        on, off = times["on"] / n * 1000, times["off"] / n * 1000
        print(
            f"   {label:32} chain off {off:7.3f} ms/msg, chain on {on:7.3f} ms/msg, "
            f"difference {on - off:+.3f} ms/msg; in the chain's own code (registration "
            f"and INSERT, timed) {own / n * 1000:.3f} ms/msg (target < 0.5 ms)"
        )


def _speed(connection_id, rows):
    from odoo.tools import SQL

    with odoo_env() as env:
        cr = env.cr
        started = time.perf_counter()
        _fill(env, [connection_id], rows, first=1)
        # The fixture's payload hashes are placeholders: the real ones here.
        cr.execute(
            SQL(
                "UPDATE finance_connect_message SET payload_sha256 ="
                " encode(sha256(convert_to(payload, 'UTF8')), 'hex')"
                " WHERE starts_with(reference, 'FCB-')"
            )
        )
        cr.execute(SQL("ANALYZE finance_connect_message"))
        cr.execute(SQL("ANALYZE finance_connect_message_attempt"))
        elapsed = time.perf_counter() - started
        print(f"2. a log of {rows:,} messages (bulk SQL fixture, {elapsed:.1f} s)")
    counts = {}
    with odoo_env() as env:
        cr = env.cr
        Chain = env["finance.connect.log.chain"]
        cr.execute(SQL("TRUNCATE finance_connect_log_chain"))
        started = time.perf_counter()
        for model in (
            "finance.connect.message",
            "finance.connect.message.attempt",
            "finance.connect.audit",
        ):
            Chain._insert_entries(model)
            cr.execute(SQL("SELECT count(*) FROM %s", SQL.identifier(env[model]._table)))
            counts[model] = cr.fetchone()[0]
        elapsed = time.perf_counter() - started
        total = sum(counts.values())
        print("   rows: " + ", ".join(f"{n:,} {m.rsplit('.', 1)[-1]}" for m, n in counts.items()))
        print(
            f"   digests of every row (INSERT ... SELECT): {elapsed:.2f} s, "
            f"{total / elapsed:,.0f} rows/s"
        )
    with odoo_env() as env:
        cr = env.cr
        cr.execute(SQL("ANALYZE finance_connect_log_chain"))
    with odoo_env() as env:
        started = time.perf_counter()
        sealed = env["finance.connect.log.chain"]._seal()
        elapsed = time.perf_counter() - started
        print(
            f"   sealing: {sealed:,} entries in {elapsed:.2f} s, {sealed / elapsed:,.0f} entries/s"
        )
    with odoo_env() as env:
        env.cr.execute(SQL("ANALYZE finance_connect_log_chain"))
    with odoo_env() as env:
        started = time.perf_counter()
        result = env["finance.connect.log.chain"]._verify()
        elapsed = time.perf_counter() - started
        print(
            f"   verify: {result['rows']:,} chain entries walked and {total:,} rows compared "
            f"in {elapsed:.2f} s, {total / elapsed:,.0f} rows/s (target > 50,000 rows/s)"
        )
        print(
            "   phases: "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result["timings"].items())
            + " (and the sealing of what is left first)"
        )
        print(f"   answer: {result['summary']}")
    return total


def _tamper():
    from odoo.tools import SQL

    with odoo_env() as env:
        env.cr.execute(
            SQL(
                "UPDATE finance_connect_message SET state = 'done' WHERE id = ("
                " SELECT id FROM finance_connect_message WHERE state = 'failed'"
                " ORDER BY id DESC LIMIT 1) RETURNING id, reference"
            )
        )
        row = env.cr.fetchone()
    with odoo_env() as env:
        started = time.perf_counter()
        result = env["finance.connect.log.chain"]._verify()
        elapsed = time.perf_counter() - started
        print(f"3. message {row[0]} ({row[1]}) set to 'done' in SQL, verified in {elapsed:.2f} s:")
        print(f"   answer: {result['summary']}")
        exc = env["finance.connect.exception"].search([("category", "=", "log_integrity")])
        print(f"   exceptions of category log_integrity: {len(exc)} ({exc[:1].name})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    init_odoo(args.conf, args.db)
    connection_id, _token, _secret = create_connection("Bench chain")
    print("finance_connect tamper-evident log benchmark")
    print("  command : setup/bench-log-chain " + " ".join(sys.argv[1:]).split("--conf")[0])
    _cost(connection_id, args.messages, args.batch)
    _speed(connection_id, args.rows)
    _tamper()


if __name__ == "__main__":
    main()
