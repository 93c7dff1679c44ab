"""Mapping set versions: one per change (who, when, what), one per save of
many lines or import, recorded on delivered messages, compared, restored;
restore refused over HTTP to anyone but a manager of the set's company."""

import json

from odoo import Command
from odoo.addons.finance_connect.lib import mapping_versions as lib_versions
from odoo.exceptions import AccessError, UserError

from .test_mapping import MappingCase
from .trust_common import TrustCase


class VersionsMixin:
    def commit_versions(self):
        """What a commit does before committing: flush, then the precommit
        hooks (one version per changed set)."""
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.invalidate_all()

    def versions(self, mapping=None):
        return (mapping or self.mapping).version_ids.sorted("number")

    def snapshot_of(self, version):
        return lib_versions.loads(version.snapshot)

    def current_lines(self, mapping=None):
        Version = self.env["finance.connect.mapping.version"]
        return Version._read_snapshot(mapping or self.mapping)


class TestMappingVersions(VersionsMixin, MappingCase):
    def test_a_change_makes_a_version_with_who_when_and_what(self):
        self.commit_versions()
        (first,) = self.versions()
        self.assertEqual((first.number, first.line_count, first.note), (1, 0, "First version"))
        Line = self.env["finance.connect.mapping.line"].with_user(self.manager)
        line = Line.create(
            {
                "mapping_id": self.mapping.id,
                "mapping_type": "account",
                "source_value": self.revenue.code,
                "external_code": "8400",
            }
        )
        self.commit_versions()
        line.write({"external_code": "8410"})
        self.commit_versions()
        line.unlink()
        self.commit_versions()
        v1, v2, v3, v4 = self.versions()
        self.assertEqual([v.number for v in (v1, v2, v3, v4)], [1, 2, 3, 4])
        self.assertEqual((v2.user_id, v3.user_id, v4.user_id), (self.manager,) * 3)
        self.assertTrue(all(v.create_date for v in (v2, v3, v4)))
        self.assertEqual((v2.added_count, v2.changed_count, v2.removed_count), (1, 0, 0))
        self.assertIn(f"Added: Account {self.revenue.code} → 8400", v2.summary)
        self.assertIn("External code 8400 → 8410", v3.summary)
        self.assertEqual((v3.added_count, v3.changed_count, v3.removed_count), (0, 1, 0))
        self.assertIn(f"Removed: Account {self.revenue.code} → 8410", v4.summary)
        self.assertEqual(v4.line_count, 0)
        # The snapshot keeps the whole line; the set shows its current version.
        (kept,) = self.snapshot_of(v3)
        self.assertEqual((kept["source_value"], kept["external_code"]), (self.revenue.code, "8410"))
        self.assertEqual(kept["account_id"], self.revenue.id)
        self.assertEqual((self.mapping.version_count, self.mapping.version_number), (4, 4))
        self.assertTrue(v4.is_current)
        self.assertFalse(v3.is_current)
        # Nothing changed: no new version. A change of a set field only: none either.
        self.mapping.external_chart = "SKR03"
        self.commit_versions()
        self.assertEqual(len(self.versions()), 4)

    def test_saving_many_lines_at_once_makes_one_version(self):
        self.commit_versions()
        # A form saving 50 new lines and changing one (one2many commands).
        first = self.line(self.revenue.code, "8400")
        self.commit_versions()
        self.mapping.with_user(self.manager).write(
            {
                "line_ids": [Command.update(first.id, {"external_code": "8401"})]
                + [
                    Command.create(
                        {
                            "mapping_type": "account",
                            "source_value": f"{n}*",
                            "external_code": f"R{n}",
                            "direction": "outbound",
                        }
                    )
                    for n in range(10, 60)
                ]
            }
        )
        # ... and, in the same transaction, 30 lines written one by one.
        rules = self.mapping.line_ids.filtered(lambda ln: ln.source_kind == "prefix")
        for line in rules[:30]:
            line.with_user(self.manager).note = "checked"
        self.commit_versions()
        versions = self.versions()
        self.assertEqual(versions.mapped("number"), [1, 2, 3])
        self.assertEqual(
            (versions[-1].added_count, versions[-1].changed_count, versions[-1].line_count),
            (50, 1, 51),
        )
        self.assertIn("… and 1 more.", versions[-1].summary)
        self.assertIn("External code 8400 → 8401", versions[-1].summary)
        # An import of 200 lines (Odoo's import: load()) is one version too.
        result = (
            self.env["finance.connect.mapping.line"]
            .with_user(self.manager)
            .load(
                ["mapping_id/.id", "mapping_type", "source_value", "external_code", "direction"],
                [
                    [str(self.mapping.id), "account", f"{n}*", f"I{n}", "outbound"]
                    for n in range(100, 300)
                ],
            )
        )
        self.assertFalse(result["messages"], result["messages"])
        self.commit_versions()
        self.assertEqual(self.versions().mapped("number"), [1, 2, 3, 4])
        self.assertEqual(
            (self.versions()[-1].added_count, self.versions()[-1].line_count), (200, 251)
        )

    def test_delivered_message_records_mapping_and_schema_version(self):
        line = self.line(self.revenue.code, "8400")
        with self.run_jobs():
            invoice = self.post_invoice(120.0)
        first = self.messages_of(invoice)
        self.assertEqual(first.state, "done")
        self.assertEqual(first.schema_version, 1)
        (version,) = first.mapping_version_ids
        self.assertEqual(version.mapping_id, self.mapping)
        self.assertEqual([ln["external_code"] for ln in self.snapshot_of(version)], ["8400"])
        self.assertEqual(json.loads(first.sudo().payload)["schema_version"], 1)
        # The mapping changes: the next message records the new version, the
        # delivered one keeps the version it was mapped with.
        line.external_code = "8410"
        with self.run_jobs():
            second_invoice = self.post_invoice(80.0)
        second = self.messages_of(second_invoice)
        self.assertEqual(
            self.delivered_bodies()[-1]["data"]["lines"][0]["external_account"], "8410"
        )
        (newer,) = second.mapping_version_ids
        self.assertEqual(newer.number, version.number + 1)
        self.assertEqual([ln["external_code"] for ln in self.snapshot_of(newer)], ["8410"])
        self.assertEqual(first.mapping_version_ids, version)
        # At commit nothing more to record: the versions made for the messages
        # are the lines as they are.
        self.commit_versions()
        self.assertEqual(self.versions()[-1], newer)

    def test_a_deleted_set_leaves_its_versions_on_the_messages(self):
        self.line(self.revenue.code, "8400")
        with self.run_jobs():
            invoice = self.post_invoice(120.0)
        message = self.messages_of(invoice)
        (version,) = message.mapping_version_ids
        name = self.mapping.name
        self.mapping.unlink()
        self.env.invalidate_all()
        self.assertEqual(message.mapping_version_ids, version)
        self.assertFalse(version.mapping_id)
        self.assertEqual(version.display_name, f"{name} v1")
        self.assertEqual([ln["external_code"] for ln in self.snapshot_of(version)], ["8400"])
        with self.assertRaisesRegex(UserError, "was deleted"):
            version.with_user(self.manager).action_restore()

    def test_message_waiting_for_a_mapping_records_the_version_that_fixed_it(self):
        self.line(self.expense.code, "6000")  # the set maps accounts: revenue is missing
        with self.run_jobs():
            invoice = self.post_invoice(50.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "new")
        self.assertFalse(message.mapping_version_ids)
        with self.run_jobs():
            self.line(self.revenue.code, "8400")
        self.assertEqual(message.state, "done")
        (version,) = message.mapping_version_ids
        self.assertEqual(
            sorted(ln["external_code"] for ln in self.snapshot_of(version)), ["6000", "8400"]
        )

    def test_compare_two_versions_lists_the_differences(self):
        self.commit_versions()
        kept = self.line(self.revenue.code, "8400")
        removed = self.line(self.expense.code, "6000")
        self.commit_versions()
        kept.write({"external_code": "8410", "note": "new chart"})
        removed.unlink()
        self.line("7*", "OTHER", direction="outbound")
        self.commit_versions()
        v1, v2, v3 = self.versions()
        action = v2.with_user(self.fc_user).action_compare()
        self.assertEqual(action["res_model"], "finance.connect.mapping.version.compare")
        self.assertEqual(
            (action["context"]["default_version_a_id"], action["context"]["default_version_b_id"]),
            (v2.id, v3.id),
        )
        wizard = (
            self.env["finance.connect.mapping.version.compare"]
            .with_user(self.fc_user)
            .create({"mapping_id": self.mapping.id, "version_a_id": v2.id, "version_b_id": v3.id})
        )
        self.assertEqual(
            (wizard.added_count, wizard.changed_count, wizard.removed_count), (1, 1, 1)
        )
        rows = self.env["finance.connect.mapping.version"]._diff_rows(
            self.snapshot_of(v2), self.snapshot_of(v3)
        )
        self.assertIn(
            {
                "change": "changed",
                "line": f"Account {self.revenue.code} → 8400",
                "field": "External code",
                "old": "8400",
                "new": "8410",
            },
            rows,
        )
        self.assertIn(
            ("removed", f"Account {self.expense.code} → 6000"),
            {(r["change"], r["line"]) for r in rows},
        )
        self.assertIn(("added", "Account 7* → OTHER"), {(r["change"], r["line"]) for r in rows})
        html = str(wizard.diff_html)
        for text in ("8400", "8410", "new chart", "6000", "OTHER", "Removed", "Added"):
            self.assertIn(text, html)
        # A version compared with itself: nothing differs.
        wizard.version_b_id = v2
        self.assertIn("map the same", str(wizard.diff_html))
        self.assertEqual(v1.line_count, 0)

    def test_restore_makes_the_lines_equal_to_the_old_version_and_a_new_version(self):
        kept = self.line(self.revenue.code, "8400", date_from="2026-01-01")
        removed = self.line(self.expense.code, "6000")
        self.commit_versions()
        target = self.versions()[-1]
        kept.write({"external_code": "8410", "date_from": False})
        removed.unlink()
        self.line("7*", "OTHER", direction="outbound")
        self.commit_versions()
        before = self.versions()[-1]
        action = target.with_user(self.manager).action_restore()
        self.assertIn(f"now maps as in version {target.number}", action["params"]["message"])
        self.commit_versions()
        restored = self.versions()[-1]
        self.assertEqual(restored.number, before.number + 1)
        self.assertEqual(restored.note, f"Restored version {target.number}")
        self.assertEqual(restored.user_id, self.manager)
        self.assertEqual(restored.snapshot_sha256, target.snapshot_sha256)
        self.assertEqual(
            lib_versions.diff(self.snapshot_of(target), self.current_lines()), ([], [], [])
        )
        # The kept line was written back (same line), the removed one created again.
        self.assertEqual(kept.external_code, "8400")
        self.assertEqual(str(kept.date_from), "2026-01-01")
        self.assertEqual(sorted(self.mapping.line_ids.mapped("external_code")), ["6000", "8400"])
        # Through the lines' own create/write/unlink: the chatter says what changed.
        bodies = " | ".join(self.mapping.message_ids.mapped("body"))
        self.assertIn("Mapping lines removed", bodies)
        # Restoring what is current changes nothing and makes no version.
        action = restored.with_user(self.manager).action_restore()
        self.assertIn("nothing to restore", action["params"]["message"])
        self.commit_versions()
        self.assertEqual(self.versions()[-1], restored)

    def test_sets_without_versions_get_version_1_at_upgrade(self):
        """What migrations/18.0.1.2.0 does for the sets that existed before."""
        self.line(self.revenue.code, "8400")
        self.commit_versions()
        self.mapping.version_ids.sudo().unlink()  # as before versions existed
        archived = self.env["finance.connect.mapping"].create(
            {"name": "Old set", "company_id": self.company.id, "active": False}
        )
        self.env.cr.precommit.clear()  # created before versions existed, too
        Version = self.env["finance.connect.mapping.version"]
        self.assertGreaterEqual(Version._create_first_versions(), 2)
        (first,) = self.versions()
        self.assertEqual((first.number, first.line_count), (1, 1))
        self.assertIn("when versions were introduced", first.note)
        self.assertEqual(archived.version_ids.number, 1)
        self.assertEqual(Version._create_first_versions(), 0)

    def test_the_screens_show_versions(self):
        self.commit_versions()
        action = self.mapping.with_user(self.fc_user).action_view_versions()
        self.assertEqual(action["res_model"], "finance.connect.mapping.version")
        Version = self.env["finance.connect.mapping.version"].with_user(self.fc_user)
        self.assertEqual(Version.search(action["domain"]), self.mapping.version_ids)
        form = self.env["finance.connect.mapping"].get_view(view_type="form")["arch"]
        self.assertIn('name="action_view_versions"', form)
        message_form = self.env["finance.connect.message"].get_view(view_type="form")["arch"]
        self.assertIn('name="mapping_version_ids"', message_form)
        self.assertIn('name="schema_version"', message_form)
        version_list = Version.get_view(view_type="list")["arch"]
        self.assertIn('name="action_compare"', version_list)
        # The restore button is not even shown to a user who may not restore.
        self.assertNotIn('name="action_restore"', version_list)
        manager_list = Version.with_user(self.manager).get_view(view_type="list")["arch"]
        self.assertIn('name="action_restore"', manager_list)

    def test_restore_is_for_managers_only(self):
        self.line(self.revenue.code, "8400")
        self.commit_versions()
        first = self.versions()[0]
        with self.assertRaises(AccessError):
            first.with_user(self.fc_user).action_restore()
        self.assertEqual(len(self.mapping.line_ids), 1)


