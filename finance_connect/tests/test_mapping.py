"""Mapping sets: lookups at sync time, validation on save, tracking, coverage,
"try a value", the exception fix, import, access and the transaction cache."""

import base64
import json
from contextlib import contextmanager
from datetime import date

import psycopg2

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from ..exceptions import MappingMissing
from .common import FinanceConnectCase


class MappingCase(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.revenue = cls.company_data["default_account_revenue"]
        cls.expense = cls.company_data["default_account_expense"]
        cls.mapping = cls.env["finance.connect.mapping"].create(
            {
                "name": "Test bank chart",
                "company_id": cls.company.id,
                "connection_ids": [Command.link(cls.connection.id)],
                "external_chart": "SKR04",
            }
        )

    @contextmanager
    def refused(self, regex, exception=ValidationError):
        """Expect ``exception`` matching ``regex``, and roll its changes back."""
        with self.assertRaisesRegex(exception, regex), self.env.cr.savepoint():
            yield

    def line(self, source_value, external_code, mapping=None, **vals):
        return self.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": (mapping or self.mapping).id,
                "mapping_type": vals.pop("mapping_type", "account"),
                "source_value": source_value,
                "external_code": external_code,
                **vals,
            }
        )

    def delivered_bodies(self):
        return [json.loads(d["body"]) for d in self.sandbox.deliveries("/events")]


