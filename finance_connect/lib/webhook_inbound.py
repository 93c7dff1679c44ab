"""Inbound webhook requests: content types, bodies, identifiers (pure Python, no ORM).

The webhook route (``controllers/webhook.py``) and the receiver model
(``models/finance_connect_webhook_receiver.py``) use these helpers to decide,
before anything is stored, whether a request is acceptable:

- :func:`content_kind` maps the declared ``Content-Type`` to one of the kinds
  we accept (JSON, XML, CSV, opaque statement files) or raises
  :class:`UnsupportedContentType` (HTTP 415);
- :func:`decode_body` checks that the body really is what it declares and
  returns what is stored on the message, or raises :class:`MalformedBody`
  (HTTP 400);
- :func:`idempotency_key`, :func:`safe_token` and :func:`event_type` turn
  caller-controlled strings into values that are safe to index and to echo.

Storage of raw bodies
---------------------
A message payload is a PostgreSQL ``text`` column, which holds UTF-8 without
NUL characters. A body that is valid UTF-8 and has no NUL is stored as that
text (``encoding == "text"``); any other body (a Latin-1 CSV, a statement file
in an ISO-8859 XML encoding, binary data) is stored as its standard base64
(``encoding == "base64"``), recorded in the message's ``payload_encoding``.
Either way the exact bytes that were signed can be recovered, and the stored
SHA-256 is the one of those bytes.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from . import xmlsafe

JSON, XML, CSV, BINARY = "json", "xml", "csv", "binary"

#: Declared media types we accept, and how their bodies are checked.
CONTENT_TYPES = {
    "application/json": JSON,
    "application/xml": XML,
    "text/xml": XML,
    "text/csv": CSV,
    # Statement files (camt, MT940, CODA...) posted as opaque bytes.
    "application/octet-stream": BINARY,
}
#: Structured-syntax suffixes (RFC 6839), e.g. application/cloudevents+json.
SUFFIXES = {"+json": JSON, "+xml": XML}

#: Character sets a CSV body may declare (anything else is answered with 415).
_CHARSET_RE = re.compile(
    r"(utf-?8|us-ascii|ascii|iso-?8859-(1[0-5]|[1-9])|latin-?1|(windows|cp)-?125[0-8])",
    re.IGNORECASE,
)
_MEDIA_TYPE_RE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_PRINTABLE_RE = re.compile(r"[\x21-\x7e]+")

MAX_KEY_LENGTH = 200
MAX_CORRELATION_LENGTH = 128
MAX_EVENT_TYPE_LENGTH = 128
MAX_CONTENT_TYPE_LENGTH = 128
DEFAULT_EVENT_TYPE = "webhook"

TEXT, BASE64 = "text", "base64"

#: Largest body the route reads at all (a connection's ``max_body_kib`` cannot
#: exceed it).
HARD_LIMIT_BYTES = 64 * 1024 * 1024
#: The rate limit counts the requests of this many last seconds.
RATE_WINDOW_SECONDS = 60

#: Answer to an unknown token and to a missing or wrong signature alike.
UNAUTHORIZED = {
    "error": "unauthorized",
    "message": "The request could not be authenticated.",
}
BAD_REQUEST = {"error": "bad_request", "message": "The request is malformed."}
MALFORMED_HEADERS = {"error": "bad_request", "message": "The signature headers are malformed."}
MALFORMED_BODY = {
    "error": "bad_request",
    "message": "The body is not what its content type declares.",
}
UNSUPPORTED_MEDIA_TYPE = {
    "error": "unsupported_media_type",
    "message": "Accepted content types: " + ", ".join(CONTENT_TYPES),
}
RETRY = {"error": "retry", "message": "Please retry this delivery."}


class InboundError(ValueError):
    """A request refused before it is stored; ``reason`` is logged per connection."""

    reason = "invalid"


class UnsupportedContentType(InboundError):
    """The declared content type (or its charset) is not accepted: HTTP 415."""

    reason = "unsupported_content_type"


class MalformedBody(InboundError):
    """The body is empty or is not what its content type declares: HTTP 400."""

    reason = "malformed_body"


@dataclass(frozen=True)
class DecodedBody:
    """What is stored of a body, and what was read from it.

    ``payload`` is the stored text (the body itself, or its base64),
    ``encoding`` is :data:`TEXT` or :data:`BASE64`, ``data`` is the parsed JSON
    value for JSON bodies (``None`` otherwise).
    """

    kind: str
    payload: str
    encoding: str
    data: object = None


class WebhookSettings(NamedTuple):
    """What the route needs to know about a connection (cached per worker)."""

    connection_id: int
    company_id: int
    usable: bool
    verifier: str
    public_keys: tuple
    tolerance: int
    max_body_bytes: int
    rate_limit: int
    secrets: tuple  # ((ciphertext, valid until or None, slot), ...): never in clear


class InboundRequest(NamedTuple):
    """One inbound webhook request whose body was read."""

    headers: dict  # names lower-cased
    body: bytes
    content_type: str | None
    remote_addr: str | None
    correlation: str  # the caller's correlation id, made safe ("" when none)


def hash_token(token):
    """The sha256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


