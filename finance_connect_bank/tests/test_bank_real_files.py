"""Real bank files as banks send them (issue 12), through the import.

The files are the project's own, in ``tests/data/bank`` at the repository
root: MT940 with the currency after the IBAN in ``:25:`` and wrapped ``:86:``,
a camt.053 off its schema in places the import does not read, camt.053.001.08
in a ZIP archive, entries whose details do not add up (bank charges).
"""

import io
import zipfile
from pathlib import Path

from odoo.tests import tagged

from .common import BankCase, use_addon_xsd_folder

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "bank"


def _data(name):
    return (DATA / name).read_bytes()


@tagged("post_install", "-at_install")
class TestBankRealFiles(BankCase):
    def message_of(self, result):
        return self.env["finance.connect.message"].browse(result["message_id"])

    def test_mt940_account_with_currency_suffix_finds_the_journal_by_iban(self):
        journal = self.bank_journal("INGQ", "NL91 ABNA 0417 1643 00", self.eur)
        result = self.Import._import_file(_data("mt940_quirks.sta"), "mt940_quirks.sta")
        self.assertFalse(result["errors"], result["summary"])
        lines = self.lines_of(journal)
        self.assertEqual(len(lines), 5)
        self.assertEqual(
            sorted(lines.statement_id.mapped("name")),
            ["P230103000000001", "P230104000000001"],
        )
        self.assertTrue(all(lines.statement_id.mapped("is_complete")))
        rent = lines.filtered(lambda line: line.amount == 1234.0)
        self.assertTrue(rent.payment_ref.endswith("AMSTERDAM NOORD TOTAAL EUR 1.234,-"))
        acme = lines.filtered(lambda line: line.amount == -12.5)
        self.assertEqual(acme.partner_name, "ACME BV")
        self.assertEqual(acme.fc_end_to_end_id, "E2E-20230103-0001")

    def test_camt_off_schema_is_imported_with_a_warning_unless_the_connection_is_strict(
        self,
    ):
        journal = self.bank_journal("DEVI", "DE89370400440532013000", self.eur)
        data = _data("camt053_schema_deviations.xml")
        connection = self.env["finance.connect.connection"]._bank_upload_connection()
        connection.fc_bank_xsd_strict = True
        refused = self.Import._import_file(data, "deviations.xml")
        self.assertEqual(refused["new"], 0)
        self.assertFalse(self.lines_of(journal))
        (error,) = refused["errors"]
        self.assertTrue(error.startswith("deviations.xml, line 44: does not match"), error)
        self.assertIn("Refuse files off the schema", error)
        self.assertIn("Ask the bank", error)
        self.assertEqual(len(self.exceptions("bank_file")), 1)
        # The default: imported, the deviations shown on statement and message.
        connection.fc_bank_xsd_strict = False
        result = self.Import._import_file(data, "deviations.xml")
        self.assertFalse(result["errors"], result["summary"])
        self.assertEqual(result["message_id"], refused["message_id"])
        lines = self.lines_of(journal)
        self.assertEqual(sorted(lines.mapped("amount")), [-25.0, 250.25])
        warning = lines.statement_id.fc_import_warning
        for expected in (
            "deviates from its ISO 20022 schema in 2 place",
            "line 44",
            "line 60",
        ):
            self.assertIn(expected, warning)
            self.assertIn(expected, result["summary"])
        self.assertIn("'Germany'", warning)
        self.assertIn("500", warning)
        self.assertEqual(self.message_of(result).fc_import_warnings, warning)
        self.assertTrue(self.message_of(result).fc_import_complete)

    def test_camt053_v08_in_a_zip_archive(self):
        use_addon_xsd_folder(self.env, "camt.053.001.08.xsd")
        journal = self.bank_journal("V08Z", "DE89370400440532013000", self.eur)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "2023-03-04_C53_DE89370400440532013000_EUR_000063.xml",
                _data("camt053_v08.xml"),
            )
        result = self.Import._import_file(buffer.getvalue(), "camt53_20230304.zip")
        self.assertFalse(result["errors"] or result["warnings"], result["summary"])
        lines = self.lines_of(journal)
        self.assertEqual(sorted(lines.mapped("amount")), [-80.0, 400.0])
        self.assertEqual(lines.statement_id.name, "V08-STMT-1")
        self.assertAlmostEqual(lines.statement_id.balance_end_real, 1045.25, places=2)
        self.assertEqual(set(lines.mapped("partner_name")), {"Kunde Beispiel GmbH", "Lieferant KG"})
        self.assertIn("camt.053 V08-STMT-1: 2 new", result["summary"])

    def test_entries_whose_details_do_not_add_up_show_the_difference(self):
        journal = self.bank_journal("CHRG", "DE89370400440532013000", self.eur)
        result = self.Import._import_file(_data("camt053_charges.xml"), "charges.xml")
        self.assertFalse(result["errors"], result["summary"])
        lines = self.lines_of(journal)
        by_amount = {line.amount: line for line in lines}
        self.assertEqual(sorted(by_amount), [-50.0, 98.5, 297.0])
        self.assertTrue(by_amount[98.5].fc_detail_mismatch)
        self.assertAlmostEqual(by_amount[98.5].fc_detail_difference, -1.5, places=2)
        # The batch of three 100.00 transfers stays one line of what was booked.
        self.assertTrue(by_amount[297.0].fc_detail_mismatch)
        self.assertAlmostEqual(by_amount[297.0].fc_detail_difference, -3.0, places=2)
        self.assertFalse(by_amount[-50.0].fc_detail_mismatch)
        self.assertEqual(by_amount[-50.0].fc_detail_difference, 0.0)
        self.assertTrue(lines.statement_id.is_complete)
        self.assertIn("2 entries do not add up to their transaction details", result["summary"])
        self.assertIn("-4.50", result["summary"])
        flagged = self.Line.search(
            [("journal_id", "=", journal.id), ("fc_detail_mismatch", "=", True)]
        )
        self.assertEqual(flagged, by_amount[98.5] | by_amount[297.0])

    def test_difference_to_details_survives_bulk_creation(self):
        # Five credits of one month in the company's currency: all but the first
        # are written by row cloning (_fc_create_bulk).
        journal = self.bank_journal("CHBK", "DE89370400440532013000")
        currency = self.company.currency_id.name
        data = _data("camt053_charges.xml").decode().replace("EUR", currency)
        entry = data[data.index("<Ntry>") : data.index("</Ntry>") + len("</Ntry>")]
        copies = [
            entry.replace("CHG-0001", f"CHG-COPY-{n}").replace("E2E-CHG-1", f"E2E-COPY-{n}")
            for n in range(3)
        ]
        data = data.replace(entry, entry + "".join(copies)).replace("1345.50", "1641.00")
        result = self.Import._import_file(data.encode(), "charges-bulk.xml")
        self.assertFalse(result["errors"], result["summary"])
        lines = self.lines_of(journal)
        self.assertEqual(len(lines), 6)
        flagged = lines.filtered("fc_detail_mismatch")
        self.assertEqual(sorted(flagged.mapped("amount")), [98.5] * 4 + [297.0])
        self.assertEqual(
            sorted(round(d, 2) for d in flagged.mapped("fc_detail_difference")),
            [-3.0] + [-1.5] * 4,
        )
        self.assertIn("5 entries do not add up", result["summary"])

    def test_skipped_entries_name_the_earlier_line_file_and_import_id(self):
        journal = self.bank_journal("DUPL", "DE89370400440532013000", self.eur)
        data = _data("camt053_v08.xml")
        first = self.Import._import_file(data, "first.xml")
        self.assertEqual(first["new"], 2)
        earlier = self.message_of(first)
        lines = self.lines_of(journal)
        # The same entries in another file (other bytes): each skip explained.
        copy = data.replace(b"V08-MSG-1", b"V08-MSG-1-RESENT")
        second = self.Import._import_file(copy, "resent.xml")
        self.assertEqual((second["new"], second["duplicates"]), (0, 2))
        self.assertEqual(len(second["duplicate_details"]), 2)
        stored = self.message_of(second).fc_import_duplicates
        for line in lines:
            expected = (
                f"already imported as statement line {line.id} (statement V08-STMT-1) "
                f"from file first.xml, message {earlier.reference}; import id "
                f"{line.fc_import_id}"
            )
            self.assertIn(expected, second["summary"])
            self.assertIn(expected, stored)
        self.assertIn("Rechnung 2023-0901", second["summary"])
        self.assertFalse(earlier.fc_import_duplicates)
        # The identical file again: its lines are named too.
        third = self.Import._import_file(data, "first.xml")
        self.assertEqual(third["message_id"], earlier.id)
        for line in lines:
            self.assertIn(f"statement line {line.id} ", third["summary"])

    def test_a_refused_statement_names_file_line_and_what_to_do(self):
        result = self.Import._import_file(_data("mt940_quirks.sta"), "mt940_quirks.sta")
        self.assertEqual(result["new"], 0)
        first, second = result["errors"]
        self.assertTrue(
            first.startswith(
                "mt940_quirks.sta: mt940 P230103000000001 (line 2): no bank journal of "
                "your companies has account NL91ABNA0417164300"
            ),
            first,
        )
        self.assertIn(
            "set NL91ABNA0417164300 as the bank account of its bank journal (Fix opens the "
            "bank journals)",
            first,
        )
        self.assertIn("(line 19)", second)
