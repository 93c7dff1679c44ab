"""camt.052/053/054 parsing against the public corpus in ../shared/fixtures.

genkgo/camt ships a JSON dump of its own parse result beside each test file;
the statements, entries, amounts, dates, balances and references parsed here
must agree with it wherever both sides have the field.
"""

import functools
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect_bank.lib import camt
from odoo.addons.finance_connect_bank.lib.model import (
    ParseError,
    Statement,
    StatementLine,
)
from odoo.tests import BaseCase, tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MISSING = f"the shared fixtures folder is missing: {SHARED} (expected beside the clone)"
GENKGO = SHARED / "genkgo_camt" / "test_data"
MOOV = SHARED / "moov_iso20022" / "testdata"
FFFS_053 = "FI_camt_053_sample.xml.xml"
POSTFINANCE_053 = "camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"
ESR_054 = "200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml"
MINOR_UNIT_EXPONENT = {"JPY": 0}


def _need(path):
    if path is None or not SHARED.is_dir():
        raise AssertionError(MISSING)
    return path


def _files(folder, pattern):
    if not folder.is_dir():
        return [None]  # shared fixtures missing: _need() fails the test
    return sorted(folder.glob(pattern))


def _parse(path):
    return camt.parse_camt(_need(path).read_bytes(), path.name)


def _money(golden):
    exponent = MINOR_UNIT_EXPONENT.get(golden["getCurrency"]["getCode"], 2)
    return Decimal(golden["getAmount"]).scaleb(-exponent)


def _moment(golden):
    return datetime.fromisoformat(golden["0"]) if golden else None


# ---------------------------------------------------------------- golden JSON


def _golden_records(golden):
    records = {r["getId"]: r for r in golden["getRecords"] if isinstance(r, dict)}
    for entry in golden["getEntries"]:
        if isinstance(entry["getRecord"], dict):
            records[entry["getRecord"]["getId"]] = entry["getRecord"]
    return records


def _check_record(statement, record):
    account = record["getAccount"]
    assert (statement.account_iban or statement.account_number) == account["getIdentification"]
    created = _moment(record.get("getCreatedOn"))
    if statement.created_at.tzinfo is None:  # no offset in the file: genkgo says UTC
        created = created.replace(tzinfo=None)
    assert statement.created_at == created
    balances = record.get("getBalances") or []
    for kind, ours in (
        ("opening", statement.opening_balance),
        ("closing", statement.closing_balance),
    ):
        theirs = [_money(b["getAmount"]) for b in balances if b["getType"] == kind]
        assert ours == (theirs[0] if theirs else None), kind
    sequence = record.get("getLegalSequenceNumber") or record.get("getElectronicSequenceNumber")
    assert statement.sequence == sequence


def _check_btc(line, golden):
    domain = golden.get("getDomain") if golden else None
    proprietary = golden.get("getProprietary") if golden else None
    if domain:
        family = domain["getFamily"]
        parts = [domain["getCode"], family["getCode"], family["getSubFamilyCode"]]
        assert line.bank_transaction_code == "/".join(parts)
    elif proprietary:
        assert line.bank_transaction_code == proprietary["getCode"]


def _check_date(ours_date, ours_moment, golden):
    if golden is None:
        assert ours_date is None
    elif ours_moment is not None:
        assert ours_moment == _moment(golden)
    else:
        assert ours_date == _moment(golden).date()


def _check_details(line, details, sign, own_account):
    reference = details.get("getReference") or {}
    assert line.end_to_end_id == reference.get("getEndToEndId")
    assert line.mandate_id == reference.get("getMandateId")
    assert line.raw["uetr"] == reference.get("getUuidEndToEndReference")
    remittance = details.get("getRemittanceInformation") or {}
    if remittance.get("getMessage"):
        assert remittance["getMessage"] in line.payment_ref
    creditor_ref = remittance.get("getCreditorReferenceInformation")
    if creditor_ref:
        assert line.creditor_reference == creditor_ref["getRef"]
    parties = [p for p in details.get("getRelatedParties") or [] if isinstance(p, dict)]
    names = {p["getRelatedPartyType"]["getName"] for p in parties}
    accounts = {(p.get("getAccount") or {}).get("getIdentification") for p in parties}
    if line.partner_name:
        assert line.partner_name in names
    if line.partner_iban or line.raw["partner_account"]:
        assert (line.partner_iban or line.raw["partner_account"]) in accounts
    others = [
        p["getRelatedPartyType"]["__CLASS__"].rsplit("\\", 1)[-1]
        for p in parties
        if (p.get("getAccount") or {}).get("getIdentification") != own_account
    ]
    if {"Debtor", "Creditor"} & set(others):
        assert line.partner_name, f"expected a counterparty among {others}"
    else:  # the only party is the account holder: no partner is named
        assert line.partner_name is None


