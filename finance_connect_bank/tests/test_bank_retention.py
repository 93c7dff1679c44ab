"""Retention classes of the bank addon's messages: statements and payment files."""

from odoo.addons.finance_connect.tests.retention_common import make_aged_message
from odoo.tests import tagged

from .common import BankCase


@tagged("post_install", "-at_install")
class TestBankRetention(BankCase):
    def test_statements_and_payment_files_keep_their_own_retention(self):
        self.company.write(
            {
                "fc_retention_statement_days": 3650,
                "fc_retention_payment_file_days": 30,
                "fc_retention_other_days": 3650,
            }
        )
        conn = self.connection
        statement = make_aged_message(self.env, conn, 400, "statement", "in")
        batch = make_aged_message(self.env, conn, 31, "payment_batch.created")
        status = make_aged_message(self.env, conn, 31, "payment_status", "in")
        young_batch = make_aged_message(self.env, conn, 29, "payment_batch.created")
        invoice = make_aged_message(self.env, conn, 400, "invoice.posted")
        self.assertEqual(statement.retention_class, "statement")
        self.assertEqual((batch | status).mapped("retention_class"), ["payment_file"] * 2)
        self.env["finance.connect.message"]._cron_archive_old_messages()
        self.assertEqual(
            [m.active for m in (statement, batch, status, young_batch, invoice)],
            [True, False, False, True, True],
        )
