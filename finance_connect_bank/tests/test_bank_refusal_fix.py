"""A refused bank file or statement: its own category, advice naming the real
cause, and "Fix" opening what the person has to change (issue 17, item 3).

Never the "Manual upload" pseudo-connection: the journal, the bank journals,
the previous statement, the CSV profile, or the wizard for a corrected file.
"""

import base64
from datetime import date
from decimal import Decimal

from odoo.tests import tagged

from .common import BankCase, generate_camt053

IBAN = "DE89370400440532013000"


@tagged("post_install", "-at_install")
class TestBankRefusalFix(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.company.currency_id.name

    def statement(self, stmt_id, iban=IBAN, currency=None, **kwargs):
        data, _opening, closing = generate_camt053(
            3, iban=iban, currency=currency or self.currency, stmt_id=stmt_id, **kwargs
        )
        return data, closing

    def only_exception(self, result):
        exc = self.env["finance.connect.exception"].search(
            [("message_id", "=", result["message_id"])]
        )
        self.assertEqual(len(exc), 1, result["summary"])
        return exc

    def assert_not_the_upload_connection(self, action):
        self.assertNotEqual(action.get("res_model"), "finance.connect.connection", action)

    def test_unknown_account_names_it_and_fix_opens_the_bank_journals(self):
        other = self.bank_journal("OTHR", "GB29NWBK60161331926819")
        data, _closing = self.statement("UNKNOWN-1")
        result = self.Import._import_file(data, "unknown.xml")
        self.assertEqual(result["new"], 0)
        exc = self.only_exception(result)
        self.assertEqual(exc.category, "bank_account")
        self.assertTrue(exc.name.startswith("Unknown bank account: unknown.xml"), exc.name)
        self.assertIn(f"no bank journal of your companies has account {IBAN}", exc.description)
        self.assertIn("Fix opens the bank journals", exc.description)
        self.assertNotIn("Check the file with the bank", exc.description)
        action = exc.action_open_fix()
        self.assert_not_the_upload_connection(action)
        self.assertEqual(action["res_model"], "account.journal")
        journals = self.env["account.journal"].search(action["domain"])
        self.assertIn(other, journals)
        self.assertEqual(set(journals.mapped("type")), {"bank"})
        # Giving the account to a journal is the fix: the same file imports.
        other.bank_acc_number = IBAN
        again = self.Import._import_file(data, "unknown-corrected.xml")
        self.assertEqual(again["new"], 3, again["summary"])

    def test_two_journals_with_the_account_fix_opens_both(self):
        first = self.bank_journal("TWO1", IBAN)
        second = self.bank_journal("TWO2", False)
        second.bank_account_id = first.bank_account_id
        data, _closing = self.statement("TWO-1")
        exc = self.only_exception(self.Import._import_file(data, "two.xml"))
        self.assertEqual(exc.category, "bank_account")
        self.assertIn("2 bank journals", exc.description)
        action = exc.action_open_fix()
        self.assertEqual(action["res_model"], "account.journal")
        self.assertEqual(self.env["account.journal"].search(action["domain"]), first | second)

    def test_currency_mismatch_fix_opens_the_journal(self):
        usd = self.env.ref("base.USD")
        other = usd if self.company.currency_id != usd else self.eur
        other.active = True
        journal = self.bank_journal("CURR", IBAN)
        data, _closing = self.statement("CUR-1", currency=other.name)
        exc = self.only_exception(self.Import._import_file(data, "other-currency.xml"))
        self.assertEqual(exc.category, "bank_currency")
        self.assertTrue(exc.name.startswith("Currency mismatch: "), exc.name)
        self.assertIn(f"the statement is in {other.name} but journal", exc.description)
        self.assertIn(
            f"import it into the bank journal of that account in {other.name}", exc.description
        )
        action = exc.action_open_fix()
        self.assertEqual((action["res_model"], action["res_id"]), ("account.journal", journal.id))
        self.assertEqual(action["view_mode"], "form")

    def test_balance_mismatch_fix_opens_the_previous_statement(self):
        journal = self.bank_journal("BALM", IBAN)
        first, closing = self.statement("BAL-1")
        self.assertEqual(self.Import._import_file(first, "day1.xml")["new"], 3)
        previous = self.env["account.bank.statement"].search([("journal_id", "=", journal.id)])
        self.assertEqual(len(previous), 1)
        # The next day's statement opens with a balance the journal does not end on.
        second, _closing = self.statement(
            "BAL-2", seed=9, opening=closing + Decimal("10.00"), start=date(2023, 3, 10)
        )
        exc = self.only_exception(self.Import._import_file(second, "day2.xml"))
        self.assertEqual(exc.category, "balance_mismatch")
        self.assertIn("previous statement of the journal, which Fix opens", exc.description)
        action = exc.action_open_fix()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("account.bank.statement", previous.id)
        )

    def test_csv_the_profile_cannot_read_fix_opens_the_profile(self):
        journal = self.bank_journal("CSVF", IBAN)
        profile = self.env["finance.connect.bank.csv.profile"].create(
            {
                "name": "Bank with dots",
                "journal_id": journal.id,
                "date_column": "Date",
                "amount_column": "Amount",
                "payment_ref_column": "Text",
                "default_currency": self.currency,
            }
        )
        # The bank changed its date format: the profile reads dd.mm.yyyy.
        data = b"Date;Amount;Text\n2024-03-01;1.234,50;Invoice 1\n"
        result = self.Import._import_file(data, "march.csv", journal=journal, csv_profile=profile)
        self.assertEqual(result["new"], 0)
        exc = self.only_exception(result)
        self.assertEqual(exc.category, "bank_file")
        self.assertIn("march.csv", exc.description)
        self.assertIn("Check that CSV profile Bank with dots (Fix opens it)", exc.description)
        action = exc.action_open_fix()
        self.assertEqual(
            (action["res_model"], action["res_id"]),
            ("finance.connect.bank.csv.profile", profile.id),
        )

    def test_unreadable_upload_fix_offers_a_corrected_file(self):
        result = self.Import._import_file(b"<Document>broken", "broken.xml")
        exc = self.only_exception(result)
        self.assertEqual(exc.category, "bank_file")
        self.assertTrue(exc.fc_bank_upload)
        action = exc.action_open_fix()
        self.assert_not_the_upload_connection(action)
        self.assertEqual(action["res_model"], "finance.connect.bank.import.wizard")
        self.assertEqual(exc.state, "in_progress")

    def test_pushed_file_refused_fails_its_message_with_the_fix(self):
        usd = self.env.ref("base.USD")
        other = usd if self.company.currency_id != usd else self.eur
        other.active = True
        journal = self.bank_journal("PUSH", IBAN)
        data, _closing = self.statement("PUSH-1", currency=other.name)
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "statement",
                "idempotency_key": "push-currency",
                "payload": '{"filename": "push.xml", "content_base64": "%s"}'
                % base64.b64encode(data).decode(),
                "content_type": "application/json",
            }
        )
        message._job_process()
        self.assertEqual(message.state, "failed")
        exc = message.exception_ids
        self.assertEqual(exc.category, "bank_currency")
        action = exc.action_open_fix()
        self.assertEqual((action["res_model"], action["res_id"]), ("account.journal", journal.id))
