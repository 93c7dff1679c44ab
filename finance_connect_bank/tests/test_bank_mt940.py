"""MT940/MT942 parsing against the wolph/mt940 corpus in ../shared/fixtures.

Every corpus file has an expected outcome below: parsed (statement count, line
count, sum of line amounts) or refused with a ParseError naming the file. The
counts, amounts and value dates of the parsed files agree with the expected
outputs of the upstream library (wolph/mt940, its ``.yml`` files, which are not
copied here), except for the ``RC`` (reversal of credit) lines of
``sepa_mt9401.sta``: upstream books them as credits, the SWIFT rule (and the
file's own balances) make them debits.
"""

import functools
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect_bank.lib import mt940
from odoo.addons.finance_connect_bank.lib.model import ParseError
from odoo.tests import BaseCase, tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MISSING = f"the shared fixtures folder is missing: {SHARED} (expected beside the clone)"
CORPUS = SHARED / "mt940_wolph"
NO_20 = "no MT940/MT942 statement found (no :20: tag)"
EMPTY = "statement {!r} has neither balances nor transactions"

# file: (statements, lines, sum of amounts) when parsed, else the refusal message
EXPECTED = {
    "ASNB/mt940.txt": (31, 8, "56.94"),
    "ASNB/mt940_with_spaces_for_entry_date.txt": (31, 8, "56.94"),
    "betterplace/amount_formats.sta": NO_20,
    "betterplace/currency_in_25.sta": NO_20,
    "betterplace/empty_86.sta": NO_20,
    "betterplace/empty_entry_date.sta": NO_20,
    "betterplace/empty_line.sta": EMPTY.format("TELEREPORTING"),
    "betterplace/missing_crlf_at_end.sta": NO_20,
    "betterplace/sepa_mt9401.sta": (26, 97, "-9269135.90"),
    "betterplace/sepa_snippet.sta": (2, 11, "-2143323.39"),
    "betterplace/sepa_snippet_broken.sta": (
        ":25: after the transactions of statement 'T089414086000001'"
    ),
    "betterplace/with_binary_character.sta": (2, 4, "-179066.75"),
    "citi/mt940.txt": (1, 5, "-1142.75"),
    "cmxl/account_balance_credit.sta": NO_20,
    "cmxl/account_balance_debit.sta": NO_20,
    "cmxl/account_identification_iban.sta": NO_20,
    "cmxl/account_identification_legacy.sta": NO_20,
    "cmxl/available_balance.sta": NO_20,
    "cmxl/closing_balance.sta": NO_20,
    "cmxl/mt940.sta": (3, 16, "12327.30"),
    "cmxl/reference.sta": EMPTY.format("D140902049"),
    "cmxl/statement_details.sta": NO_20,
    "cmxl/statement_line.sta": NO_20,
    "cmxl/statement_number.sta": NO_20,
    "jejik/abnamro.sta": (2, 10, "-345.93"),
    "jejik/generic.sta": (2, 2, "-20.00"),
    "jejik/ing.sta": (1, 7, "-45.59"),
    "jejik/knab.sta": (2, 3, "-6260"),
    "jejik/postfinance.sta": (2, 4, "159.4"),
    "jejik/rabobank-iban.sta": (2, 4, "-70.00"),
    "jejik/rabobank.sta": (4, 5, "-1589.09"),
    "jejik/sns.sta": (2, 2, "-25.00"),
    "jejik/triodos.sta": (1, 2, "-715.70"),
    "mBank/mt940.sta": (1, 3, "0.03"),
    "mBank/mt942.sta": (1, 3, "0.03"),
    "mBank/with_newline_in_tnr.sta": (1, 2, "89.00"),
    "sberbank/171011_01234945.sta": (1, 3, "-9437.00"),
    "self-provided/account_identification.sta": EMPTY.format("0003478756"),
    "self-provided/details_60-63.sta": (1, 1, "-233.15"),
    "self-provided/empty_non_swift.sta": NO_20,
    "self-provided/february_30.sta": (1, 1, "-6.00"),
    "self-provided/gv_codes.sta": (1, 2, "-257.45"),
    "self-provided/invalid_statement.sta": NO_20,
    "self-provided/long_statement_number.sta": (1, 0, "0"),
    "self-provided/malformed_details.sta": (1, 1, "-233.15"),
    "self-provided/mt942.sta": (1, 1, "-0.42"),
    "self-provided/multiline.sta": ":61: outside a statement (no :20: before it)",
    "self-provided/overly_long_details.sta": (1, 1, "-233.15"),
    "self-provided/raiffeisen-cmi.sta": (1, 7, "-1012213.50"),
    "self-provided/raphaelm.sta": (3, 9, "95000.00"),
    "self-provided/sparkassen.sta": NO_20,
    "self-provided/transaction_details_wrapped.sta": (1, 1, "-6.00"),
    "self-provided/whitespace.sta": (1, 1, "-233.15"),
    "self-provided/wrapped_timestamp.sta": (1, 1, "-6.00"),
}

