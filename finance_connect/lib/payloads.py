"""Canonical JSON payloads and their validation against JSON Schemas (no ORM).

:func:`canonical_json` gives the exact bytes that are signed, hashed and sent.
:class:`SchemaRegistry` loads the ``*.schema.json`` files of a folder (the
addon's ``schemas/``), one file per event type and version, and validates
payloads with Draft 2020-12 validators compiled once.

Each schema carries ``"x-event-type"`` and ``"x-schema-version"``; a new
version of an event is a new file (``"$id"`` ending in ``/<version>``).
:class:`SchemaRegistries` searches the folders of several addons in order.
"""

import datetime
import decimal
import functools
import hashlib
import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

_DATE_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value):
    """RFC 3339 date-time with an offset (no optional package needed)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME_RE.fullmatch(value):
        return False
    datetime.datetime.fromisoformat(value.upper())
    return True


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot serialise the non-finite Decimal {value}")
        return format(value, "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(obj):
    """Return the canonical UTF-8 JSON bytes of ``obj``.

    Keys sorted, no whitespace, non-ASCII kept, ``Decimal`` as a plain decimal
    string, ``date``/``datetime`` as ISO 8601 strings, NaN/Infinity refused.
    """
    text = json.dumps(
        obj,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )
    return text.encode("utf-8")


def sha256_hex(data):
    """Return the hexadecimal SHA-256 of bytes or of a string's UTF-8 bytes."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _format_path(path):
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(root)"


class SchemaRegistry:
    """The JSON Schemas of a folder, by event type and version."""

    def __init__(self, directory):
        self._schemas = {}
        self._validators = {}
        for path in sorted(Path(directory).glob("*.schema.json")):
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
            event_type = schema.get("x-event-type")
            version = schema.get("x-schema-version")
            if not event_type or not isinstance(event_type, str) or type(version) is not int:
                raise ValueError(f"{path.name}: x-event-type and x-schema-version are required")
            versions = self._schemas.setdefault(event_type, {})
            if version in versions:
                raise ValueError(f"{path.name}: {event_type} v{version} is duplicated")
            versions[version] = schema
            self._validators[event_type, version] = Draft202012Validator(
                schema, format_checker=FORMAT_CHECKER
            )

    def event_types(self):
        """Return the sorted list of known event types."""
        return sorted(self._schemas)

    def latest_version(self, event_type):
        """Return the highest schema version of ``event_type`` (KeyError if unknown)."""
        if event_type not in self._schemas:
            raise KeyError(f"unknown event type {event_type!r}")
        return max(self._schemas[event_type])

    def get(self, event_type, version=None):
        """Return the schema of ``event_type`` (latest version when ``None``)."""
        if version is None:
            version = self.latest_version(event_type)
        try:
            return self._schemas[event_type][version]
        except KeyError:
            raise KeyError(
                f"unknown schema version {version!r} of event type {event_type!r}"
            ) from None

    def validate(self, event_type, version, payload):
        """Return the sorted list of validation errors of ``payload`` (empty: valid).

        ``version`` ``None`` means the latest one.
        """
        if event_type not in self._schemas:
            return [f"unknown event type {event_type!r}"]
        if version is None:
            version = self.latest_version(event_type)
        validator = self._validators.get((event_type, version))
        if validator is None:
            return [f"unknown schema version {version!r} of event type {event_type!r}"]
        return sorted(
            f"{_format_path(error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(payload)
        )


class SchemaRegistries:
    """The schema registries of several folders (addons), searched in order."""

    def __init__(self, directories):
        self.registries = [SchemaRegistry(d) for d in directories]

    def _owner(self, event_type):
        for registry in self.registries:
            if event_type in registry.event_types():
                return registry
        return None

    def latest_version(self, event_type):
        """The highest schema version of ``event_type``, ``None`` if unknown."""
        owner = self._owner(event_type)
        return owner.latest_version(event_type) if owner else None

    def validate(self, event_type, version, payload):
        """The sorted validation errors of ``payload`` (empty: valid)."""
        owner = self._owner(event_type) or self.registries[0]
        return owner.validate(event_type, version, payload)


@functools.lru_cache(maxsize=8)
def cached_registries(directories):
    """The :class:`SchemaRegistries` of a tuple of folders, loaded once."""
    return SchemaRegistries(directories)


_VALIDATION_MEMO = {}


def validate_memo(registry, event_type, version, payload, body):
    """Validate a payload, remembering recent results by content (``body`` is
    its canonical JSON): the same event sent to several connections is
    validated once."""
    key = (event_type, version, sha256_hex(body))
    if key not in _VALIDATION_MEMO:
        if len(_VALIDATION_MEMO) > 2048:
            _VALIDATION_MEMO.clear()
        _VALIDATION_MEMO[key] = registry.validate(event_type, version, payload)
    return list(_VALIDATION_MEMO[key])


def external_id(answer_body):
    """The counterparty's reference of a delivered record in its JSON answer
    (``id``, ``reference``, ``external_id`` or ``received``), else ``False``."""
    try:
        answer = json.loads(answer_body or b"{}")
    except ValueError:
        return False
    if isinstance(answer, dict):
        for key in ("id", "reference", "external_id", "received"):
            if isinstance(answer.get(key), str | int):
                return str(answer[key])
    return False
