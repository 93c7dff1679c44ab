"""``odoo-bin neutralize`` on a committed copy of the test database.

Run by ``setup/test`` after the test runners (``--conf``/``--db``: the test
database, which must have no open connection: it is the template). The Odoo
test (``finance_connect/tests/test_neutralize.py``) runs the neutralization
inside its transaction; this harness runs the real command on a real copy, as
Odoo.sh staging and ``odoo-bin neutralize -d <copy>`` do:

1. ``<db>_neutral``: a copy of the test database with live production
   settings, committed: every connection active and unpaused, one with a
   webhook URL token, a metrics token, a feed with a pull token (when the
   reporting addon is installed), scheduled statement pulls on (bank addon),
   the crons of the three addons active;
2. ``odoo-bin neutralize -c <conf> -d <db>_neutral`` in a process of its own
   (and ``--stdout``, whose SQL must carry our three addons' statements);
3. read back in a new registry: every connection paused, no old token finds
   its row, pulls off, our crons inactive, ``database.is_neutralized`` set and
   the banner field of the dashboard true.

Prints the figures; exits 1 on any failure. The copy is dropped.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUR_MODULES = ("finance_connect", "finance_connect_bank", "finance_connect_reporting")


def _copy_database(template, name):
    import odoo
    from odoo.tools import SQL

    odoo.sql_db.close_db(template)
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute(SQL("DROP DATABASE IF EXISTS %s WITH (FORCE)", SQL.identifier(name)))
        cr.execute(
            SQL("CREATE DATABASE %s TEMPLATE %s", SQL.identifier(name), SQL.identifier(template))
        )


def _drop_database(name):
    import odoo
    from odoo.tools import SQL

    odoo.modules.registry.Registry.delete(name)
    odoo.sql_db.close_db(name)
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute(SQL("DROP DATABASE IF EXISTS %s WITH (FORCE)", SQL.identifier(name)))


def _env(cr):
    from odoo import SUPERUSER_ID, api

    return api.Environment(cr, SUPERUSER_ID, {})


def _our_crons(env):
    return (
        env["ir.cron"]
        .with_context(active_test=False)
        .browse(
            env["ir.model.data"]
            .search([("model", "=", "ir.cron"), ("module", "in", OUR_MODULES)])
            .mapped("res_id")
        )
    )


def _live_production(db):
    """Production settings on the copy, committed; the tokens in clear."""
    import odoo

    tokens = {}
    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = _env(cr)
        env["ir.config_parameter"].set_param("database.is_neutralized", False)
        Connection = env["finance.connect.connection"]
        company = env.ref("base.main_company")
        conn = Connection.create(
            {
                "name": "Neutralize harness bank",
                "kind": "bank",
                "company_id": company.id,
                "base_url": "https://bank.example.com",
            }
        )
        tokens["webhook"] = conn._issue_webhook_token()
        tokens["metrics"] = env["finance.connect.metrics.token"]._issue_metrics_token(company)
        if "fc_pull_enabled" in Connection._fields:
            conn.write({"fc_pull_enabled": True, "fc_pull_path": "/statements"})
        if "finance.connect.feed" in env:
            feed = env["finance.connect.feed"].create(
                {"name": "Neutralize harness feed", "company_id": company.id, "mode": "pull"}
            )
            tokens["feed"] = feed._issue_pull_token()
        Connection.search([]).write({"paused": False})
        _our_crons(env).write({"active": True})
        counts = {
            "connections": Connection.search_count([]),
            "crons": len(_our_crons(env)),
        }
    return tokens, counts


def _neutralize(conf, db):
    """``odoo-bin neutralize`` as a separate process; its ``--stdout`` SQL too."""
    import odoo

    odoo_bin = Path(odoo.__file__).resolve().parents[1] / "odoo-bin"
    base = [sys.executable, str(odoo_bin), "neutralize", "-c", conf, "-d", db]
    started = time.perf_counter()
    printed = subprocess.run(
        [*base, "--stdout"], capture_output=True, text=True, check=True, timeout=600
    )
    subprocess.run(base, capture_output=True, text=True, check=True, timeout=600)
    return printed.stdout, time.perf_counter() - started


def _check(db, tokens, sql):
    """What is wrong with the neutralized copy (nothing when all is well)."""
    import odoo
    from odoo.addons.finance_connect.lib.webhook_inbound import find_by_token
    from odoo.tools import SQL

    problems = []
    for table in ("finance_connect_connection", "finance_connect_metrics_token"):
        if f"UPDATE {table}" not in sql:
            problems.append(f"odoo-bin neutralize --stdout has no UPDATE of {table}")
    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = _env(cr)
        Connection = env["finance.connect.connection"].with_context(active_test=False)
        live = Connection.search([("paused", "=", False)])
        if live:
            problems.append(f"connections not paused: {live.mapped('name')}")
        lookups = [
            ("finance_connect_connection", "webhook_token_hash", tokens["webhook"]),
            ("finance_connect_metrics_token", "token_hash", tokens["metrics"]),
        ]
        if "feed" in tokens:
            lookups.append(("finance_connect_feed", "pull_token_hash", tokens["feed"]))
        for table, column, token in lookups:
            if find_by_token(cr, table, column, token):
                problems.append(f"production's token still finds its row in {table}")
        if "fc_pull_enabled" in Connection._fields:
            pulling = Connection.search([("fc_pull_enabled", "=", True)])
            if pulling:
                problems.append(f"scheduled pulls still on: {pulling.mapped('name')}")
        active = _our_crons(env).filtered("active")
        if active:
            problems.append(f"crons still active: {active.mapped('name')}")
        if not Connection._is_neutralized_copy():
            problems.append("database.is_neutralized is not set")
        card = Connection.search([], limit=1)
        if card and not (card.fc_neutralized_copy and card.fc_copy_banner):
            problems.append("the dashboard shows no banner")
        cr.execute(SQL("SELECT count(*) FROM finance_connect_connection WHERE paused"))
        paused = cr.fetchone()[0]
    return problems, paused


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True, help="the test database (the template)")
    args = parser.parse_args()

    import odoo

    odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    copy = f"{args.db}_neutral"
    started = time.perf_counter()
    try:
        _copy_database(args.db, copy)
        tokens, counts = _live_production(copy)
        odoo.modules.registry.Registry.delete(copy)
        odoo.sql_db.close_db(copy)
        sql, seconds = _neutralize(args.conf, copy)
        problems, paused = _check(copy, tokens, sql)
    finally:
        _drop_database(copy)
    print(
        f"neutralize harness: odoo-bin neutralize on a copy with {counts['connections']} "
        f"live connections, {len(tokens)} tokens and {counts['crons']} crons of ours: "
        f"{paused} connections paused, {len(problems)} problems; neutralize (twice: "
        f"--stdout and applied) {seconds:.1f} s, whole harness "
        f"{time.perf_counter() - started:.1f} s"
    )
    for problem in problems:
        print(f"  - {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
