"""Benchmark: the same generated camt.053 through OCA's account_statement_import_camt.

Run by ``setup/bench-bank`` after our own figures, in its own process, against a
second throwaway database that has only OCA's addon (no demo data, no
finance_connect), for a side-by-side comparison. Prints figures, asserts nothing.

Measured as ``bench_bank_import.py`` measures ours: wall time around the wizard
(``account.statement.import.import_file_button``, what the user's Import button
calls) plus the commit, peak memory as the process's maximum resident set size
from getrusage (a high-water mark: after the re-import it is the whole run's),
and the statement lines the import created. OCA's camt parser sets no
``unique_import_id``, so the second import of the same file creates every line
again.
"""

import argparse
import base64
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from camt_generator import generate_camt053

IBAN = "DE89370400440532013000"  # the same account as bench_bank_import.py


def _env(conf, db):
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", conf, "-d", db])
    registry = odoo.modules.registry.Registry(db)
    cr = registry.cursor()
    return api.Environment(cr, SUPERUSER_ID, {}), cr


def _max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _line_count(env, journal):
    env.cr.execute(
        "SELECT count(*) FROM account_bank_statement_line WHERE journal_id = %s",
        [journal.id],
    )
    return env.cr.fetchone()[0]


def _oca_import(env, journal, data, filename):
    """What the user does: upload the file in OCA's wizard, press Import.

    Returns (wall seconds, lines created, max RSS in MB afterwards, notifications).
    """
    before = _line_count(env, journal)
    start = time.perf_counter()
    wizard = env["account.statement.import"].create(
        {"statement_file": base64.b64encode(data), "statement_filename": filename}
    )
    action = wizard.import_file_button()
    env.cr.commit()
    wall = time.perf_counter() - start
    notes = action.get("params", {}).get("message", "") if isinstance(action, dict) else ""
    return wall, _line_count(env, journal) - before, _max_rss_mb(), notes


def _addon_version(env, name):
    module = env["ir.module.module"].search([("name", "=", name)])
    return module.latest_version or "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    env, cr = _env(args.conf, args.db)
    admin = env.ref("base.user_admin")
    # OCA's wizard is for "Show Full Accounting Features" (our bench adds the
    # basic accounting group, which our wizard asks for).
    admin.groups_id |= env.ref("account.group_account_basic") | env.ref(
        "account.group_account_user"
    )
    env = env(user=admin)
    company = env.company
    journal = env["account.journal"].create(
        {
            "name": "Benchmark bank",
            "code": "BNCH",
            "type": "bank",
            "bank_acc_number": IBAN,
        }
    )
    cr.commit()
    version = _addon_version(env, "account_statement_import_camt")
    data, opening, closing = generate_camt053(
        args.entries, iban=IBAN, currency=company.currency_id.name
    )
    print(
        f"OCA account_statement_import_camt {version}: camt.053.001.02, {args.entries} "
        f"entries, {len(data) / 1e6:.1f} MB, opening {opening} closing {closing} "
        f"{company.currency_id.name}"
    )

    load_start = os.getloadavg()
    rss_before = _max_rss_mb()
    first, first_created, first_rss, _notes = _oca_import(env, journal, data, "bench.camt053.xml")
    statements = env["account.bank.statement"].search([("journal_id", "=", journal.id)])
    print(
        f"OCA first import : {first:7.2f} s wall, {first_created} lines created, "
        f"{args.entries / first:8.0f} lines/s, peak memory (max RSS) {first_rss:.0f} MB "
        f"({rss_before:.0f} MB before); statement complete: {statements[:1].is_complete}"
    )
    again, again_created, again_rss, notes = _oca_import(env, journal, data, "bench.camt053.xml")
    print(
        f"OCA same file    : {again:7.2f} s wall ({100 * again / first:.1f} % of the first), "
        f"{again_created} lines created (no import id: duplicates), "
        f"max RSS now {again_rss:.0f} MB" + (f"; notice: {notes!r}" if notes else "")
    )
    cr.close()
    if args.json:
        figures = {
            "version": version,
            "entries": args.entries,
            "rss_before_mb": rss_before,
            "loadavg": [load_start, os.getloadavg()],
            "first": {"wall": first, "created": first_created, "peak_mb": first_rss},
            "again": {"wall": again, "created": again_created, "peak_mb": again_rss},
        }
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
