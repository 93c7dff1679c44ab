"""Statement import through the ORM path: real bank files in, lines out, once."""

import base64
import re

import psycopg2

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import (
    ADDON_XSD,
    FFFS_053,
    MT940,
    POSTFINANCE_053,
    SHARED,
    BankCase,
    fixture,
    generate_camt053,
    use_addon_xsd_folder,
)


def _merge_statements(*documents):
    """One camt.053 document holding the <Stmt> of each generated document."""
    bodies = [re.search(rb"<Stmt>.*</Stmt>", doc, re.S).group(0) for doc in documents]
    head = documents[0][: documents[0].index(b"<Stmt>")]
    return head + b"\n".join(bodies) + b"\n</BkToCstmrStmt>\n</Document>\n"


@tagged("post_install", "-at_install")
class TestBankImport(BankCase):
    def test_fffs_camt053_imports_balancing_with_references_then_nothing_twice(self):
        journal = self.bank_journal("FFFS", "FI74 3301 0001 2220 90", self.eur)
        data = fixture(FFFS_053)
        result = self.Import._import_file(data, FFFS_053.name)
        self.assertFalse(result["errors"], result["summary"])
        lines = self.lines_of(journal)
        self.assertEqual(len(lines), 13)  # 10 entries, one batch entry split in 4
        self.assertAlmostEqual(sum(lines.mapped("amount")), 13644.83, places=2)
        statement = lines.statement_id
        self.assertEqual(len(statement), 1)
        self.assertEqual(statement.name, "BANKSTMTID0972009")
        self.assertAlmostEqual(statement.balance_start, 10000.00, places=2)
        self.assertAlmostEqual(statement.balance_end_real, 23644.83, places=2)
        self.assertTrue(statement.is_complete)
        self.assertTrue(all(lines.mapped("fc_import_id")))
        self.assertEqual(set(lines.move_id.mapped("state")), {"posted"})
        with_ref = lines.filtered("fc_creditor_ref")
        self.assertIn("RF98123456789012", with_ref.mapped("fc_creditor_ref"))
        self.assertTrue(lines.filtered("fc_servicer_ref"))
        self.assertTrue(lines.filtered("fc_bank_tx_code"))
        # The file is an inbound message keyed by its SHA-256.
        message = self.env["finance.connect.message"].browse(result["message_id"])
        self.assertEqual(message.direction, "in")
        self.assertEqual(message.fc_filename, FFFS_053.name)
        self.assertTrue(message.idempotency_key.startswith("file:"))
        self.assertEqual(lines.fc_message_id, message)
        # The same file again: the same message, nothing new.
        again = self.Import._import_file(data, FFFS_053.name)
        self.assertEqual(again["message_id"], message.id)
        self.assertEqual((again["new"], again["duplicates"]), (0, 13))
        self.assertIn("0 new, 13 already imported", again["summary"])
        self.assertEqual(len(self.lines_of(journal)), 13)
        # The same entries in another file (other bytes): parsed, all known.
        renamed = data.replace(b"BANKSTMTID0972009", b"BANKSTMTID0972009-COPY")
        third = self.Import._import_file(renamed, "copy.xml")
        self.assertNotEqual(third["message_id"], message.id)
        self.assertEqual((third["new"], third["duplicates"]), (0, 13))
        self.assertEqual(len(self.lines_of(journal)), 13)

    def test_postfinance_camt053_not_balancing_is_refused_with_the_figures(self):
        journal = self.bank_journal("PFIN", "CH2909000000250094239", self.env.ref("base.CHF"))
        self.env.ref("base.CHF").active = True
        result = self.Import._import_file(fixture(POSTFINANCE_053), POSTFINANCE_053.name)
        self.assertEqual(result["new"], 0)
        self.assertFalse(self.lines_of(journal))
        self.assertFalse(
            self.env["account.bank.statement"].search([("journal_id", "=", journal.id)])
        )
        exc = self.exceptions("balance_mismatch")
        self.assertEqual(len(exc), 1)
        self.assertIn("211993.19", exc.description)
        self.assertIn("215112.21", exc.description)
        self.assertIn("1537.00", exc.description)
        self.assertEqual(exc.message_id.id, result["message_id"])

    def test_two_statements_in_one_file_one_mismatching_the_other_imports(self):
        good = self.bank_journal("GOOD", "DE89370400440532013000")
        bad = self.bank_journal("BAD", "GB29NWBK60161331926819")
        currency = self.company.currency_id.name
        first, _o, _c = generate_camt053(
            12, iban="DE89370400440532013000", currency=currency, stmt_id="GOOD-1"
        )
        second, _o, closing = generate_camt053(
            7, iban="GB29NWBK60161331926819", seed=7, currency=currency, stmt_id="BAD-1"
        )
        wrong = f"{abs(closing) + 1:.2f}".encode()
        second = second.replace(f"{abs(closing):.2f}".encode(), wrong)
        result = self.Import._import_file(_merge_statements(first, second), "two.xml")
        self.assertEqual(result["new"], 12)
        self.assertEqual(len(self.lines_of(good)), 12)
        self.assertFalse(self.lines_of(bad))
        exc = self.exceptions("balance_mismatch")
        self.assertEqual(len(exc), 1)
        self.assertIn("BAD-1", exc.name + exc.description)
        self.assertEqual(len(result["errors"]), 1)

    def test_retry_of_a_pushed_file_that_does_not_balance_keeps_the_exception(self):
        """A pushed file whose only statement does not balance fails its message (it
        is not Done: nothing was imported) with one exception, the mismatch. Retry
        says what it did; the replay meets the same mismatch, so the exception
        stays open and counts it."""
        self.bank_journal("RTRY", "DE89370400440532013000")
        data, _o, closing = generate_camt053(5, currency=self.company.currency_id.name)
        data = data.replace(f"{abs(closing):.2f}".encode(), f"{abs(closing) + 1:.2f}".encode())
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "statement",
                "idempotency_key": "push-unbalanced",
                "payload": '{"filename": "push.xml", "content_base64": "%s"}'
                % base64.b64encode(data).decode(),
                "content_type": "application/json",
            }
        )
        message._job_process()
        self.assertEqual(message.state, "failed")
        exc = self.exceptions("balance_mismatch")
        self.assertEqual(len(exc), 1, (message.error, message.exception_ids.mapped("category")))
        self.assertEqual(message.exception_ids, exc, "one exception for one cause")
        self.assertEqual(exc.occurrences, 1)
        self.assertFalse(exc.fc_bank_upload)
        answer = exc.with_user(self.manager).action_retry()
        self.assertEqual(answer["tag"], "display_notification")
        self.assertIn("replayed in the background", answer["params"]["message"])
        self.assertIn(message.reference, answer["params"]["message"])
        self.assertEqual(message.state, "queued")
        message._job_process()  # the replay's job
        self.assertEqual(message.state, "failed", "the same mismatch: still not imported")
        self.assertEqual(exc.state, "in_progress")
        self.assertEqual(exc.occurrences, 2)
        self.assertEqual(message.exception_ids, exc)

    def test_retry_of_a_refused_upload_offers_a_corrected_file(self):
        """A file uploaded by hand and refused is not replayed (the same bytes would
        be refused again): Retry opens the upload wizard for a corrected file."""
        self.bank_journal("UPLD", "DE89370400440532013000")
        data, _o, closing = generate_camt053(3, currency=self.company.currency_id.name)
        data = data.replace(f"{abs(closing):.2f}".encode(), f"{abs(closing) + 1:.2f}".encode())
        result = self.Import._import_file(data, "unbalanced.xml")
        message = self.env["finance.connect.message"].browse(result["message_id"])
        self.assertEqual(message.state, "failed")
        exc = self.exceptions("balance_mismatch")
        self.assertTrue(exc.fc_bank_upload)
        answer = exc.with_user(self.manager).action_retry()
        self.assertEqual(answer["res_model"], "finance.connect.bank.import.wizard")
        self.assertEqual(answer["name"], "Import a corrected file")
        self.assertEqual(message.state, "failed", "not replayed")
        self.assertEqual(exc.state, "in_progress")
        self.assertEqual(exc.occurrences, 1)

    def test_opening_must_follow_the_previous_statement(self):
        journal = self.bank_journal("CONT", "DE89370400440532013000")
        currency = self.company.currency_id.name
        first, _o, closing = generate_camt053(4, currency=currency, stmt_id="S1")
        self.assertEqual(self.Import._import_file(first, "s1.xml")["new"], 4)
        gap, _o, _c = generate_camt053(
            3, seed=9, currency=currency, stmt_id="S2", opening=closing + 5
        )
        result = self.Import._import_file(gap, "s2.xml")
        self.assertEqual(result["new"], 0)
        self.assertIn("does not follow on", self.exceptions("balance_mismatch").description)
        follows, _o, _c = generate_camt053(
            3, seed=9, currency=currency, stmt_id="S2", opening=closing
        )
        self.assertEqual(self.Import._import_file(follows, "s2b.xml")["new"], 3)
        self.assertEqual(len(self.lines_of(journal).statement_id), 2)

    def test_overlapping_statement_imports_only_the_new_entries(self):
        journal = self.bank_journal("OVER", "DE89370400440532013000")
        currency = self.company.currency_id.name
        whole, _o, _c = generate_camt053(10, currency=currency, stmt_id="W")
        entries = re.findall(rb"<Ntry>.*?</Ntry>\n", whole, re.S)
        head = whole[: whole.index(b"<Ntry>")]
        # The first six entries alone, with their own closing balance.
        amounts = [
            (-1 if b"<CdtDbtInd>DBIT" in e else 1)
            * float(re.search(rb"<Amt Ccy=\"\w+\">([\d.]+)<", e).group(1))
            for e in entries
        ]
        closing = re.search(rb"<Cd>CLBD</Cd>.*?<Amt Ccy=\"\w+\">([\d.]+)<", head, re.S).group(1)
        partial_closing = 1000.0 + sum(amounts[:6])
        part = head.replace(b">" + closing + b"<", f">{abs(partial_closing):.2f}<".encode())
        if partial_closing < 0:
            part = part.replace(
                b"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2023-03-29",
                b"<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2023-03-29",
            )
        part += b"".join(entries[:6]) + b"</Stmt>\n</BkToCstmrStmt>\n</Document>\n"
        self.assertEqual(self.Import._import_file(part, "part.xml")["new"], 6)
        result = self.Import._import_file(whole, "whole.xml")
        self.assertEqual((result["new"], result["duplicates"]), (4, 6), result["summary"])
        lines = self.lines_of(journal)
        self.assertEqual(len(lines), 10)
        second = lines.statement_id.sorted("id")[-1]
        self.assertTrue(second.is_complete)

    def test_import_id_is_unique_per_journal_in_the_database(self):
        journal = self.bank_journal("UNIQ", "DE89370400440532013000")
        vals = {
            "journal_id": journal.id,
            "date": "2024-01-02",
            "amount": 5.0,
            "payment_ref": "x",
            "fc_import_id": "same",
        }
        self.Line.create(vals)
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self.Line.create(vals)
            self.env.flush_all()

    def test_bulk_rows_equal_orm_rows(self):
        """Cloned rows are the rows the ORM writes, column for column."""
        orm_journal = self.bank_journal("ORMJ", "DE89370400440532013000")
        bulk_journal = self.bank_journal("BLKJ", "GB29NWBK60161331926819")
        partner = self.partner_a
        specs = [
            (120.5, partner.id),
            (-33.25, partner.id),
            (7.0, False),
            (-1.1, False),
            (250.0, partner.id),
            (-9.99, partner.id),
            (3.3, False),
            (-4.4, False),
            (18.0, partner.id),
            (-2.0, False),
            (11.0, False),
            (-6.0, partner.id),
        ]

        def vals_list(journal, statement):
            return [
                {
                    "journal_id": journal.id,
                    "statement_id": statement.id,
                    "date": "2024-02-10",
                    "amount": amount,
                    "partner_id": partner_id,
                    "payment_ref": f"label {i}",
                    "partner_name": f"Name {i}",
                    "fc_import_id": f"id-{i}",
                    "fc_end_to_end_id": f"E{i}",
                }
                for i, (amount, partner_id) in enumerate(specs)
            ]

        statements = {}
        for journal in (orm_journal, bulk_journal):
            statements[journal] = self.env["account.bank.statement"].create(
                {
                    "name": journal.code,
                    "journal_id": journal.id,
                    "balance_start": 0.0,
                    "balance_end_real": sum(a for a, _p in specs),
                }
            )
        orm = self.Line.create(vals_list(orm_journal, statements[orm_journal]))
        bulk = self.Line._fc_create_bulk(vals_list(bulk_journal, statements[bulk_journal]))
        self.env.flush_all()
        self.assertEqual(len(bulk), len(orm))
        cr = self.env.cr
        skip = {
            "id",
            "move_id",
            "statement_id",
            "journal_id",
            "create_date",
            "write_date",
            "internal_index",
            "name",
            "move_name",
            "sequence_number",
            "sequence_prefix",
            "statement_line_id",
            "account_id",
            "first_line_index",
        }

        def rows(table, column, ids):
            cr.execute(
                SQL(
                    "SELECT * FROM %s WHERE %s = ANY(%s) ORDER BY id",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    ids,
                )
            )
            names = [d[0] for d in cr.description]
            return [
                {k: v for k, v in zip(names, row, strict=False) if k not in skip}
                for row in cr.fetchall()
            ]

        for ours, theirs in zip(bulk, orm, strict=True):
            self.assertEqual(
                rows("account_bank_statement_line", "id", ours.ids),
                rows("account_bank_statement_line", "id", theirs.ids),
            )
            self.assertEqual(
                rows("account_move", "id", ours.move_id.ids),
                rows("account_move", "id", theirs.move_id.ids),
            )
            self.assertEqual(
                rows("account_move_line", "move_id", ours.move_id.ids),
                rows("account_move_line", "move_id", theirs.move_id.ids),
            )
        for journal in (orm_journal, bulk_journal):
            statements[journal].invalidate_recordset()
        self.assertEqual(statements[bulk_journal].balance_end, statements[orm_journal].balance_end)
        self.assertTrue(statements[bulk_journal].is_complete)
        self.assertEqual(len(set(bulk.move_id.mapped("name"))), len(bulk))
        self.assertEqual(bulk.mapped("amount"), [a for a, _p in specs])

    def test_mt940_statements_import_in_sequence(self):
        journal = self.bank_journal("RABO", "NL71RABO0123456789", self.eur)
        data = fixture(MT940 / "jejik" / "rabobank-iban.sta")
        result = self.Import._import_file(data, "rabobank-iban.sta")
        self.assertFalse(result["errors"], result["summary"])
        lines = self.lines_of(journal)
        self.assertEqual(len(lines), 4)
        self.assertEqual(len(lines.statement_id), 2)
        again = self.Import._import_file(data, "rabobank-iban.sta")
        self.assertIn("0 new, 4 already imported", again["summary"])

    def test_mt940_file_with_31_statements_follows_on(self):
        journal = self.bank_journal("ASNB", "NL81ASNB9999999999", self.eur)
        result = self.Import._import_file(fixture(MT940 / "ASNB" / "mt940.txt"), "mt940.txt")
        self.assertFalse(result["errors"], result["summary"])
        self.assertEqual(len(self.lines_of(journal)), 8)

    def test_broken_unknown_and_entity_files_are_refused_naming_the_file(self):
        self.bank_journal("FFFS", "FI7433010001222090", self.eur)
        broken = fixture(FFFS_053)[:5000]
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&b;</Document>'
        )
        cases = {
            "broken.xml": (broken, "malformed XML"),
            "notes.txt": (b"hello world\n", "unknown format"),
            "bomb.xml": (bomb, "entities"),
        }
        for name, (data, error) in cases.items():
            result = self.Import._import_file(data, name)
            self.assertEqual(result["new"], 0)
            self.assertTrue(result["errors"])
            self.assertIn(name, result["errors"][0])
            self.assertIn(error, result["errors"][0])
        refused = self.exceptions("bank_file")
        self.assertEqual(len(refused), 3)
        self.assertTrue(
            all("Nothing of it was imported" in d for d in refused.mapped("description"))
        )

    def test_xsd_invalid_camt_is_refused(self):
        wrong = fixture(SHARED / "genkgo_camt" / "test_data" / "camt053.v2.wrong.xml")
        result = self.Import._import_file(wrong, "camt053.v2.wrong.xml")
        self.assertEqual(result["new"], 0)
        self.assertTrue(result["errors"])
        self.assertIn("camt053.v2.wrong.xml", result["errors"][0])

    def test_default_xsd_folder_validates_camt053_and_a_strict_connection_refuses(self):
        use_addon_xsd_folder(self.env, "camt.053.001.02.xsd", "camt.053.001.04.xsd")
        upload = self.env["finance.connect.connection"]._bank_upload_connection()
        upload.fc_bank_xsd_strict = True
        self.assertEqual(self.Import._get_xsd_dir().resolve(), ADDON_XSD.resolve())
        journal = self.bank_journal("FFFS", "FI74 3301 0001 2220 90", self.eur)
        data = fixture(FFFS_053)
        self.assertEqual(self.Import._validate_xsd(data), [])
        self.assertEqual(self.Import._validate_xsd(fixture(POSTFINANCE_053)), [])
        # The same statement without its group header's MsgId: the parser would
        # take it, the schema does not.
        invalid = re.sub(rb"<MsgId>[^<]*</MsgId>", b"", data, count=1)
        result = self.Import._import_file(invalid, "no-msgid.xml")
        self.assertEqual(result["new"], 0)
        self.assertEqual(len(result["errors"]), 1)
        error = result["errors"][0]
        self.assertIn("no-msgid.xml, line ", error)
        self.assertIn("does not match its ISO 20022 schema", error)
        self.assertIn("MsgId", error)
        self.assertIn("Ask the bank", error)
        self.assertFalse(self.lines_of(journal))
        self.assertEqual(len(self.exceptions("bank_file")), 1)
        result = self.Import._import_file(data, FFFS_053.name)
        self.assertFalse(result["errors"], result["summary"])
        self.assertEqual(len(self.lines_of(journal)), 13)

    def test_zip_of_statements_and_unknown_account(self):
        import io
        import zipfile

        journal = self.bank_journal("ZIPJ", "DE89370400440532013000")
        currency = self.company.currency_id.name
        known, _o, _c = generate_camt053(5, currency=currency, stmt_id="Z1")
        unknown, _o, _c = generate_camt053(
            3, iban="FR1420041010050500013M02606", seed=3, currency=currency, stmt_id="Z2"
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("known.xml", known)
            archive.writestr("unknown.xml", unknown)
        result = self.Import._import_file(buffer.getvalue(), "statements.zip")
        self.assertEqual(result["new"], 5)
        self.assertEqual(len(self.lines_of(journal)), 5)
        self.assertEqual(len(result["errors"]), 1)
        self.assertIn("FR1420041010050500013M02606", result["errors"][0])
        message = self.env["finance.connect.message"].browse(result["message_id"])
        self.assertIn("encoding=base64", message.content_type)
        self.assertEqual(self.Import._decode_payload(message), buffer.getvalue())

    def test_upload_wizard_several_files(self):
        journal = self.bank_journal("WIZ", "DE89370400440532013000")
        currency = self.company.currency_id.name
        good, _o, _c = generate_camt053(4, currency=currency, stmt_id="WZ")
        self.manager.groups_id |= self.env.ref("account.group_account_basic")
        attachments = (
            self.env["ir.attachment"]
            .with_user(self.manager)
            .create(
                [
                    {"name": "good.xml", "datas": base64.b64encode(good)},
                    {"name": "junk.bin", "datas": base64.b64encode(b"\x00\x01junk")},
                ]
            )
        )
        # Creating statement lines needs Odoo's bank reconciliation rights (above).
        wizard = (
            self.env["finance.connect.bank.import.wizard"]
            .with_user(self.manager)
            .create({"attachment_ids": [(6, 0, attachments.ids)]})
        )
        wizard.with_user(self.manager).action_import()
        self.assertEqual(wizard.state, "done")
        self.assertEqual((wizard.new_count, wizard.duplicate_count, wizard.error_count), (4, 0, 1))
        # Each upload's message ends like an inbound message: the good file Done and
        # linked to its statement, the refused one Failed; neither counts as queued.
        Message = self.env["finance.connect.message"]
        good_msg = Message.search([("fc_filename", "=", "good.xml")], order="id desc", limit=1)
        junk_msg = Message.search([("fc_filename", "=", "junk.bin")], order="id desc", limit=1)
        statement = self.lines_of(journal).statement_id
        self.assertEqual(good_msg.state, "done")
        self.assertTrue(good_msg.done_at)
        self.assertEqual((good_msg.res_model, good_msg.res_id), (statement._name, statement.id))
        self.assertEqual(good_msg.fc_statement_ids, statement)
        self.assertIn("new -> done", good_msg.state_log)
        self.assertEqual(junk_msg.state, "failed")
        self.assertTrue(junk_msg.exception_ids, "the refused file is in the exception inbox")
        upload = good_msg.connection_id
        self.assertEqual(upload, junk_msg.connection_id)
        upload.invalidate_recordset(["dash_queue_depth"])
        self.assertEqual(upload.dash_queue_depth, 0)
        # The same file again: nothing new, the message stays Done.
        again = self.Import._import_file(good, "good.xml")
        self.assertEqual(again["new"], 0)
        self.assertEqual(Message.browse(again["message_id"]), good_msg)
        self.assertEqual(good_msg.state, "done")
        self.assertIn("junk.bin", wizard.result)
        self.assertIn("unknown format", wizard.result)
        self.assertEqual(wizard.line_ids, self.lines_of(journal))

    def test_upload_wizard_without_bank_rights_says_so_and_stores_nothing(self):
        """A Finance Connect manager without Odoo's bank rights is told which
        right is missing before anything is read or logged."""
        self.bank_journal("WIZR", "DE89370400440532013000")
        good, _o, _c = generate_camt053(2, currency=self.company.currency_id.name, stmt_id="WR")
        attachment = (
            self.env["ir.attachment"]
            .with_user(self.manager)
            .create({"name": "good.xml", "datas": base64.b64encode(good)})
        )
        self.assertFalse(self.manager.has_group("account.group_account_basic"))
        wizard = (
            self.env["finance.connect.bank.import.wizard"]
            .with_user(self.manager)
            .create({"attachment_ids": [(6, 0, attachment.ids)]})
        )
        messages_before = self.env["finance.connect.message"].search_count([])
        with self.assertRaisesRegex(UserError, "Show Full Accounting Features") as refused:
            wizard.with_user(self.manager).action_import()
        # the right as the user form shows it, and where
        self.assertIn('section "Technical"', str(refused.exception))
        self.assertNotIn('"Basic"', str(refused.exception))
        self.assertEqual(self.env["finance.connect.message"].search_count([]), messages_before)
        self.assertEqual(wizard.state, "upload")

    def test_import_menu_only_for_users_who_can_import(self):
        """The "Import bank files" menu shows to those with Odoo's bank right only;
        the demo administrator has it."""
        menu = self.env.ref("finance_connect_bank.finance_connect_bank_import_menu")
        Menu = self.env["ir.ui.menu"]
        self.assertFalse(self.manager.has_group("account.group_account_basic"))
        self.assertNotIn(menu.id, Menu.with_user(self.manager)._visible_menu_ids())
        self.manager.groups_id |= self.env.ref("account.group_account_user")
        self.env.registry.clear_cache()
        self.assertIn(menu.id, Menu.with_user(self.manager)._visible_menu_ids())
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("account.group_account_basic"))
        self.assertIn(menu.id, Menu.with_user(admin)._visible_menu_ids())

    def test_csv_with_a_column_profile(self):
        journal = self.bank_journal("CSVJ", "DE89370400440532013000")
        profile = self.env["finance.connect.bank.csv.profile"].create(
            {
                "name": "Test bank",
                "journal_id": journal.id,
                "date_column": "Date",
                "amount_column": "Amount",
                "payment_ref_column": "Text",
                "reference_column": "Ref",
                "default_currency": self.company.currency_id.name,
            }
        )
        data = (
            b"Date;Amount;Text;Ref\n01.03.2024;1.234,50;Invoice 1;R1\n"
            b"02.03.2024;-20,00;Fee;R2\n"
        )
        wizard = self.env["finance.connect.bank.import.wizard"].create(
            {
                "attachment_ids": [(0, 0, {"name": "export.csv", "datas": base64.b64encode(data)})],
                "csv_profile_id": profile.id,
            }
        )
        wizard.action_import()
        lines = self.lines_of(journal)
        self.assertEqual(sorted(lines.mapped("amount")), [-20.0, 1234.5])
        self.assertEqual(wizard.new_count, 2)

    def test_statement_pushed_by_a_bank_connection_is_imported_by_its_handler(self):
        journal = self.bank_journal("PUSH", "DE89370400440532013000")
        currency = self.company.currency_id.name
        data, _o, _c = generate_camt053(6, currency=currency, stmt_id="PUSH-1")
        message, created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "statement",
                "idempotency_key": "push-1",
                "payload": '{"filename": "push.xml", "content_base64": "%s"}'
                % base64.b64encode(data).decode(),
                "content_type": "application/json",
            }
        )
        self.assertTrue(created)
        outcome = message._job_process()
        self.assertEqual(message.state, "done", outcome)
        self.assertIn("6 new", outcome)
        self.assertEqual(len(self.lines_of(journal)), 6)
        # A broken file pushed: the message fails into the inbox, once.
        bad, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "statement",
                "idempotency_key": "push-2",
                "payload": "<Document>broken",
                "content_type": "application/xml",
            }
        )
        bad._job_process()
        self.assertEqual(bad.state, "failed")
        self.assertEqual(len(bad.exception_ids), 1)
        self.assertEqual(bad.exception_ids.category, "bank_file")
