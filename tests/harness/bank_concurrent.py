"""The equivalence harness, for two files imported into one journal at the same time.

Run by ``setup/test`` after the test runners (``--conf``/``--db``: the test
database, which must have no open connection: it is the template). A test in a
transaction cannot show what two real transactions do to each other, so this
one works on committed copies of the test database:

1. ``<db>_eqc``: the test database, plus a bank journal and twenty
   counterparties (some with bank accounts, some with a fiscal position),
   committed. Two copies of it are made, so both runs start from the same rows
   and the same ids.
2. In ``<db>_eqc_ours`` two threads import two camt.053 files into the journal
   at the same moment, each in its own transaction retried by Odoo's own
   ``retrying`` (as a request or a job is), through the product's path. The
   first to take its turn waits until the other is queued behind it, so the
   two really overlap.
3. In ``<db>_eqc_orm`` the same two files are imported one after the other, in
   the order the concurrent run committed them, every statement line made by
   plain ``account.bank.statement.line.create``.
4. Every row of every table each run inserted or updated (by ``xmin``, after a
   transaction id taken before the run) is compared column by column with
   ``equivalence.Harness`` (ids, dates and the documented volatile columns
   aside). The differences must be none, the fast path must have copied lines,
   and the second import must have been retried.

Prints the counts; exits 1 on any difference. The three databases are dropped.
"""

import argparse
import importlib.util
import logging
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

_logger = logging.getLogger("finance_connect.harness")

IBAN = "DE89370400440532013000"
ENTRIES = 240
REPO = Path(__file__).resolve().parents[2]


