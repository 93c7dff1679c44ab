"""The tamper-evident log with the bank addon's writers: an imported statement
file and a binary file stored in base64 leave the log verifiable, and a bank
file altered in the database afterwards is named."""

from odoo.tests import tagged
from odoo.tools import SQL

from .common import FFFS_053, BankCase, fixture


@tagged("post_install", "-at_install")
class TestBankLogChain(BankCase):
    def verify(self):
        return self.env["finance.connect.log.chain"]._verify()

    def test_imported_files_keep_log_verifiable_and_an_altered_file_is_named(self):
        self.bank_journal("FFFS", "FI74 3301 0001 2220 90", self.eur)
        result = self.Import._import_file(fixture(FFFS_053), FFFS_053.name)
        self.assertFalse(result["errors"], result["summary"])
        message = self.env["finance.connect.message"].browse(result["message_id"])
        binary, created = self.Import._record_file(b"PK\x03\x04\x00\xffnot text", "archive.zip")
        self.assertTrue(created)
        self.assertIn("encoding=base64", binary.content_type, "stored as base64")
        verified = self.verify()
        self.assertFalse(verified["findings"], verified["summary"])
        self.assertGreater(verified["rows"], 0, "the chain entries were walked")
        # A booked amount changed in the stored bank file.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE finance_connect_message SET payload = replace(payload, '<Amt', '<Amt ')"
                " WHERE id = %s",
                message.id,
            )
        )
        self.env.invalidate_all()
        verified = self.verify()
        self.assertIn(message.reference, verified["summary"])
        self.assertIn("payload", verified["summary"])
