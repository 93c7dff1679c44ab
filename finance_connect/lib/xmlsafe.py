"""Safe XML parsing and XSD validation shared by every finance_connect addon.

Inbound XML (bank statements, payment status reports, webhooks) is parsed with
entity resolution, DTD loading and network access switched off, with a size
limit, and with any ``<!DOCTYPE ...>`` that declares entities refused outright
(billion laughs, external entities such as ``file:///etc/passwd``).

Errors are plain ``ValueError`` subclasses so that callers can turn them into
user-facing messages:

- :class:`UnsafeXmlError`: the body is too big or declares entities;
- :class:`XmlFormatError`: the body is not well-formed XML (the message names
  the line).
"""

import re
import threading
from pathlib import Path

from lxml import etree

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# Entity declarations are refused when an ``<!ENTITY`` follows a ``<!DOCTYPE``
# anywhere in the body (raw, or its UTF-16 decoding), before lxml sees it. Two
# plain searches: linear in the body, whatever it holds (a single regex that
# brackets the internal subset backtracks quadratically on a prolog of
# repeated ``<!DOCTYPE[``). Stricter than the internal subset alone: a body
# with a DOCTYPE and the text ``<!ENTITY`` in a comment or CDATA is refused
# too, which no bank or PSP document does.
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)

_SCHEMA_CACHE = {}
_SCHEMA_LOCK = threading.Lock()


class UnsafeXmlError(ValueError):
    """The XML body is refused for safety reasons (size, entity declarations)."""


class XmlFormatError(ValueError):
    """The XML body is not well-formed."""


def _make_parser():
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=True,
    )


def _as_text(data):
    """Decode the body leniently, only to look for entity declarations."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    return data.decode("latin-1")


def declares_entities(text):
    """Whether ``text`` has an ``<!ENTITY`` after a ``<!DOCTYPE`` (linear time)."""
    doctype = _DOCTYPE.search(text)
    return bool(doctype and _ENTITY.search(text, doctype.end()))


def _check_unsafe(data, max_bytes):
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"XML body is {len(data)} bytes, over the limit of {max_bytes} bytes")
    if declares_entities(_as_text(data)):
        raise UnsafeXmlError("XML documents declaring entities in a DOCTYPE are refused")


def parse_xml(data, max_bytes=DEFAULT_MAX_BYTES):
    """Parse ``data`` (bytes) safely and return the root element.

    Raise :class:`UnsafeXmlError` for bodies over ``max_bytes`` or declaring
    entities, :class:`XmlFormatError` for malformed XML.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    _check_unsafe(data, max_bytes)
    if not data.strip():
        raise XmlFormatError("malformed XML: the document is empty")
    try:
        root = etree.fromstring(data, parser=_make_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else "?")
        raise XmlFormatError(f"malformed XML at line {line}: {exc.msg}") from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise UnsafeXmlError("XML documents declaring entities in a DOCTYPE are refused")
    return root


def strip_namespaces(root):
    """Replace every element's qualified tag by its local name, in place.

    Callers check the document namespace first, then read it with plain paths
    such as ``"Stmt/Ntry/Amt"``. Returns ``root``.
    """
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)
    return root


def _load_schema(xsd_path):
    key = str(Path(xsd_path).resolve())
    with _SCHEMA_LOCK:
        schema = _SCHEMA_CACHE.get(key)
        if schema is None:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            schema = etree.XMLSchema(etree.parse(key, parser=parser))
            _SCHEMA_CACHE[key] = schema
    return schema


def validate_xsd(root, xsd_path):
    """Validate ``root`` against the XSD at ``xsd_path``.

    Return a list of error strings ("line N: message"), empty when valid.
    Compiled schemas are cached per path.
    """
    schema = _load_schema(xsd_path)
    with _SCHEMA_LOCK:
        valid = schema.validate(root)
        errors = [] if valid else [f"line {err.line}: {err.message}" for err in schema.error_log]
    return errors