def _check_entry(statement, entry):
    lines = [line for line in statement.lines if line.raw["entry_index"] == entry["getIndex"]]
    assert lines, f"entry {entry['getIndex']} of {statement.statement_id} not parsed"
    sign = 1 if entry["getCreditDebitIndicator"] == "CRDT" else -1
    assert sum(line.amount for line in lines) == _money(entry["getAmount"])
    assert (lines[0].amount > 0) == (sign > 0) or lines[0].amount == 0
    line = lines[0]
    assert line.currency == entry["getAmount"]["getCurrency"]["getCode"]
    assert line.raw["status"] == entry["getStatus"]
    assert line.raw["reversal"] == entry["getReversalIndicator"]
    assert line.entry_reference == entry["getReference"]
    if len(lines) == 1:
        details_ref = (entry["getTransactionDetail"] or {}).get("getReference") or {}
        assert line.account_servicer_reference == (
            entry["getAccountServicerReference"] or details_ref.get("getAccountServicerReference")
        )
    _check_date(line.raw["booking_date"], line.raw["booking_datetime"], entry["getBookingDate"])
    _check_date(line.value_date, None, entry["getValueDate"])
    _check_btc(line, entry["getBankTransactionCode"])
    if entry["getTransactionDetail"]:
        _check_details(line, entry["getTransactionDetail"], sign, statement.account_key)


def _golden_pairs():
    if not GENKGO.is_dir():
        return [None]  # shared fixtures missing: _need() fails the test
    return sorted(GENKGO.glob("*.json"))


# Opening + entries - closing of every genkgo camt.053 file (None: no balance pair).
GENKGO_053_DIFFERENCES = {
    "camt053.v2.all-balance-types.xml": Decimal("5.82"),
    "camt053.v2.five.decimals.xml": Decimal("-0.05"),
    "camt053.v2.minimal.xml": Decimal("54.00"),
    "camt053.v2.minimal.ultimate.xml": Decimal("54.00"),
    "camt053.v2.multi.statement.xml": Decimal("0"),
    "camt053.v2.with-account-name.xml": None,
    "camt053.v2.with-party-ids.xml": Decimal("54.00"),
    "camt053.v3.xml": Decimal("54.00"),
    "camt053.v4.xml": Decimal("54.00"),
    "camt053.v8.xml": Decimal("54.00"),
    "camt53.only-Dt-with-DtTm.xml": None,
}


MOOV_CAMT_FILES = [
    "200519_camt.052_P_CH2909000000250094239_1110092686_0_2019042416072347.xml",
    "200519_camt.054-Credit_P_CH2909000000250094239_1110092691_0_2019042421291293.xml",
    "200519_camt.054-Debit_P_CH2909000000250094239_1110092692_0_2019042401501580.xml",
    "200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727.xml",
    ESR_054,
    "200519_camt054-chdd_p_ch2909000000250094239_1110097484_0_20190520700381159.xml",
    "200519_camt054-epo_p_ch5109000000250092291_1110097605_0_2019052003522556.xml",
    "200519_camt054-epo_p_ch5109000000250092291_1110097605_0_2019052103322231.xml",
    "200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml",
    "200924_camt.054_P_CH2909000000250094239_1110092703_0_2019042423412214.xml",
    "200924_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727.xml",
    "FI_camt_052_sample.xml.xml",
    FFFS_053,
    "FI_camt_054_sample.xml.xml",
    POSTFINANCE_053,
    "camt054-returns_p_ch5109000000250092291_1110097606_0_2020112500512470.xml",
    "statement_1.xml",
]


