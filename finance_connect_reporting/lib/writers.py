"""CSV and JSON Lines writers that stream rows from an iterator.

Both write to a binary file object (anything with ``write(bytes)``) in
chunks and return the :class:`~.controls.ControlTotals` of what they wrote,
so memory stays flat whatever the number of rows.
"""

import csv
import io

from .controls import ControlTotals, canonical_row

CHUNK_ROWS = 2000


def write_jsonl(rows, out, chunk_rows=CHUNK_ROWS):
    """One canonical JSON row per line; the file's SHA-256 is the rows' hash."""
    totals = ControlTotals()
    add = totals.add
    buf = []
    for row in rows:
        buf.append(add(row, canonical_row(row)))
        if len(buf) >= chunk_rows:
            out.write(("\n".join(buf) + "\n").encode("utf-8"))
            buf.clear()
    if buf:
        out.write(("\n".join(buf) + "\n").encode("utf-8"))
    return totals


def write_csv(rows, out, columns, chunk_rows=CHUNK_ROWS):
    """A header line then one line per row (RFC 4180, UTF-8, ``\\r\\n``).

    ``columns`` fixes the order; a row's key not in ``columns`` is ignored
    in the file (it still counts in the hash, which is over canonical rows).
    """
    totals = ControlTotals()
    add = totals.add
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        add(row)
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        n += 1
        if n >= chunk_rows:
            out.write(text.getvalue().encode("utf-8"))
            text.seek(0)
            text.truncate()
            n = 0
    out.write(text.getvalue().encode("utf-8"))
    return totals
