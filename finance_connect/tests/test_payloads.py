"""Canonical JSON and validation of the event payloads against their schemas."""

import copy
import json
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from odoo.addons.finance_connect.lib.payloads import (
    SchemaRegistry,
    canonical_json,
    sha256_hex,
)
from odoo.tests import BaseCase, tagged

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
EVENT_TYPES = {
    "invoice.posted",
    "credit_note.posted",
    "bill.posted",
    "payment.posted",
    "payment.state_changed",
    "move.posted",
    "statement_line.reconciled",
    "record.synced",
}

COMPANY = {"id": 1, "name": "ACME SA", "vat": "BE0477472701", "currency": "EUR"}
PARTNER = {
    "id": 7,
    "name": "Azure Interior",
    "vat": None,
    "ref": "C-007",
    "external_code": "100007",
}
JOURNAL = {"id": 3, "name": "Bank", "code": "BNK1"}

DATA = {
    "invoice": {
        "id": 42,
        "name": "INV/2024/00042",
        "move_type": "out_invoice",
        "partner": PARTNER,
        "invoice_date": date(2024, 3, 31),
        "due_date": None,
        "currency": "EUR",
        "amount_untaxed": Decimal("100.00"),
        "amount_tax": Decimal("21.00"),
        "amount_total": Decimal("121.00"),
        "amount_residual": Decimal("121.00"),
        "payment_reference": "+++090/9337/55493+++",
        "lines": [
            {
                "sequence": 10,
                "name": "Desk ✓",
                "account_code": "700000",
                "external_account": "4000",
                "quantity": Decimal("2.000"),
                "price_unit": Decimal("50.00"),
                "price_subtotal": Decimal("100.00"),
                "tax_codes": ["21% S"],
                "analytic": {"12": 100.0},
            }
        ],
    },
    "payment": {
        "id": 9,
        "name": "PBNK1/2024/00009",
        "payment_type": "inbound",
        "partner_type": "customer",
        "partner": PARTNER,
        "amount": Decimal("121.00"),
        "currency": "EUR",
        "date": date(2024, 4, 2),
        "state": "paid",
        "journal": JOURNAL,
        "memo": None,
        "end_to_end_id": "E2E-42",
        "reconciled_invoice_names": ["INV/2024/00042"],
    },
    "move": {
        "id": 50,
        "name": "MISC/2024/04/0001",
        "date": date(2024, 4, 30),
        "journal": JOURNAL,
        "ref": None,
        "lines": [
            {
                "account_code": "620000",
                "external_account": None,
                "name": "Accrual",
                "debit": Decimal("10.50"),
                "credit": Decimal("0.00"),
                "balance": Decimal("10.50"),
                "currency": "EUR",
                "amount_currency": Decimal("10.50"),
                "partner_id": None,
            },
            {
                "account_code": "492000",
                "external_account": "2900",
                "name": None,
                "debit": Decimal("0.00"),
                "credit": Decimal("10.50"),
                "balance": Decimal("-10.50"),
                "currency": "EUR",
                "amount_currency": Decimal("-10.50"),
                "partner_id": 7,
            },
        ],
    },
    "statement_line": {
        "id": 77,
        "date": date(2024, 4, 2),
        "amount": Decimal("121.00"),
        "currency": "EUR",
        "payment_ref": "INV/2024/00042",
        "partner": None,
        "journal": JOURNAL,
        "is_reconciled": True,
        "reconciled_move_names": ["INV/2024/00042"],
    },
    "record": {
        "model": "res.partner",
        "id": 7,
        "display_name": "Azure Interior",
        "company": None,
        "data": {"email": "azure@example.com"},
    },
}
DATA_OF_EVENT = {
    "invoice.posted": "invoice",
    "credit_note.posted": "invoice",
    "bill.posted": "invoice",
    "payment.posted": "payment",
    "payment.state_changed": "payment",
    "move.posted": "move",
    "statement_line.reconciled": "statement_line",
    "record.synced": "record",
}


def envelope(event_type, data_key=None):
    """A payload as the addon would send it: canonical JSON read back."""
    payload = {
        "event_type": event_type,
        "schema_version": 1,
        "event_id": f"{event_type}:42:1",
        "occurred_at": datetime(2024, 4, 2, 10, 0, tzinfo=UTC),
        "company": COMPANY,
        "data": DATA[data_key or DATA_OF_EVENT[event_type]],
    }
    return json.loads(canonical_json(payload))


