"""Receive ``COPY ... TO STDOUT`` (text format) of feed rows and write the file.

psycopg2's ``copy_expert`` hands the data to a file-like object's ``write``,
one row at a time, while PostgreSQL keeps producing rows on its own core. The
sinks here gather rows into blocks of a few thousand and, per block, hash and
write the file (the control totals' ``sha256`` is the SHA-256 of the file):

- :class:`JsonLinesSink`: the query selects the canonical JSON text; the JSON
  Lines file is that text, one row per line, so the file's hash is also the
  rows' hash of a delivery (:mod:`.controls`).
- :class:`CsvSink`: the query selects the CSV line; the file is a header line
  then the lines, each ended by ``\\r\\n``.

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
    """One column, the CSV line: the file is the header then the lines."""

    def __init__(self, out, columns):
        super().__init__(out)
        header = io.StringIO()
        csv.writer(header, lineterminator="\r\n").writerow(columns)
        data = header.getvalue().encode("utf-8")
        self.totals.add_block(data, 0)
        out.write(data)

    def _block(self, block):
        rows = block.count(b"\n")
        if b"\\" in block:
            # Unescaped fields may hold a raw LF: end the rows first.
            block = b"\r\n".join(map(unescape, block[:-1].split(b"\n"))) + b"\r\n"
        else:
            block = block.replace(b"\n", b"\r\n")
        self.totals.add_block(block, rows)
        self.out.write(block)