MAX_TOKEN_LENGTH = 128


def find_by_token(cr, table, hash_column, token, where=None):
    """The id of the row of ``table`` whose ``hash_column`` holds the sha256 of
    ``token``, or None: a token that cannot be one (empty, too long, not
    printable) is not looked up, and the stored hash is compared in constant
    time. ``where`` is a further condition (an ``odoo.tools.SQL``). The caller
    decides what the row may do (active, company, scope)."""
    from odoo.tools import SQL  # a string-and-parameters class, no ORM

    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
        return None
    token_hash = hash_token(token)
    cr.execute(
        SQL(
            "SELECT id, %s FROM %s WHERE %s = %s AND %s LIMIT 1",
            SQL.identifier(hash_column),
            SQL.identifier(table),
            SQL.identifier(hash_column),
            token_hash,
            where or SQL("TRUE"),
        )
    )
    row = cr.fetchone()
    if not row or not hmac.compare_digest(row[1].encode(), token_hash.encode()):
        return None
    return row[0]


# ---------------------------------------------------------------------------
# Content types
# ---------------------------------------------------------------------------


def parse_content_type(value):
    """Split a ``Content-Type`` value into ``(media type, {param: value})``.

    The media type is lower-cased; ``("", {})`` when ``value`` is empty or has
    no ``type/subtype``. Parameter values lose their quotes.
    """
    if not isinstance(value, str):
        return "", {}
    head, _sep, rest = value.partition(";")
    media_type = head.strip().lower()
    if not _MEDIA_TYPE_RE.fullmatch(media_type):
        return "", {}
    params = {}
    for item in rest.split(";"):
        name, sep, param = item.partition("=")
        if sep:
            params[name.strip().lower()] = param.strip().strip('"').strip()
    return media_type, params


def content_kind(value):
    """Return ``(kind, media type, charset or None)`` of an accepted content type.

    Raise :class:`UnsupportedContentType` for a missing, unknown or
    unparsable type, and for a CSV charset outside the accepted list.
    """
    media_type, params = parse_content_type(value)
    kind = CONTENT_TYPES.get(media_type)
    if kind is None:
        kind = next((k for suffix, k in SUFFIXES.items() if media_type.endswith(suffix)), None)
    if kind is None:
        raise UnsupportedContentType("content type is not accepted")
    charset = params.get("charset") or None
    if kind == CSV and charset and not _CHARSET_RE.fullmatch(charset):
        raise UnsupportedContentType("charset is not accepted")
    return kind, media_type, charset


def clean_content_type(value):
    """The declared content type as stored on the message (bounded, printable)."""
    text = "".join(ch for ch in str(value or "") if " " <= ch <= "~")
    return text[:MAX_CONTENT_TYPE_LENGTH].strip() or "application/octet-stream"


# ---------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _storable(body):
    """``(payload, encoding)`` that keeps ``body`` losslessly in a text column."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, TEXT
    return base64.b64encode(body).decode("ascii"), BASE64


def decode_body(kind, body, charset=None):
    """Check that ``body`` (bytes) is a ``kind`` document; return a :class:`DecodedBody`.

    - JSON must be UTF-8 (RFC 8259; a BOM is tolerated) and parse
      (``NaN``/``Infinity`` refused);
    - XML must be well-formed, parsed with entities and network access off;
    - CSV must decode with its declared charset (UTF-8 when none is declared);
    - opaque files are taken as they are.

    An empty body is refused whatever its type. Raise :class:`MalformedBody`.
    """
    body = bytes(body or b"")
    if not body.strip():
        raise MalformedBody("the body is empty")
    data = None
    if kind == JSON:
        try:
            data = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise MalformedBody("the body is not UTF-8 JSON") from None
    elif kind == XML:
        try:
            xmlsafe.parse_xml(body, max_bytes=len(body))
        except (ValueError, etree.LxmlError, RecursionError):
            raise MalformedBody("the body is not well-formed XML") from None
    elif kind == CSV:
        try:
            body.decode(charset or "utf-8")
        except (UnicodeError, LookupError):
            raise MalformedBody("the body does not decode with its charset") from None
    elif kind != BINARY:
        raise UnsupportedContentType("content type is not accepted")
    payload, encoding = _storable(body)
    return DecodedBody(kind=kind, payload=payload, encoding=encoding, data=data)


def payload_bytes(payload, encoding):
    """The original body bytes of a stored payload (inverse of :func:`decode_body`)."""
    if not payload:
        return b""
    if encoding == BASE64:
        return base64.b64decode(payload)
    return payload.encode("utf-8")


# ---------------------------------------------------------------------------
# Identifiers and event types
# ---------------------------------------------------------------------------


def safe_token(value, max_length=MAX_CORRELATION_LENGTH):
    """``value`` stripped when it is 1..max_length printable ASCII characters, else ""."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) <= max_length and _PRINTABLE_RE.fullmatch(value):
        return value
    return ""


