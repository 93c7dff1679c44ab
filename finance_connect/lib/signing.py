"""Signing and verification of webhooks (pure Python, no ORM).

Two schemes are supported:

- ``standard_webhooks``: the Standard Webhooks specification (v1.0.0).  Headers
  ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``; the signed
  content is ``f"{id}.{timestamp}."`` followed by the raw body.  Signature
  version ``v1`` is HMAC-SHA256 keyed with the base64-decoded ``whsec_`` secret,
  ``v1a`` is an ed25519 signature checked against a ``whpk_`` public key.
- ``stripe``: the ``Stripe-Signature`` header (``t=<ts>,v1=<hex>,...``), an
  HMAC-SHA256 of ``f"{t}."`` + body keyed with the whole ``whsec_...`` string.

Every verifier has the signature::

    verifier(headers, body, secrets=(), public_keys=(), tolerance=300, now=None)
        -> str  # the message id used for deduplication ("" if none)

and raises a :class:`WebhookVerificationError` subclass when the request must be
refused.  To plug in another scheme, write a function with that signature and
add it to :data:`VERIFIERS` under a new name; :func:`get_verifier` will find it.

Error messages never contain a secret, a key or a computed signature.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from secrets import token_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SECRET_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"
DEFAULT_TOLERANCE = 300

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


class WebhookVerificationError(Exception):
    """A webhook request failed verification and must be refused."""

    reason = "invalid"


class MalformedHeaders(WebhookVerificationError):
    """Headers are missing or unparsable (answered with HTTP 400 upstream)."""

    reason = "malformed"


class SignatureMissing(WebhookVerificationError):
    """The request carries no signature header."""

    reason = "missing_signature"


class SignatureMismatch(WebhookVerificationError):
    """No signature of the request matches any configured secret or key."""

    reason = "bad_signature"


class TimestampOutOfTolerance(WebhookVerificationError):
    """The signed timestamp is too far in the past or in the future."""

    reason = "stale_timestamp"


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _b64decode(value, what):
    """Strictly decode standard base64; ValueError without echoing the value."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None
    if not raw:
        raise ValueError(f"{what} is empty")
    return raw


def _as_tuple(values):
    """Accept ``None``, one string or an iterable of strings; drop empty ones."""
    if isinstance(values, str):
        values = (values,)
    return tuple(v for v in values or () if v)


def _as_bytes(body):
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def _same(expected, candidate):
    """Constant-time comparison of two strings (non-ASCII safe)."""
    return hmac.compare_digest(
        expected.encode("utf-8", "replace"), candidate.encode("utf-8", "replace")
    )


def _header(headers, name):
    """Value of header ``name`` in any mapping, looked up case-insensitively."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        for key, item in headers.items():
            if key.lower() == wanted:
                return item
    return value


def _parse_timestamp(value):
    value = (value or "").strip()
    if not _TIMESTAMP_RE.fullmatch(value):
        raise MalformedHeaders("webhook timestamp is not an integer number of seconds")
    return int(value)


def _check_timestamp(timestamp, tolerance, now):
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise TimestampOutOfTolerance(
            f"webhook timestamp is more than {tolerance} seconds away from now"
        )


# ---------------------------------------------------------------------------
# Standard Webhooks
# ---------------------------------------------------------------------------


def generate_secret(nbytes=32):
    """Return a new ``whsec_`` secret made of ``nbytes`` random bytes."""
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret must have between 24 and 64 bytes")
    return SECRET_PREFIX + base64.b64encode(token_bytes(nbytes)).decode("ascii")


def decode_secret(secret):
    """Return the raw HMAC key of a Standard Webhooks secret (``whsec_`` optional)."""
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError("webhook secret is empty or not a string")
    return _b64decode(secret.strip().removeprefix(SECRET_PREFIX), "webhook secret")


def _decode_public_key(key):
    if not isinstance(key, str) or not key.strip():
        raise ValueError("webhook public key is empty or not a string")
    raw = _b64decode(key.strip().removeprefix(PUBLIC_KEY_PREFIX), "webhook public key")
    if len(raw) != 32:
        raise ValueError("webhook public key must be a raw 32-byte ed25519 key")
    return Ed25519PublicKey.from_public_bytes(raw)


def _signed_content(msg_id, timestamp, body):
    return f"{msg_id}.{timestamp}.".encode() + _as_bytes(body)


def sign_v1(secret, msg_id, timestamp, body):
    """Return the ``v1,<base64>`` Standard Webhooks signature of a message."""
    digest = hmac.new(
        decode_secret(secret), _signed_content(msg_id, timestamp, body), hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_headers(secret, msg_id, body, timestamp=None):
    """Return the three Standard Webhooks headers for an outgoing message."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_v1(secret, msg_id, timestamp, body),
    }


