"""camt as banks send it: the quirks of issue 12, on files the project writes itself.

- ``camt053_schema_deviations.xml``: correct in what the parser reads, off the
  camt.053.001.02 XSD in two other places (a written-out country, an
  over-long AddtlNtryInf): the parser reads it, the validation names both;
- ``camt053_charges.xml``: entries whose TxDtls add up to more than the
  booked amount (charges deducted): one line of the booked amount each, the
  difference kept;
- ``camt053_v08.xml``: camt.053.001.08, alone and inside a ZIP archive.
"""

import io
import zipfile
from decimal import Decimal
from pathlib import Path

from odoo.addons.finance_connect_bank.lib import camt, detect
from odoo.tests import BaseCase, tagged

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "bank"
XSD = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "genkgo_camt" / "assets"


def _xsd():
    """The corpus XSD folder (camt.053.001.02 and .08); fails when it is missing."""
    if not (XSD / "camt.053.001.08.xsd").is_file():
        raise AssertionError(f"the shared fixtures XSD folder is missing: {XSD}")
    return XSD


def _read(name):
    return (DATA / name).read_bytes()


@tagged("post_install", "-at_install")
class TestCamtQuirks(BaseCase):
    def test_schema_deviations_outside_what_is_read_are_named_and_the_file_parses(self):
        data = _read("camt053_schema_deviations.xml")
        errors = camt.validate(data, _xsd())
        assert len(errors) == 2
        assert errors[0].startswith("line 44: ") and "'Germany'" in errors[0]
        assert errors[1].startswith("line 60: ") and "500" in errors[1]
        (statement,) = camt.parse_camt(data, "deviations.xml")
        assert statement.balance_difference() == 0
        credit, debit = statement.lines
        assert (credit.amount, credit.partner_name) == (Decimal("250.25"), "Kunde Muster AG")
        assert debit.amount == Decimal("-25.00")
        assert debit.payment_ref.startswith("Sammelgutschrift Kartenzahlungen")

    def test_entries_whose_details_do_not_add_up_keep_the_booked_amount_and_the_difference(self):
        data = _read("camt053_charges.xml")
        assert camt.validate(data, _xsd()) == []
        (statement,) = camt.parse_camt(data, "charges.xml")
        assert statement.balance_difference() == 0
        single, batch, plain = statement.lines
        assert single.amount == Decimal("98.50")
        assert single.raw["details_total"] == Decimal("100.00")
        assert single.raw["detail_difference"] == Decimal("-1.50")
        # A batch whose parts do not add up is not split: one line, the difference kept.
        assert batch.amount == Decimal("297.00")
        assert batch.raw["detail_difference"] == Decimal("-3.00")
        assert "Invoice 2023-0053" in batch.payment_ref
        assert plain.amount == Decimal("-50.00")
        assert "detail_difference" not in plain.raw

    def test_a_return_whose_details_keep_the_original_direction_is_not_flagged(self):
        # The debit's TxDtls with its amount and the opposite indicator (camt.053.001.04+).
        text = _read("camt053_charges.xml").decode().replace("camt.053.001.02", "camt.053.001.04")
        text = text.replace(
            '<AmtDtls><TxAmt><Amt Ccy="EUR">50.00</Amt></TxAmt></AmtDtls>',
            '<Amt Ccy="EUR">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>',
        )
        (statement,) = camt.parse_camt(text.encode(), "return.xml")
        assert "detail_difference" not in statement.lines[2].raw

    def test_camt053_v08_alone_and_in_a_zip_archive(self):
        data = _read("camt053_v08.xml")
        assert camt.detect_camt(data) == ("camt.053", "08")
        assert camt.validate(data, _xsd()) == []
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("2023-03-04_C53_DE89370400440532013000_EUR_000063.xml", data)
        assert detect.detect_format(buffer.getvalue()) == "zip"
        (statement,) = detect.parse_any(buffer.getvalue(), "camt53.zip")
        assert (statement.format, statement.raw["version"]) == ("camt.053", "08")
        assert statement.account_iban == "DE89370400440532013000"
        assert statement.opening_balance == Decimal("725.25")  # PRCD
        assert statement.balance_difference() == 0
        assert [line.partner_name for line in statement.lines] == [
            "Kunde Beispiel GmbH",
            "Lieferant KG",
        ]
