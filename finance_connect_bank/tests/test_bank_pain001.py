"""pain.001 credit transfer initiation: XSD-valid output, sums, SEPA text."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from odoo.addons.finance_connect.lib import xmlsafe
from odoo.addons.finance_connect_bank.lib import pain001
from odoo.addons.finance_connect_bank.lib.pain001 import CreditTransfer, PaymentBatch
from odoo.tests import BaseCase, tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MISSING = f"the shared fixtures folder is missing: {SHARED} (expected beside the clone)"
SCHEMAS = SHARED / "sepaxml_schemas"


def _xsd(version):
    path = SCHEMAS / f"pain.{version}.xsd"
    if not path.is_file():
        raise AssertionError(MISSING)
    return path


def _batch(**overrides):
    values = {
        "message_id": "MSG-2024-0001",
        "created_at": datetime(2024, 5, 1, 10, 30, 15, 123456),
        "initiating_party_name": "Müller & Söhne GmbH",
        "debtor_name": "Müller & Söhne GmbH",
        "debtor_iban": "DE89 3704 0044 0532 0130 00",
        "debtor_bic": "COBADEFFXXX",
        "requested_date": date(2024, 5, 2),
        "payments": [
            CreditTransfer(
                end_to_end_id="INV-1001",
                amount=Decimal("1234.50"),
                currency="EUR",
                creditor_name="Zoë Ærø SARL",
                creditor_iban="FR1420041010050500013M02606",
                creditor_bic="PSSTFRPPLIL",
                remittance="Facture n° 1001 — merci",
                creditor_address={
                    "street": "Rue de la Paix",
                    "building_number": "1",
                    "postal_code": "75002",
                    "town": "Paris",
                    "country": "fr",
                },
            ),
            CreditTransfer(
                end_to_end_id="INV-1002",
                amount=Decimal("0.05"),
                currency="EUR",
                creditor_name="Acme Ltd",
                creditor_iban="GB29NWBK60161331926819",
                structured_reference="RF18 5390 0754 7034",
            ),
            CreditTransfer(
                end_to_end_id="INV-1003",
                amount=Decimal("99.9"),
                currency="EUR",
                creditor_name="Bank Account Holder",
                creditor_iban="NL91ABNA0417164300",
                remittance="x" * 200,
            ),
        ],
    }
    values.update(overrides)
    return PaymentBatch(**values)


def _tree(batch, version):
    root = xmlsafe.parse_xml(pain001.build_pain001(batch, version))
    return xmlsafe.strip_namespaces(root)


@tagged("post_install", "-at_install")
class TestPain001(BaseCase):
    def test_output_validates_against_the_xsd(self):
        for version in ["001.001.09", "001.001.03"]:
            with self.subTest(version=version):
                xml = pain001.build_pain001(_batch(), version)
                root = xmlsafe.parse_xml(xml)
                assert root.nsmap[None] == f"urn:iso:std:iso:20022:tech:xsd:pain.{version}"
                assert xmlsafe.validate_xsd(root, _xsd(version)) == []

    def test_control_sum_and_counts(self):
        for version in ["001.001.09", "001.001.03"]:
            with self.subTest(version=version):
                root = _tree(_batch(), version)
                amounts = [Decimal(e.text) for e in root.iter("InstdAmt")]
                assert [e.text for e in root.iter("InstdAmt")] == ["1234.50", "0.05", "99.90"]
                for header in ("CstmrCdtTrfInitn/GrpHdr", "CstmrCdtTrfInitn/PmtInf"):
                    assert Decimal(root.find(f"{header}/CtrlSum").text) == sum(amounts)
                    assert root.find(f"{header}/CtrlSum").text == "1334.45"
                    assert root.find(f"{header}/NbOfTxs").text == "3"

    def test_version_specific_parts(self):
        v09 = _tree(_batch(), "001.001.09")
        v03 = _tree(_batch(), "001.001.03")
        info = "CstmrCdtTrfInitn/PmtInf"
        assert v09.find(f"{info}/ReqdExctnDt/Dt").text == "2024-05-02"
        assert v03.find(f"{info}/ReqdExctnDt").text == "2024-05-02"
        assert v09.find(f"{info}/DbtrAgt/FinInstnId/BICFI").text == "COBADEFFXXX"
        assert v03.find(f"{info}/DbtrAgt/FinInstnId/BIC").text == "COBADEFFXXX"
        assert v09.find("CstmrCdtTrfInitn/GrpHdr/CreDtTm").text == "2024-05-01T10:30:15"

    def test_text_is_transliterated_and_truncated(self):
        batch = _batch(
            debtor_name="D" * 100,
            payments=[
                CreditTransfer(
                    end_to_end_id="E" * 50,
                    amount=Decimal("1.00"),
                    currency="EUR",
                    creditor_name="Ærø & Co. — Straße",
                    creditor_iban="NL91ABNA0417164300",
                    remittance="é" * 150,
                )
            ],
        )
        root = _tree(batch, "001.001.09")
        transaction = root.find("CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf")
        assert root.find("CstmrCdtTrfInitn/PmtInf/Dbtr/Nm").text == "D" * 70
        assert transaction.find("PmtId/EndToEndId").text == "E" * 35
        assert transaction.find("Cdtr/Nm").text == "AEro + Co. Strasse"
        assert transaction.find("RmtInf/Ustrd").text == "e" * 140
        assert (
            xmlsafe.validate_xsd(
                xmlsafe.parse_xml(pain001.build_pain001(batch)), _xsd("001.001.09")
            )
            == []
        )

    def test_structured_reference_and_missing_debtor_bic(self):
        root = _tree(_batch(debtor_bic=None), "001.001.03")
        info = root.find("CstmrCdtTrfInitn/PmtInf")
        assert info.find("DbtrAgt/FinInstnId/Othr/Id").text == "NOTPROVIDED"
        reference = info.findall("CdtTrfTxInf")[1].find("RmtInf/Strd/CdtrRefInf")
        assert reference.find("Ref").text == "RF18539007547034"
        assert reference.find("Tp/CdOrPrtry/Cd").text == "SCOR"
        assert reference.find("Tp/Issr").text == "ISO"
        assert info.findall("CdtTrfTxInf")[1].find("RmtInf/Ustrd") is None
        address = info.find("CdtTrfTxInf/Cdtr/PstlAdr")
        assert [(e.tag, e.text) for e in address] == [
            ("StrtNm", "Rue de la Paix"),
            ("BldgNb", "1"),
            ("PstCd", "75002"),
            ("TwnNm", "Paris"),
            ("Ctry", "FR"),
        ]

    def test_invalid_payments_are_refused(self):
        for change, message in [
            ({"amount": Decimal("1.005")}, "at most 2 decimals"),
            ({"amount": Decimal("0")}, "must be positive"),
            ({"creditor_iban": "DE89370400440532013001"}, "invalid creditor IBAN"),
            ({"creditor_bic": "NOT A BIC"}, "invalid creditor BIC"),
            ({"creditor_name": "¿¿¿"}, "Cdtr name is empty"),
        ]:
            with self.subTest(change=change, message=message):
                payment = {
                    "end_to_end_id": "E2E",
                    "amount": Decimal("10.00"),
                    "currency": "EUR",
                    "creditor_name": "Acme",
                    "creditor_iban": "NL91ABNA0417164300",
                }
                payment.update(change)
                with self.assertRaisesRegex(ValueError, message):
                    pain001.build_pain001(_batch(payments=[CreditTransfer(**payment)]))

    def test_unknown_version_and_empty_batch_are_refused(self):
        with self.assertRaisesRegex(ValueError, "unsupported pain.001 version"):
            pain001.build_pain001(_batch(), "001.001.12")
        with self.assertRaisesRegex(ValueError, "at least one payment"):
            pain001.build_pain001(_batch(payments=[]))

    def test_iban_check(self):
        assert pain001.iban_is_valid("DE89 3704 0044 0532 0130 00")
        assert not pain001.iban_is_valid("DE89 3704 0044 0532 0130 01")
        assert pain001.sepa_text("Łódź & Göteborg", 70) == "Lodz + Goeteborg"
