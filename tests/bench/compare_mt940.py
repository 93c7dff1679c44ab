"""MT940: our parser side by side with the ``mt-940`` library (PyPI, BSD).

Prints one table; asserts nothing. For each file of the real-world corpus
(``../shared/fixtures/mt940_wolph``) and each quirk file of
``tests/data/bank``: statements, entries, sum of the entry amounts, how many
statements balance (opening + entries = closing) and the error, for ours and
for the library (``mt940.parse_statements``, one ``Transactions`` per ``:20:``
block, default options). The library is not a dependency: install it into a
scratch folder and name that folder::

    .venv/bin/pip install --target /tmp/mt940lib mt-940
    .venv/bin/python tests/bench/compare_mt940.py --lib /tmp/mt940lib

Run from the repository root (the addons must be importable as
``odoo.addons.*``, as setup/test arranges through the Odoo source tree).
"""

import argparse
import sys
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "fixtures" / "mt940_wolph"
QUIRKS = REPO / "tests" / "data" / "bank"


def _files():
    corpus = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE")
    quirks = sorted(QUIRKS.glob("mt940_*.sta"))
    return [(str(p.relative_to(CORPUS)), p) for p in corpus] + [
        (f"quirk:{p.name}", p) for p in quirks
    ]


def _short(error):
    text = " ".join(str(error).split())
    return (type(error).__name__ + ": " + text)[:60]


def measure_ours(data, name):
    from odoo.addons.finance_connect_bank.lib import mt940 as ours

    try:
        statements = ours.parse_mt940(data, name)
    except ValueError as exc:
        return {"error": _short(exc)}
    amounts = [line.amount for s in statements for line in s.lines]
    balanced = sum(1 for s in statements if s.balance_difference() == 0)
    return {
        "statements": len(statements),
        "entries": len(amounts),
        "total": sum(amounts, Decimal(0)),
        "balanced": balanced,
    }


def _library_balance(statement, key):
    balance = statement.data.get(key)
    return balance.amount.amount if balance is not None else None


def measure_library(data, name):
    import mt940 as library

    try:
        statements = library.parse_statements(data)
    except Exception as exc:
        return {"error": _short(exc)}
    amounts = [t.data["amount"].amount for s in statements for t in s]
    balanced = 0
    for statement in statements:
        opening = _library_balance(statement, "final_opening_balance")
        closing = _library_balance(statement, "final_closing_balance")
        total = sum((t.data["amount"].amount for t in statement), Decimal(0))
        if opening is not None and closing is not None and opening + total == closing:
            balanced += 1
    return {
        "statements": len(statements),
        "entries": len(amounts),
        "total": sum(amounts, Decimal(0)),
        "balanced": balanced,
    }


def _cell(figures):
    if "error" in figures:
        return f"refused ({figures['error']})"
    return (
        f"{figures['statements']:>3} st {figures['entries']:>4} en "
        f"{figures['total']:>14} bal {figures['balanced']:>3}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", required=True, help="folder mt-940 was installed into")
    args = parser.parse_args()
    sys.path.insert(0, args.lib)
    import odoo.addons

    if str(REPO) not in [str(p) for p in odoo.addons.__path__]:
        odoo.addons.__path__.append(str(REPO))
    import mt940 as library

    print(f"mt-940 {library.__version__} from {args.lib}; corpus {CORPUS}")
    print(f"{'file':44} | {'ours':52} | mt-940")
    counts = {"same": 0, "differ": 0}
    for name, path in _files():
        data = path.read_bytes()
        ours, theirs = measure_ours(data, name), measure_library(data, name)
        same = ours == theirs
        counts["same" if same else "differ"] += 1
        mark = " " if same else "*"
        print(f"{name[:44]:44} | {_cell(ours)[:52]:52} |{mark}{_cell(theirs)}")
    print(
        f"{counts['same']} files alike, {counts['differ']} differ (*). st = statements, "
        "en = entries, bal = statements whose opening + entries = closing."
    )


if __name__ == "__main__":
    main()
