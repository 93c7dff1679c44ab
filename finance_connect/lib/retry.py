"""Delivery outcome policy: what an HTTP status means and how long to wait.

Pure Python, no ORM.  A delivery whose answer is classified ``"retry"`` is
tried again after :func:`backoff_seconds`, which honours the receiver's
``Retry-After`` header (:func:`parse_retry_after`).
"""

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 425, 429, *range(500, 600)})

_SECONDS_RE = re.compile(r"-?[0-9]{1,12}")


def classify_status(status):
    """Return ``"done"`` (2xx), ``"retry"`` (408/425/429/5xx) or ``"fail"``."""
    if 200 <= status < 300:
        return "done"
    if status in RETRYABLE_STATUSES:
        return "retry"
    return "fail"


def parse_retry_after(value, now=None):
    """Return the seconds to wait from a ``Retry-After`` value, or ``None``.

    ``value`` is delay-seconds or an HTTP-date; past dates and negative delays
    give ``0.0``; an absent or unreadable value gives ``None``.
    """
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if _SECONDS_RE.fullmatch(value):
        return max(0.0, float(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_seconds(attempt, base=10, cap=3600, retry_after=None, rand=random.random):
    """Return the delay before try number ``attempt + 1`` (``attempt`` >= 1).

    Exponential ``base * 2 ** (attempt - 1)`` capped at ``cap``, with a jitter
    between 50% and 100% of that value.  A ``retry_after`` (seconds) asked by
    the receiver is honoured when longer, still capped at ``cap``.
    """
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    delay = min(float(cap), base * 2.0 ** min(attempt - 1, 64))
    delay *= 0.5 + 0.5 * rand()
    if retry_after is not None:
        delay = max(float(retry_after), delay)
    return min(float(cap), delay)
