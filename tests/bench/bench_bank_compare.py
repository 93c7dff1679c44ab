"""Bank import benchmark: ours side by side with OCA's account_statement_import_camt.

Used by ``setup/bench-bank``; prints figures, asserts nothing.

    bench_bank_compare.py ours --json OURS.json -- CMD ...
        runs our benchmark (CMD, ``bench_bank_import.py``), passes its output
        through unchanged and keeps its figures, read from the lines it prints,
        plus the process's maximum resident set size over the whole run;
    bench_bank_compare.py table --ours OURS.json (--oca OCA.json | --oca-skipped WHY)
        prints one table: first import and re-import of the same file, ours
        and OCA's (wall time, peak MB, lines/s, lines created).
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

# What bench_bank_import.py prints (kept loose: a figure not found shows as "?").
FIRST = re.compile(
    r"^first import\s*:\s*(?P<wall>[\d.]+) s wall, (?P<created>-?\d+) lines created"
    r".*?peak memory \(max RSS\) (?P<peak>[\d.]+) MB"
)
AGAIN = re.compile(r"^same file\s*:\s*(?P<wall>[\d.]+) s wall.*?, (?P<created>-?\d+) lines created")
ENTRIES = re.compile(r"^file: .*?, (?P<entries>\d+) entries")


def _run_ours(args):
    loads = [os.getloadavg()]
    figures = {"entries": None, "first": {}, "again": {}}
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # its lines as they come, with its stderr
    with subprocess.Popen(args.cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if match := ENTRIES.match(line):
                figures["entries"] = int(match["entries"])
            elif match := FIRST.match(line):
                figures["first"] = {
                    "wall": float(match["wall"]),
                    "created": int(match["created"]),
                    "peak_mb": float(match["peak"]),
                }
            elif match := AGAIN.match(line):
                figures["again"] = {
                    "wall": float(match["wall"]),
                    "created": int(match["created"]),
                }
    loads.append(os.getloadavg())
    # The child's high-water mark over its whole run (it prints none after the re-import).
    run_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if figures["again"]:
        figures["again"]["peak_mb"] = run_peak
    figures["loadavg"] = loads
    Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return proc.returncode


def _cells(step, entries):
    wall, peak, created = step.get("wall"), step.get("peak_mb"), step.get("created")
    rate = entries / wall if wall and entries else None
    return [
        "?" if wall is None else f"{wall:.2f}",
        "?" if peak is None else f"{peak:.0f}",
        "?" if rate is None else f"{rate:.0f}",
        "?" if created is None else str(created),
    ]


def _table(args):
    ours = json.loads(Path(args.ours).read_text(encoding="utf-8"))
    oca = json.loads(Path(args.oca).read_text(encoding="utf-8")) if args.oca else None
    label = f"OCA account_statement_import_camt {args.oca_version}".strip()
    print()
    print(f"== bank statement import: ours vs {label} ==")
    counts = f"entries in the file: ours {ours.get('entries') or '?'}"
    counts += f", OCA {oca['entries']}" if oca else ", OCA not run"
    print(counts)
    rows = []
    for title, key in (("first import", "first"), ("re-import", "again")):
        rows.append([title, "ours", *_cells(ours.get(key, {}), ours.get("entries"))])
        if oca:
            rows.append(["", "OCA", *_cells(oca[key], oca["entries"])])
    head = ["", "", "wall s", "peak MB", "lines/s", "lines created"]
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) if i < 2 else str(cell).rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
    if not oca:
        print(f"OCA comparison not run: {args.oca_skipped or 'no figures'}")
    print(
        "lines/s = entries in the file / wall time; peak MB = the process's max RSS "
        "(getrusage high-water mark)\nat the end of the step: for the re-import that is "
        "the whole process's (ours: after its third,\nother-bytes import too)"
    )
    loads = []
    for name, figures in (("ours", ours), ("OCA", oca or {})):
        for when, load in zip(("start", "end"), figures.get("loadavg", []), strict=False):
            loads.append(f"{name} {when} " + "/".join(f"{x:.2f}" for x in load))
    print(f"load average (1/5/15 min; {os.cpu_count()} cores, shared): " + ", ".join(loads))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    ours = sub.add_parser("ours")
    ours.add_argument("--json", required=True)
    ours.add_argument("cmd", nargs=argparse.REMAINDER)
    table = sub.add_parser("table")
    table.add_argument("--ours", required=True)
    table.add_argument("--oca")
    table.add_argument("--oca-version", default="")
    table.add_argument("--oca-skipped")
    args = parser.parse_args()
    if args.mode == "ours":
        if args.cmd[:1] == ["--"]:
            args.cmd = args.cmd[1:]
        return _run_ours(args)
    return _table(args)


if __name__ == "__main__":
    sys.exit(main())