@functools.cache
def _fffs_bytes():
    return _need(MOOV / FFFS_053).read_bytes()


@tagged("post_install", "-at_install")
class TestCamt(BaseCase):
    def test_genkgo_file_matches_golden_json(self):
        for golden_path in _golden_pairs():
            with self.subTest(golden_path=golden_path):
                golden = json.loads(_need(golden_path).read_text())
                statements = _parse(golden_path.with_suffix(".xml"))
                by_id = {s.statement_id: s for s in statements}
                records = _golden_records(golden)
                assert set(records) <= set(by_id)
                for record_id, record in records.items():
                    _check_record(by_id[record_id], record)
                    entries = [
                        e
                        for e in golden["getEntries"]
                        if isinstance(e["getRecord"], dict) and e["getRecord"]["getId"] == record_id
                    ]
                    assert len({line.raw["entry_index"] for line in by_id[record_id].lines}) == len(
                        entries
                    )
                    for entry in entries:
                        _check_entry(by_id[record_id], entry)

    def test_genkgo_corpus_is_complete(self):
        _need(GENKGO)
        xml_files = {p.stem for p in GENKGO.glob("*.xml")}
        json_files = {p.stem for p in GENKGO.glob("*.json")}
        assert len(xml_files) == 26
        assert xml_files - json_files == {"camt053.v2.wrong"}

    def test_genkgo_invalid_file_is_refused(self):
        with self.assertRaises(ParseError) as caught:
            _parse(GENKGO / "camt053.v2.wrong.xml")
        assert caught.exception.filename == "camt053.v2.wrong.xml"
        assert "contains no <Stmt>" in str(caught.exception)

    def test_genkgo_multi_statement_file_gives_two_statements(self):
        statements = _parse(GENKGO / "camt053.v2.multi.statement.xml")
        assert [s.statement_id for s in statements] == [
            "253EURNL26VAYB8060476890",
            "254EURNL26VAYB8060476890",
        ]
        assert [s.lines[0].amount for s in statements] == [Decimal("8.85"), Decimal("-7")]
        assert all(s.balance_difference() == 0 for s in statements)

    def test_genkgo_camt053_balances(self):
        for name in sorted(GENKGO_053_DIFFERENCES):
            with self.subTest(name=name):
                statements = _parse(GENKGO / name)
                differences = {s.balance_difference() for s in statements}
                assert differences == {GENKGO_053_DIFFERENCES[name]}

    def test_genkgo_camt053_balance_table_covers_every_file(self):
        _need(GENKGO)
        names = {p.name for p in GENKGO.glob("camt53*.xml")} | {
            p.name for p in GENKGO.glob("camt053*.xml")
        }
        assert names - {"camt053.v2.wrong.xml"} == set(GENKGO_053_DIFFERENCES)

    def test_five_decimal_amounts_are_kept_exactly(self):
        (statement,) = _parse(GENKGO / "camt053.v2.five.decimals.xml")
        assert statement.opening_balance == Decimal("18.150")
        assert statement.closing_balance == Decimal("27.050")
        assert statement.lines[0].amount == Decimal("8.850")

    def test_booking_date_time_and_statuses(self):
        (statement,) = _parse(GENKGO / "camt053.v8.xml")
        line = statement.lines[0]
        assert line.date == date(2014, 12, 31)
        assert line.raw["booking_datetime"].isoformat() == "2014-12-31T13:15:00+01:00"
        (report,) = _parse(GENKGO / "camt052.v4.xml")
        assert report.kind == "intraday"
        assert report.lines[0].raw["status"] == "PDNG"
        assert not report.lines[0].is_booked()
        assert report.entries_total() == 0

    def test_debit_counterparty_skips_our_own_account(self):
        # The debit's creditor is the statement's own account: the debtor is shown.
        (report,) = _parse(GENKGO / "camt052.v4.xml")
        line = report.lines[0]
        assert report.account_iban == "CH2801234000123456789"
        assert line.amount == Decimal("-200000")
        assert line.partner_name == "Example Creditor 4 - V1"
        assert line.partner_iban == "CH2401234004141414141"
        assert line.partner_bic == "BANKCHBE"

    def test_credit_counterparty_is_the_debtor(self):
        (statement,) = _parse(GENKGO / "camt053.v2.minimal.xml")
        line = statement.lines[0]
        assert line.amount == Decimal("8.85")
        assert line.partner_name == "NAME NAME"
        assert line.creditor_reference == "4654654654654654"
        assert line.payment_ref == "4654654654654654"

    def test_entry_with_several_details_without_amounts_stays_one_line(self):
        (notification,) = _parse(GENKGO / "camt054.v2.xml")
        assert notification.kind == "notification"
        (line,) = notification.lines
        assert line.amount == Decimal("-200000")
        assert line.end_to_end_id == "MUELL/FINP/RA12345"
        assert line.payment_ref == (
            "Unstructured Remittance Information V1 "
            "Unstructured Remittance Information V3 block 1 "
            "Unstructured Remittance Information V3 block 2"
        )
        assert line.creditor_reference == "ISR ref number V1"

    # ---------------------------------------------------------------- moov corpus

    def test_fffs_camt053_balances(self):
        (statement,) = _parse(MOOV / FFFS_053)
        assert statement.account_iban == "FI7433010001222090"
        assert statement.currency == "EUR"
        assert len({line.raw["entry_index"] for line in statement.lines}) == 10
        assert statement.opening_balance == Decimal("10000.00")
        assert statement.closing_balance == Decimal("23644.83")
        assert statement.entries_total() == Decimal("13644.83")
        assert statement.balance_difference() == 0

    def test_fffs_batch_entry_is_split_per_transaction(self):
        (statement,) = _parse(MOOV / FFFS_053)
        batch = [line for line in statement.lines if line.raw["entry_index"] == 2]
        assert [line.amount for line in batch] == [
            Decimal("-2000.02"),
            Decimal("-1000.01"),
            Decimal("-1230.02"),
        ]
        assert batch[1].payment_ref == "Invoices 123 and 321"
        assert len(statement.lines) == 13

    def test_postfinance_camt053_does_not_balance(self):
        (statement,) = _parse(MOOV / POSTFINANCE_053)
        assert len(statement.lines) == 5
        assert statement.balance_difference() != 0
        # The difference is the one entry valued the next day (see FWAV balance).
        assert statement.balance_difference() == Decimal("1537.00")
        forward = [b for b in statement.raw["balances"] if b["code"] == "FWAV"][0]
        assert forward["amount"] == statement.opening_balance + statement.entries_total()

    def test_postfinance_repeated_bank_reference_still_gives_distinct_ids(self):
        (statement,) = _parse(MOOV / POSTFINANCE_053)
        refs = [line.account_servicer_reference for line in statement.lines]
        assert refs.count("07582000303KBMSU") == 2
        ids = [line.import_id("journal-1") for line in statement.lines]
        assert len(set(ids)) == 5
        assert ids[0] == "journal-1:CH2909000000250094239:0758103031480900"
        assert ids == [
            line.import_id("journal-1") for line in _parse(MOOV / POSTFINANCE_053)[0].lines
        ]

    def test_esr_batch_notification_is_split(self):
        (notification,) = _parse(MOOV / ESR_054)
        batch = [line for line in notification.lines if line.raw["entry_index"] == 0]
        assert [line.amount for line in batch] == [
            Decimal(v) for v in ("250.00", "200.00", "300.00", "324.00", "463.00")
        ]
        assert sum(line.amount for line in batch) == Decimal("1537.00")

    def test_moov_camt_files_parse(self):
        for name in MOOV_CAMT_FILES:
            with self.subTest(name=name):
                statements = _parse(MOOV / name)
                assert statements and all(s.lines for s in statements)
                for statement in statements:
                    ids = [line.import_id("j") for line in statement.lines]
                    assert len(ids) == len(set(ids))

    def test_moov_camt_list_covers_every_camt_file(self):
        _need(MOOV)
        found = {p.name for p in MOOV.glob("*.xml") if camt.detect_camt(p.read_bytes())}
        assert found == set(MOOV_CAMT_FILES)

    def test_non_camt_document_is_refused(self):
        with self.assertRaisesRegex(ParseError, "not a camt"):
            _parse(MOOV / "valid_pain_v11.xml")

    # ---------------------------------------------------------------- detection, XSD

    def test_detect_camt_versions(self):
        assert camt.detect_camt(_need(GENKGO / "camt052.v1.xml").read_bytes()) == (
            "camt.052",
            "01",
        )
        assert camt.detect_camt((GENKGO / "camt054.v8.xml").read_bytes()) == (
            "camt.054",
            "08",
        )
        assert camt.detect_camt(b"<Document/>") is None

    def test_genkgo_files_validate_against_genkgo_xsds(self):
        for path in _files(GENKGO, "camt05*.xml"):
            with self.subTest(path=path):
                data = _need(path).read_bytes()
                message, version = camt.detect_camt(data)
                xsd = SHARED / "genkgo_camt" / "assets" / f"{message}.001.{version}.xsd"
                errors = camt.validate(data, xsd.parent)
                if path.name == "camt053.v2.wrong.xml":
                    assert len(errors) == 1 and "Stmt" in errors[0]
                    assert errors[0].startswith("line 3:")
                else:
                    assert xsd.is_file()
                    assert errors == []

    def test_validate_skips_versions_without_schema(self):
        data = _need(GENKGO / "camt053.v2.minimal.xml").read_bytes()
        assert camt.validate(data, SHARED / "moov_iso20022" / "xsd") == []
        v8 = (GENKGO / "camt053.v8.xml").read_bytes()
        assert camt.validate(v8, SHARED / "moov_iso20022" / "xsd") == []

    # ---------------------------------------------------------------- line ids

    def test_import_ids_bank_reference_else_hash(self):
        day = date(2024, 5, 2)
        statement = Statement(
            format="camt.053",
            statement_id="S1",
            account_iban="CH2909000000250094239",
            opening_balance=Decimal("10.00"),
            closing_balance=Decimal("2.00"),
            lines=[
                StatementLine(date=day, amount=Decimal("-4"), account_servicer_reference="A1"),
                StatementLine(date=day, amount=Decimal("-2"), entry_reference="7"),
                StatementLine(date=day, amount=Decimal("-1"), payment_ref="Coffee"),
                StatementLine(date=day, amount=Decimal("-1.00"), payment_ref="Coffee"),
            ],
        ).finalize()
        ids = [line.import_id("J") for line in statement.lines]
        assert ids[:2] == [
            "J:CH2909000000250094239:A1",
            "J:CH2909000000250094239:2024-05-02/7",
        ]
        assert ids[2] != ids[3]  # identical coffees: the occurrence number differs
        assert all(len(i.rsplit(":", 1)[1]) == 64 for i in ids[2:])
        again = [line.import_id("J") for line in statement.finalize().lines]
        assert again == ids
        assert statement.balance_difference() == 0

    # ---------------------------------------------------------------- robustness

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        derandomize=True,
    )
    @given(st.data())
    def test_mutated_camt_parses_or_raises_value_error(self, data):
        fffs_bytes = _fffs_bytes()
        position = data.draw(st.integers(0, len(fffs_bytes)))
        action = data.draw(st.sampled_from(["truncate", "flip", "delete", "insert"]))
        if action == "truncate":
            mutated = fffs_bytes[:position]
        elif action == "flip":
            byte = data.draw(st.integers(0, 255))
            mutated = fffs_bytes[:position] + bytes([byte]) + fffs_bytes[position + 1 :]
        elif action == "delete":
            mutated = fffs_bytes[:position] + fffs_bytes[position + 40 :]
        else:
            mutated = (
                fffs_bytes[:position] + data.draw(st.binary(max_size=30)) + (fffs_bytes[position:])
            )
        try:
            statements = camt.parse_camt(mutated, "mutated.xml")
        except ParseError as exc:
            assert "mutated.xml" in str(exc)
        else:
            assert all(isinstance(line.amount, Decimal) for s in statements for line in s.lines)
