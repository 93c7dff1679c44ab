"""Snapshots of mapping sets: canonical JSON, pairing of lines, differences and
restore plans (lib/mapping_versions.py, no ORM)."""

from odoo.addons.finance_connect.lib import mapping_versions as mv
from odoo.tests import BaseCase, tagged


def line(line_id, source, code, **vals):
    return {
        "id": line_id,
        "mapping_type": vals.pop("mapping_type", "account"),
        "partner_key": None,
        "source_value": source,
        "direction": vals.pop("direction", "both"),
        "date_from": vals.pop("date_from", None),
        "external_code": code,
        **vals,
    }


@tagged("post_install", "-at_install")
class TestMappingVersionsLib(BaseCase):
    def test_canonical_json_does_not_depend_on_order(self):
        a = [line(2, "600000", "OPEX"), line(1, "400000", "8400")]
        b = [dict(reversed(list(x.items()))) for x in reversed(a)]
        self.assertEqual(mv.dumps(a), mv.dumps(b))
        self.assertEqual(mv.digest(a), mv.digest(b))
        self.assertNotEqual(mv.digest(a), mv.digest([line(1, "400000", "8401"), a[0]]))

    def test_a_line_created_again_maps_the_same(self):
        before = [line(1, "400000", "8400")]
        after = [line(7, "400000", "8400")]
        self.assertEqual(mv.digest(before), mv.digest(after))
        self.assertEqual(mv.diff(before, after), ([], [], []))

    def test_diff_lists_added_removed_and_changed_fields(self):
        old = [line(1, "400000", "8400"), line(2, "600000", "OPEX"), line(3, "7*", "X")]
        new = [
            line(1, "400000", "8410", note="new chart"),
            line(3, "7*", "X"),
            line(4, "500000", "COGS"),
        ]
        diff = mv.diff(old, new)
        self.assertEqual([ln["source_value"] for ln in diff.added], ["500000"])
        self.assertEqual([ln["source_value"] for ln in diff.removed], ["600000"])
        ((was, now, fields),) = diff.changed
        self.assertEqual((was["external_code"], now["external_code"]), ("8400", "8410"))
        self.assertEqual(fields, ["external_code", "note"])

    def test_lines_pair_by_id_then_by_what_they_map(self):
        old = [line(1, "400000", "8400", date_from="2026-01-01"), line(2, "400000", "8300")]
        # Line 1 deleted and created again as 9 (a restore), line 2 kept.
        new = [line(9, "400000", "8401", date_from="2026-01-01"), line(2, "400000", "8300")]
        diff = mv.diff(old, new)
        self.assertEqual((diff.added, diff.removed), ([], []))
        ((was, now, fields),) = diff.changed
        self.assertEqual((was["id"], now["id"], fields), (1, 9, ["external_code"]))

    def test_restore_plan_makes_the_current_lines_equal_the_target(self):
        target = [line(1, "400000", "8400"), line(2, "600000", "OPEX")]
        current = [line(1, "400000", "8410", direction="outbound"), line(3, "7*", "X")]
        plan = mv.restore_plan(current, target)
        self.assertEqual(plan.unlink, [3])
        self.assertEqual(plan.write, [(1, {"direction": "both", "external_code": "8400"})])
        self.assertEqual([vals["source_value"] for vals in plan.create], ["600000"])
        self.assertNotIn("id", plan.create[0])
        # Applying it gives the target.
        applied = {ln["id"]: dict(ln) for ln in current}
        for line_id in plan.unlink:
            del applied[line_id]
        for line_id, vals in plan.write:
            applied[line_id].update(vals)
        for n, vals in enumerate(plan.create):
            applied[100 + n] = dict(vals, id=100 + n)
        self.assertEqual(mv.digest(list(applied.values())), mv.digest(target))
        self.assertEqual(mv.restore_plan(target, target), ([], [], []))
