"""Backward compatibility of JSON Schemas, and the lock of the shipped ones (no ORM).

A payload schema is a contract: a counterparty is built against
``invoice.posted`` version 1, and messages already stored are replayed with
the version they were created with. A change that breaks that contract needs
a new ``x-schema-version`` (a new file); a compatible change may keep it.

:func:`breaking_changes` compares two schemas and lists, in plain words,
every change that is not backward compatible. The rules (``readme/DEVELOP.md``
explains them):

Breaking (needs a new version number):

- a property removed, or no longer required (a reader relied on it);
- a property made required, or a new required property (stored payloads
  without it no longer validate);
- a type narrowed (``["string", "null"]`` to ``"string"``; ``number`` to
  ``integer``), a ``const`` added or changed, an ``enum`` added or a value
  removed from one;
- ``additionalProperties`` turned to ``false`` (or to a schema) where other
  properties were allowed;
- a bound tightened (``minLength``, ``minimum``, ``minItems`` raised;
  ``maxLength``, ``maximum``, ``maxItems`` lowered), a ``pattern``,
  ``format`` or ``multipleOf`` added or changed;
- an ``anyOf`` / ``oneOf`` branch removed or changed, an ``allOf`` branch
  added or changed; any other keyword changed (``not``, ``if``...): such
  changes cannot be proven compatible, so they count as breaking.

Compatible: an optional property added (readers ignore what they do not
know), a type widened, an enum value added, a bound relaxed, a ``const`` or
``enum`` dropped, ``anyOf`` branches added, titles, descriptions, comments
and examples changed. ``$ref`` are followed (local ``#/...`` references),
so a change inside ``$defs`` counts where it is used.

The lock (``SCHEMA_LOCK.json`` beside the schema files) pins each shipped
``(event type, version)``: its file, the SHA-256 of its contract (the schema
without annotations) and the contract itself, since there is no history to
compare with at run time. :func:`check_lock` lists what is wrong between the
lock and the files; :func:`update_lock` records compatible changes and new
versions and refuses a breaking change that kept its version number.

Command line (``setup/schema-lock``)::

    python schema_compat.py check  <schemas dir> [...]
    python schema_compat.py update <schemas dir> [...]
"""

import hashlib
import json
import sys
from pathlib import Path

LOCK_NAME = "SCHEMA_LOCK.json"
#: Keywords that document and constrain nothing.
ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "examples", "default", "deprecated", "readOnly"}
)
#: Keywords compared by the rules above; any other keyword must not change.
HANDLED = frozenset(
    {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "type",
        "const",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
        "allOf",
        "pattern",
        "format",
        "multipleOf",
        "x-event-type",
        "x-schema-version",
    }
)
LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")


# ---------------------------------------------------------------------------
# Contracts and fingerprints
# ---------------------------------------------------------------------------


