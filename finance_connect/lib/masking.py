"""Masking of sensitive values in payload text shown in the UI (no ORM).

:func:`mask_payload` works on JSON, XML or any text without parsing it, so that
truncated or broken payloads are masked too.  It hides:

- values of JSON keys named like ``iban``, ``account_number``, ``acc_number``,
  ``bban``, ``token``, ``secret``, ``password``, ``api_key``,
  ``authorization``, ``client_secret``, ``card_number`` (any case, snake or
  camel case, also with a prefix such as ``access_token``);
- the text of XML elements ``IBAN``, ``BBAN``, ``AcctNb``, ``Nb`` and ``PAN``
  (with or without a namespace prefix);
- IBANs anywhere (compact or printed in groups of four);
- ``Bearer`` tokens.

A masked value keeps its last 4 characters (``••••1234``); short values are
hidden entirely (see :func:`secretbox.mask`).
"""

import json
import re

from .secretbox import MASK, mask

_KEY_NAMES = (
    r"iban|acc(?:ount)?[_-]?number|bban|token|secret|password|api[_-]?key"
    r"|authorization|card[_-]?number"
)
_JSON_KEY_RE = re.compile(
    r'(?P<key>"[^"\\]{0,64}?(?:' + _KEY_NAMES + r')"\s*:\s*)'
    r'(?:"(?P<string>(?:[^"\\]|\\.)*)"'
    r"|(?P<number>-?[0-9][0-9.eE+-]*))",
    re.IGNORECASE,
)
_XML_RE = re.compile(
    r"(?P<open><(?P<prefix>(?:[\w.-]+:)?)(?P<tag>IBAN|BBAN|AcctNb|Nb|PAN)"
    r"(?:\s[^<>]*)?(?<!/)>)(?P<text>[^<]*)(?P<close></(?P=prefix)(?P=tag)\s*>)"
)
_IBAN_RE = re.compile(
    r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b"
)
_BEARER_RE = re.compile(r"(?P<scheme>\bBearer\s+)(?P<token>[\w\-.~+/]+=*)", re.IGNORECASE)
_SPACES_RE = re.compile(r"\s+")


def _mask(value):
    return mask(_SPACES_RE.sub("", value))


def _mask_json_value(match):
    raw = match["string"] if match["string"] is not None else match["number"]
    try:
        value = json.loads(f'"{raw}"') if match["string"] is not None else raw
    except ValueError:
        return match["key"] + f'"{MASK * 2}"'
    return match["key"] + json.dumps(_mask(value), ensure_ascii=False)


def _mask_xml_text(match):
    if not match["text"].strip():
        return match[0]
    return match["open"] + _mask(match["text"]) + match["close"]


def mask_payload(text):
    """Return ``text`` with sensitive values masked (see the module docstring)."""
    if not text:
        return text or ""
    text = _XML_RE.sub(_mask_xml_text, text)
    text = _JSON_KEY_RE.sub(_mask_json_value, text)
    text = _IBAN_RE.sub(lambda m: _mask(m[0]), text)
    return _BEARER_RE.sub(lambda m: m["scheme"] + _mask(m["token"]), text)
