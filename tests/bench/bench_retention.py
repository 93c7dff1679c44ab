"""Benchmark of the retention cron with a large message log and legal holds.
Prints figures; asserts nothing.

Run by ``setup/bench-retention``, which creates a throwaway database (the
addons without demo data) and calls this script with ``--conf`` and ``--db``
(any database with the addons will do; the script leaves its rows there):

1. Fills the log with ``--messages`` messages (default 200,000) over
   ``--connections`` connections and ``--days`` days (default 400; one in five
   inbound, i.e. "webhook" class, the others "other"), with the bulk SQL
   fixture of ``bench_metrics`` (our own tables), committed and analysed.
2. Sets the company's retention (received webhooks 30 days, other messages
   365 days) and places two legal holds (one connection; a 30-day period).
3. Runs ``_cron_archive_old_messages`` and prints its time and what it
   archived per class, then runs it again (the daily steady state: nothing
   new to archive) and prints that time too.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import _env, _fill


def _counts(env):
    """``{(retention class, active): count}`` of the bench messages."""
    Message = env["finance.connect.message"].with_context(active_test=False)
    counts = {}
    for rclass in ("webhook", "other"):
        for active in (True, False):
            counts[(rclass, active)] = Message.search_count(
                [
                    ("reference", "=like", "FCB-%"),
                    ("retention_class", "=", rclass),
                    ("active", "=", active),
                ]
            )
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--days", type=int, default=400)
    args = parser.parse_args()
    from odoo import fields
    from odoo.tools import SQL

    env, cr = _env(args.conf, args.db)
    conns = env["finance.connect.connection"].create(
        [
            {"name": f"Retention bench bank {n}", "kind": "bank"}
            for n in range(1, args.connections + 1)
        ]
    )
    cr.commit()
    print(
        f"Filling the log: {args.messages:,} messages over {len(conns)} connections "
        f"and {args.days} days"
    )
    start = time.perf_counter()
    _fill(env, conns.ids, args.messages, days=args.days)
    cr.commit()
    old_isolation = cr._cnx.isolation_level
    cr._cnx.set_isolation_level(0)  # VACUUM runs outside a transaction
    cr.execute(SQL("VACUUM ANALYZE finance_connect_message"))
    cr._cnx.set_isolation_level(old_isolation)
    print(f"  filled and analysed in {time.perf_counter() - start:.1f} s")

    env.company.write({"fc_retention_webhook_days": 30, "fc_retention_other_days": 365})
    today = fields.Date.today()
    env["finance.connect.legal.hold"].create(
        [
            {"name": "Bench hold: one connection", "connection_id": conns[0].id},
            {
                "name": "Bench hold: a period",
                "date_from": today - timedelta(days=200),
                "date_to": today - timedelta(days=170),
            },
        ]
    )
    cr.commit()
    Message = env["finance.connect.message"]
    start = time.perf_counter()
    archived = Message._cron_archive_old_messages()
    cr.commit()
    first = time.perf_counter() - start
    counts = _counts(env)
    print(
        f"\nFirst run (retention: webhooks 30 days, other 365 days; a hold on one "
        f"connection and one on 30 days): {archived:,} messages archived in {first:.2f} s"
    )
    for (rclass, active), count in sorted(counts.items()):
        print(f"  {rclass:8} {'kept' if active else 'archived':8} {count:>10,}")
    start = time.perf_counter()
    again = Message._cron_archive_old_messages()
    cr.commit()
    print(f"Second run (steady state): {again:,} archived in {time.perf_counter() - start:.2f} s")
    cr.close()


if __name__ == "__main__":
    main()
