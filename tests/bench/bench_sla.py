"""SLA rules benchmark (issue 16). Prints figures; asserts nothing.

Run through ``setup/bench-sla``. In one transaction that is rolled back at the
end (the database is left as it was):

1. an inbox of E open exceptions (half of them assigned), a connection with A
   delivery attempts over the last hour (a third failed), bank journals;
2. R rules, spread over the kinds of the core and the bank addon (exception
   open too long, failure rate, statement by 09:00, payment status);
3. the cron ``_cron_evaluate`` once (every rule breached: one exception, one
   activity and notifications each), once more (breaches kept: one more
   occurrence each), then once after the condition cleared (every breach
   resolved, activities done).
"""

import argparse
import time
from datetime import timedelta


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--exceptions", type=int, default=20000)
    parser.add_argument("--attempts", type=int, default=100000)
    parser.add_argument("--profile", action="store_true", help="profile the clearing run")
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api, fields

    odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = env.ref("base.main_company")
        owner = env.ref("base.user_admin")
        Exc = env["finance.connect.exception"]
        Rule = env["finance.connect.sla.rule"]
        Rule.search([]).write({"active": False})  # only the bench's rules
        t0 = time.perf_counter()
        Exc.with_context(mail_create_nolog=True, tracking_disable=True).create(
            [
                {
                    "name": f"Bench problem {i}",
                    "description": "Bench",
                    "category": "other",
                    "company_id": company.id,
                    "fingerprint": f"bench:{i}",
                    "user_id": owner.id if i % 2 else False,
                    "state": "in_progress" if i % 2 else "open",
                }
                for i in range(args.exceptions)
            ]
        )
        connection = env["finance.connect.connection"].create(
            {"name": "Bench SLA", "kind": "bank", "company_id": company.id}
        )
        message = (
            env["finance.connect.message"]
            .sudo()
            .create(
                {
                    "reference": "BENCH-SLA",
                    "direction": "out",
                    "connection_id": connection.id,
                    "company_id": company.id,
                    "event_type": "invoice.posted",
                    "idempotency_key": "bench-sla",
                }
            )
        )
        now = fields.Datetime.now()
        env["finance.connect.message.attempt"].create(
            [
                {
                    "message_id": message.id,
                    "outcome": "fail" if i % 3 == 0 else "done",
                    "at": now - timedelta(seconds=i * 3600 // max(args.attempts, 1)),
                }
                for i in range(args.attempts)
            ]
        )
        # Bank journals of the bench's own: no statement yet, so their rules breach.
        journals = env["account.journal"].create(
            [
                {
                    "name": f"Bench bank {i}",
                    "code": f"BS{i:02d}",
                    "type": "bank",
                    "company_id": company.id,
                }
                for i in range(5)
            ]
        )
        env.flush_all()
        t1 = time.perf_counter()
        print(
            f"fixture: {args.exceptions} exceptions, {args.attempts} attempts in the last "
            f"hour: {t1 - t0:.1f} s"
        )
        kinds = []
        for i in range(args.rules):
            kind = ("exception_open", "failure_rate", "statement", "payment_status")[i % 4]
            vals = {
                "name": f"Bench rule {i}",
                "kind": kind,
                "company_id": company.id,
                "user_id": owner.id,
                "hours": 0,
                "exception_scope": ("unassigned", "assigned", "any")[i % 3],
                "percentage": 10,
                "deadline": 0.0,
            }
            if kind == "failure_rate":
                vals["connection_id"] = connection.id
            if kind == "statement":
                vals["journal_id"] = journals[i % len(journals)].id
            kinds.append(vals)
        rules = Rule.create(kinds)
        env.flush_all()
        breaches = Exc.search_count([("category", "=", "sla"), ("state", "=", "open")])

        def run(label, profile=False):
            start = time.perf_counter()
            if profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.runcall(Rule._cron_evaluate)
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            else:
                Rule._cron_evaluate()
            env.flush_all()
            took = time.perf_counter() - start
            open_now = Exc.search_count(
                [("category", "=", "sla"), ("state", "in", ("open", "in_progress"))]
            )
            print(
                f"{label}: {len(rules)} rules in {took:.2f} s "
                f"({took * 1000 / len(rules):.1f} ms per rule); open SLA breaches: {open_now}"
            )

        run("cron, first run (breaches opened)")
        run("cron, second run (breaches kept)")
        # Everything clears: the inbox is emptied, the failures age out, statements
        # arrive, the rules of payment status have no batch (kept from the start).
        Exc.search([("fingerprint", "=like", "bench:%")]).with_context(tracking_disable=True).write(
            {"state": "resolved"}
        )
        env["finance.connect.message.attempt"].search([("message_id", "=", message.id)]).write(
            {"at": now - timedelta(hours=2)}
        )
        for journal in journals:
            env["account.bank.statement.line"].create(
                {
                    "journal_id": journal.id,
                    "date": fields.Date.today(),
                    "amount": 1,
                    "payment_ref": "bench",
                }
            )
        env.flush_all()
        env.cr.precommit.run()  # what the fixture left to do at commit, not the cron's work
        run("cron, conditions cleared (breaches resolved)", profile=args.profile)
        print(f"(open SLA breaches before the bench: {breaches})")
        cr.rollback()


if __name__ == "__main__":
    main()
