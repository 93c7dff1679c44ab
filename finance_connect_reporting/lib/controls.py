"""Canonical rows and control totals of a delivery.

A row is a flat ``dict`` of JSON scalars; amounts are decimal *strings*
(``"1234.50"``), never floats, so that both sides hash the same bytes.

The canonical form of a row is its JSON with sorted keys, no whitespace and
non-ASCII kept (UTF-8). The control totals of a sequence of rows are:

- ``row_count``;
- ``total_debit`` and ``total_credit``: the exact ``Decimal`` sums of the
  rows' ``debit`` / ``credit`` fields, as strings;
- ``sha256``: the SHA-256 of the canonical rows in delivery order, each
  followed by ``"\\n"``. It is therefore also the SHA-256 of the JSON Lines
  export of the same rows, so a consumer can check a file with ``sha256sum``.
  (A CSV file export carries the SHA-256 of its own bytes instead: see
  :mod:`.writers`.)
"""

import hashlib
import json
from decimal import Decimal, InvalidOperation

_ZERO = Decimal(0)
_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
# The same encoding without sorting: identical text for a dict whose keys are
# already in sorted order (the rows the feed builds), about twice as fast.
_dumps_presorted = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def canonical_row(row):
    """The canonical JSON text of one row (no trailing newline)."""
    return _dumps(row)


def presorted_row(row):
    """:func:`canonical_row` of a row whose keys are inserted in sorted order.

    Same text, no sorting: only for rows built with their keys sorted (the
    feed's shaped rows, see :data:`.rows.SORTED_COLUMNS`).
    """
    return _dumps_presorted(row)


def row_encoder(presorted=False):
    return _dumps_presorted if presorted else _dumps


def _dec(value):
    if value is None or value == "":
        return _ZERO
    if isinstance(value, float):
        raise TypeError("amounts are decimal strings or Decimal, never float")
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def _sum(amounts):
    """The exact sum of a sequence of decimal strings from the database
    (``None`` counts as zero)."""
    try:
        return sum(map(Decimal, amounts), _ZERO)  # the common case, in C
    except (InvalidOperation, TypeError):
        return sum(map(_dec, amounts), _ZERO)  # NULLs, or a clear error


class ControlTotals:
    """Running control totals; feed rows (or canonical lines) in delivery order."""

    __slots__ = ("row_count", "debit", "credit", "_hash")

    def __init__(self):
        self.row_count = 0
        self.debit = _ZERO
        self.credit = _ZERO
        self._hash = hashlib.sha256()

    def add(self, row, line=None):
        """Count ``row``; ``line`` is its canonical text when already built."""
        if line is None:
            line = _dumps(row)
        self._hash.update(line.encode("utf-8"))
        self._hash.update(b"\n")
        self.row_count += 1
        self.debit += _dec(row.get("debit"))
        self.credit += _dec(row.get("credit"))
        return line

    def add_lines(self, rows, lines):
        """Count ``rows`` whose canonical texts are ``lines`` (same order), at once.

        Returns the bytes hashed: the JSON Lines text of the rows.
        """
        data = self._add(lines)
        self.add_row_amounts(rows)
        return data

    def add_row_amounts(self, rows):
        """Add the ``debit`` and ``credit`` of ``rows`` (dicts) to the totals."""
        self.debit += sum((_dec(row.get("debit")) for row in rows), _ZERO)
        self.credit += sum((_dec(row.get("credit")) for row in rows), _ZERO)

    def add_texts(self, lines, debit_texts, credit_texts):
        """Count rows given as canonical texts, with their debit and credit as
        the database wrote them (decimal strings). Returns the bytes hashed."""
        data = self._add(lines)
        self.debit += _sum(debit_texts)
        self.credit += _sum(credit_texts)
        return data

    def _add(self, lines):
        if not lines:
            return b""
        data = ("\n".join(lines) + "\n").encode("utf-8")
        self._hash.update(data)
        self.row_count += len(lines)
        return data

    def add_block(self, data, row_count):
        """Count ``row_count`` rows written as ``data`` (bytes of the file: JSON
        Lines text, or CSV lines); their amounts are added apart."""
        self._hash.update(data)
        self.row_count += row_count

    def add_amounts(self, debit, credit):
        """Add debit and credit totals (decimal strings or ``Decimal``)."""
        self.debit += _dec(debit)
        self.credit += _dec(credit)

    def extend(self, rows, presorted=False, chunk_rows=2000):
        """Count every row; ``presorted``: rows built with sorted keys (faster)."""
        encode = row_encoder(presorted)
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                self.add_lines(chunk, [encode(r) for r in chunk])
                chunk = []
        self.add_lines(chunk, [encode(r) for r in chunk])
        return self

    @property
    def sha256(self):
        return self._hash.hexdigest()

    def as_dict(self):
        return {
            "row_count": self.row_count,
            "total_debit": str(self.debit),
            "total_credit": str(self.credit),
            "sha256": self.sha256,
        }

    @classmethod
    def of(cls, rows, presorted=False):
        return cls().extend(rows, presorted)


def compare(expected, received):
    """Differences between two control totals dicts, as sentences (empty: match).

    Amounts compare as numbers (``"10.5"`` equals ``"10.50"``); the hash
    compares case-insensitively.
    """
    if not isinstance(received, dict):
        return ["the acknowledgement carries no control totals"]
    problems = []
    try:
        got_count = int(received.get("row_count"))
    except (TypeError, ValueError):
        got_count = None
    if got_count != expected["row_count"]:
        problems.append(
            f"row count: delivered {expected['row_count']}, acknowledged "
            f"{received.get('row_count')}"
        )
    for key in ("total_debit", "total_credit"):
        try:
            same = _dec(received.get(key)) == _dec(expected[key])
        except (ValueError, TypeError):
            same = False
        if not same:
            problems.append(
                f"{key.replace('_', ' ')}: delivered {expected[key]}, acknowledged "
                f"{received.get(key)}"
            )
    got_hash = str(received.get("sha256") or "").lower()
    if got_hash != expected["sha256"]:
        problems.append(
            f"sha256: delivered {expected['sha256'][:12]}…, acknowledged "
            f"{got_hash[:12] or 'none'}…"
        )
    return problems
