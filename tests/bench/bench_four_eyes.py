"""Benchmark of the four-eyes control (issue 15). Prints figures; asserts nothing.

On an existing database (one transaction, rolled back at the end):

1. the gate's cost: N account lines created into a mapping set of a *test*
   connection (the gate looks and lets them through), against the same
   creation with the gate switched off in this process;
2. opening M change requests: M account lines of a set used by a *production*
   bank connection changed one by one with a reason;
3. approving them (another manager): M ORM writes through the requests.

Run: ``FC_BENCH_DB=<db> setup/bench-four-eyes [--lines N] [--requests M]``.
"""

import argparse
import platform
import time
from contextlib import contextmanager


@contextmanager
def timed(label, count):
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    print(f"{label:<58} {seconds:8.3f} s  {seconds / count * 1000:8.3f} ms each")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.db)
    from odoo.addons.finance_connect.models import finance_connect_four_eyes_mixin as fe

    print(f"four-eyes benchmark on {args.db}, Python {platform.python_version()}")
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        company = env.company
        company.sudo().with_context(fc_change_reason="bench").fc_four_eyes = True
        # Prefix rules (outbound) need no existing account: any number of them.
        n, m = args.lines, args.requests
        Connection = env["finance.connect.connection"]
        Mapping = env["finance.connect.mapping"]
        Line = env["finance.connect.mapping.line"].with_context(fc_mapping_no_track=True)

        def new_set(name):
            conn = Connection.create({"name": name, "kind": "bank", "company_id": company.id})
            mapping = Mapping.create({"name": name, "company_id": company.id})
            conn.mapping_ids = [(4, mapping.id)]
            return conn, mapping

        def vals(mapping, count, suffix):
            return [
                {
                    "mapping_id": mapping.id,
                    "mapping_type": "account",
                    "direction": "outbound",
                    "source_value": f"{100000 + i}*",
                    "external_code": f"{suffix}{i}",
                }
                for i in range(count)
            ]

        # 1. The gate's cost on an unguarded (test) connection, twice in turn
        # (the first round also warms the caches up).
        gate = fe.FinanceConnectFourEyesMixin._fc_four_eyes_create
        for round_ in (1, 2):
            _conn, plain = new_set(f"bench plain {round_}")
            try:
                fe.FinanceConnectFourEyesMixin._fc_four_eyes_create = lambda self, v: v
                with timed(f"round {round_}: create {n} lines, gate switched off", n):
                    Line.create(vals(plain, n, "A"))
                    env.flush_all()
            finally:
                fe.FinanceConnectFourEyesMixin._fc_four_eyes_create = gate
            _conn, gated = new_set(f"bench gated {round_}")
            with timed(f"round {round_}: create {n} lines, gate on (lets through)", n):
                Line.create(vals(gated, n, "B"))
                env.flush_all()

        # 2. and 3. Requests on a production connection.
        conn, guarded = new_set("bench guarded")
        lines = Line.create(vals(guarded, m, "C"))
        conn.environment = "production"
        with timed(f"open {m} change requests (one line each)", m):
            for line in lines:
                line.with_context(fc_change_reason="bench").write(
                    {"external_code": line.external_code.replace("C", "D")}
                )
            env.flush_all()
        requests = env["finance.connect.change.request"].search(
            [("mapping_id", "=", guarded.id), ("state", "=", "pending")]
        )
        approver = env["res.users"].create(
            {
                "name": "Bench approver",
                "login": f"bench_approver_{time.time_ns()}",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [
                    (4, env.ref("account.group_account_manager").id),
                    (4, env.ref("finance_connect.group_manager").id),
                ],
            }
        )
        with timed(f"approve and apply {len(requests)} requests", max(len(requests), 1)):
            for request in requests:
                request.with_user(approver).action_approve()
            env.flush_all()
        applied = lines.filtered(lambda ln: ln.external_code.startswith("D"))
        print(f"lines changed by the approvals: {len(applied)} of {m}")
        cr.rollback()
    print("rolled back: nothing kept")


if __name__ == "__main__":
    main()
