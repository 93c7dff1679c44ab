"""The statement import wizard in a browser: an Odoo tour in headless Chromium."""

import base64

from odoo.tests import HttpCase, tagged

from .common import FFFS_053, BankCase, fixture

# The tour finds the file to upload by this description (see the tour's SOURCE_TAG).
SOURCE_TAG = "finance_connect_bank_import_tour source"


@tagged("post_install", "-at_install")
class TestBankImportTour(BankCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.bank_journal("FFFS", "FI74 3301 0001 2220 90", cls.eur)
        # Creating statement lines needs Odoo's bank rights besides Accounting
        # Administrator (community Odoo: account.group_account_basic).
        cls.manager.groups_id |= cls.env.ref("account.group_account_basic")

    def test_accountant_imports_a_statement_once(self):
        data = fixture(FFFS_053)
        # The "file on the accountant's disk": the tour reads it back and puts it
        # in the wizard's file input (a browser test cannot open a file picker).
        self.env["ir.attachment"].with_user(self.manager).create(
            {
                "name": FFFS_053.name,
                "description": SOURCE_TAG,
                "mimetype": "application/xml",
                "datas": base64.b64encode(data),
            }
        )
        self.start_tour(
            "/odoo/action-finance_connect.finance_connect_message_action",
            "finance_connect_bank_import_tour",
            login=self.manager.login,
        )
        lines = self.lines_of(self.journal)
        self.assertEqual(len(lines), 13)
        self.assertEqual(len(set(lines.mapped("fc_import_id"))), 13)
        self.assertAlmostEqual(sum(lines.mapped("amount")), 13644.83, places=2)
        statement = lines.statement_id
        self.assertEqual(statement.name, "BANKSTMTID0972009")
        self.assertTrue(statement.is_complete)
        # Both uploads were recorded as the same inbound message (same bytes).
        self.assertEqual(len(lines.fc_message_id), 1)
        self.assertEqual(lines.fc_message_id.fc_filename, FFFS_053.name)
        # Import results are the manager's own records: read back as superuser.
        wizards = (
            self.env["finance.connect.bank.import.wizard"]
            .sudo()
            .search([("create_uid", "=", self.manager.id)], order="id")
        )
        self.assertEqual(
            [(w.state, w.new_count, w.duplicate_count) for w in wizards],
            [("done", 13, 0), ("done", 0, 13)],
        )
        self.assertEqual(wizards[0].line_ids, lines)
        self.assertFalse(wizards[1].line_ids)
