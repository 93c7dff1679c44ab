"""Reporting feed export benchmark (issue 7). Prints figures; asserts nothing.

Run through ``setup/bench-reporting`` (throwaway database, then this script
with ``--conf`` and ``--db``). What it does:

1. Generates N journal items (N/2 balanced two-line entries over 2024, 40
   accounts, posted) with two ``INSERT ... SELECT generate_series`` statements:
   seconds instead of the minutes the ORM would take. The entries carry the
   posting marker 0 (posted "before" any pull run).
2. Exports them through a ``journal_items`` feed (flash, feed currency = company
   currency): the pull pages (``finance.connect.feed.pull._pull_page_json``,
   the text the endpoint answers), the pull run as one JSON Lines stream
   (``_pull_run_jsonl``, ``format=jsonl``: spooled to
   a temporary file and read back, as the endpoint sends it), the JSON Lines and
   the CSV file exports (streamed to a sink).
3. Runs ``COPY (SELECT <the same columns> ...) TO STDOUT`` of the same rows
   through psycopg2's ``copy_expert``.

Prints rows/s and peak memory (process RSS high-water mark from ``resource``;
with ``--tracemalloc``, a second pass also prints the peak Python heap of each
export, which does not grow with N when the export streams).
"""

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Sink:
    """A binary file that counts what it is given and keeps nothing."""

    def __init__(self):
        self.bytes = 0

    def write(self, data):
        self.bytes += len(data)
        return len(data)


def rss_mb():
    # ru_maxrss is in KiB on Linux: the high-water mark of the process.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def generate(env, n_lines):
    cr = env.cr
    company = env.company
    if not env["account.account"].search_count([("company_ids", "in", company.id)]):
        env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
    journal = env["account.journal"].search(
        [("company_id", "=", company.id), ("type", "=", "general")], limit=1
    )
    accounts = env["account.account"].search(
        [
            ("company_ids", "in", company.id),
            ("account_type", "not in", ("asset_receivable", "liability_payable", "off_balance")),
        ],
        limit=40,
    )
    env.flush_all()
    moves = n_lines // 2
    start = time.perf_counter()
    cr.execute(
        """
        WITH moves AS (
            INSERT INTO account_move (name, date, journal_id, company_id, currency_id, state,
                                      move_type, auto_post, fc_post_xid, create_date,
                                      write_date, create_uid, write_uid)
            SELECT 'BENCH/' || g, DATE '2024-01-01' + (g %% 366), %(journal)s, %(company)s,
                   %(currency)s, 'posted', 'entry', 'no', 0, now(), now(), 1, 1
              FROM generate_series(1, %(moves)s) g
            RETURNING id
        )
        SELECT min(id) FROM moves
        """,
        {
            "journal": journal.id,
            "company": company.id,
            "currency": company.currency_id.id,
            "moves": moves,
        },
    )
    first = cr.fetchone()[0]  # not the ids: the process's peak memory is the exports'.
    cr.execute(
        """
        INSERT INTO account_move_line (move_id, name, date, journal_id, company_id,
                                       company_currency_id, currency_id, account_id,
                                       parent_state, display_type, debit, credit, balance,
                                       amount_currency, create_date, write_date,
                                       create_uid, write_uid)
        SELECT m.id, 'bench', m.date, m.journal_id, m.company_id, m.currency_id,
               m.currency_id, (%(accounts)s)[1 + ((m.id * 7 + side) %% %(n_acc)s)], 'posted',
               'product',
               CASE WHEN side = 0 THEN amt ELSE 0 END, CASE WHEN side = 1 THEN amt ELSE 0 END,
               CASE WHEN side = 0 THEN amt ELSE -amt END,
               CASE WHEN side = 0 THEN amt ELSE -amt END, now(), now(), 1, 1
          FROM account_move m
          CROSS JOIN generate_series(0, 1) side
          CROSS JOIN LATERAL (SELECT round((m.id %% 9973) * 1.37 + 0.01, 2) AS amt) a
         WHERE m.id >= %(first)s AND m.name LIKE 'BENCH/%%'
        """,
        {"accounts": accounts.ids, "n_acc": len(accounts), "first": first},
    )
    lines = cr.rowcount
    cr.execute("ANALYZE account_move; ANALYZE account_move_line")
    cr.commit()
    return lines, time.perf_counter() - start


def bench_pull(feed, page_size):
    """Page through a whole run as the endpoint does (its JSON text, encoded)."""
    cursor, rows, pages, size = None, 0, 0, 0
    while True:
        body = feed.env["finance.connect.feed.pull"]._pull_page_json(feed, cursor, page_size)
        body = body.encode()
        size += len(body)
        # The page's fields come before its rows: read them without the rows.
        head = json.loads(body[: body.index(b',"rows":[')] + b"}")
        rows += head["control"]["row_count"]
        pages += 1
        cursor = head["next_cursor"]
        if not head["has_more"]:
            return rows, pages, size


