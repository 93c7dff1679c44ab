"""Benchmark of the mapping table: 100,000 lookups against 5,000 exact lines
plus 200 prefix rules. Prints figures; asserts nothing about time.

Run (from the repository root):

    setup/bench-mapping          # or: .venv/bin/python tests/bench/bench_mapping.py

The target of issue 5 is under 2 s for the 100,000 lookups on this machine.
"""

import platform
import random
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

try:
    import odoo.addons
except ImportError:  # pragma: no cover
    sys.exit("Run with the project's virtual environment: .venv/bin/python " + __file__)
if str(REPO) not in [str(p) for p in odoo.addons.__path__]:
    odoo.addons.__path__.append(str(REPO))

from odoo.addons.finance_connect.lib import mapping  # noqa: E402

N_EXACT = 5_000
N_PREFIX = 200
N_LOOKUPS = 100_000


def build_lines(rng):
    codes = rng.sample(range(100000, 1000000), N_EXACT)
    lines = [
        mapping.MappingLine("account", str(code), "exact", "both", None, None, f"X{code}", i)
        for i, code in enumerate(codes)
    ]
    prefixes = set()
    while len(prefixes) < N_PREFIX:
        length = rng.choice((1, 2, 3, 4))
        prefixes.add(str(rng.randrange(10 ** (length - 1), 10**length)))
    for j, prefix in enumerate(sorted(prefixes)):
        # Some rules carry validity dates, as after a chart change.
        date_to = date(2025, 12, 31) if j % 10 == 0 else None
        lines.append(
            mapping.MappingLine(
                "account", prefix, "prefix", "outbound", None, date_to, f"R{prefix}", N_EXACT + j
            )
        )
    return lines, codes


def main():
    rng = random.Random(20260101)
    lines, codes = build_lines(rng)
    values = []
    for _ in range(N_LOOKUPS):
        if rng.random() < 0.5:
            values.append(str(rng.choice(codes)))  # exact hit
        else:
            values.append(str(rng.randrange(100000, 1000000)))  # rule or unmapped

    start = time.perf_counter()
    table = mapping.MappingTable(lines)
    compiled = time.perf_counter() - start

    on_date = date(2026, 6, 30)
    counts = {"exact": 0, "prefix": 0, "unmapped": 0, "ambiguous": 0}
    resolve = table.resolve
    start = time.perf_counter()
    for value in values:
        try:
            rule = resolve("account", value, "outbound", on_date).rule
        except mapping.Ambiguous:
            counts["ambiguous"] += 1
        except mapping.Unmapped:
            counts["unmapped"] += 1
        else:
            counts["exact" if rule == "exact" else "prefix"] += 1
    elapsed = time.perf_counter() - start

    print("finance_connect mapping benchmark")
    print("  command : setup/bench-mapping  (or .venv/bin/python tests/bench/bench_mapping.py)")
    print(
        f"  machine : {platform.machine()} {platform.processor() or ''} Python "
        f"{platform.python_version()}"
    )
    print(
        f"  table   : {N_EXACT:,} exact lines + {N_PREFIX} prefix rules, "
        f"compiled in {compiled * 1000:.1f} ms"
    )
    print(
        f"  lookups : {N_LOOKUPS:,} in {elapsed:.3f} s "
        f"({elapsed / N_LOOKUPS * 1e6:.2f} µs each; target < 2 s)"
    )
    print(
        f"  outcome : {counts['exact']:,} exact, {counts['prefix']:,} by rule, "
        f"{counts['unmapped']:,} unmapped, {counts['ambiguous']:,} ambiguous"
    )


if __name__ == "__main__":
    main()
