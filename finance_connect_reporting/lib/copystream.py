"""Receive ``COPY ... TO STDOUT`` (text format) of feed rows and write the file.

psycopg2's ``copy_expert`` hands the data to a file-like object's ``write``,
one row at a time, while PostgreSQL keeps producing rows on its own core. The
sinks here gather rows into blocks of a few thousand and, per block, hash the
canonical JSON lines (the control totals' ``sha256``) and write the file:

- :class:`JsonLinesSink`: the query selects the canonical JSON text only; the
  JSON Lines file is that text, one row per line.
- :class:`CsvSink`: the query selects the JSON text and the CSV line; the
  JSON is hashed, the CSV line written with ``\\r\\n`` after a header line.

COPY's text format escapes a backslash as ``\\\\`` and the control characters
backspace, form feed, LF, CR, tab and vertical tab as ``\\b \\f \\n \\r \\t \\v``
(so a raw LF only ends a row and a raw tab only separates columns); lines
holding a backslash are unescaped, the others are used as they are.
"""

import csv
import io
import re

from .controls import ControlTotals

BLOCK_ROWS = 4096
_ESCAPES = {
    b"\\\\": b"\\",
    b"\\b": b"\b",
    b"\\f": b"\f",
    b"\\n": b"\n",
    b"\\r": b"\r",
    b"\\t": b"\t",
    b"\\v": b"\v",
}
_ESCAPE_RE = re.compile(rb"\\[\\bfnrtv]")


def unescape(field):
    """A field of COPY's text format as the bytes PostgreSQL had."""
    if b"\\" not in field:
        return field
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], field)


class _CopySink:
    """A write-only file for ``copy_expert`` (not an :mod:`io` class: psycopg2
    hands bytes to any object with ``write``)."""

    def __init__(self, out):
        self.out = out
        self.totals = ControlTotals()
        self._parts = []
        self._tail = b""

    def write(self, data):  # pylint: disable=method-required-super
        parts = self._parts
        parts.append(data)
        if len(parts) >= BLOCK_ROWS:
            self._flush()
        return len(data)

    def _flush(self):
        block = self._tail + b"".join(self._parts)
        self._parts.clear()
        cut = block.rfind(b"\n") + 1
        self._tail = block[cut:]
        if cut:
            self._block(block[:cut])

    def close(self):
        """Write what is left; returns the :class:`ControlTotals` (no amounts yet)."""
        self._flush()
        if self._tail:
            raise ValueError("COPY data ended in the middle of a row")
        return self.totals

    def _block(self, block):
        raise NotImplementedError


class JsonLinesSink(_CopySink):
    """One column, the canonical JSON text: the file is the rows, one per line."""

    def _block(self, block):
        if b"\\" in block:
            block = b"\n".join(map(unescape, block.split(b"\n")))
        self.totals.add_block(block, block.count(b"\n"))
        self.out.write(block)


class CsvSink(_CopySink):
    """Two columns, the JSON text (hashed) and the CSV line (written)."""

    def __init__(self, out, columns):
        super().__init__(out)
        header = io.StringIO()
        csv.writer(header, lineterminator="\r\n").writerow(columns)
        out.write(header.getvalue().encode("utf-8"))

    def _block(self, block):
        lines = block.split(b"\n")
        lines.pop()  # the block ends with a row end
        if b"\\" in block:
            pairs = [[unescape(f) for f in line.split(b"\t")] for line in lines]
        else:
            pairs = [line.split(b"\t") for line in lines]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("a CSV export row does not have two columns")
        jsons, csvs = zip(*pairs, strict=True)
        self.totals.add_block(b"\n".join(jsons) + b"\n", len(jsons))
        self.out.write(b"\r\n".join(csvs) + b"\r\n")
