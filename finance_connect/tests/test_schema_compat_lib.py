"""Backward compatibility of payload JSON Schemas and the lock of the shipped
ones (lib/schema_compat.py, no ORM): breaking and compatible changes, and
what the lock check and update say."""

import copy
import json
import shutil
import tempfile
from pathlib import Path

from odoo.addons.finance_connect.lib import schema_compat as sc
from odoo.tests import BaseCase, tagged


def schema(**props):
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://finance-connect.example/schemas/x.done/1",
        "x-event-type": "x.done",
        "x-schema-version": 1,
        "type": "object",
        "additionalProperties": False,
        "required": ["event_type", "schema_version", "amount", "state"],
        "properties": {
            "event_type": {"const": "x.done"},
            "schema_version": {"type": "integer", "const": 1},
            "amount": {"$ref": "#/$defs/decimal"},
            "state": {"enum": ["draft", "posted"], "description": "The state."},
            "memo": {"type": ["string", "null"], "maxLength": 200},
            **props,
        },
        "$defs": {"decimal": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}},
    }


@tagged("post_install", "-at_install")
class TestSchemaCompatLib(BaseCase):
    def changed(self, change):
        old = schema()
        new = copy.deepcopy(old)
        change(new)
        return sc.breaking_changes(old, new)

    def test_compatible_changes(self):
        compatible = {
            "optional property added": lambda s: s["properties"].update(ref={"type": "string"}),
            "type widened": lambda s: s["properties"]["memo"].update(
                type=["string", "null", "integer"]
            ),
            "enum value added": lambda s: s["properties"]["state"]["enum"].append("cancelled"),
            "bound relaxed": lambda s: s["properties"]["memo"].update(maxLength=500),
            "description changed": lambda s: s["properties"]["state"].update(description="x"),
            "title added": lambda s: s.update(title="X done"),
            "additionalProperties opened": lambda s: s.update(additionalProperties=True),
            "keys reordered": lambda s: s.update(dict(reversed(list(s.items())))),
        }
        for name, change in compatible.items():
            with self.subTest(name):
                self.assertEqual(self.changed(change), [])

    def test_breaking_changes(self):
        breaking = {
            "property removed": (
                lambda s: s["properties"].pop("memo"),
                "memo: property removed",
            ),
            "required property added": (
                lambda s: (
                    s["properties"].update(ref={"type": "string"}),
                    s["required"].append("ref"),
                ),
                "ref: new required property",
            ),
            "optional made required": (
                lambda s: s["required"].append("memo"),
                "memo: now required",
            ),
            "required made optional": (
                lambda s: s["required"].remove("state"),
                "state: no longer required",
            ),
            "type narrowed": (
                lambda s: s["properties"]["memo"].update(type="string"),
                "memo: type narrowed: null no longer allowed",
            ),
            "enum narrowed": (
                lambda s: s["properties"]["state"]["enum"].remove("draft"),
                "state: enum values removed: 'draft'",
            ),
            "additionalProperties closed": (
                lambda s: s["properties"].update(
                    meta={"type": "object", "additionalProperties": False}
                ),
                None,  # a new optional property: compatible (see below)
            ),
            "bound tightened": (
                lambda s: s["properties"]["memo"].update(maxLength=100),
                "memo: maxLength lowered to 100 (was 200)",
            ),
            "change inside a $ref'd definition": (
                lambda s: s["$defs"]["decimal"].update(pattern="^[0-9]+$"),
                "amount: pattern '^[0-9]+$' added (was '^-?[0-9]+(\\\\.[0-9]+)?$')",
            ),
            "const changed": (
                lambda s: s["properties"]["event_type"].update(const="x.other"),
                "event_type: const changed from 'x.done' to 'x.other'",
            ),
            "unknown keyword": (
                lambda s: s["properties"]["memo"].update({"not": {"const": ""}}),
                "memo: not changed (cannot be proven compatible)",
            ),
        }
        for name, (change, expected) in breaking.items():
            with self.subTest(name):
                problems = self.changed(change)
                if expected is None:
                    self.assertEqual(problems, [])
                else:
                    self.assertIn(expected, problems)
        old = schema(meta={"type": "object"})
        new = schema(meta={"type": "object", "additionalProperties": False})
        self.assertEqual(
            sc.breaking_changes(old, new),
            ["meta: additionalProperties turned to false or a schema"],
        )

    def test_fingerprint_ignores_annotations_not_property_names(self):
        a = schema()
        b = copy.deepcopy(a)
        b["properties"]["state"]["description"] = "Another text"
        self.assertEqual(sc.fingerprint(a), sc.fingerprint(b))
        c = schema(description={"type": "string"})  # a property named "description"
        self.assertNotEqual(sc.fingerprint(a), sc.fingerprint(c))

    def write_schema(self, folder, name, content):
        (folder / name).write_text(json.dumps(content, indent=2), encoding="utf-8")

    def test_the_lock_refuses_a_breaking_change_without_a_new_version(self):
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        self.write_schema(folder, "x.done.schema.json", schema())
        self.assertIn("x.done@1 is not in SCHEMA_LOCK.json", " ".join(self.check(folder)))
        self.assertEqual(sc.main(["update", str(folder)]), 0)
        self.assertEqual(self.check(folder), [])
        # A compatible change: the check asks to record it; update records it.
        self.write_schema(folder, "x.done.schema.json", schema(ref={"type": "string"}))
        (problem,) = self.check(folder)
        self.assertIn("a compatible change of x.done@1 is not in SCHEMA_LOCK.json", problem)
        self.assertEqual(sc.main(["update", str(folder)]), 0)
        self.assertEqual(self.check(folder), [])
        # A breaking change keeping version 1: refused, by the check and by update.
        broken = schema(ref={"type": "string"})
        broken["properties"].pop("memo")
        self.write_schema(folder, "x.done.schema.json", broken)
        (problem,) = self.check(folder)
        self.assertIn("not backward compatible (memo: property removed)", problem)
        self.assertIn("new file with x-schema-version 2", problem)
        self.assertEqual(sc.main(["update", str(folder)]), 1)
        self.assertEqual(len(self.check(folder)), 1)
        # The way to do it: version 1 as it was, the change in version 2.
        self.write_schema(folder, "x.done.schema.json", schema(ref={"type": "string"}))
        v2 = copy.deepcopy(broken)
        v2.update({"$id": v2["$id"][:-1] + "2", "x-schema-version": 2})
        v2["properties"]["schema_version"]["const"] = 2
        self.write_schema(folder, "x.done.v2.schema.json", v2)
        self.assertEqual(sc.main(["update", str(folder)]), 0)
        self.assertEqual(self.check(folder), [])
        # A shipped version is never removed; versions have no gap.
        (folder / "x.done.schema.json").unlink()
        problems = " ".join(self.check(folder))
        self.assertIn("x.done@1 (x.done.schema.json) was shipped and is gone", problems)
        self.assertIn("versions [2] are not 1, 2, 3... without a gap", problems)

    def test_version_number_and_schema_version_const_agree(self):
        bad = schema()
        bad["x-schema-version"] = 2
        problems = sc.check_lock({}, {"x.done@2": ("x.done.schema.json", bad)})
        self.assertIn(
            "x.done.schema.json: properties.schema_version.const is 1 but x-schema-version is 2:"
            " make them equal",
            problems,
        )
        self.assertIn("x.done.schema.json: $id must end with /2 (its version)", problems)

    def check(self, folder):
        return sc.check_lock(sc.read_lock(folder), sc.read_schemas(folder))
