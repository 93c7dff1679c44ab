"""Mapping tables: Odoo values to the codes of another system, and back.

Pure Python, no ORM. A :class:`MappingTable` is compiled once from line
tuples (:class:`MappingLine`) and answers :meth:`MappingTable.resolve`:

- an *exact* line beats any *prefix* rule;
- among prefix rules the longest prefix wins (``"60*"`` before ``"6*"``;
  ``"*"`` alone is a catch-all, the shortest rule of all);
- a line applies on ``on_date`` when ``date_from <= on_date <= date_to``
  (either bound may be open);
- two lines that decide the same value on the same date with different
  targets make the value *ambiguous*; the table never guesses, it raises
  :class:`Ambiguous`. A value no line decides raises :class:`Unmapped`;
- a line whose target is ``None`` is a *draft*: it declares that its type
  is mapped (:meth:`MappingTable.has_type`) but decides no value.

Lookups are a dict access for exact values and, for prefixes, one dict
access per prefix length that exists in the table (longest first), so the
cost does not grow with the number of rules.

The meaning of ``source`` and ``target`` is the caller's: the ORM side puts
the Odoo code in ``source`` and the external code in ``target`` for the
outbound direction, and the other way round for the inbound direction.

:func:`map_payload` applies a table to a canonical payload (the external codes
of its accounts and partners).
"""

import re
from collections import defaultdict
from datetime import date
from typing import Any, NamedTuple

OUTBOUND = "outbound"
INBOUND = "inbound"
BOTH = "both"
DIRECTIONS = (INBOUND, OUTBOUND, BOTH)
EXACT = "exact"
PREFIX = "prefix"
SOURCE_KINDS = (EXACT, PREFIX)
WILDCARD = "*"


class MappingLine(NamedTuple):
    """One mapping line as the table sees it."""

    mapping_type: str
    source: str
    source_kind: str  # "exact" | "prefix" (``source`` without the trailing "*")
    direction: str  # "inbound" | "outbound" | "both"
    date_from: date | None
    date_to: date | None
    target: Any
    line_id: Any = None


class Resolution(NamedTuple):
    """The answer of a lookup: what the value maps to and which line decided."""

    target: Any
    line_id: Any
    rule: str  # "exact", "prefix 60*" or "catch-all *"


class MappingError(Exception):
    """A value the table cannot map: never guessed."""

    reason = "unmapped"

    def __init__(self, mapping_type, value, line_ids=()):
        self.mapping_type = mapping_type
        self.value = value
        self.line_ids = tuple(line_ids)
        detail = f" (lines {', '.join(str(i) for i in self.line_ids)})" if self.line_ids else ""
        super().__init__(f"{mapping_type} {value!r} is {self.reason}{detail}")


class Unmapped(MappingError):
    reason = "unmapped"


class Ambiguous(MappingError):
    reason = "ambiguous"


class PartnerWithoutKey(Unmapped):
    """A partner of a payload with nothing to look it up by."""

    reason = "unmapped: the partner has no VAT, reference or external ID to map it by"


def describe(exc):
    """Why a value is not mapped, in the words of the waiting message."""
    if isinstance(exc, Ambiguous):
        lines = ", ".join(str(i) for i in exc.line_ids)
        return f"ambiguous: lines {lines} decide it differently"
    return exc.reason


GROUP_RANGE_LIMIT = 1000


def group_source(start, end):
    """The Odoo value of a line mapping an account group with codes ``start``
    to ``end``: a rule of its code prefix (or of its range)."""
    start, end = start or "", end or ""
    if start == end:
        return f"{start}*"
    return f"{start}..{end}*"


def group_prefixes(start, end, limit=GROUP_RANGE_LIMIT):
    """The code prefixes an account group from ``start`` to ``end`` covers (its
    range, enumerated), ``None`` when the range is not one to enumerate."""
    start, end = start or "", end or ""
    if start == end:
        return [start]
    if (
        not (start.isdigit() and end.isdigit() and len(start) == len(end))
        or int(end) - int(start) >= limit
        or int(end) < int(start)
    ):
        return None
    return [str(n).zfill(len(start)) for n in range(int(start), int(end) + 1)]


def line_source(mapping_type, source_value, partner_key=None):
    """``(source, kind)`` of a mapping line as the table sees it: partner values
    carry their key kind (``vat:BE0477472701``). ``ValueError`` as
    :func:`parse_source`."""
    source, kind = parse_source(source_value)
    if mapping_type == "partner":
        partner_key = partner_key or "vat"
        if partner_key == "vat":
            source = normalize_vat(source)
        source = f"{partner_key}:{source}"
    return source, kind


