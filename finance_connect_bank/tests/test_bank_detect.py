"""Format detection, safe ZIP expansion and parse_any over the public corpus."""

import io
import zipfile
from decimal import Decimal
from pathlib import Path

from odoo.addons.finance_connect_bank.lib import detect
from odoo.addons.finance_connect_bank.lib.csv_profile import ColumnProfile
from odoo.addons.finance_connect_bank.lib.model import ParseError
from odoo.tests import BaseCase, tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MISSING = f"the shared fixtures folder is missing: {SHARED} (expected beside the clone)"
FFFS_053 = "moov_iso20022/testdata/FI_camt_053_sample.xml.xml"
ABNAMRO = "mt940_wolph/jejik/abnamro.sta"
CSV = b"date;text;amount\n01.05.2024;Salary;2.500,00\n02.05.2024;Rent;-900,00\n"


def _read(name):
    if not SHARED.is_dir():
        raise AssertionError(MISSING)
    return (SHARED / name).read_bytes()


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestDetect(BaseCase):
    def test_detect_corpus_files(self):
        for name, expected in [
            ("genkgo_camt/test_data/camt052.v1.xml", "camt.052"),
            ("genkgo_camt/test_data/camt053.v8.xml", "camt.053"),
            ("genkgo_camt/test_data/camt054.v4.xml", "camt.054"),
            ("moov_iso20022/testdata/FI_camt_054_sample.xml.xml", "camt.054"),
            (FFFS_053, "camt.053"),
            (
                "moov_iso20022/testdata/pain002-epo_p_0_0_0_2018031510491259.xml",
                "pain.002",
            ),
            ("moov_iso20022/testdata/valid_pain_v11.xml", "pain.002"),
            (ABNAMRO, "mt940"),
            ("mt940_wolph/jejik/ing.sta", "mt940"),
            ("mt940_wolph/ASNB/mt940.txt", "mt940"),
            ("mt940_wolph/mBank/mt942.sta", "mt940"),
        ]:
            with self.subTest(name=name, expected=expected):
                assert detect.detect_format(_read(name), name) == expected

    def test_unknown_formats_name_the_file(self):
        for name in [
            "ofxparse_fixtures/checking.ofx",
            "moov_iso20022/testdata/valid_acmt_v03.xml",
            "moov_iso20022/testdata/valid_pain_v11.json",
            "mt940_wolph/cmxl/closing_balance.sta",
        ]:
            with self.subTest(name=name):
                with self.assertRaises(ParseError) as caught:
                    detect.detect_format(_read(name), name)
                assert str(caught.exception).startswith(f"{name}: unknown format")

    def test_detect_csv_zip_and_xlsx(self):
        assert detect.detect_format(CSV, "a.csv") == "csv"
        assert detect.detect_format(_zip([("a.csv", CSV)]), "a.zip") == "zip"
        xlsx = _zip([("xl/workbook.xml", b"<workbook/>"), ("[Content_Types].xml", b"<x/>")])
        assert detect.detect_format(xlsx, "a.xlsx") == "xlsx"

    def test_parse_any_expands_a_zip_of_statements(self):
        archive = _zip(
            [
                ("statement.xml", _read(FFFS_053)),
                ("abnamro.sta", _read(ABNAMRO)),
                ("export.csv", CSV),
            ]
        )
        profile = ColumnProfile(date="date", amount="amount", payment_ref="text")
        statements = detect.parse_any(archive, "bank.zip", csv_profile=profile)
        assert [(s.format, s.statement_id) for s in statements] == [
            ("camt.053", "BANKSTMTID0972009"),
            ("mt940", "ABN AMRO BANK NV"),
            ("mt940", "ABN AMRO BANK NV"),
            ("csv", "export.csv"),
        ]
        assert statements[0].balance_difference() == 0
        assert statements[-1].entries_total() == Decimal("1600.00")

    def test_parse_any_refuses_csv_without_profile_and_status_reports(self):
        with self.assertRaisesRegex(ParseError, "CSV files need a column profile"):
            detect.parse_any(CSV, "a.csv")
        name = "moov_iso20022/testdata/pain002-epo_p_0_0_0_2018031510491259.xml"
        with self.assertRaisesRegex(ParseError, "pain.002 is not a bank statement format"):
            detect.parse_any(_read(name), "status.xml")

    def test_iter_files_passes_plain_files_through(self):
        assert list(detect.iter_files(CSV, "a.csv")) == [("a.csv", CSV)]

    def test_unsafe_archives_are_refused(self):
        for members, message in [
            ([("sub/a.csv", CSV)], "has a path"),
            ([("../a.csv", CSV)], "has a path"),
            ([("/etc/a.csv", CSV)], "has a path"),
            ([("inner.zip", _zip([("a.csv", CSV)]))], "is itself an archive"),
            ([(f"f{i}.csv", CSV) for i in range(201)], "201 members, over 200"),
            ([("bomb.csv", b"0" * (20 * 1024 * 1024))], "suspicious compression ratio"),
        ]:
            with self.subTest(members=members, message=message):
                with self.assertRaisesRegex(ParseError, message):
                    list(detect.iter_files(_zip(members), "upload.zip"))

    def test_archive_over_the_size_limit_is_refused(self):
        self.patch(detect, "MAX_UNCOMPRESSED", 1000)
        members = [("a.csv", CSV * 10), ("b.csv", CSV * 10)]
        with self.assertRaisesRegex(ParseError, "unpacks past 1000 bytes"):
            list(detect.iter_files(_zip(members, zipfile.ZIP_STORED), "big.zip"))

    def test_mac_resource_folder_is_ignored_and_broken_zip_refused(self):
        archive = _zip([("a.csv", CSV), ("__MACOSX/._a.csv", b"junk")])
        assert [name for name, _data in detect.iter_files(archive, "m.zip")] == ["a.csv"]
        with self.assertRaisesRegex(ParseError, "broken ZIP archive"):
            list(detect.iter_files(b"PK\x03\x04broken", "b.zip"))