@tagged("post_install", "-at_install")
class TestPayloads(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schemas = SchemaRegistry(SCHEMAS)

    # ---------------------------------------------------------------------------
    # canonical_json / sha256_hex
    # ---------------------------------------------------------------------------

    def test_canonical_json_is_sorted_compact_and_utf8(self):
        data = {"b": 1, "a": {"z": "é", "y": [1, 2]}}
        assert canonical_json(data) == '{"a":{"y":[1,2],"z":"é"},"b":1}'.encode()
        assert canonical_json(data) == canonical_json({"a": {"y": [1, 2], "z": "é"}, "b": 1})

    def test_canonical_json_decimals_and_dates(self):
        data = {
            "amount": Decimal("100.50"),
            "big": Decimal("1E+3"),
            "negative": Decimal("-0.10"),
            "day": date(2024, 2, 29),
            "at": datetime(2024, 2, 29, 13, 5, 9, tzinfo=UTC),
        }
        assert json.loads(canonical_json(data)) == {
            "amount": "100.50",
            "big": "1000",
            "negative": "-0.10",
            "day": "2024-02-29",
            "at": "2024-02-29T13:05:09+00:00",
        }

    def test_canonical_json_refuses_non_finite_numbers(self):
        for bad in [{"x": float("nan")}, {"x": Decimal("NaN")}, {"x": Decimal("Infinity")}]:
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(ValueError, r"(?i)out of range|non-finite"):
                    canonical_json(bad)

    def test_canonical_json_refuses_unknown_types(self):
        with self.assertRaises(TypeError):
            canonical_json({"x": object()})

    def test_sha256_hex(self):
        expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        assert sha256_hex(b"abc") == expected
        assert sha256_hex("abc") == expected
        assert sha256_hex("é") == sha256_hex("é".encode())

    @settings(max_examples=100, deadline=None, database=None)
    @given(
        st.dictionaries(
            st.text(max_size=8),
            st.none()
            | st.booleans()
            | st.integers()
            | st.text()
            | st.decimals(allow_nan=False, allow_infinity=False, places=2),
            max_size=8,
        )
    )
    def test_property_canonical_json_is_stable(self, data):
        first = canonical_json(data)
        reread = json.loads(first)
        assert canonical_json(reread) == first
        assert canonical_json(dict(reversed(list(data.items())))) == first
        for key, value in data.items():
            if isinstance(value, Decimal):
                assert Decimal(reread[key]) == value

    # ---------------------------------------------------------------------------
    # The schema files
    # ---------------------------------------------------------------------------

    def test_every_schema_file_is_a_valid_draft_2020_12_schema(self):
        files = sorted(SCHEMAS.glob("*.schema.json"))
        # Other addons' features may add schemas (e.g. "batch"); these must exist.
        assert {f.name.removesuffix(".schema.json") for f in files} >= EVENT_TYPES
        for path in files:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
            # <event>.schema.json is version 1, <event>.v<N>.schema.json version N
            # (readme/DEVELOP.md, "Payload schema versions").
            event_type, _dot, suffix = path.name.removesuffix(".schema.json").rpartition(".v")
            if not (event_type and suffix.isdigit()):
                event_type, suffix = path.name.removesuffix(".schema.json"), "1"
            version = int(suffix)
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            assert schema["x-event-type"] == event_type
            assert schema["x-schema-version"] == version
            assert schema["$id"] == (
                f"https://finance-connect.example/schemas/{event_type}/{version}"
            )
            assert schema["additionalProperties"] is False
            assert schema["properties"]["event_type"]["const"] == event_type

    def test_registry_lookups(self):
        assert set(self.schemas.event_types()) >= EVENT_TYPES
        assert self.schemas.event_types() == sorted(self.schemas.event_types())
        assert self.schemas.latest_version("invoice.posted") == 1
        schema = self.schemas.get("payment.posted")
        assert schema is self.schemas.get("payment.posted", 1)
        assert schema["x-event-type"] == "payment.posted"
        with self.assertRaises(KeyError):
            self.schemas.get("payment.posted", 2)
        with self.assertRaises(KeyError):
            self.schemas.latest_version("nope.posted")

    def test_registry_keeps_the_latest_version(self):
        tmp_path = Path(self.enterContext(tempfile.TemporaryDirectory()))
        for version in (1, 2):
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"https://finance-connect.example/schemas/x.y/{version}",
                "x-event-type": "x.y",
                "x-schema-version": version,
                "type": "object",
                "required": ["v"] if version == 2 else [],
            }
            (tmp_path / f"x.y.v{version}.schema.json").write_text(json.dumps(schema))
        (tmp_path / "README.json").write_text("not a schema")
        registry = SchemaRegistry(tmp_path)
        assert registry.latest_version("x.y") == 2
        assert registry.validate("x.y", None, {}) == ["(root): 'v' is a required property"]
        assert registry.validate("x.y", 1, {}) == []
        assert registry.validate("x.y", 3, {}) == ["unknown schema version 3 of event type 'x.y'"]

    def test_registry_refuses_a_schema_without_its_event_type(self):
        tmp_path = Path(self.enterContext(tempfile.TemporaryDirectory()))
        (tmp_path / "bad.schema.json").write_text('{"type": "object"}')
        with self.assertRaisesRegex(ValueError, "x-event-type"):
            SchemaRegistry(tmp_path)

    def test_sample_payload_of_every_event_is_valid(self):
        for event_type in sorted(EVENT_TYPES):
            with self.subTest(event_type=event_type):
                assert self.schemas.validate(event_type, 1, envelope(event_type)) == []

    def test_unknown_event_type(self):
        assert self.schemas.validate("nope.posted", 1, {}) == ["unknown event type 'nope.posted'"]

    def test_invoice_errors_are_readable_and_sorted(self):
        payload = envelope("invoice.posted")
        payload["data"]["lines"][0]["account_code"] = 700000
        payload["data"]["lines"][0]["quantity"] = 2.5
        payload["data"]["amount_total"] = "1,21"
        payload["data"]["move_type"] = "entry"
        payload["company"]["currency"] = "euro"
        payload["extra"] = True
        errors = self.schemas.validate("invoice.posted", 1, payload)
        assert errors == sorted(errors)
        assert errors == [
            "(root): Additional properties are not allowed ('extra' was unexpected)",
            "company.currency: 'euro' does not match '^[A-Z]{3}$'",
            "data.amount_total: '1,21' does not match '^-?[0-9]+(\\\\.[0-9]+)?$'",
            "data.lines[0].account_code: 700000 is not of type 'string'",
            "data.lines[0].quantity: 2.5 is not of type 'string'",
            (
                "data.move_type: 'entry' is not one of "
                "['out_invoice', 'out_refund', 'in_invoice', 'in_refund']"
            ),
        ]

    def test_invoice_single_errors(self):
        for change, expected in [
            (
                lambda p: p.__setitem__("occurred_at", "2024-04-02 10:00"),
                "occurred_at: '2024-04-02 10:00' is not a 'date-time'",
            ),
            (
                lambda p: p.__setitem__("occurred_at", "2024-13-02T10:00:00Z"),
                "occurred_at: '2024-13-02T10:00:00Z' is not a 'date-time'",
            ),
            (
                lambda p: p["data"].__setitem__("invoice_date", "2024-02-30"),
                "data.invoice_date: '2024-02-30' is not a 'date'",
            ),
            (
                lambda p: p.__setitem__("schema_version", 2),
                "schema_version: 1 was expected",
            ),
            (
                lambda p: p.__setitem__("event_type", "bill.posted"),
                "event_type: 'invoice.posted' was expected",
            ),
            (
                lambda p: p.__setitem__("event_id", ""),
                "event_id: '' should be non-empty",
            ),
            (
                lambda p: p["data"].pop("lines"),
                "data: 'lines' is a required property",
            ),
            (
                lambda p: p["data"]["partner"].__setitem__("iban", "x"),
                ("data.partner: Additional properties are not allowed " "('iban' was unexpected)"),
            ),
        ]:
            with self.subTest(change=change, expected=expected):
                payload = envelope("invoice.posted")
                change(payload)
                assert self.schemas.validate("invoice.posted", 1, payload) == [expected]

    def test_other_events_reject_bad_data(self):
        payment = envelope("payment.posted")
        payment["data"]["payment_type"] = "transfer"
        payment["data"]["partner"] = None  # allowed: payments without partner
        assert self.schemas.validate("payment.posted", 1, payment) == [
            "data.payment_type: 'transfer' is not one of ['inbound', 'outbound']"
        ]
        move = envelope("move.posted")
        move["data"]["lines"][1]["partner_id"] = "7"
        assert self.schemas.validate("move.posted", 1, move) == [
            "data.lines[1].partner_id: '7' is not of type 'integer', 'null'"
        ]
        line = envelope("statement_line.reconciled")
        line["data"]["is_reconciled"] = "yes"
        assert self.schemas.validate("statement_line.reconciled", 1, line) == [
            "data.is_reconciled: 'yes' is not of type 'boolean'"
        ]
        record = envelope("record.synced")
        record["data"]["data"] = []
        assert self.schemas.validate("record.synced", 1, record) == [
            "data.data: [] is not of type 'object'"
        ]
        # An invoice payload is not a payment payload.
        wrong = copy.deepcopy(envelope("payment.posted", "invoice"))
        assert self.schemas.validate("payment.posted", 1, wrong)