def _ed25519_matches(public_keys, signature, content):
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != 64:
        return False
    for key in public_keys:
        try:
            key.verify(raw, content)
        except InvalidSignature:
            continue
        return True
    return False


def verify_standard(
    headers, body, secrets=(), public_keys=(), tolerance=DEFAULT_TOLERANCE, now=None
):
    """Verify a Standard Webhooks request and return its ``webhook-id``.

    ``secrets`` are ``whsec_`` secrets (all accepted, e.g. during a rotation),
    ``public_keys`` are ``whpk_`` (or plain base64) ed25519 public keys.
    """
    keys = [decode_secret(s) for s in _as_tuple(secrets)]
    verify_keys = [_decode_public_key(k) for k in _as_tuple(public_keys)]
    if not keys and not verify_keys:
        raise ValueError("no webhook secret or public key is configured")

    msg_id = (_header(headers, "webhook-id") or "").strip()
    raw_timestamp = _header(headers, "webhook-timestamp")
    signature_header = (_header(headers, "webhook-signature") or "").strip()
    if not msg_id:
        raise MalformedHeaders("webhook-id header is missing")
    if raw_timestamp is None:
        raise MalformedHeaders("webhook-timestamp header is missing")
    timestamp = _parse_timestamp(raw_timestamp)
    if not signature_header:
        raise SignatureMissing("webhook-signature header is missing")
    _check_timestamp(timestamp, tolerance, now)

    content = _signed_content(msg_id, timestamp, body)
    expected = [
        base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode() for key in keys
    ]
    for entry in signature_header.split():
        version, _sep, signature = entry.partition(",")
        if version == "v1" and any(_same(e, signature) for e in expected):
            return msg_id
        if version == "v1a" and _ed25519_matches(verify_keys, signature, content):
            return msg_id
    raise SignatureMismatch("no webhook signature matches a configured secret or key")


# ---------------------------------------------------------------------------
# Stripe
# ---------------------------------------------------------------------------


def _stripe_hmac(secret, timestamp, body):
    content = f"{timestamp}.".encode() + _as_bytes(body)
    return hmac.new(secret.encode("utf-8"), content, hashlib.sha256).hexdigest()


def sign_stripe(secret, body, timestamp):
    """Return a ``Stripe-Signature`` header value (``t=<ts>,v1=<hex>``)."""
    timestamp = int(timestamp)
    return f"t={timestamp},v1={_stripe_hmac(secret, timestamp, body)}"


def verify_stripe(headers, body, secrets=(), public_keys=(), tolerance=DEFAULT_TOLERANCE, now=None):
    """Verify a ``Stripe-Signature`` request and return the event id of the body.

    Any ``v1`` signature may match any of ``secrets``.  ``public_keys`` is unused
    (Stripe has no asymmetric scheme).  Unlike Stripe's own library, timestamps
    too far in the future are refused as well.  Returns ``""`` when the body is
    not a JSON object with a string ``id``.
    """
    del public_keys  # same signature as the other verifiers
    secrets = _as_tuple(secrets)
    if not secrets:
        raise ValueError("no webhook secret is configured")
    header = (_header(headers, "Stripe-Signature") or "").strip()
    if not header:
        raise SignatureMissing("Stripe-Signature header is missing")

    timestamps, signatures = [], []
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value.strip())
    if len(timestamps) != 1:
        raise MalformedHeaders("Stripe-Signature header has no single timestamp")
    timestamp = _parse_timestamp(timestamps[0])
    _check_timestamp(timestamp, tolerance, now)

    expected = [_stripe_hmac(s, timestamp, body) for s in secrets]
    if not any(_same(e, sig) for e in expected for sig in signatures):
        raise SignatureMismatch("no v1 signature matches a configured secret")
    try:
        event = json.loads(_as_bytes(body))
    except (ValueError, RecursionError):
        return ""
    event_id = event.get("id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else ""


# ---------------------------------------------------------------------------
# Registry of schemes
# ---------------------------------------------------------------------------

VERIFIERS = {
    "standard_webhooks": verify_standard,
    "stripe": verify_stripe,
}


def get_verifier(name):
    """Return the verifier registered under ``name`` in :data:`VERIFIERS`."""
    try:
        return VERIFIERS[name]
    except KeyError:
        known = ", ".join(sorted(VERIFIERS))
        raise KeyError(f"unknown webhook signature scheme {name!r} (known: {known})") from None
