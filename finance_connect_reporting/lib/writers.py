"""CSV and JSON Lines writers that stream rows from an iterator.

Both write to a binary file object (anything with ``write(bytes)``) in
chunks and return the :class:`~.controls.ControlTotals` of what they wrote
(row count, debit and credit totals, and the SHA-256 of the file: what
``sha256sum`` prints for it), so memory stays flat whatever the number of rows.
"""

import csv
import io
from operator import itemgetter

from .controls import ControlTotals, row_encoder

CHUNK_ROWS = 2000


def _chunks(rows, size):
    chunk = []
    append = chunk.append
    for row in rows:
        append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
            append = chunk.append
    if chunk:
        yield chunk


def write_jsonl(rows, out, chunk_rows=CHUNK_ROWS, presorted=False):
    """One canonical JSON row per line; the file's SHA-256 is the rows' hash.

    ``presorted``: the rows' keys are inserted in sorted order (the feed's
    rows), so the canonical text is encoded without sorting.
    """
    totals = ControlTotals()
    encode = row_encoder(presorted)
    for chunk in _chunks(rows, chunk_rows):
        out.write(totals.add_lines(chunk, list(map(encode, chunk))))
    return totals


def write_csv(rows, out, columns, chunk_rows=CHUNK_ROWS):
    """A header line then one line per row (RFC 4180, UTF-8, ``\\r\\n``).

    ``columns`` fixes the order; a row's key not in ``columns`` is not written.
    ``None`` is written as an empty field. The totals' hash is the file's.
    """
    totals = ControlTotals()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    columns = tuple(columns)
    if len(columns) > 1:
        pick = itemgetter(*columns)
    else:
        col = columns[0]

        def pick(row):
            return (row.get(col),)

    def values(row):
        try:
            return pick(row)
        except KeyError:
            return [row.get(c) for c in columns]

    def flush(row_count):
        data = text.getvalue().encode("utf-8")
        text.seek(0)
        text.truncate()
        totals.add_block(data, row_count)
        out.write(data)

    pending = 0
    for chunk in _chunks(rows, chunk_rows):
        writer.writerows(map(values, chunk))
        totals.add_row_amounts(chunk)
        pending += len(chunk)
        if pending >= chunk_rows:
            flush(pending)
            pending = 0
    flush(pending)
    return totals
