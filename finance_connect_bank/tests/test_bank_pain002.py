"""pain.002 payment status reports: PostFinance (Swiss .ch.02) files and ISO."""

from datetime import datetime
from pathlib import Path

from odoo.addons.finance_connect_bank.lib import pain002
from odoo.addons.finance_connect_bank.lib.model import ParseError
from odoo.tests import BaseCase, tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MISSING = f"the shared fixtures folder is missing: {SHARED} (expected beside the clone)"
MOOV = SHARED / "moov_iso20022" / "testdata"

# file: (original message id, group status, [(level, status, reason, text, e2e)])
POSTFINANCE = {
    "pain002-chdd-cor1_p_ch2909000000250094239_1110097483_0_2018031317221082.xml": (
        "MsgId-CHDD-Musterfile",
        None,
        [("payment", "ACCP", None, None, None)],
    ),
    "pain002-epo_p_0_0_0_2018031510491259.xml": (
        "MsgId-001",
        "ACTC",
        [("group", "ACTC", None, None, None)],
    ),
    "pain002-epo_p_0_0_0_2018032614401842.xml": (
        "MsgId-005",
        "RJCT",
        [("group", "RJCT", "AM10", "904114;ControlSum fehlerhaft", None)],
    ),
    "pain002-epo_p_ch2909000000250094239_1109800799_0_2018032612092784.xml": (
        "MsgId-006",
        None,
        [
            (
                "payment",
                "RJCT",
                "NARR",
                "1297193;Sammelauftrag ohne ausführbaren Einzelauftrag",
                None,
            ),
            (
                "transaction",
                "RJCT",
                "AC01",
                "1301813;Konto ungültig",
                "EndToEndId-006-01-01",
            ),
        ],
    ),
    "pain002-epo_p_ch5109000000250092291_1110097605_0_2018031511252307.xml": (
        "MsgId-001",
        None,
        [
            ("payment", "PART", None, None, None),
            (
                "transaction",
                "RJCT",
                "AC01",
                "1301813;Konto ungültig",
                "EndToEndId-001-03-04",
            ),
        ],
    ),
}


def _read(name):
    if not MOOV.is_dir():
        raise AssertionError(MISSING)
    return (MOOV / name).read_bytes()


@tagged("post_install", "-at_install")
class TestPain002(BaseCase):
    def test_postfinance_list_covers_every_pain002_file(self):
        if not MOOV.is_dir():
            self.fail(MISSING)
        assert {p.name for p in MOOV.glob("pain002*.xml")} == set(POSTFINANCE)

    def test_postfinance_status_reports(self):
        for name in sorted(POSTFINANCE):
            with self.subTest(name=name):
                report = pain002.parse_pain002(_read(name), name)
                original_id, group_status, statuses = POSTFINANCE[name]
                assert report.version == "001.001.03.ch.02"
                assert report.original_message_id == original_id
                assert report.group_status == group_status
                assert [
                    (s.level, s.status, s.reason_code, s.reason_text, s.original_end_to_end_id)
                    for s in report.statuses
                ] == statuses

    def test_transaction_status_carries_all_original_ids(self):
        name = "pain002-epo_p_ch2909000000250094239_1109800799_0_2018032612092784.xml"
        report = pain002.parse_pain002(_read(name), name)
        transaction = report.statuses[-1]
        assert transaction.original_instruction_id == "InstrId-006-01-01"
        assert transaction.original_payment_information_id == "PmtInfId-006-01"
        assert transaction.reason_description == "Incorrect account number"
        assert report.created_at == datetime(2018, 3, 26, 12, 9, 48)
        assert report.message_id == "20180326375204011678275"
        assert [s.level for s in report.rejected()] == ["payment", "transaction"]

    def test_iso_version_11_without_statuses(self):
        report = pain002.parse_pain002(_read("valid_pain_v11.xml"), "valid_pain_v11.xml")
        assert report.version == "001.001.11"
        assert report.original_message_id == "OrgnlMsgId"
        assert report.statuses == []

    def test_document_without_namespace_is_refused(self):
        with self.assertRaisesRegex(ParseError, "not a pain.002 document"):
            pain002.parse_pain002(_read("invalid_pain_v11.xml"), "invalid_pain_v11.xml")

    def test_malformed_xml_is_refused_with_file_name(self):
        with self.assertRaises(ParseError) as caught:
            pain002.parse_pain002(_read("invalid_file2"), "invalid_file2")
        assert str(caught.exception).startswith("invalid_file2: malformed XML at line")

    def test_all_three_levels_in_version_10(self):
        data = b"""<?xml version="1.0" encoding="UTF-8"?>
    <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
     <CstmrPmtStsRpt>
      <GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2024-05-02T08:00:00+02:00</CreDtTm></GrpHdr>
      <OrgnlGrpInfAndSts>
       <OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
       <GrpSts>PART</GrpSts>
      </OrgnlGrpInfAndSts>
      <OrgnlPmtInfAndSts>
       <OrgnlPmtInfId>PMT-1</OrgnlPmtInfId><PmtInfSts>PART</PmtInfSts>
       <TxInfAndSts>
        <OrgnlEndToEndId>E2E-1</OrgnlEndToEndId><TxSts>ACSC</TxSts>
       </TxInfAndSts>
       <TxInfAndSts>
        <OrgnlInstrId>I-2</OrgnlInstrId><OrgnlEndToEndId>E2E-2</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AM04</Cd></Rsn><AddtlInf>Balance</AddtlInf>
         <AddtlInf>too low</AddtlInf></StsRsnInf>
       </TxInfAndSts>
      </OrgnlPmtInfAndSts>
     </CstmrPmtStsRpt>
    </Document>"""
        report = pain002.parse_pain002(data, "status.xml")
        assert report.version == "001.001.10"
        assert report.created_at.isoformat() == "2024-05-02T08:00:00+02:00"
        assert [(s.level, s.status, s.original_end_to_end_id) for s in report.statuses] == [
            ("group", "PART", None),
            ("payment", "PART", None),
            ("transaction", "ACSC", "E2E-1"),
            ("transaction", "RJCT", "E2E-2"),
        ]
        rejected = report.statuses[-1]
        assert (rejected.reason_code, rejected.reason_text) == ("AM04", "Balance too low")
        assert rejected.reason_description == "Insufficient funds"

    def test_reason_codes(self):
        assert len(pain002.REASON_CODES) >= 30
        expected = {
            "AC01": "Incorrect account number",
            "AC04": "Closed account number",
            "AC06": "Blocked account",
            "AG01": "Transaction forbidden",
            "AM04": "Insufficient funds",
            "AM05": "Duplication",
            "BE05": "Unrecognised initiating party",
            "FF01": "Invalid file format",
            "MD07": "End customer deceased",
            "MS02": "Not specified reason customer generated",
            "MS03": "Not specified reason agent generated",
            "RC01": "Bank identifier incorrect",
            "DT01": "Invalid date",
        }
        for code, words in expected.items():
            assert pain002.describe_reason(code) == words
        for code in ("RR01", "RR02", "RR03", "RR04", "CH03", "NARR"):
            assert code in pain002.REASON_CODES
        assert "regulatory" in pain002.describe_reason("rr04").lower()
        assert pain002.describe_reason("ZZ99") == "Unknown reason code ZZ99"
        assert pain002.describe_reason(None) == ""
