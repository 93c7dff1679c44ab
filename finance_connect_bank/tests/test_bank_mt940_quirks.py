"""MT940 as banks send it: the quirks of issue 12, on files the project writes itself.

``tests/data/bank/mt940_quirks.sta`` holds two statements of one account in
one SWIFT message: ``:25:`` with the currency after the IBAN (without, then
with a space), ``:86:`` wrapped at 65 characters counted with the tag, where a
wrapped line holds only ``/`` (the end of a ``/REMI/`` field) or only ``-``
(``EUR 1.234,-``), and ``:61:`` lines without entry date, customer reference,
transaction type or bank reference; ``mt940_optional_61.sta`` has more such
``:61:`` lines (no entry date, no type, only a bank reference, spaces for the
entry date).
"""

from decimal import Decimal
from pathlib import Path

from odoo.addons.finance_connect_bank.lib import mt940
from odoo.addons.finance_connect_bank.lib.model import ParseError
from odoo.tests import BaseCase, tagged

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "bank"
QUIRKS = DATA / "mt940_quirks.sta"
OPTIONAL_61 = DATA / "mt940_optional_61.sta"


def _statements():
    return mt940.parse_mt940(QUIRKS.read_bytes(), QUIRKS.name)


@tagged("post_install", "-at_install")
class TestMt940Quirks(BaseCase):
    def test_several_statements_with_dash_lines_inside_the_details(self):
        first, second = _statements()
        assert [s.statement_id for s in (first, second)] == ["P230103000000001", "P230104000000001"]
        assert [len(first.lines), len(second.lines)] == [3, 2]
        assert [first.balance_difference(), second.balance_difference()] == [0, 0]
        assert second.opening_balance == first.closing_balance == Decimal("2191.50")
        rent = first.lines[2]
        assert rent.amount == Decimal("1234.00")
        assert rent.payment_ref == (
            "BETALING HUUR KANTOOR JANUARI 2023 KENMERK 98765432109 VOOR HET PAND AAN DE "
            "HOOFDSTRAAT 1 TE AMSTERDAM NOORD TOTAAL EUR 1.234,-"
        )

    def test_wrapped_structured_details_with_a_lone_slash_line(self):
        line = _statements()[0].lines[0]
        assert line.amount == Decimal("-12.50")
        assert line.end_to_end_id == "E2E-20230103-0001"
        assert line.partner_name == "ACME BV"
        assert line.partner_iban == "NL39RABO0300065264"
        assert line.partner_bic == "RABONL2U"
        assert line.payment_ref == (
            "INVOICE 2023-0001 AND 2023-0002 ORDER 987654321098 PAID IN FULL BY ACME BV "
            "AMSTERDAM WITH THANKS FOR YOUR CUSTOM"
        )

    def test_currency_after_the_account_number(self):
        for position in [0, 1]:
            with self.subTest(position=position):
                statement = _statements()[position]
                assert statement.account_iban == "NL91ABNA0417164300"
                assert statement.account_number == "NL91ABNA0417164300"
                assert statement.raw["account_currency"] == "EUR"
                assert statement.lines[0].import_id("j").startswith("j:NL91ABNA0417164300:")

    def test_account_currency_suffix_variants(self):
        for account, iban, number in [
            # checksum valid without the letters, the balances in another currency
            ("NL91ABNA0417164300USD", "NL91ABNA0417164300", "NL91ABNA0417164300"),
            # a valid IBAN ending in its currency is never cut (Mauritius)
            ("MU17BOMM0101101030300200000MUR", "MU17BOMM0101101030300200000MUR", None),
            # bank code / account number, then the currency
            ("51210600/9223382012EUR", None, "51210600/9223382012"),
            ("51210600/9223382012 EUR", None, "51210600/9223382012"),
            # no currency at all
            ("NL91ABNA0417164300", "NL91ABNA0417164300", "NL91ABNA0417164300"),
        ]:
            with self.subTest(account=account, iban=iban, number=number):
                data = (
                    f":20:S1\n:25:{account}\n:28C:1\n:60F:C230102EUR10,00\n"
                    ":61:230103C1,00NTRFNONREF\n:86:X\n:62F:C230103EUR11,00\n"
                ).encode()
                (statement,) = mt940.parse_mt940(data, "account.sta")
                assert statement.account_iban == iban
                assert statement.account_number == (number or account)

    def test_statement_lines_with_optional_subfields_missing(self):
        (statement,) = mt940.parse_mt940(OPTIONAL_61.read_bytes(), OPTIONAL_61.name)
        amounts = [line.amount for line in statement.lines]
        assert amounts == [Decimal(a) for a in ("10.00", "-2", "3.50", "-1.00", "0.50", "0.25")]
        assert statement.balance_difference() == 0
        assert [line.account_servicer_reference for line in statement.lines][3] == "BANK-REF-4"
        assert statement.lines[2].bank_transaction_code == "NTRF"
        assert statement.lines[5].payment_ref == "CHARGES"
        ids = [line.import_id("j") for line in statement.lines]
        assert len(set(ids)) == len(ids)

    def test_a_dash_line_ends_the_statement_before_the_next_one(self):
        # A lone "-" after :86: followed by :20: is the message terminator.
        data = (
            b":20:A\n:25:NL91ABNA0417164300\n:60F:C230102EUR0,00\n:61:230103C1,00\n:86:ONE\n"
            b"-\n:20:B\n:25:NL91ABNA0417164300\n:60F:C230103EUR1,00\n:62F:C230103EUR1,00\n-\n"
        )
        first, second = mt940.parse_mt940(data, "two.sta")
        assert first.lines[0].payment_ref == "ONE"
        assert (first.closing_balance, second.statement_id) == (None, "B")

    def test_a_dash_line_after_the_closing_balance_still_ends_the_statement(self):
        data = (
            b":20:A\n:25:NL91ABNA0417164300\n:60F:C230102EUR0,00\n:62F:C230102EUR0,00\n"
            b":86:INFO\n-\n:61:230103C1,00\n"
        )
        with self.assertRaises(ParseError) as caught:
            mt940.parse_mt940(data, "late.sta")
        assert (
            str(caught.exception)
            == "late.sta, line 7: :61: outside a statement (no :20: before it)"
        )

    def test_free_text_wrapped_at_another_fixed_width(self):
        # Three lines wrapped at 40 characters (with the tag) join without spaces.
        text = "ZAHLUNG RECHNUNG 4711 VOM 03.01.2023 KUNDENNUMMER 99887766 BESTELLUNG 12"
        lines = [text[:36], text[36:76], text[76:]]
        data = (
            ":20:W\n:25:NL91ABNA0417164300\n:60F:C230102EUR0,00\n:61:230103C1,00\n:86:"
            + "\n".join(lines)
            + "\n:62F:C230103EUR1,00\n"
        ).encode()
        (statement,) = mt940.parse_mt940(data, "width.sta")
        assert statement.lines[0].payment_ref == text