@tagged("post_install", "-at_install")
class TestMappingAtSync(MappingCase):
    def test_exact_line_fills_external_account(self):
        self.line(self.revenue.code, "8400", external_name="Revenue 19%")
        self.line(self.expense.code[:1] + "*", "OPEX")
        with self.run_jobs():
            invoice = self.post_invoice(120.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "done")
        (body,) = self.delivered_bodies()
        self.assertEqual([ln["external_account"] for ln in body["data"]["lines"]], ["8400"])
        self.assertEqual(body["data"]["lines"][0]["account_code"], self.revenue.code)
        # Partners are not mapped by this set: their external code stays empty.
        self.assertIsNone(body["data"]["partner"]["external_code"])

    def test_prefix_rule_longest_wins_and_exact_beats_rule(self):
        code = self.revenue.code
        self.line(code[:1] + "*", "SHORT")
        self.line(code[:2] + "*", "LONG")
        with self.run_jobs():
            self.post_invoice(10.0)
        self.assertEqual(self.delivered_bodies()[0]["data"]["lines"][0]["external_account"], "LONG")
        self.line(code, "EXACT")
        with self.run_jobs():
            self.post_invoice(11.0)
        self.assertEqual(
            self.delivered_bodies()[1]["data"]["lines"][0]["external_account"], "EXACT"
        )

    def test_validity_dates_use_the_invoice_date(self):
        # init_invoice dates invoices 2019-01-01.
        self.line(self.revenue.code, "OLD", date_to=date(2018, 12, 31))
        self.line(self.revenue.code, "NEW", date_from=date(2019, 1, 1))
        with self.run_jobs():
            self.post_invoice(10.0)
        self.assertEqual(self.delivered_bodies()[0]["data"]["lines"][0]["external_account"], "NEW")

    def test_connection_without_mapping_set_sends_unmapped(self):
        self.mapping.connection_ids = [Command.clear()]
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        self.assertEqual(self.messages_of(invoice).state, "done")
        self.assertIsNone(self.delivered_bodies()[0]["data"]["lines"][0]["external_account"])

    def test_type_without_lines_is_not_mapped(self):
        self.line(self.company_data["default_journal_sale"].code, "VK", mapping_type="journal")
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        self.assertEqual(self.messages_of(invoice).state, "done")
        self.assertIsNone(self.delivered_bodies()[0]["data"]["lines"][0]["external_account"])

    def test_unmapped_value_waits_never_guesses_then_fix_replays(self):
        self.line(self.expense.code, "OPEX")
        with self.run_jobs():
            first = self.post_invoice(10.0)
            second = self.post_invoice(20.0)
        messages = self.messages_of(first) | self.messages_of(second)
        self.assertEqual(set(messages.mapped("state")), {"new"})
        self.assertEqual(set(messages.mapped("waiting_for")), {f"account:{self.revenue.code}"})
        self.assertFalse(self.sandbox.received(), "nothing was sent with a guessed account")
        exc = self.env["finance.connect.exception"].search(
            [("category", "=", "mapping"), ("connection_id", "=", self.connection.id)]
        )
        self.assertEqual(len(exc), 1, "one exception per missing value, not per message")
        self.assertEqual((exc.mapping_type, exc.mapping_value), ("account", self.revenue.code))
        self.assertIn(self.revenue.code, exc.name)

        # "Create mapping and replay": a prefilled line in a dialog.
        action = exc.with_user(self.manager).action_open_fix()
        self.assertEqual(action["res_model"], "finance.connect.mapping.line")
        self.assertEqual(action["target"], "new")
        ctx = action["context"]
        self.assertEqual(ctx["default_mapping_id"], self.mapping.id)
        self.assertEqual(ctx["default_source_value"], self.revenue.code)
        form = Form(
            self.env["finance.connect.mapping.line"].with_user(self.manager).with_context(ctx),  # pylint: disable=context-overridden
            view="finance_connect.finance_connect_mapping_line_view_form_fix",
        )
        self.assertEqual(
            action["views"][0][0],
            self.env.ref("finance_connect.finance_connect_mapping_line_view_form_fix").id,
        )
        self.assertEqual(form.mapping_type, "account")
        self.assertEqual(form.account_id, self.revenue)
        form.external_code = "8400"
        with self.run_jobs():
            line = form.save()
        self.assertEqual(line.external_code, "8400")
        self.assertEqual(set(messages.mapped("state")), {"done"})
        self.assertFalse(any(messages.mapped("waiting_for")))
        self.assertEqual(exc.state, "resolved")
        self.assertEqual(first.fc_state, "synced")
        bodies = self.delivered_bodies()
        self.assertEqual(len(bodies), 2)
        self.assertEqual({b["data"]["lines"][0]["external_account"] for b in bodies}, {"8400"})

    def test_fix_in_a_set_the_connection_does_not_use_is_refused(self):
        self.line(self.expense.code, "OPEX")
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        self.assertEqual(self.messages_of(invoice).state, "new")
        exc = self.env["finance.connect.exception"].search([("category", "=", "mapping")])
        other = self.env["finance.connect.mapping"].create({"name": "Unused set"})
        ctx = exc.with_user(self.manager).action_open_fix()["context"]
        with self.refused("not used by", UserError):
            self.env["finance.connect.mapping.line"].with_user(self.manager).with_context(  # pylint: disable=context-overridden
                ctx
            ).create({"mapping_id": other.id, "external_code": "8400"})

    def test_ambiguous_value_across_sets_waits(self):
        self.line(self.revenue.code, "8400")
        other = self.env["finance.connect.mapping"].create(
            {"name": "Second set", "connection_ids": [Command.link(self.connection.id)]}
        )
        self.line(self.revenue.code, "8410", mapping=other)
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "new")
        exc = self.env["finance.connect.exception"].search([("category", "=", "mapping")])
        self.assertIn("ambiguous", exc.description)
        # Removing one of the two decides it: the waiting message goes out.
        with self.run_jobs():
            other.line_ids.unlink()
        self.assertEqual(message.state, "done")
        self.assertEqual(exc.state, "resolved")

    def test_assigning_a_set_to_the_connection_replays(self):
        self.line(self.expense.code, "OPEX")
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        self.assertEqual(self.messages_of(invoice).state, "new")
        revenue_set = self.env["finance.connect.mapping"].create({"name": "Revenue"})
        self.line(self.revenue.code, "8400", mapping=revenue_set)
        self.assertEqual(self.messages_of(invoice).state, "new")
        with self.run_jobs():
            revenue_set.connection_ids = [Command.link(self.connection.id)]
        self.assertEqual(self.messages_of(invoice).state, "done")

    def test_partner_mapped_by_reference_and_vat(self):
        self.partner_a.write({"ref": "C-1001", "vat": False})
        self.line("C-1001", "DEB-1001", mapping_type="partner", partner_key="ref")
        self.line("C-*", "DEB-OTHER", mapping_type="partner", partner_key="ref")
        with self.run_jobs():
            self.post_invoice(10.0)
            self.partner_b.write({"ref": "C-2002", "vat": "BE0477472701"})
            self.post_invoice(10.0, partner=self.partner_b)
        partners = [b["data"]["partner"]["external_code"] for b in self.delivered_bodies()]
        self.assertEqual(partners, ["DEB-1001", "DEB-OTHER"])
        # A VAT line (typed with spaces) beats the reference rule: exact before rule.
        self.line("BE 0477.472.701", "DEB-VAT", mapping_type="partner", partner_key="vat")
        with self.run_jobs():
            self.post_invoice(12.0, partner=self.partner_b)
        self.assertEqual(self.delivered_bodies()[-1]["data"]["partner"]["external_code"], "DEB-VAT")

    def test_unmapped_partner_waits_with_its_key(self):
        self.partner_a.write({"ref": False, "vat": "NL000099998B57"})
        self.line("C-*", "DEB", mapping_type="partner", partner_key="ref")
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        self.assertEqual(self.messages_of(invoice).waiting_for, "partner:vat:NL000099998B57")
        exc = self.env["finance.connect.exception"].search([("category", "=", "mapping")])
        ctx = exc.with_user(self.manager).action_open_fix()["context"]
        self.assertEqual(
            (ctx["default_partner_key"], ctx["default_source_value"]), ("vat", "NL000099998B57")
        )
        with self.run_jobs():
            self.env["finance.connect.mapping.line"].with_context(ctx).create(  # pylint: disable=context-overridden
                {"external_code": "DEB-NL"}
            )
        self.assertEqual(self.messages_of(invoice).state, "done")
        self.assertEqual(exc.state, "resolved")

    def test_map_value_api_inbound_and_outbound(self):
        eur = self.env.ref("base.EUR")
        self.line("EUR", "978", mapping_type="currency", currency_id=eur.id)
        conn = self.connection
        self.assertEqual(conn._map_value("currency", "EUR"), "978")
        self.assertEqual(conn._map_value("currency", "978", direction="inbound"), "EUR")
        self.assertIsNone(conn._map_value("tax", "15%"), "taxes are not mapped at all")
        with self.assertRaises(MappingMissing):
            conn._map_value("currency", "USD")