# Statements whose opening + lines == closing (the others carry made-up numbers).
BALANCED = {
    "ASNB/mt940.txt",
    "betterplace/sepa_mt9401.sta",
    "betterplace/with_binary_character.sta",
    "citi/mt940.txt",
    "cmxl/mt940.sta",
    "jejik/generic.sta",
    "jejik/rabobank-iban.sta",
    "jejik/sns.sta",
    "mBank/mt940.sta",
    "sberbank/171011_01234945.sta",
    "self-provided/february_30.sta",
    "self-provided/raphaelm.sta",
}


def _need():
    if not CORPUS.is_dir():
        raise AssertionError(MISSING)


def _read(name):
    _need()
    return (CORPUS / name).read_bytes()


def _parse(name):
    return mt940.parse_mt940(_read(name), name)


@functools.cache
def _sample_bytes():
    return _read("betterplace/sepa_snippet.sta")


@tagged("post_install", "-at_install")
class TestMt940(BaseCase):
    def test_expected_outcomes_cover_the_whole_corpus(self):
        _need()
        files = {
            str(p.relative_to(CORPUS))
            for p in CORPUS.rglob("*")
            if p.is_file() and p.name != "LICENSE"
        }
        assert files == set(EXPECTED)
        parsed = [name for name, outcome in EXPECTED.items() if isinstance(outcome, tuple)]
        assert (len(parsed), len(EXPECTED) - len(parsed)) == (32, 22)

    def test_corpus_file_outcome(self):
        for name in sorted(EXPECTED):
            with self.subTest(name=name):
                expected = EXPECTED[name]
                if isinstance(expected, str):
                    with self.assertRaises(ParseError) as caught:
                        _parse(name)
                    assert caught.exception.filename == name
                    assert caught.exception.message == expected
                    assert str(caught.exception).startswith(name)
                    return
                statements = _parse(name)
                count, lines, total = expected
                assert len(statements) == count
                assert sum(len(s.lines) for s in statements) == lines
                amounts = [line.amount for s in statements for line in s.lines]
                assert sum(amounts, Decimal(0)) == Decimal(total)
                assert all(isinstance(a, Decimal) for a in amounts)
                for statement in statements:
                    assert statement.statement_id
                    ids = [line.import_id("bank") for line in statement.lines]
                    assert len(ids) == len(set(ids))
                    if name in BALANCED:
                        assert statement.balance_difference() == 0

    def test_refusals_name_the_line(self):
        with self.assertRaises(ParseError) as caught:
            _parse("self-provided/multiline.sta")
        assert caught.exception.line == 38
        assert "self-provided/multiline.sta, line 38:" in str(caught.exception)

    def test_reversal_of_credit_is_a_debit(self):
        # ':61:0709040904RCR204,88': reversal of a credit (RC), funds code R.
        first = _parse("betterplace/sepa_mt9401.sta")[0]
        reversal = [line for line in first.lines if line.raw["mark"] == "RC"]
        assert [line.amount for line in reversal] == [Decimal("-204.88")]
        assert first.balance_difference() == 0

    def test_february_30_is_read_as_last_day_of_february(self):
        (statement,) = _parse("self-provided/february_30.sta")
        (line,) = statement.lines
        assert line.value_date == date(2016, 2, 29)
        assert line.date == date(2016, 3, 1)  # entry date 0301
        assert line.raw["date_fixups"] == ["160230: February 30 read as February 29"]
        assert line.raw["funds_code"] == "R"
        assert line.amount == Decimal("-6.00")

    def test_other_impossible_dates_are_refused_with_file_and_line(self):
        data = b":20:X\n:25:123\n:60F:C160101EUR1,00\n:61:160431D1,00NTRFNONREF\n"
        with self.assertRaises(ParseError) as caught:
            mt940.parse_mt940(data, "april.sta")
        assert str(caught.exception) == ("april.sta, line 4: invalid date '160431' in :61:")

    def test_german_subfields(self):
        (statement,) = _parse("self-provided/malformed_details.sta")
        (line,) = statement.lines
        assert line.bank_transaction_code == "105"
        assert line.transaction_type == "MSC"
        assert line.partner_name == "Finanzamt Muenchen Abteilung Erhebung"
        assert line.partner_bic == "BYLADEMM"
        assert line.partner_iban == "DE99700500000000012345"
        assert line.end_to_end_id == "123/123/12345-----L1101234567890123"
        assert line.mandate_id == "BYA12345678901"
        assert line.raw["creditor_id"] == "DE99ZZZ00000012345"
        assert line.payment_ref.startswith("STEUERNR 123/123/12345 KOERPST 3VJ.17")

    def test_wrapped_details_keep_colon_lines_as_text(self):
        (statement,) = _parse("self-provided/wrapped_timestamp.sta")
        assert "12-09-2014T16:26:37 Folgenr. 007" in statement.lines[0].payment_ref
        (statement,) = _parse("self-provided/transaction_details_wrapped.sta")
        assert statement.closing_balance == Decimal("1194.00")

    def test_slash_style_details_and_counterparty_iban_line(self):
        first, _second = _parse("jejik/rabobank-iban.sta")
        line = first.lines[0]
        assert first.account_iban == "NL71RABO0123456789"
        assert line.end_to_end_id == "01-01-2013 12:00 0030000987654321"
        assert line.partner_name == "CONTRA ACCOUNT HOLDER"
        assert line.partner_iban == "NL70ABNA0987654321"
        assert first.lines[1].payment_ref == "Reference 201301234"
        assert first.lines[1].partner_name == "JOHN DOE"

    def test_multiline_free_text_and_statement_information(self):
        (statement,) = _parse("jejik/ing.sta")
        assert statement.lines[0].payment_ref.startswith(
            "RC AFREKENING BETALINGSVERKEER BETREFT REKENING 4715589"
        )
        assert statement.raw["information"] == "D000004C000002D25,24C28,71"
        sns = _parse("jejik/sns.sta")[0]
        assert sns.lines[0].payment_ref == "0987654321 marechal s dit is een test"

    def test_references_and_types_from_the_statement_line(self):
        (statement,) = _parse("mBank/mt940.sta")
        line = statement.lines[0]
        assert line.account_servicer_reference == "MB170119012058"
        assert line.bank_transaction_code == "NTRF"
        assert line.raw["supplementary_details"] == "911-TRANSAKCJA IPH"
        assert line.import_id("j") == ("j:PL29114010810000267002001002:MB170119012058")
        knab = _parse("jejik/knab.sta")[1]
        assert knab.lines[1].raw["customer_reference"] == "29-07-2014 10:05"
        assert knab.lines[1].account_servicer_reference == "B4G29PGDCK1QFV3E"

    def test_repeated_bank_reference_falls_back_to_hash_ids(self):
        statement = _parse("cmxl/mt940.sta")[1]
        assert [line.account_servicer_reference for line in statement.lines] == [
            "55555",
            "55555",
        ]
        ids = [line.import_id("j") for line in statement.lines]
        assert len(set(ids)) == 2 and not any(i.endswith(":55555") for i in ids)

    def test_swift_blocks_intraday_and_balances(self):
        statements = _parse("ASNB/mt940.txt")
        assert statements[0].account_iban == "NL81ASNB9999999999"
        assert statements[0].opening_balance == Decimal("444.29")
        assert statements[0].closing_balance == Decimal("379.29")
        (report,) = _parse("mBank/mt942.sta")
        assert (report.kind, report.format) == ("intraday", "mt942")
        assert report.created_at.isoformat() == "2017-01-19T18:15:00+01:00"
        assert report.opening_balance is None
        (raphael, *_rest) = _parse("self-provided/raphaelm.sta")
        assert raphael.closing_balance == Decimal("105000.00")  # :62M: without currency

    def test_line_endings_and_trailing_newline_do_not_matter(self):
        data = _read("jejik/abnamro.sta")
        variants = [
            data,
            data.replace(b"\n", b"\r\n"),
            data.rstrip(b"\n"),
            data.replace(b"\n", b"\r"),
        ]
        results = [
            [(line.amount, line.payment_ref) for s in mt940.parse_mt940(v) for line in s.lines]
            for v in variants
        ]
        assert all(result == results[0] for result in results)

    def test_latin1_file_is_decoded(self):
        (statement,) = _parse("self-provided/raiffeisen-cmi.sta")
        assert statement.currency == "HUF"
        assert statement.lines[0].raw["supplementary_details"].startswith("Csoportos")

    # ---------------------------------------------------------------- robustness

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=True,
    )
    @given(st.data())
    def test_mutated_mt940_parses_or_raises_parse_error(self, data):
        sample_bytes = _sample_bytes()
        position = data.draw(st.integers(0, len(sample_bytes)))
        action = data.draw(st.sampled_from(["truncate", "flip", "delete", "insert"]))
        if action == "truncate":
            mutated = sample_bytes[:position]
        elif action == "flip":
            byte = data.draw(st.integers(0, 255))
            mutated = sample_bytes[:position] + bytes([byte]) + sample_bytes[position + 1 :]
        elif action == "delete":
            mutated = sample_bytes[:position] + sample_bytes[position + 20 :]
        else:
            inserted = data.draw(st.sampled_from([b"\n:61:", b"\n:20:", b"?", b"/", b"\n-"]))
            mutated = sample_bytes[:position] + inserted + sample_bytes[position:]
        try:
            statements = mt940.parse_mt940(mutated, "mutated.sta")
        except ParseError as exc:
            assert exc.filename == "mutated.sta"
        else:
            assert all(isinstance(line.amount, Decimal) for s in statements for line in s.lines)