def sha256_key(data):
    """A content-derived key: ``sha256:<hex>`` of bytes or of a string."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def idempotency_key(message_id, body):
    """The deduplication key of an inbound request.

    The provider's message id (``webhook-id``, Stripe event id) when it is a
    short printable string; its SHA-256 when it is long or odd (the key is
    indexed); the SHA-256 of the body when the provider gave no id.
    """
    if message_id:
        return safe_token(message_id, MAX_KEY_LENGTH) or sha256_key(message_id)
    return sha256_key(body)


def new_correlation_id():
    return str(uuid.uuid4())


def _clean_event_type(value):
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if 0 < len(value) <= MAX_EVENT_TYPE_LENGTH and value.isprintable():
        return value
    return ""


def event_type(data, header_value=None, default=DEFAULT_EVENT_TYPE):
    """Event type of a request: the JSON body's ``type`` or ``event_type``, else
    the ``X-Event-Type`` header, else ``default``."""
    if isinstance(data, dict):
        for key in ("type", "event_type"):
            found = _clean_event_type(data.get(key))
            if found:
                return found
    return _clean_event_type(header_value) or default


# ---------------------------------------------------------------------------
# Rate limit and timing
# ---------------------------------------------------------------------------


def retry_after(oldest_age_seconds, window=60):
    """Seconds until the oldest request of a full window leaves it (1..window)."""
    try:
        left = int(window - float(oldest_age_seconds or 0)) + 1
    except (TypeError, ValueError):
        left = window
    return max(1, min(window, left))


_DUMMY_KEY = secrets.token_bytes(32)


def burn_verification(headers, body):
    """Do the work of one HMAC verification and throw the result away.

    Used for unknown or paused tokens so that their answer takes as long as a
    bad signature's: the caller cannot tell them apart by timing.
    """
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    head = f"{lowered.get('webhook-id', '')}.{lowered.get('webhook-timestamp', '')}."
    content = head.encode("utf-8", "replace") + bytes(body or b"")
    digest = hmac.new(_DUMMY_KEY, content, hashlib.sha256).digest()
    candidate = str(lowered.get("webhook-signature") or lowered.get("stripe-signature") or "")
    hmac.compare_digest(
        base64.b64encode(digest), candidate.encode("utf-8", "replace")[: len(digest) * 2]
    )


class SlidingWindowCounter:
    """Approximate number of events per key in the last ``window`` seconds.

    Two fixed buckets per key (the current and the previous window); the
    estimate weighs the previous bucket by how much of it still overlaps the
    sliding window. O(1) memory per key, thread-safe. Used as a cheap local
    pre-check before the exact (database) rate limit count.
    """

    def __init__(self, window=60, max_keys=10000):
        self.window = float(window)
        self.max_keys = max_keys
        self._buckets = {}
        self._lock = threading.Lock()

    def _roll(self, key, now):
        start, current, previous = self._buckets.get(key, (now, 0, 0))
        elapsed = now - start
        if elapsed >= 2 * self.window:
            start, current, previous = now, 0, 0
        elif elapsed >= self.window:
            start, current, previous = start + self.window, 0, current
        return start, current, previous

    def add(self, key, now=None):
        now = time.monotonic() if now is None else now
        with self._lock:
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._buckets.clear()
            start, current, previous = self._roll(key, now)
            self._buckets[key] = (start, current + 1, previous)

    def count(self, key, now=None):
        now = time.monotonic() if now is None else now
        with self._lock:
            start, current, previous = self._roll(key, now)
            self._buckets[key] = (start, current, previous)
        overlap = max(0.0, 1.0 - (now - start) / self.window)
        return current + previous * overlap
