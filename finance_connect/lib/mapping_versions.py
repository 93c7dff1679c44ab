"""Versions of a mapping set: snapshots, differences and restore plans (no ORM).

A snapshot is the list of a set's lines, each a dict of plain JSON values
(strings, numbers, ``None``; dates as ISO strings; Odoo records as ids) with
its line ``id``. :func:`canonical` puts it in one order and :func:`dumps`
gives its canonical JSON, so two snapshots of the same lines are the same
text (and the same hash).

Lines of two snapshots are paired first by line id, then, for lines that
were deleted and created again (a restore creates new lines), by what the
line maps: ``(mapping_type, partner_key, source_value, direction, date_from)``
and then ``(mapping_type, partner_key, source_value)``. :func:`diff` lists
what was added, removed and changed; :func:`restore_plan` says which lines
to delete, write and create to make the current lines equal a snapshot.
"""

import hashlib
import json
from collections import namedtuple

Diff = namedtuple("Diff", "added removed changed")
"""``added`` and ``removed``: lines; ``changed``: ``(old, new, [field, ...])``."""

Plan = namedtuple("Plan", "unlink write create")
"""``unlink``: line ids; ``write``: ``(line id, {field: value})``; ``create``: values."""

#: The keys that pair two lines that are not the same line (in this order).
PAIR_KEYS = (
    ("mapping_type", "partner_key", "source_value", "direction", "date_from"),
    ("mapping_type", "partner_key", "source_value"),
)


def _sort_key(line):
    return tuple(str(line.get(k) or "") for k in PAIR_KEYS[0]) + (line.get("id") or 0,)


def canonical(lines):
    """``lines`` (dicts) in the canonical order, each with sorted keys."""
    return [dict(sorted(line.items())) for line in sorted(lines, key=_sort_key)]


def dumps(lines):
    """The canonical JSON text of a snapshot."""
    return json.dumps(canonical(lines), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loads(text):
    return json.loads(text or "[]")


def digest(lines):
    """The SHA-256 of what a snapshot maps, line ids aside: two snapshots with
    equal digests map the same (a line deleted and created again changes nothing)."""
    texts = sorted(
        json.dumps(values(ln), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for ln in lines
    )
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


def values(line):
    """What a line maps, without its id."""
    return {k: v for k, v in line.items() if k != "id"}


def changed_fields(old, new):
    """The sorted fields whose value differs between two lines (ids aside)."""
    keys = (set(old) | set(new)) - {"id"}
    return sorted(k for k in keys if old.get(k) != new.get(k))


def pair(old_lines, new_lines):
    """``(pairs, only_old, only_new)``: the lines of two snapshots paired."""
    old_lines, new_lines = canonical(old_lines), canonical(new_lines)
    new_by_id = {ln["id"]: ln for ln in new_lines if ln.get("id")}
    pairs, rest_old, used = [], [], set()
    for old in old_lines:
        new = new_by_id.get(old.get("id")) if old.get("id") else None
        if new is not None:
            pairs.append((old, new))
            used.add(id(new))
        else:
            rest_old.append(old)
    rest_new = [ln for ln in new_lines if id(ln) not in used]
    for keys in PAIR_KEYS:
        waiting = {}
        for new in rest_new:
            waiting.setdefault(tuple(new.get(k) for k in keys), []).append(new)
        still_old = []
        for old in rest_old:
            candidates = waiting.get(tuple(old.get(k) for k in keys))
            if candidates:
                new = candidates.pop(0)
                pairs.append((old, new))
                used.add(id(new))
            else:
                still_old.append(old)
        rest_old = still_old
        rest_new = [ln for ln in rest_new if id(ln) not in used]
    return pairs, rest_old, rest_new


def diff(old_lines, new_lines):
    """What changed from ``old_lines`` to ``new_lines``, as a :class:`Diff`."""
    pairs, removed, added = pair(old_lines, new_lines)
    changed = []
    for old, new in pairs:
        fields = changed_fields(old, new)
        if fields:
            changed.append((old, new, fields))
    changed.sort(key=lambda item: _sort_key(item[1]))
    return Diff(added, removed, changed)


def restore_plan(current_lines, target_lines):
    """How to make ``current_lines`` equal ``target_lines`` (a :class:`Plan`):
    lines paired with a target line are written (only the fields that differ),
    the others deleted, the target lines left over created."""
    result = diff(current_lines, target_lines)
    unlink = sorted(ln["id"] for ln in result.removed)
    write = [(old["id"], {f: new.get(f) for f in fields}) for old, new, fields in result.changed]
    create = [values(ln) for ln in result.added]
    return Plan(unlink, write, create)