def _equivalence():
    """The harness module, loaded by its path: importing it through its package
    would import every test module, and Odoo's test framework with them."""
    path = REPO / "finance_connect_bank" / "tests" / "equivalence.py"
    spec = importlib.util.spec_from_file_location("fc_equivalence", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy_database(template, name):
    import odoo
    from odoo.tools import SQL

    odoo.sql_db.close_db(template)
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute(SQL("DROP DATABASE IF EXISTS %s WITH (FORCE)", SQL.identifier(name)))
        cr.execute(
            SQL(
                "CREATE DATABASE %s TEMPLATE %s",
                SQL.identifier(name),
                SQL.identifier(template),
            )
        )


def _drop_database(name):
    import odoo
    from odoo.tools import SQL

    _drop_registry(name)
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute(SQL("DROP DATABASE IF EXISTS %s WITH (FORCE)", SQL.identifier(name)))


def _env(cr):
    from odoo import SUPERUSER_ID, api

    return api.Environment(cr, SUPERUSER_ID, {})


def _prepare(db):
    """The journal and the counterparties, committed."""
    import odoo
    from odoo import Command

    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = _env(cr)
        company = env.ref("base.main_company")
        fiscal = env["account.fiscal.position"].create(
            {"name": "Intra-EU (harness)", "company_id": company.id}
        )
        env["account.journal"].create(
            {
                "name": "Concurrent harness",
                "code": "EQC",
                "type": "bank",
                "company_id": company.id,
                "bank_acc_number": IBAN,
            }
        )
        env["res.partner"].create(
            [
                {
                    "name": f"Harness counterparty {i:02d}",
                    "is_company": True,
                    "property_account_position_id": fiscal.id if i % 4 == 0 else False,
                    "bank_ids": [
                        Command.create(
                            {"acc_number": f"NL{10 + i:02d}RABO{i:010d}", "allow_out_payment": 1}
                        )
                    ]
                    if i % 3
                    else [],
                }
                for i in range(20)
            ]
        )
        env["finance.connect.connection"]._bank_upload_connection()


def _files(env):
    """Two balancing camt.053 files: the second starts where the first ends,
    and both cross a year boundary; many partners, 1.00 and -1.00."""
    camt053 = _equivalence().camt053
    partners = env["res.partner"].search(
        [("name", "=like", "Harness counterparty %")], order="name"
    )

    def entries(start, seed):
        out = []
        for n in range(ENTRIES):
            day = start + timedelta(days=n // 8)
            i = (n * 7 + seed) % 23
            amount = Decimal((i * 37 + n * 11) % 5000 + 100) / 100
            if n % 3 == 0:
                amount = -amount
            if n % 17 == 0:
                amount = Decimal("1.00") if n % 2 else Decimal("-1.00")
            if i < 20:
                partner = partners[i]
                iban = partner.bank_ids[:1].acc_number or f"NL{50 + i:02d}INGB{i:010d}"
                name = partner.name
            else:
                name, iban = f"Walk-in {i}", f"NL{60 + i:02d}ABNA{i:010d}"
            out.append((day, amount, name, iban))
        return out

    ccy = env.ref("base.main_company").currency_id.name
    first = entries(date(2023, 12, 10), 0)
    second = entries(date(2023, 12, 20), 5)
    total = sum((amount for _d, amount, _n, _i in first), Decimal(0))
    return [
        ("concurrent-a.xml", camt053("EQC-A", first, ccy=ccy)),
        ("concurrent-b.xml", camt053("EQC-B", second, opening=total, ccy=ccy)),
    ]


class _Run:
    """One database's run, between a transaction id taken before and a snapshot after."""

    def __init__(self, db):
        import odoo

        self.registry = odoo.modules.registry.Registry(db)
        self.cr = self.registry.cursor()
        self.env = _env(self.cr)
        self.harness = _equivalence().Harness(self.env)
        self.cr.execute("SELECT txid_current()")
        self.marker = self.cr.fetchone()[0]
        self.harness.remember_ids()
        self.cr.commit()

    def journal(self, env):
        return env["account.journal"].search([("code", "=", "EQC")], limit=1)

    def snapshot(self):
        self.cr.commit()  # a fresh snapshot: the runs committed in other transactions
        self.env.invalidate_all()
        self.cr.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [table for (table,) in self.cr.fetchall()]
        return self.harness._snapshot_tables(self.marker, tables)

    def close(self):
        self.cr.close()


def _import(env, journal, name, data):
    result = env["finance.connect.bank.import"]._import_file(data, name, journal=journal)
    if result.get("errors") or not result.get("new"):
        raise RuntimeError(f"{name} was not imported: {result.get('summary')}")
    return result


def _ours_concurrently(db, files):
    """Both files at once through the product's path; returns (run, commit order, tries, copies)."""
    from odoo.service.model import retrying

    run = _Run(db)
    Line = type(run.env["account.bank.statement.line"])
    Journal = type(run.env["account.journal"])
    copy_writer = Line._fc_write_copies
    take_turn = Journal._fc_take_import_turn
    copies = []
    tries = {name: 0 for name, _data in files}
    queued = {name: threading.Event() for name, _data in files}
    state = {"first": None, "committed": []}
    guard = threading.Lock()
    errors = {}

    def spy(line_model, builders_vals, currency):
        ids = copy_writer(line_model, builders_vals, currency)
        copies.extend(ids)
        return ids

    def turn(journal):
        me = threading.current_thread().name
        queued[me].set()
        result = take_turn(journal)
        with guard:
            first = state["first"] is None
            if first:
                state["first"] = me
        if first:
            # hold the turn until the other import is queued behind it
            for name, event in queued.items():
                if name != me:
                    event.wait(timeout=60)
            time.sleep(0.5)
        return result

    barrier = threading.Barrier(len(files))

    def worker(name, data):
        try:
            with run.registry.cursor() as cr:
                env = _env(cr)

                def once():
                    tries[name] += 1
                    if tries[name] == 1:
                        barrier.wait(timeout=60)
                    _import(env, run.journal(env), name, data)

                retrying(once, env)
            with guard:
                state["committed"].append(name)
        except Exception as exc:  # reported by the caller
            errors[name] = f"{type(exc).__name__}: {exc}"

    with (
        patch.object(Line, "_fc_write_copies", spy),
        patch.object(Journal, "_fc_take_import_turn", turn),
    ):
        threads = [
            threading.Thread(target=worker, args=(name, data), name=name) for name, data in files
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise RuntimeError(f"the concurrent imports failed: {errors}")
    return run, state["committed"], tries, copies


def _orm_sequentially(db, files):
    """The files one after the other, each in its own transaction, through plain create."""
    run = _Run(db)
    Line = type(run.env["account.bank.statement.line"])

    def orm(line_model, vals_list):
        return line_model.create(vals_list)

    with patch.object(Line, "_fc_create_bulk", orm):
        for name, data in files:
            with run.registry.cursor() as cr:
                env = _env(cr)
                _import(env, run.journal(env), name, data)
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True, help="the test database (the template)")
    args = parser.parse_args()

    import odoo

    odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    Harness = _equivalence().Harness

    base, ours_db, orm_db = (f"{args.db}_eqc", f"{args.db}_eqc_ours", f"{args.db}_eqc_orm")
    started = time.perf_counter()
    runs = []
    try:
        _copy_database(args.db, base)
        _prepare(base)
        _drop_registry(base)
        _copy_database(base, ours_db)
        _copy_database(base, orm_db)

        with odoo.modules.registry.Registry(ours_db).cursor() as cr:
            files = dict(_files(_env(cr)))
        ours, order, tries, copies = _ours_concurrently(ours_db, list(files.items()))
        runs.append(ours)
        theirs = _orm_sequentially(orm_db, [(name, files[name]) for name in order])
        runs.append(theirs)
        a, b = theirs.snapshot(), ours.snapshot()
        problems = Harness.differences(a, b)
        retried = sum(tries.values()) > len(files)
        print(
            f"concurrent equivalence harness: {len(files)} files imported at once into one "
            f"journal (committed in the order {', '.join(order)}; attempts {tries}), "
            f"{a.row_count()} rows compared, {len(problems)} differences, "
            f"{len(copies)} lines copied by the fast path, "
            f"{time.perf_counter() - started:.1f} s"
        )
        for problem in problems:
            print(f"  difference: {problem}")
        failed = bool(problems)
        if not copies:
            print("  the fast path copied no line: nothing was compared")
            failed = True
        if not retried:
            print("  neither import waited for the other: the run was not concurrent")
            failed = True
        return 1 if failed else 0
    finally:
        for run in runs:
            run.close()
        for name in (ours_db, orm_db, base):
            _drop_database(name)


def _drop_registry(db):
    import odoo

    odoo.modules.registry.Registry.delete(db)
    odoo.sql_db.close_db(db)


if __name__ == "__main__":
    sys.exit(main())