@tagged("post_install", "-at_install")
class TestMappingValidation(MappingCase):
    def test_same_source_direction_and_period_refused(self):
        self.line(self.revenue.code, "8400")
        with self.refused("overlapping periods"):
            self.line(self.revenue.code, "8410")
        # Separate periods, or separate directions, are fine.
        self.line(self.expense.code, "A", date_to=date(2025, 12, 31))
        self.line(self.expense.code, "B", date_from=date(2026, 1, 1))
        with self.refused("overlapping periods"):
            self.line(self.expense.code, "C", date_from=date(2025, 6, 1), date_to=date(2026, 6, 1))
        journal = self.company_data["default_journal_sale"].code
        self.line(journal, "VK", mapping_type="journal", direction="outbound")
        self.line(journal, "VK2", mapping_type="journal", direction="inbound")

    def test_same_external_code_inbound_twice_refused(self):
        self.line(self.revenue.code, "8400")
        with self.refused("external code 8400 back to Odoo"):
            self.line(self.expense.code, "8400")
        # Outbound only: many Odoo accounts may go to the same external account.
        self.line(self.expense.code, "8400", direction="outbound")

    def test_draft_duplicates_a_line(self):
        self.line(self.revenue.code, False)
        with self.refused("overlapping periods"):
            self.line(self.revenue.code, "8400")

    def test_target_must_exist_in_the_company(self):
        with self.refused("There is no account 999999x"):
            self.line("999999x", "X")
        other = self.setup_other_company(name="Other company")["company"]
        foreign = self.env["account.journal"].search([("company_id", "=", other.id)], limit=1)
        with self.refused("does not belong|There is no journal"):
            self.line(foreign.code, "X", mapping_type="journal", journal_id=foreign.id)

    def test_record_must_match_the_type(self):
        with self.refused("must match the type"):
            self.line(
                self.company_data["default_journal_sale"].code,
                "X",
                mapping_type="journal",
                account_id=self.revenue.id,
            )
        with self.refused("must agree"):
            self.line(self.revenue.code, "X", account_id=self.expense.id)

    def test_rules(self):
        rule = self.line("6*", "OPEX")
        self.assertEqual((rule.source_kind, rule.direction), ("prefix", "outbound"))
        with self.refused("cannot be read backwards"):
            self.line("7*", "X", direction="both")
        with self.refused("exact values only"):
            self.line("E*", "X", mapping_type="currency")
        with self.refused("not valid"):
            self.line("6*1", "X")

    def test_dates_in_order(self):
        line = self.line(self.revenue.code, "X")
        with self.refused("before it starts"):
            line.write({"date_from": "2026-01-01", "date_to": "2025-01-01"})
        # The database refuses it too.
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.CheckViolation),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute(
                "UPDATE finance_connect_mapping_line SET date_from = '2026-01-01', "
                "date_to = '2025-01-01' WHERE id = %s",
                (line.id,),
            )

    def test_picked_record_fills_the_odoo_value(self):
        line = self.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": self.mapping.id,
                "mapping_type": "account",
                "account_id": self.revenue.id,
                "external_code": "8400",
            }
        )
        self.assertEqual(line.source_value, self.revenue.code)
        line = self.line(self.expense.code, "OPEX")
        self.assertEqual(line.account_id, self.expense, "the Odoo value finds its record")

    def test_account_group_line(self):
        group = self.env["account.group"].create(
            {
                "name": "Tour group",
                "code_prefix_start": "91",
                "code_prefix_end": "93",
                "company_id": self.company.root_id.id,
            }
        )
        line = self.line(False, "GRP", account_group_id=group.id)
        self.assertEqual((line.source_value, line.source_kind), ("91..93*", "prefix"))
        table = self.mapping._get_table()
        self.assertEqual(table.resolve("account", "920000", on_date=date(2026, 1, 1)).target, "GRP")
        self.assertEqual(table.get("account", "940000", on_date=date(2026, 1, 1)), None)


