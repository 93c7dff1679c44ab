"""The pull cursor: opaque to consumers, a snapshot window and a position.

A cursor says "the rows whose posting marker is in ``[low, high)``, after
journal item ``last_id``". ``high`` is ``None`` until the first page of a run
fixes it (the snapshot watermark); ``delivery`` is the id of the delivery
record of the run (lineage and acknowledgement). Encoded as URL-safe base64
of ``v1:<low>:<high>:<last_id>:<delivery>`` without padding.
"""

import base64
import binascii
from typing import NamedTuple

VERSION = "v1"


class InvalidCursor(ValueError):
    """The cursor is not one this server wrote."""


class Cursor(NamedTuple):
    low: int
    high: int | None
    last_id: int
    delivery: int = 0

    def next_run(self):
        """The cursor that starts the run after this one (new rows only)."""
        if self.high is None:
            raise ValueError("the run has no watermark yet")
        return Cursor(self.high, None, 0, 0)


def encode_cursor(cursor):
    high = "" if cursor.high is None else str(int(cursor.high))
    text = f"{VERSION}:{int(cursor.low)}:{high}:{int(cursor.last_id)}:{int(cursor.delivery)}"
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(token):
    """The :class:`Cursor` of ``token``; ``None`` or ``""`` is the very first page."""
    if not token:
        return Cursor(0, None, 0, 0)
    if not isinstance(token, str) or len(token) > 200:
        raise InvalidCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor is not base64") from exc
    parts = raw.split(":")
    if len(parts) != 5 or parts[0] != VERSION:
        raise InvalidCursor("unknown cursor version")
    try:
        low = int(parts[1])
        high = int(parts[2]) if parts[2] else None
        last_id = int(parts[3])
        delivery = int(parts[4])
    except ValueError as exc:
        raise InvalidCursor("cursor fields are not integers") from exc
    if low < 0 or last_id < 0 or delivery < 0 or (high is not None and high < low):
        raise InvalidCursor("cursor out of range")
    return Cursor(low, high, last_id, delivery)