def line_tuples(
    mapping_type,
    source_value,
    direction,
    target,
    *,
    partner_key=None,
    date_from=None,
    date_to=None,
    line_id=None,
    group=None,
    include_inbound=True,
):
    """The :class:`MappingLine` tuples of one mapping line.

    ``source_value`` is the Odoo value as typed, ``target`` the external code
    (``None`` for a draft). Outbound, the Odoo value is the source and the
    external code the target; inbound the other way round (exact values
    only). An account group line (``group``: the group's first and last
    code) gives one rule per prefix. ``ValueError`` for an invalid Odoo value.
    """
    source, kind = line_source(mapping_type, source_value, partner_key)
    result = []
    if direction in (OUTBOUND, BOTH):
        sources = [source]
        if group and mapping_type == "account":
            kind = PREFIX
            sources = group_prefixes(*group) or []
        for src in sources:
            result.append(
                MappingLine(mapping_type, src, kind, OUTBOUND, date_from, date_to, target, line_id)
            )
    if include_inbound and direction in (INBOUND, BOTH) and target and kind == EXACT:
        inbound_target = source if mapping_type == "partner" else source_value
        result.append(
            MappingLine(
                mapping_type, target, EXACT, INBOUND, date_from, date_to, inbound_target, line_id
            )
        )
    return result


def normalize_vat(vat):
    """A VAT number as it is looked up: upper case, without spaces, dots or dashes."""
    return re.sub(r"[\s.\-]", "", vat or "").upper()


def parse_source(text):
    """Split what a person typed into ``(source, kind)``.

    ``"6*"`` is the prefix rule ``("6", "prefix")``, ``"*"`` the catch-all
    ``("", "prefix")``, anything else an exact value. Surrounding spaces are
    dropped. A ``*`` anywhere but at the end raises ``ValueError``.
    """
    text = (text or "").strip()
    if text.endswith(WILDCARD):
        source = text[: -len(WILDCARD)]
        if WILDCARD in source:
            raise ValueError(f"only one trailing '*' is allowed in {text!r}")
        return source, PREFIX
    if WILDCARD in text:
        raise ValueError(f"'*' may only end a prefix rule: {text!r}")
    return text, EXACT


def format_source(source, kind):
    """The inverse of :func:`parse_source`."""
    return f"{source}{WILDCARD}" if kind == PREFIX else source


def _overlap(a_from, a_to, b_from, b_to):
    """Whether two validity periods (open bounds as ``None``) share a day."""
    return (a_to is None or b_from is None or b_from <= a_to) and (
        b_to is None or a_from is None or a_from <= b_to
    )


def _valid_on(entry, on_date):
    date_from, date_to = entry[0], entry[1]
    return (date_from is None or date_from <= on_date) and (date_to is None or on_date <= date_to)


def _directions(direction):
    if direction == BOTH:
        return (INBOUND, OUTBOUND)
    if direction in (INBOUND, OUTBOUND):
        return (direction,)
    raise ValueError(f"unknown direction {direction!r}")