@tagged("post_install", "-at_install")
class TestMappingScreens(MappingCase):
    def test_changes_are_tracked_on_the_set(self):
        Line = self.env["finance.connect.mapping.line"].with_user(self.manager)
        line = Line.create(
            {
                "mapping_id": self.mapping.id,
                "mapping_type": "account",
                "source_value": self.revenue.code,
                "external_code": "8400",
            }
        )
        line.write({"external_code": "8410", "date_from": "2026-01-01"})
        line.unlink()
        notes = self.mapping.message_ids.filtered(lambda m: m.author_id == self.manager.partner_id)
        bodies = " | ".join(notes.mapped("body"))
        self.assertIn("Mapping lines added", bodies)
        self.assertIn("External code: 8400 → 8410", bodies)
        self.assertIn("Valid from: ∅ →", bodies)
        self.assertIn("Mapping lines removed", bodies)
        self.assertEqual(len(notes), 3)
        # Set fields are tracked too. (Odoo does not track records created in the
        # same transaction: forget that the class set-up created this one.)
        self.env.cr.precommit.data.pop("mail.tracking.finance.connect.mapping", None)
        self.mapping.with_user(self.manager).with_context(
            tracking_disable=False, mail_notrack=False
        ).external_chart = "SKR03"
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.mapping.invalidate_recordset(["message_ids"])
        tracked = self.mapping.message_ids.tracking_value_ids
        self.assertIn("SKR03", tracked.mapped("new_value_char"))
        self.assertIn("SKR04", tracked.mapped("old_value_char"))

    def test_coverage_and_lines_for_unmapped(self):
        mapping = self.mapping
        accounts = self.env["account.account"].search(
            [("company_ids", "parent_of", self.company.id), ("deprecated", "=", False)]
        )
        self.assertEqual(mapping.coverage_account_total, len(accounts))
        self.assertEqual(mapping.coverage_account_unmapped, len(accounts))
        self.line(self.revenue.code, "8400")
        mapping.invalidate_recordset()
        self.assertEqual(mapping.coverage_account_unmapped, len(accounts) - 1)
        prefix = self.expense.code[:1]
        self.line(prefix + "*", "OPEX")
        under_rule = accounts.filtered(lambda a: a.code.startswith(prefix)) - self.revenue
        mapping.invalidate_recordset()
        self.assertEqual(mapping.coverage_account_unmapped, len(accounts) - 1 - len(under_rule))
        listed = mapping.with_context(fc_mapping_type="account").action_list_unmapped()
        unmapped = self.env["account.account"].search(listed["domain"])
        self.assertEqual(len(unmapped), mapping.coverage_account_unmapped)
        self.assertNotIn(self.revenue, unmapped)

        mapping.with_context(fc_mapping_type="account").action_create_unmapped_lines()
        drafts = mapping.line_ids.filtered("is_draft")
        self.assertEqual(len(drafts), len(unmapped))
        self.assertEqual(drafts.account_id, unmapped)
        mapping.invalidate_recordset()
        self.assertEqual(
            mapping.coverage_account_unmapped, len(unmapped), "a draft line maps nothing yet"
        )
        drafts[0].external_code = "DONE"
        mapping.invalidate_recordset()
        self.assertEqual(mapping.coverage_account_unmapped, len(unmapped) - 1)

    def test_coverage_follows_unsaved_lines_on_screen(self):
        form = Form(self.mapping.with_user(self.manager))
        before = form.coverage_account_unmapped
        with form.account_line_ids.new() as row:
            row.source_value = self.revenue.code
            row.external_code = "8400"
        self.assertEqual(form.coverage_account_unmapped, before - 1)
        form.save()
        self.assertEqual(self.mapping.account_line_ids.external_code, "8400")

    def test_try_a_value(self):
        exact = self.line(self.revenue.code, "8400")
        rule = self.line(self.revenue.code[:1] + "*", "RULE")
        wizard = (
            self.env["finance.connect.mapping.try"]
            .with_user(self.fc_user)
            .create({"mapping_id": self.mapping.id, "value": self.revenue.code})
        )
        self.assertEqual(
            (wizard.result_state, wizard.result_target, wizard.result_rule),
            ("mapped", "8400", "exact"),
        )
        self.assertEqual(wizard.result_line_id, exact)
        wizard.value = self.revenue.code[:1] + "99999"
        self.assertEqual(wizard.result_line_id, rule)
        self.assertIn("prefix", wizard.result_rule)
        wizard.value = "ZZZ"
        self.assertEqual(wizard.result_state, "unmapped")
        wizard.write({"value": "8400", "direction": "inbound"})
        self.assertEqual(wizard.result_target, self.revenue.code)

    def test_import_csv_with_row_level_errors(self):
        header = "Mapping set,Type,Odoo value,Direction,External code,External name,Valid from"
        rows = [
            f"{self.mapping.name},Account,{self.revenue.code},Both,8400,Revenue,",
            f"{self.mapping.name},Account,999999x,Both,9999,Nothing,",
            f"{self.mapping.name},Account,6*,Outbound,OPEX,Expenses,2026-01-01",
        ]
        importer = (
            self.env["base_import.import"]
            .with_user(self.manager)
            .create(
                {
                    "res_model": "finance.connect.mapping.line",
                    "file": "\n".join([header, *rows]).encode(),
                    "file_name": "lines.csv",
                    "file_type": "text/csv",
                }
            )
        )
        options = {"has_headers": True, "separator": ",", "quoting": '"', "date_format": "%Y-%m-%d"}
        preview = importer.parse_preview(dict(options))
        matched = {h: preview["matches"].get(i) for i, h in enumerate(preview["headers"])}
        self.assertEqual(matched["Odoo value"], ["source_value"])
        self.assertEqual(matched["External code"], ["external_code"])
        self.assertEqual(matched["Valid from"], ["date_from"])
        self.assertEqual(matched["Mapping set"], ["mapping_id"])
        fields = [
            "mapping_id",
            "mapping_type",
            "source_value",
            "direction",
            "external_code",
            "external_name",
            "date_from",
        ]
        result = importer.execute_import(fields, header.split(","), dict(options), dryrun=True)
        errors = [m for m in result["messages"] if m["type"] == "error"]
        self.assertTrue(errors)
        row_errors = [m for m in errors if m.get("rows", {}).get("from") == 1]
        self.assertTrue(row_errors, f"the error names the bad row: {errors}")
        self.assertIn("There is no account 999999x", row_errors[0]["message"])
        self.assertFalse(self.mapping.line_ids, "a dry run writes nothing")
        # Without the bad row the import goes through.
        importer.file = "\n".join([header, rows[0], rows[2]]).encode()
        result = importer.execute_import(fields, header.split(","), dict(options))
        self.assertFalse([m for m in result["messages"] if m["type"] == "error"], result)
        self.assertEqual(sorted(self.mapping.line_ids.mapped("external_code")), ["8400", "OPEX"])
        self.assertEqual(
            self.mapping.line_ids.filtered(lambda ln: ln.external_code == "OPEX").source_kind,
            "prefix",
        )

    def test_import_xlsx(self):
        import io

        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Mapping set", "Type", "Odoo value", "External code", "Valid to"])
        sheet.append([self.mapping.name, "Account", self.revenue.code, "8400", "2030-12-31"])
        sheet.append([self.mapping.name, "Currency", "EU*", "978", None])
        data = io.BytesIO()
        book.save(data)
        importer = (
            self.env["base_import.import"]
            .with_user(self.manager)
            .create(
                {
                    "res_model": "finance.connect.mapping.line",
                    "file": data.getvalue(),
                    "file_name": "lines.xlsx",
                    "file_type": "application/vnd.openxmlformats-officedocument"
                    ".spreadsheetml.sheet",
                }
            )
        )
        fields = ["mapping_id", "mapping_type", "source_value", "external_code", "date_to"]
        options = {"has_headers": True, "date_format": "%Y-%m-%d"}
        result = importer.execute_import(fields, [], options)
        errors = [m for m in result["messages"] if m["type"] == "error"]
        # The row that failed is named, and every message names the bad value
        # (Odoo's load() repeats a failed batch's first error at the batch's first row).
        self.assertIn(1, [m["rows"]["from"] for m in errors])
        for error in errors:
            self.assertIn(
                "Currency lines map exact values only: EU* is a prefix rule", error["message"]
            )
        self.assertFalse(self.mapping.line_ids, "an import with errors writes nothing")

    def test_export_lines(self):
        self.line(self.revenue.code, "8400")
        data = self.mapping.line_ids.export_data(
            ["mapping_type", "source_value", "direction", "external_code"]
        )["datas"]
        self.assertEqual(data, [["Account", self.revenue.code, "Both", "8400"]])

    def test_import_template_exists(self):
        template = self.env["finance.connect.mapping.line"].get_import_templates()[0]
        from odoo.tools.misc import file_open

        with file_open(template["template"].lstrip("/")) as handle:
            self.assertTrue(handle.readline().startswith("Mapping set,Type,Odoo value"))