class TestMappingVersionsOverHttp(VersionsMixin, TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.revenue = cls.company_data["default_account_revenue"]
        cls.set_a = cls.env["finance.connect.mapping"].create(
            {"name": "Set A", "company_id": cls.company_a.id}
        )
        cls.set_b = cls.env["finance.connect.mapping"].create(
            {"name": "Set B", "company_id": cls.company_b.id}
        )

    def test_restore_over_rpc_is_refused_but_to_a_manager_of_the_sets_company(self):
        self.commit_versions()
        first_a = self.versions(self.set_a)[0]
        first_b = self.versions(self.set_b)[0]
        self.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": self.set_a.id,
                "mapping_type": "account",
                "source_value": self.revenue.code,
                "external_code": "8400",
            }
        )
        self.commit_versions()
        self.assertEqual(len(self.versions(self.set_a)), 2)
        for role in ("portal", "internal", "fc_user", "manager"):
            with self.subTest(role=role):
                version = first_b if role == "manager" else first_a
                answer = self.button(self.roles[role], version, "action_restore")
                self.assert_refused(answer)
                answer = self.rpc(
                    self.roles[role],
                    "finance.connect.mapping.version",
                    "action_restore",
                    [version.ids],
                )
                self.assert_refused(answer)
        # Nothing changed: the line is there, no version was made.
        self.assertEqual(self.set_a.line_ids.mapped("external_code"), ["8400"])
        self.assertEqual(len(self.versions(self.set_a)), 2)
        self.assertEqual(len(self.versions(self.set_b)), 1)
        # A manager of the set's company restores it; the request's commit
        # records the new version.
        result = self.assert_ok(self.button(self.manager, first_a, "action_restore"))
        self.assertEqual(result["params"]["title"], "Version 1 restored")
        self.assertFalse(self.set_a.line_ids)
        versions = self.versions(self.set_a)
        self.assertEqual(versions.mapped("number"), [1, 2, 3])
        self.assertEqual(versions[-1].user_id, self.manager)

    def test_versions_of_another_company_cannot_be_read_or_compared(self):
        self.commit_versions()
        first_b = self.versions(self.set_b)[0]
        for role in ("internal", "fc_user", "manager"):
            with self.subTest(role=role):
                answer = self.rpc(
                    self.roles[role],
                    "finance.connect.mapping.version",
                    "read",
                    [first_b.ids, ["snapshot"]],
                )
                self.assert_refused(answer)
                answer = self.rpc(
                    self.roles[role],
                    "finance.connect.mapping.version.compare",
                    "create",
                    [
                        {
                            "mapping_id": self.set_b.id,
                            "version_a_id": first_b.id,
                            "version_b_id": first_b.id,
                        }
                    ],
                )
                self.assert_refused(answer)
        # Versions are history: nobody writes or deletes them, not even a manager.
        for method, args in (("write", [first_b.ids, {"number": 9}]), ("unlink", [first_b.ids])):
            answer = self.rpc(self.manager_ab, "finance.connect.mapping.version", method, args)
            self.assert_refused(answer)
        self.assertEqual(first_b.number, 1)