class MappingTable:
    """A compiled, read-only mapping table."""

    __slots__ = ("_exact", "_prefix", "_lengths", "_types", "size")

    def __init__(self, lines=()):
        # (direction, type) -> {source: [(date_from, date_to, target, line_id), ...]}
        self._exact = defaultdict(dict)
        self._prefix = defaultdict(dict)
        # (direction, type) -> prefix lengths present, longest first
        self._lengths = {}
        self._types = set()
        self.size = 0
        for line in lines:
            self._add(MappingLine(*line))
        for key, by_source in self._prefix.items():
            self._lengths[key] = tuple(sorted({len(s) for s in by_source}, reverse=True))
        self._exact = dict(self._exact)
        self._prefix = dict(self._prefix)

    def _add(self, line):
        if line.source_kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {line.source_kind!r}")
        entry = (line.date_from, line.date_to, line.target, line.line_id)
        store = self._exact if line.source_kind == EXACT else self._prefix
        for direction in _directions(line.direction):
            key = (direction, line.mapping_type)
            self._types.add(key)
            if line.target is not None:  # a draft declares its type, decides nothing
                store[key].setdefault(line.source, []).append(entry)
        self.size += 1

    def has_type(self, mapping_type, direction=OUTBOUND):
        """Whether any line of ``mapping_type`` applies in ``direction``."""
        return (direction, mapping_type) in self._types

    def resolve(self, mapping_type, value, direction=OUTBOUND, on_date=None):
        """Map ``value``; returns a :class:`Resolution`.

        Raises :class:`Unmapped` when no line decides, :class:`Ambiguous` when
        several lines of the same precedence decide differently.
        """
        on_date = on_date or date.today()
        key = (direction, mapping_type)
        value = "" if value is None else str(value)
        exact = self._exact.get(key)
        if exact:
            entries = exact.get(value)
            if entries:
                found = self._decide(mapping_type, value, entries, on_date, "exact")
                if found:
                    return found
        prefixes = self._prefix.get(key)
        if prefixes:
            size = len(value)
            for length in self._lengths[key]:
                if length > size:
                    continue
                entries = prefixes.get(value[:length])
                if entries:
                    rule = (
                        f"prefix {value[:length]}{WILDCARD}" if length else f"catch-all {WILDCARD}"
                    )
                    found = self._decide(mapping_type, value, entries, on_date, rule)
                    if found:
                        return found
        raise Unmapped(mapping_type, value)

    @staticmethod
    def _decide(mapping_type, value, entries, on_date, rule):
        if len(entries) == 1:
            entry = entries[0]
            if _valid_on(entry, on_date):
                return Resolution(entry[2], entry[3], rule)
            return None
        valid = [e for e in entries if _valid_on(e, on_date)]
        if not valid:
            return None
        if len({repr(e[2]) for e in valid}) > 1:
            raise Ambiguous(mapping_type, value, sorted((e[3] for e in valid), key=str))
        first = min(valid, key=lambda e: (e[3] is None, str(e[3])))
        return Resolution(first[2], first[3], rule)

    def resolve_any(self, mapping_type, values, direction=OUTBOUND, on_date=None):
        """Map a record known by several keys (a partner by VAT, reference...).

        Every key is looked up; exact answers beat rule answers; keys that
        decide differently at the same precedence make the record ambiguous.
        Raises :class:`Unmapped` (naming the first key) when no key decides.
        """
        values = [v for v in values if v]
        found = []
        for value in values:
            try:
                found.append(self.resolve(mapping_type, value, direction, on_date))
            except Unmapped:
                continue
        if not found:
            raise Unmapped(mapping_type, values[0] if values else "")
        exact = [r for r in found if r.rule == "exact"]
        best = exact or found
        if len({repr(r.target) for r in best}) > 1:
            raise Ambiguous(mapping_type, values[0], sorted((r.line_id for r in best), key=str))
        return best[0]

    def get(self, mapping_type, value, direction=OUTBOUND, on_date=None, default=None):
        """Like :meth:`resolve` but returns ``default`` for an unmapped value
        (an ambiguous one still raises: a default would be a guess)."""
        try:
            return self.resolve(mapping_type, value, direction, on_date)
        except Unmapped:
            return default

    def coverage(self, mapping_type, values, direction=OUTBOUND, on_date=None):
        """Split ``values`` into ``(mapped, unmapped, ambiguous)`` lists."""
        mapped, unmapped, ambiguous = [], [], []
        for value in values:
            try:
                self.resolve(mapping_type, value, direction, on_date)
            except Ambiguous:
                ambiguous.append(value)
            except Unmapped:
                unmapped.append(value)
            else:
                mapped.append(value)
        return mapped, unmapped, ambiguous


def find_conflicts(lines):
    """Pairs of lines that would decide the same value on the same day.

    Two lines conflict when they have the same type, the same source and
    kind, a direction in common and overlapping validity periods. Returns a
    list of ``(line_a, line_b)`` :class:`MappingLine` pairs.
    """
    groups = defaultdict(list)
    for line in lines:
        line = MappingLine(*line)
        for direction in _directions(line.direction):
            groups[(direction, line.mapping_type, line.source_kind, line.source)].append(line)
    conflicts = []
    seen = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                pair = (id(first), id(second))
                if pair in seen or first.line_id is not None and first.line_id == second.line_id:
                    continue
                if _overlap(first.date_from, first.date_to, second.date_from, second.date_to):
                    seen.add(pair)
                    conflicts.append((first, second))
    return conflicts


def payload_date(payload):
    """The business date of a canonical payload (invoice or entry date), else
    ``None`` (today)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]  # record.synced wraps the record's data
    if isinstance(data, dict):
        for key in ("invoice_date", "date"):
            value = data.get(key)
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value[:10])
                except ValueError:
                    continue
    return None


def map_payload(node, table, on_date, partner_keys):
    """Fill, in place, the external codes a canonical payload has room for.

    ``external_account`` next to an ``account_code`` (type ``account``), and
    ``external_code`` of a partner (a dict with ``vat``, ``ref`` and ``id``,
    type ``partner``, looked up by ``partner_keys(partner)``: the keys it is
    known by). A type the table has no outbound line for is left as it is.
    Raises :class:`MappingError` for a value that does not map.
    """
    if isinstance(node, list):
        for item in node:
            map_payload(item, table, on_date, partner_keys)
        return
    if not isinstance(node, dict):
        return
    if "external_account" in node and node.get("account_code") and table.has_type("account"):
        node["external_account"] = table.resolve(
            "account", node["account_code"], OUTBOUND, on_date
        ).target
    if {"external_code", "vat", "ref", "id"} <= node.keys() and table.has_type("partner"):
        keys = partner_keys(node)
        if not keys:
            raise PartnerWithoutKey("partner", f"id:{node.get('id')}")
        node["external_code"] = table.resolve_any("partner", keys, OUTBOUND, on_date).target
    for value in node.values():
        if isinstance(value, dict | list):
            map_payload(value, table, on_date, partner_keys)
