"""Benchmark: import a generated, balancing camt.053 through the upload wizard.

Run by ``setup/bench-bank`` against a throwaway database (the addons installed
without demo data). Prints figures, asserts nothing:

- first import of N entries: wall time, peak memory (the process's maximum
  resident set size, from getrusage; tracemalloc would slow the run), lines/s;
- the same file again: wall time and lines created (should be 0);
- the same entries in a file with other bytes (another statement id): the
  all-duplicates path that has to parse the file.

Each import is committed, as in the user's session.
"""

import argparse
import base64
import logging
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from camt_generator import generate_camt053


def _env(conf, db):
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", conf, "-d", db])
    registry = odoo.modules.registry.Registry(db)
    cr = registry.cursor()
    return api.Environment(cr, SUPERUSER_ID, {}), cr


def _wizard_import(env, data, filename):
    """What the user does: attach the file to the wizard, press Import."""
    attachment = env["ir.attachment"].create({"name": filename, "datas": base64.b64encode(data)})
    wizard = env["finance.connect.bank.import.wizard"].create(
        {"attachment_ids": [(6, 0, attachment.ids)]}
    )
    wizard.action_import()
    return wizard


def _line_count(env, journal):
    env.cr.execute(
        "SELECT count(*) FROM account_bank_statement_line WHERE journal_id = %s", [journal.id]
    )
    return env.cr.fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument(
        "--orm-entries",
        type=int,
        default=None,
        help="entries of the plain ORM create run (default: as --entries; 0: skip it)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    env, cr = _env(args.conf, args.db)
    if args.verbose:
        logging.getLogger("odoo.addons.finance_connect_bank").setLevel(logging.INFO)
    admin = env.ref("base.user_admin")
    admin.groups_id |= env.ref("account.group_account_basic")
    env = env(user=admin)
    company = env.company
    iban = "DE89370400440532013000"
    journal = env["account.journal"].create(
        {
            "name": "Benchmark bank",
            "code": "BNCH",
            "type": "bank",
            "bank_acc_number": iban,
        }
    )
    cr.commit()
    data, opening, closing = generate_camt053(
        args.entries, iban=iban, currency=company.currency_id.name
    )
    print(
        f"file: camt.053.001.02, {args.entries} entries, {len(data) / 1e6:.1f} MB, "
        f"opening {opening} closing {closing} {company.currency_id.name}"
    )

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    wizard = _wizard_import(env, data, "bench.camt053.xml")
    cr.commit()
    first = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    created = _line_count(env, journal)
    statement = env["account.bank.statement"].search([("journal_id", "=", journal.id)])
    print(
        f"first import : {first:7.2f} s wall, {created} lines created "
        f"({wizard.new_count} new, {wizard.duplicate_count} already imported), "
        f"{created / first:8.0f} lines/s, peak memory (max RSS) {rss:.0f} MB "
        f"({rss_before:.0f} MB before); statement complete: {statement.is_complete}"
    )

    start = time.perf_counter()
    wizard = _wizard_import(env, data, "bench.camt053.xml")
    cr.commit()
    again = time.perf_counter() - start
    print(
        f"same file    : {again:7.2f} s wall ({100 * again / first:.1f} % of the first), "
        f"{_line_count(env, journal) - created} lines created, "
        f"summary: {wizard.result.splitlines()[1]!r}"
    )

    other = data.replace(b"<Id>BENCH-STMT-1</Id>", b"<Id>BENCH-STMT-1-RESENT</Id>")
    start = time.perf_counter()
    wizard = _wizard_import(env, other, "bench-resent.camt053.xml")
    cr.commit()
    resent = time.perf_counter() - start
    print(
        f"same entries : {resent:7.2f} s wall ({100 * resent / first:.1f} % of the first), "
        f"{_line_count(env, journal) - created} lines created (other bytes, parsed again)"
    )
    _concurrent(args, env, company)
    orm_entries = args.entries if args.orm_entries is None else args.orm_entries
    if orm_entries:
        _plain_orm(env, cr, orm_entries, company)
    cr.close()


def _concurrent(args, env, company):
    """Two files into one journal at the same time, each in its own transaction
    (retried by Odoo's own ``retrying`` on a concurrency error, as a request is)."""
    import threading
    from datetime import date

    import odoo
    from odoo import api
    from odoo.service.model import retrying

    entries = max(args.entries // 10, 10)
    iban = "DE75512108001245126199"
    journal = env["account.journal"].create(
        {"name": "Benchmark concurrent", "code": "BNCC", "type": "bank", "bank_acc_number": iban}
    )
    env.cr.commit()
    first, _opening, closing = generate_camt053(
        entries, iban=iban, currency=company.currency_id.name, stmt_id="CONC-A"
    )
    second, _o, _c = generate_camt053(
        entries,
        iban=iban,
        currency=company.currency_id.name,
        stmt_id="CONC-B",
        seed=7,
        opening=closing,
        start=date(2023, 4, 1),
    )
    registry = odoo.modules.registry.Registry(env.cr.dbname)
    tries, errors = {}, {}
    barrier = threading.Barrier(2)

    def worker(data, name):
        try:
            with registry.cursor() as cr:
                user_env = api.Environment(cr, env.uid, {})
                tries[name] = 0

                def once():
                    tries[name] += 1
                    if tries[name] == 1:
                        barrier.wait(timeout=60)
                    _wizard_import(user_env, data, name)

                retrying(once, user_env)
        except Exception as exc:  # printed below: a benchmark reports, never crashes
            errors[name] = f"{type(exc).__name__}: {exc}"[:300]

    start = time.perf_counter()
    threads = [
        threading.Thread(target=worker, args=(first, "concurrent-a.xml")),
        threading.Thread(target=worker, args=(second, "concurrent-b.xml")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    env.cr.commit()  # a fresh snapshot: the two imports committed meanwhile
    env.cr.execute(
        """SELECT count(*), count(DISTINCT m.name), count(DISTINCT l.fc_import_id)
             FROM account_bank_statement_line l JOIN account_move m ON m.id = l.move_id
            WHERE l.journal_id = %s""",
        [journal.id],
    )
    lines, names, import_ids = env.cr.fetchone()
    print(
        f"concurrent   : {wall:7.2f} s wall, two files of {entries} entries into one journal "
        f"at once: {lines} lines ({names} entry numbers, {import_ids} import ids, "
        f"expected {2 * entries} of each), tries {tries}, errors {errors or 'none'}"
    )


def _plain_orm(env, cr, entries, company):
    """The same kind of file through the same wizard, every line by one plain ``create``."""
    from unittest.mock import patch

    iban = "DE44500105175407324931"
    journal = env["account.journal"].create(
        {"name": "Benchmark ORM", "code": "BNCO", "type": "bank", "bank_acc_number": iban}
    )
    cr.commit()
    data, _opening, _closing = generate_camt053(
        entries, iban=iban, currency=company.currency_id.name, stmt_id="BENCH-ORM-1"
    )
    Line = type(env["account.bank.statement.line"])
    start = time.perf_counter()
    with patch.object(Line, "_fc_create_bulk", lambda line_model, vals: line_model.create(vals)):
        _wizard_import(env, data, "bench-orm.camt053.xml")
    cr.commit()
    wall = time.perf_counter() - start
    created = _line_count(env, journal)
    print(
        f"plain ORM    : {wall:7.2f} s wall, {created} lines created through "
        f"account.bank.statement.line.create ({1000 * wall / max(created, 1):.1f} ms per line)"
    )


if __name__ == "__main__":
    main()
