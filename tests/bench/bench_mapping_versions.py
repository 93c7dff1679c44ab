"""Mapping set versions benchmark (issue 15). Prints figures; asserts nothing.

Run through ``setup/bench-versions``. In one transaction that is rolled back at
the end (the database is left as it was):

1. a mapping set imported with Odoo's import (``load()``, as the import screen
   does) of N lines: time of the import and of its one version (snapshot of N
   lines, canonical JSON, digest), made when the import's savepoint closes;
2. one line changed: time of the next version (a diff of N lines);
3. ``_current_versions`` asked per message (what each outbound message costs),
   for an unchanged set;
4. the comparison of the two versions and a restore of the first (N lines
   written back through the lines' ordinary create/write/unlink).
"""

import argparse
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--asks", type=int, default=2000)
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", args.conf, "-d", args.db, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        Version = env["finance.connect.mapping.version"]
        company = env.ref("base.main_company")
        mapping = env["finance.connect.mapping"].create(
            {"name": "Bench versions", "company_id": company.id}
        )
        Version._precommit_versions()  # version 1: the empty set
        n = args.lines
        rows = [
            [str(mapping.id), "account", f"{100000 + i}*", f"X{i}", "outbound"] for i in range(n)
        ]
        fields = ["mapping_id/.id", "mapping_type", "source_value", "external_code", "direction"]
        t0 = time.perf_counter()
        result = env["finance.connect.mapping.line"].load(fields, rows)
        env.flush_all()
        t1 = time.perf_counter()
        if result["messages"]:
            raise SystemExit(result["messages"][:3])
        Version._precommit_versions()
        t2 = time.perf_counter()
        versions = mapping.version_ids.sorted("number")
        # load() runs in a flushing savepoint, which runs the precommit hooks as a
        # commit does: the version is made when the import's savepoint closes.
        print(f"import of {n} lines (load), its version included: {t1 - t0:.2f} s")
        print(
            f"  hook left to run at commit: {(t2 - t1) * 1000:.0f} ms; versions of the set: "
            f"{versions.mapped('number')} (added {versions[-1].added_count}), "
            f"snapshot {len(versions[-1].snapshot) / 1024:.0f} KiB"
        )
        line = mapping.line_ids[:1]
        line.external_code = "CHANGED"
        t3 = time.perf_counter()
        Version._mark_changed(mapping)
        Version._precommit_versions()
        t4 = time.perf_counter()
        print(
            f"one line changed, next version: {(t4 - t3) * 1000:.0f} ms "
            f"(summary: {mapping.version_ids.sorted('number')[-1].summary.splitlines()[0]})"
        )
        sets = mapping
        t5 = time.perf_counter()
        for _i in range(args.asks):
            Version._current_versions(sets)
        t6 = time.perf_counter()
        print(
            f"version in force asked {args.asks} times (one per outbound message): "
            f"{(t6 - t5) / args.asks * 1e6:.0f} µs each"
        )
        first, last = (
            mapping.version_ids.sorted("number")[1],
            mapping.version_ids.sorted("number")[-1],
        )
        wizard = env["finance.connect.mapping.version.compare"].create(
            {"mapping_id": mapping.id, "version_a_id": first.id, "version_b_id": last.id}
        )
        t7 = time.perf_counter()
        wizard.diff_html  # noqa: B018
        t8 = time.perf_counter()
        print(f"compare version 2 with {last.number} ({n} lines each): {(t8 - t7) * 1000:.0f} ms")
        t9 = time.perf_counter()
        mapping.version_ids.sorted("number")[0].action_restore()  # back to the empty set
        env.flush_all()
        t10 = time.perf_counter()
        print(
            f"restore of version 1 (unlink {n} lines) and its version: {t10 - t9:.2f} s; "
            f"versions: {mapping.version_ids.sorted('number').mapped('number')}"
        )
        cr.rollback()


if __name__ == "__main__":
    main()
