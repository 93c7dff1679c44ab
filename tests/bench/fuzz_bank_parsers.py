"""Fuzz the bank file parsers: truncated, mutated, oversized, entity-expanding files.

ORM-free; run with the project's Python (Odoo importable, as in setup/test):

    .venv/bin/python tests/bench/fuzz_bank_parsers.py [--rounds 300] [--seed 1]

Every input must either parse into complete statements or raise ParseError
with a message naming the file; anything else is a crash. Prints the inputs
tried and the outcomes, and exits 1 on any crash.
"""

import argparse
import collections
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "fixtures"

import odoo.addons  # noqa: E402

if str(REPO) not in [str(p) for p in odoo.addons.__path__]:
    odoo.addons.__path__.append(str(REPO))

from odoo.addons.finance_connect_bank.lib import detect, pain002  # noqa: E402
from odoo.addons.finance_connect_bank.lib.model import ParseError  # noqa: E402

SEEDS = [
    "moov_iso20022/testdata/FI_camt_053_sample.xml.xml",
    "moov_iso20022/testdata/FI_camt_054_sample.xml.xml",
    "moov_iso20022/testdata/camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml",
    "genkgo_camt/test_data/camt053.v2.multi.statement.xml",
    "genkgo_camt/test_data/camt052.v8.xml",
    "mt940_wolph/jejik/rabobank-iban.sta",
    "mt940_wolph/betterplace/sepa_mt9401.sta",
    "mt940_wolph/ASNB/mt940.txt",
    "moov_iso20022/testdata/pain002-epo_p_ch2909000000250094239_1109800799_0_2018032612092784.xml",
]
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>'
)


def parse(data, name):
    kind = detect.detect_format(data, name) if not data[:2] == b"PK" else "zip"
    if kind == "pain.002":
        return pain002.parse_pain002(data, name)
    return detect.parse_any(data, name)


def check_statements(result):
    """A parsed result is whole: every statement finalised, every line dated."""
    if isinstance(result, list):
        for statement in result:
            for line in statement.lines:
                assert line.account_key == statement.account_key, "line not finalised"
                assert "occurrence" in line.raw, "line not finalised"


def mutations(rng, data):
    size = len(data)
    yield "truncated", data[: rng.randrange(1, max(size, 2))]
    flipped = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        flipped[rng.randrange(size)] = rng.randrange(256)
    yield "bytes flipped", bytes(flipped)
    cut = rng.randrange(size)
    yield "chunk deleted", data[:cut] + data[cut + rng.randint(1, 200) :]
    cut = rng.randrange(size)
    yield "chunk duplicated", data[:cut] + data[max(0, cut - 300) : cut] + data[cut:]
    for token, replacement in (
        (b"CRDT", b"XXXX"),
        (b"<Amt", b'<Amt Ccy="EUR">abc</Amt><X'),
        (b":61:", b":61:XX"),
        (b"-", b""),
        (b"</Ntry>", b""),
        (b"OPBD", b"CLBD"),
        (b"2009-", b"2009-13-"),
    ):
        if token in data:
            yield f"{token.decode()} tampered", data.replace(token, replacement, 1)
    yield "NUL bytes", data[: size // 2] + b"\x00" * 64 + data[size // 2 :]
    yield "UTF-16", data.decode("latin-1").encode("utf-16")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40, help="mutation rounds per seed file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"the shared fixtures folder {SHARED} is missing", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    outcomes = collections.Counter()
    crashes = []
    tried = 0
    start = time.perf_counter()

    def attempt(kind, data, name):
        nonlocal tried
        tried += 1
        try:
            result = parse(data, name)
            check_statements(result)
            outcomes[(kind, "parsed")] += 1
        except ParseError as exc:
            if name not in str(exc):
                crashes.append((kind, name, f"error does not name the file: {exc}"))
            reason = re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'...'", exc.message))
            outcomes[(kind, "refused: " + reason.split(":")[0][:60])] += 1
        except Exception as exc:
            crashes.append((kind, name, f"{type(exc).__name__}: {exc}"))
            outcomes[(kind, "CRASH")] += 1

    for relative in SEEDS:
        data = (SHARED / relative).read_bytes()
        name = Path(relative).name
        attempt("original", data, name)
        for _round in range(args.rounds):
            for kind, mutated in mutations(rng, data):
                attempt(kind, mutated, name)
    attempt("billion laughs", BILLION_LAUGHS, "laughs.xml")
    attempt("external entity", EXTERNAL, "xxe.xml")
    attempt("oversized", b"<Document>" + b"x" * (detect.MAX_UNCOMPRESSED + 10), "big.xml")
    attempt("empty", b"", "empty.xml")
    attempt("random bytes", bytes(rng.randrange(256) for _ in range(4096)), "random.bin")
    import io
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", b"0" * (60 * 1024 * 1024))
    attempt("zip bomb", bomb.getvalue(), "bomb.zip")
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("../evil.xml", b"<x/>")
    attempt("zip path traversal", nested.getvalue(), "evil.zip")

    elapsed = time.perf_counter() - start
    print(f"{tried} inputs tried in {elapsed:.1f} s (seed {args.seed}, {args.rounds} rounds)")
    for (kind, outcome), count in sorted(outcomes.items()):
        print(f"  {count:6d}  {kind:22s} {outcome}")
    print(f"crashes: {len(crashes)}")
    for kind, name, text in crashes[:20]:
        print(f"  CRASH {kind} {name}: {text[:200]}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