@tagged("post_install", "-at_install")
class TestMappingAccessAndCache(MappingCase):
    def test_users_read_managers_edit(self):
        line = self.line(self.revenue.code, "8400")
        as_user = self.mapping.with_user(self.fc_user)
        self.assertEqual(as_user.name, "Test bank chart")
        self.assertEqual(line.with_user(self.fc_user).external_code, "8400")
        with self.assertRaises(AccessError):
            as_user.write({"name": "renamed"})
        with self.assertRaises(AccessError):
            line.with_user(self.fc_user).write({"external_code": "x"})
        with self.assertRaises(AccessError):
            self.env["finance.connect.mapping"].with_user(self.fc_user).create({"name": "x"})
        line.with_user(self.manager).write({"external_code": "8410"})
        self.env["finance.connect.mapping"].with_user(self.manager).create({"name": "Mine"})
        line.with_user(self.manager).unlink()

    def test_other_company_mappings_are_invisible(self):
        company_b = self.setup_other_company(name="Company B mapping")["company"]
        mapping_b = self.env["finance.connect.mapping"].create(
            {"name": "B chart", "company_id": company_b.id}
        )
        account_b = (
            self.env["account.account"]
            .with_company(company_b)
            .search([("company_ids", "parent_of", company_b.id)], limit=1)
        )
        line_b = self.line(account_b.with_company(company_b).code, "B1", mapping=mapping_b)
        user_a = new_test_user(
            self.env,
            login="fc_map_user_a",
            groups="finance_connect.group_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        env_a = self.env(user=user_a)
        self.assertFalse(env_a["finance.connect.mapping"].search([("id", "=", mapping_b.id)]))
        self.assertFalse(env_a["finance.connect.mapping.line"].search([("id", "=", line_b.id)]))
        self.assertTrue(env_a["finance.connect.mapping"].search([("id", "=", self.mapping.id)]))
        with self.assertRaises(AccessError):
            env_a["finance.connect.mapping"].browse(mapping_b.id).read(["name"])
        # A set cannot serve a connection of another company.
        with self.assertRaises(UserError):
            mapping_b.connection_ids = [Command.link(self.connection.id)]

    def test_table_cached_per_transaction_and_invalidated_on_change(self):
        line = self.line(self.revenue.code, "8400")
        table = self.mapping._get_table()
        self.assertIs(self.mapping._get_table(), table, "cached in the transaction")
        self.assertIn("finance_connect_mapping_tables", self.env.cr.cache)
        line.external_code = "8410"
        self.assertNotIn("finance_connect_mapping_tables", self.env.cr.cache)
        fresh = self.mapping._get_table()
        self.assertIsNot(fresh, table)
        self.assertEqual(fresh.resolve("account", self.revenue.code).target, "8410")
        # A rollback to a savepoint is seen too (the cursor cache ignores rollbacks).
        try:
            with self.env.cr.savepoint():
                line.external_code = "ROLLED-BACK"
                self.assertEqual(
                    self.mapping._get_table().resolve("account", self.revenue.code).target,
                    "ROLLED-BACK",
                )
                raise RuntimeError("roll back")
        except RuntimeError:  # pylint: disable=except-pass
            pass
        self.env.invalidate_all()
        self.assertEqual(
            self.mapping._get_table().resolve("account", self.revenue.code).target, "8410"
        )
        # Archived sets do not map.
        self.mapping.active = False
        self.assertIsNone(self.connection._get_mapping_table())

    def test_payload_not_mutated_for_other_connections(self):
        self.line(self.revenue.code, "8400")
        invoice = self.init_invoice("out_invoice", amounts=[10.0], post=False)
        payload = invoice._fc_prepare_payload("invoice.posted")
        before = base64.b64encode(json.dumps(payload, sort_keys=True).encode())
        mapped = self.connection._map_outbound_payload("invoice.posted", payload)
        self.assertEqual(mapped["data"]["lines"][0]["external_account"], "8400")
        self.assertEqual(base64.b64encode(json.dumps(payload, sort_keys=True).encode()), before)