def contract(schema):
    """``schema`` without annotations (titles, descriptions, examples...); a
    property named like an annotation (``description``) is kept."""
    if isinstance(schema, dict):
        result = {}
        for key, value in schema.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                result[key] = {name: contract(sub) for name, sub in value.items()}
            elif key in ("const", "enum"):
                result[key] = value
            elif key not in ANNOTATIONS:
                result[key] = contract(value)
        return result
    if isinstance(schema, list):
        return [contract(item) for item in schema]
    return schema


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(schema):
    """The SHA-256 of a schema's contract: unchanged by annotations and key order."""
    return hashlib.sha256(_canonical(contract(schema)).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# Breaking changes
# ---------------------------------------------------------------------------


def _resolve(node, root, seen):
    """Follow local ``$ref`` (``#/$defs/x``) until a schema without one."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#") or ref in seen:
            break
        seen = seen | {ref}
        target = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return node, seen
            target = target[part]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = dict(target, **rest) if rest and isinstance(target, dict) else target
    return node, seen


def _types(node):
    value = node.get("type")
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def _type_covered(old_type, new_types):
    return old_type in new_types or (old_type == "integer" and "number" in new_types)


class _Comparer:
    def __init__(self, old_root, new_root):
        self.old_root = old_root
        self.new_root = new_root
        self.problems = []
        # Equal subtrees may be skipped unless they refer to definitions that changed.
        self.same_defs = _canonical(contract(old_root.get("$defs"))) == _canonical(
            contract(new_root.get("$defs"))
        )

    def _equal(self, old, new):
        old_text, new_text = _canonical(contract(old)), _canonical(contract(new))
        return old_text == new_text and (self.same_defs or '"$ref"' not in old_text)

    def add(self, path, text):
        self.problems.append(f"{path or '(root)'}: {text}")

    def compare(self, old, new, path, seen=frozenset()):
        old, seen_old = _resolve(old, self.old_root, seen)
        new, seen_new = _resolve(new, self.new_root, seen)
        if self._equal(old, new):
            return
        if isinstance(old, bool) or isinstance(new, bool) or not old or not new:
            old_any = old is True or old == {}
            new_any = new is True or new == {}
            if not new_any:
                what = "now restricted where anything was allowed" if old_any else "changed"
                self.add(path, what)
            return
        if len(seen_old) > 32 or len(seen_new) > 32:
            return
        seen = seen_old | seen_new
        self._types(old, new, path)
        self._values(old, new, path)
        self._bounds(old, new, path)
        self._object(old, new, path, seen)
        self._items(old, new, path, seen)
        self._combinators(old, new, path, seen)
        for key in sorted((set(old) | set(new)) - HANDLED - ANNOTATIONS):
            if key in LOWER_BOUNDS or key in UPPER_BOUNDS:
                continue
            if _canonical(old.get(key)) != _canonical(new.get(key)):
                self.add(path, f"{key} changed (cannot be proven compatible)")

    def _types(self, old, new, path):
        old_types, new_types = _types(old), _types(new)
        if new_types is None:
            return
        if old_types is None:
            self.add(path, f"type restricted to {sorted(new_types)}")
            return
        lost = sorted(t for t in old_types if not _type_covered(t, new_types))
        if lost:
            self.add(path, f"type narrowed: {', '.join(lost)} no longer allowed")

    def _values(self, old, new, path):
        if "const" in new and ("const" not in old or old["const"] != new["const"]):
            if "const" in old:
                self.add(path, f"const changed from {old['const']!r} to {new['const']!r}")
            elif "enum" in old and len(old["enum"]) == 1 and old["enum"][0] == new["const"]:
                pass
            else:
                self.add(path, f"const {new['const']!r} added")
        if "enum" in new:
            if "enum" in old:
                before = old["enum"]
            elif "const" in old:
                before = [old["const"]]
            else:
                self.add(path, "enum added: only listed values allowed now")
                return
            allowed = {_canonical(v) for v in new["enum"]}
            removed = [v for v in before if _canonical(v) not in allowed]
            if removed:
                self.add(path, f"enum values removed: {', '.join(map(repr, removed))}")
        for key in ("pattern", "format", "multipleOf"):
            if key in new and old.get(key) != new[key]:
                was = f" (was {old[key]!r})" if key in old else ""
                self.add(path, f"{key} {new[key]!r} added{was}")

    def _bounds(self, old, new, path):
        for key in LOWER_BOUNDS:
            if key in new and (key not in old or new[key] > old[key]):
                self.add(path, f"{key} raised to {new[key]} (was {old.get(key, 'none')})")
        for key in UPPER_BOUNDS:
            if key in new and (key not in old or new[key] < old[key]):
                self.add(path, f"{key} lowered to {new[key]} (was {old.get(key, 'none')})")

    def _object(self, old, new, path, seen):
        old_props = old.get("properties") or {}
        new_props = new.get("properties") or {}
        for name in sorted(old_props):
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                self.add(where, "property removed")
            else:
                self.compare(old_props[name], new_props[name], where, seen)
        old_req, new_req = set(old.get("required") or ()), set(new.get("required") or ())
        for name in sorted(new_req - old_req):
            where = f"{path}.{name}" if path else name
            self.add(where, "now required" if name in old_props else "new required property")
        for name in sorted(old_req - new_req):
            where = f"{path}.{name}" if path else name
            if name in new_props:
                self.add(where, "no longer required")
        old_add = old.get("additionalProperties", True)
        new_add = new.get("additionalProperties", True)
        if new_add is not True and new_add != {}:
            if old_add is True or old_add == {}:
                self.add(path, "additionalProperties turned to false or a schema")
            elif old_add is False:
                pass  # nothing was allowed: anything now is wider
            elif new_add is False:
                self.add(path, "additionalProperties turned to false")
            else:
                self.compare(old_add, new_add, f"{path}.<additional>", seen)

    def _items(self, old, new, path, seen):
        if "items" not in new:
            return
        if "items" not in old:
            self.add(path, "items constrained where any item was allowed")
            return
        self.compare(old["items"], new["items"], f"{path}[]", seen)

    def _combinators(self, old, new, path, seen):
        for key in ("anyOf", "oneOf"):
            old_list, new_list = old.get(key), new.get(key)
            if old_list is None and new_list is None:
                continue
            if new_list is None:
                continue  # the alternatives are gone: anything the rest allows
            if old_list is None:
                self.add(path, f"{key} added: only its alternatives allowed now")
                continue
            if len(old_list) == len(new_list):
                for i, (o, n) in enumerate(zip(old_list, new_list, strict=True)):
                    self.compare(o, n, f"{path}<{key}[{i}]>", seen)
                continue
            kept = {_canonical(contract(b)) for b in new_list}
            for i, branch in enumerate(old_list):
                if _canonical(contract(branch)) not in kept:
                    self.add(path, f"{key} alternative {i} removed or changed")
        old_all, new_all = old.get("allOf") or [], new.get("allOf") or []
        if len(new_all) > len(old_all):
            self.add(path, "allOf: a condition added")
        for i, (o, n) in enumerate(zip(old_all, new_all, strict=False)):
            self.compare(o, n, f"{path}<allOf[{i}]>", seen)


def breaking_changes(old, new):
    """The backward-incompatible changes from schema ``old`` to ``new``, as
    sorted sentences ``"<path>: <what>"`` (empty: compatible)."""
    comparer = _Comparer(old, new)
    if old.get("x-event-type") != new.get("x-event-type"):
        comparer.add("", "x-event-type changed")
    comparer.compare(old, new, "")
    return sorted(set(comparer.problems))


# ---------------------------------------------------------------------------
# The lock of the shipped schemas
# ---------------------------------------------------------------------------


def key_of(schema):
    return f"{schema.get('x-event-type')}@{schema.get('x-schema-version')}"


def read_schemas(directory):
    """``{"<event>@<version>": (file name, schema)}`` of a folder's schema files."""
    result = {}
    for path in sorted(Path(directory).glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        result[key_of(schema)] = (path.name, schema)
    return result


def read_lock(directory):
    path = Path(directory) / LOCK_NAME
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("schemas", {})


def write_lock(directory, lock):
    text = json.dumps(
        {
            "about": "The shipped payload schemas and their contracts: see "
            "finance_connect/readme/DEVELOP.md (Payload schema versions). "
            "Written by setup/schema-lock update.",
            "schemas": lock,
        },
        indent=2,
        sort_keys=True,
        ensure_ascii=False,
    )
    (Path(directory) / LOCK_NAME).write_text(text + "\n", encoding="utf-8")


def lock_entry(file_name, schema):
    return {
        "file": file_name,
        "sha256": fingerprint(schema),
        "contract": contract(schema),
    }


def _consistency(key, file_name, schema):
    """What is wrong in one schema file on its own."""
    problems = []
    event, version = schema.get("x-event-type"), schema.get("x-schema-version")
    if not isinstance(event, str) or type(version) is not int or version < 1:
        return [f"{file_name}: x-event-type and an x-schema-version of 1 or more are required"]
    const = ((schema.get("properties") or {}).get("schema_version") or {}).get("const")
    if const is not None and const != version:
        problems.append(
            f"{file_name}: properties.schema_version.const is {const} but x-schema-version is "
            f"{version}: make them equal"
        )
    if schema.get("$id") and not str(schema["$id"]).endswith(f"/{version}"):
        problems.append(f"{file_name}: $id must end with /{version} (its version)")
    return problems


def check_lock(lock, current):
    """Everything wrong between a lock and the current schemas of its folder,
    as sentences saying what to do (empty: all is pinned and compatible)."""
    problems = []
    by_event = {}
    for key, (file_name, schema) in sorted(current.items()):
        problems += _consistency(key, file_name, schema)
        by_event.setdefault(schema.get("x-event-type"), []).append(schema.get("x-schema-version"))
    for event, versions in sorted(by_event.items(), key=lambda item: str(item[0])):
        if isinstance(event, str) and all(type(v) is int for v in versions):
            if sorted(versions) != list(range(1, max(versions) + 1)):
                problems.append(
                    f"{event}: versions {sorted(versions)} are not 1, 2, 3... without a gap"
                )
    for key, entry in sorted(lock.items()):
        if key not in current:
            problems.append(
                f"{key} ({entry.get('file')}) was shipped and is gone: a shipped schema version "
                "is never removed (counterparties and stored messages use it)"
            )
            continue
        file_name, schema = current[key]
        if fingerprint(schema) == entry.get("sha256"):
            continue
        breaking = breaking_changes(entry.get("contract") or {}, schema)
        if breaking:
            event, version = key.rsplit("@", 1)
            problems.append(
                f"{file_name}: {event} version {version} changed in a way that is not backward "
                f"compatible ({'; '.join(breaking)}). Put the change in a new file with "
                f"x-schema-version {int(version) + 1 if version.isdigit() else '?'} and restore "
                f"this one, then run setup/schema-lock update"
            )
        else:
            problems.append(
                f"{file_name}: a compatible change of {key} is not in {LOCK_NAME}: "
                "run setup/schema-lock update"
            )
    for key in sorted(set(current) - set(lock)):
        problems.append(
            f"{current[key][0]}: {key} is not in {LOCK_NAME}: run setup/schema-lock update"
        )
    return problems


def update_lock(lock, current):
    """``(new lock, refusals)``: the lock with every new version and every
    compatible change recorded; a breaking change keeping its version number
    and a removed version are refused (kept as they were locked)."""
    new_lock = {}
    refusals = []
    for key, entry in lock.items():
        if key not in current:
            refusals.append(f"{key} ({entry.get('file')}) was removed: restore it")
            new_lock[key] = entry
            continue
        file_name, schema = current[key]
        breaking = breaking_changes(entry.get("contract") or {}, schema)
        if breaking:
            refusals.append(f"{file_name}: not backward compatible: {'; '.join(breaking)}")
            new_lock[key] = entry
        else:
            new_lock[key] = lock_entry(file_name, schema)
    for key in set(current) - set(lock):
        new_lock[key] = lock_entry(*current[key])
    return dict(sorted(new_lock.items())), refusals


def _out(text):
    sys.stdout.write(f"{text}\n")


def main(argv):
    if len(argv) < 2 or argv[0] not in ("check", "update"):
        _out(__doc__.split("Command line")[1])
        return 2
    status = 0
    for directory in argv[1:]:
        problems = 0
        lock, current = read_lock(directory), read_schemas(directory)
        if argv[0] == "update":
            lock, refusals = update_lock(lock, current)
            write_lock(directory, lock)
            for text in refusals:
                _out(f"REFUSED {directory}: {text}")
                problems += 1
        for text in check_lock(lock, current):
            _out(f"{directory}: {text}")
            problems += 1
        _out(f"{directory}: {len(current)} schema(s), {problems or 'no'} problem(s)")
        status = status or int(bool(problems))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
