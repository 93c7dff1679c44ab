"""Pure-Python helpers of finance_connect_reporting: no ORM import here.

- :mod:`.controls`: canonical rows and control totals (count, debit, credit, sha256);
- :mod:`.cursor`: the opaque pull cursor (a snapshot watermark window and a last id);
- :mod:`.currency`: Decimal conversion, closing / average rate choice;
- :mod:`.rows`: the columns of each kind, the rate book, rows shaped from records;
- :mod:`.writers`: CSV and JSON Lines writers streaming from an iterator;
- :mod:`.sqltext`: the row texts PostgreSQL writes, as ``odoo.tools.SQL`` values;
- :mod:`.copystream`: sinks of ``COPY ... TO STDOUT``.
"""

from . import controls, currency, cursor, rows, writers
from .controls import ControlTotals, canonical_row
from .cursor import Cursor, InvalidCursor, decode_cursor, encode_cursor
from .rows import COLUMNS, Rate, RateBook