def bench_pull_stream(feed):
    """A whole run as the endpoint streams it (``format=jsonl``): spooled to a
    temporary file, then read back in the chunks the server would send."""
    with tempfile.TemporaryFile() as spool:
        pull = feed.env["finance.connect.feed.pull"]
        _delivery, totals, _cursor = pull._pull_run_jsonl(feed, spool)
        spool.seek(0)
        while spool.read(1 << 20):
            pass
    return totals.row_count


def bench_copy(env, feed):
    """COPY of the same columns as the feed's journal item query."""
    from odoo.tools import SQL

    reader = env["finance.connect.feed.reader"]
    query = SQL(
        """
        COPY (SELECT aml.id, aml.move_id, m.name, aml.date::text, aml.company_id, c.name,
                     aml.journal_id, %s, acc.account_type, aml.partner_id,
                     aml.debit::text, aml.credit::text, aml.balance::text, cur.name, %s
              %s ORDER BY aml.id) TO STDOUT WITH (FORMAT csv)
        """,
        reader._CODE,
        reader._PROVISIONAL,
        reader._base_sql(feed),
    )
    sql = env.cr.mogrify(query).decode()
    sink = Sink()
    env.cr._obj.copy_expert(sql, sink)
    return sink.bytes


def timed(label, fn, n_rows_fn, results):
    before = current_rss_mb()
    start = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - start
    rows = n_rows_fn(out)
    results.append((label, rows, secs, before, rss_mb()))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=5000)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    import odoo

    if str(REPO) not in [str(p) for p in odoo.addons.__path__]:
        odoo.addons.__path__.append(str(REPO))
    odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        n, secs = generate(env, args.lines)
        print(f"generated {n:,} journal items with INSERT ... SELECT in {secs:.1f} s")
        feed = env["finance.connect.feed"].create(
            {
                "name": "Bench",
                "kind": "journal_items",
                "mode": "pull",
                "period_status": "flash",
                "company_ids": [(6, 0, env.company.ids)],
                "currency_id": env.company.currency_id.id,
            }
        )
        cr.commit()
        d_from, d_to = "2024-01-01", "2024-12-31"
        results = []
        timed(
            f"pull pages ({args.page}/page, JSON)",
            lambda: bench_pull(feed, args.page),
            lambda out: out[0],
            results,
        )
        cr.commit()
        timed(
            "pull run as one JSON Lines stream",
            lambda: bench_pull_stream(feed),
            lambda n: n,
            results,
        )
        cr.commit()
        timed(
            "file export JSON Lines",
            lambda: feed._export(Sink(), "jsonl", d_from, d_to),
            lambda t: t.row_count,
            results,
        )
        timed(
            "file export CSV",
            lambda: feed._export(Sink(), "csv", d_from, d_to),
            lambda t: t.row_count,
            results,
        )
        timed(
            "PostgreSQL COPY (SELECT ...) TO STDOUT",
            lambda: bench_copy(env, feed),
            lambda _b: n,
            results,
        )
        copy_rate = results[-1][1] / results[-1][2]
        print(
            f"\n{'export':42} {'rows':>9} {'s':>7} {'rows/s':>10} {'vs COPY':>8} "
            f"{'RSS before':>10} {'RSS peak':>9}"
        )
        for label, rows, secs_, before, peak in results:
            rate = rows / secs_
            print(
                f"{label:42} {rows:>9,} {secs_:>7.2f} {rate:>10,.0f} "
                f"{rate / copy_rate:>7.0%} {before:>8.0f}MB {peak:>7.0f}MB"
            )
        print("\ntargets: >= 50,000 rows/s, memory flat (< 300 MB), >= 1/3 of COPY")
        if args.tracemalloc:
            print("\npeak Python heap during each export (tracemalloc; slower, not timed):")
            for label, fn in (
                ("pull pages", lambda: bench_pull(feed, args.page)),
                ("pull run stream", lambda: bench_pull_stream(feed)),
                ("file export JSON Lines", lambda: feed._export(Sink(), "jsonl", d_from, d_to)),
                ("file export CSV", lambda: feed._export(Sink(), "csv", d_from, d_to)),
            ):
                env.invalidate_all()
                tracemalloc.start()
                fn()
                _cur, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                print(f"  {label:30} {peak / 2**20:8.1f} MB")
        cr.rollback()


if __name__ == "__main__":
    sys.exit(main())
