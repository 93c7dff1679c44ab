"""CSV and XLSX bank exports read through a column profile."""

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl

from odoo.addons.finance_connect_bank.lib.csv_profile import (
    ColumnProfile,
    parse_csv,
    parse_xlsx,
)
from odoo.addons.finance_connect_bank.lib.model import ParseError
from odoo.tests import BaseCase, tagged

GERMAN_CSV = """Buchungstag;Valuta;Auftraggeber;IBAN;Verwendungszweck;Betrag;Währung
02.05.2024;03.05.2024;Müller GmbH;DE89 3704 0044 0532 0130 00;Rechnung 42;1.234,56;EUR
03.05.2024;03.05.2024;Stadtwerke;;Abschlag Mai;-89,00;EUR

04.05.2024;;Café Zoë;;"Kaffee; Kuchen";-7,5;EUR
"""

GERMAN = ColumnProfile(
    encoding="latin-1",
    date="Buchungstag",
    value_date="Valuta",
    amount="Betrag",
    currency="Währung",
    payment_ref="Verwendungszweck",
    partner_name="Auftraggeber",
    partner_iban="IBAN",
)


def _workbook_bytes():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Umsätze"
    sheet.append(["Export of account DE89"])
    sheet.append(["Date", "Text", "Amount"])
    sheet.append([datetime(2024, 5, 2), "Salary", 2500.1])
    sheet.append(["03.05.2024", "Rent", "-1.200,00"])
    sheet.append([None, None, None])
    sheet.append([date(2024, 5, 4), "Refund", 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestCsvProfile(BaseCase):
    def test_german_export_with_signed_amount_column(self):
        statement = parse_csv(GERMAN_CSV.encode("latin-1"), GERMAN, "umsatz.csv")
        assert statement.format == "csv"
        assert statement.statement_id == "umsatz.csv"
        assert statement.opening_balance is None and statement.closing_balance is None
        assert [line.amount for line in statement.lines] == [
            Decimal("1234.56"),
            Decimal("-89.00"),
            Decimal("-7.5"),
        ]
        first = statement.lines[0]
        assert first.date == date(2024, 5, 2)
        assert first.value_date == date(2024, 5, 3)
        assert first.partner_name == "Müller GmbH"
        assert first.partner_iban == "DE89370400440532013000"
        assert first.currency == "EUR"
        assert statement.lines[2].payment_ref == "Kaffee; Kuchen"
        assert statement.lines[2].value_date is None
        assert statement.lines[2].raw["row"] == 5
        assert statement.balance_difference() is None

    def test_debit_and_credit_columns_by_index_without_header(self):
        data = b"2024-05-01,100.00,,Invoice 1,REF1\n2024-05-02,,-25.10,Fee,REF2\n"
        profile = ColumnProfile(
            delimiter=",",
            header_rows=0,
            date_format="%Y-%m-%d",
            decimal_separator=".",
            thousands_separator=",",
            date=0,
            credit=1,
            debit=2,
            payment_ref=3,
            reference=4,
            default_currency="USD",
        )
        statement = parse_csv(data, profile, "bank.csv")
        assert [(line.amount, line.currency) for line in statement.lines] == [
            (Decimal("100.00"), "USD"),
            (Decimal("-25.10"), "USD"),
        ]
        assert statement.lines[1].import_id("j") == "j::REF2"

    def test_thousands_and_negative_notations(self):
        rows = ["date;amount", "01.01.2024;(1.000,00)", "02.01.2024;12,00-"]
        rows.append("03.01.2024;\u2212 3,00 €")
        data = "\n".join(rows).encode()
        statement = parse_csv(data, ColumnProfile(date="date", amount="amount"), "n.csv")
        assert [line.amount for line in statement.lines] == [
            Decimal("-1000.00"),
            Decimal("-12.00"),
            Decimal("-3.00"),
        ]

    def test_errors_name_row_and_column(self):
        for body, message in [
            ("01.01.2024;abc\n", "row 2, column 'amount': invalid amount 'abc'"),
            (
                "2024-01-01;1,00\n",
                "row 2, column 'date': invalid date '2024-01-01' (expected %d.%m.%Y)",
            ),
            ("01.01.2024;\n", "row 2, column 'amount': no amount"),
            (";1,00\n", "row 2, column 'date': no date"),
        ]:
            with self.subTest(body=body, message=message):
                data = ("date;amount\n" + body).encode()
                with self.assertRaises(ParseError) as caught:
                    parse_csv(data, ColumnProfile(date="date", amount="amount"), "bad.csv")
                assert str(caught.exception) == f"bad.csv: {message}"

    def test_missing_column_and_bad_encoding(self):
        with self.assertRaisesRegex(ParseError, "column 'Betrag' .amount. not found"):
            parse_csv(b"date;value\n", ColumnProfile(date="date", amount="Betrag"), "x.csv")
        with self.assertRaisesRegex(ParseError, "cannot decode as utf-8"):
            parse_csv(
                "date;amount\n01.01.2024;1,00 \xe9\n".encode("latin-1"),
                ColumnProfile(date="date", amount="amount"),
                "x.csv",
            )

    def test_profile_needs_an_amount_column(self):
        with self.assertRaisesRegex(ValueError, "needs 'amount'"):
            ColumnProfile(date=0, debit=1)

    def test_xlsx_with_typed_cells(self):
        profile = ColumnProfile(header_rows=2, date="date", amount="amount", payment_ref="text")
        statement = parse_xlsx(_workbook_bytes(), profile, "export.xlsx")
        assert statement.format == "xlsx"
        assert [(line.date, line.amount, line.payment_ref) for line in statement.lines] == [
            (date(2024, 5, 2), Decimal("2500.1"), "Salary"),
            (date(2024, 5, 3), Decimal("-1200.00"), "Rent"),
            (date(2024, 5, 4), Decimal("12"), "Refund"),
        ]

    def test_xlsx_errors(self):
        profile = ColumnProfile(header_rows=2, date="Date", amount="Text", sheet="Umsätze")
        with self.assertRaisesRegex(ParseError, "row 3, column 'Text': invalid amount 'Salary'"):
            parse_xlsx(_workbook_bytes(), profile, "export.xlsx")
        with self.assertRaisesRegex(ParseError, "no sheet 'Other'"):
            parse_xlsx(_workbook_bytes(), ColumnProfile(amount=1, sheet="Other"), "e.xlsx")
        with self.assertRaisesRegex(ParseError, "not an XLSX file"):
            parse_xlsx(b"date;amount\n", ColumnProfile(amount=1), "e.xlsx")
