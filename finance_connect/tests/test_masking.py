"""Masking of sensitive values in JSON / XML payload text shown in the UI."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect.lib.masking import mask_payload
from odoo.tests import BaseCase, tagged

IBAN = "DE89370400440532013000"
IBAN_PRINTED = "DE89 3704 0044 0532 0130 00"


@tagged("post_install", "-at_install")
class TestMasking(BaseCase):
    def test_json_sensitive_keys_are_masked_and_json_stays_valid(self):
        payload = {
            "iban": IBAN,
            "accountNumber": "000123456789",
            "acc_number": "BE68539007547034",
            "BBAN": "539007547034",
            "access_token": "eyJhbGciOiJIUzI1NiJ9.payload.sig",
            "client_secret": "s3cr3t-VALUE-9876",
            "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "password": "hunter2",
            "apiKey": "sk_live_abcdef123456",
            "Authorization": "Basic dXNlcjpwYXNz",
            "card_number": 4111111111111111,
            "token_type": "Bearer",
            "name": "ACME SA",
            "amount": "100.00",
        }
        masked = mask_payload(json.dumps(payload, indent=2))
        result = json.loads(masked)
        assert result["iban"] == "••••3000"
        assert result["accountNumber"] == "••••6789"
        assert result["acc_number"] == "••••7034"
        assert result["BBAN"] == "••••7034"
        assert result["access_token"] == "••••.sig"
        assert result["client_secret"] == "••••9876"
        assert result["webhookSecret"] == "••••LaSw"
        assert result["password"] == "••••••••"
        assert result["apiKey"] == "••••3456"
        assert result["Authorization"] == "••••YXNz"
        assert result["card_number"] == "••••1111"
        # Not sensitive: untouched.
        assert result["token_type"] == "Bearer"
        assert result["name"] == "ACME SA"
        assert result["amount"] == "100.00"
        for secret in ("hunter2", "sk_live_abcdef123456", "4111111111111111", IBAN):
            assert secret not in masked

    def test_json_escapes_in_values_keep_json_valid(self):
        text = '{"password": "pa\\"ss\\\\wo\\u00e9rd", "other": 1}'
        result = json.loads(mask_payload(text))
        assert result == {"password": "••••oérd", "other": 1}
        assert "pa" not in result["password"]

    def test_json_null_and_objects_are_left_alone(self):
        text = '{"iban": null, "token": {"x": 1}, "secret": true}'
        assert mask_payload(text) == text

    def test_xml_elements_are_masked(self):
        xml = (
            '<?xml version="1.0"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">'
            f"<DbtrAcct><Id><IBAN>{IBAN}</IBAN></Id></DbtrAcct>"
            "<CdtrAcct><Id><Othr><Id>12345678</Id></Othr></Id></CdtrAcct>"
            "<ns2:BBAN>539007547034</ns2:BBAN>"
            '<AcctNb type="x">  000123456789  </AcctNb>'
            "<Nb>INV/2024/0042</Nb><Nbr>keep-me-123456</Nbr><IBAN/>"
            "<PAN>4111111111111111</PAN><Nm>ACME</Nm>"
            "</Document>"
        )
        masked = mask_payload(xml)
        assert "<IBAN>••••3000</IBAN>" in masked
        assert "<ns2:BBAN>••••7034</ns2:BBAN>" in masked
        assert '<AcctNb type="x">••••6789</AcctNb>' in masked
        assert "<Nb>••••0042</Nb>" in masked
        assert "<PAN>••••1111</PAN>" in masked
        assert "<Nbr>keep-me-123456</Nbr>" in masked
        assert "<IBAN/>" in masked
        assert "<Nm>ACME</Nm>" in masked
        for secret in (IBAN, "539007547034", "000123456789", "4111111111111111"):
            assert secret not in masked

    def test_ibans_in_free_text_compact_and_printed(self):
        text = f"Pay to {IBAN} or {IBAN_PRINTED} EUR; ref RF18 5390 0754 7034."
        masked = mask_payload(text)
        assert IBAN not in masked
        assert "0532" not in masked
        assert masked.startswith("Pay to ••••3000 or ••••3000 EUR;")
        short = mask_payload("order AB12 and SO12345 stay")
        assert short == "order AB12 and SO12345 stay"

    def test_bearer_tokens_are_masked(self):
        text = "Authorization: Bearer abc.def-ghi_jkl~mno+pqr/stu==\nbearer tok123456789"
        masked = mask_payload(text)
        assert masked == "Authorization: Bearer ••••tu==\nbearer ••••6789"

    def test_garbage_and_empty_input(self):
        assert mask_payload("") == ""
        assert mask_payload(None) == ""
        garbage = '{"token": "unterminated ' + "x" * 5000
        assert mask_payload(garbage) == garbage  # nothing safe to mask, but no crash
        assert mask_payload("<IBAN>DE89") == "<IBAN>DE89"
        binary_ish = "\x00\xff<\x01>" * 100
        assert mask_payload(binary_ish) == binary_ish

    @settings(max_examples=100, deadline=None, database=None)
    @given(
        key=st.sampled_from(
            [
                "iban",
                "IBAN",
                "accountNumber",
                "account_number",
                "api_key",
                "apiKey",
                "client_secret",
                "clientSecret",
                "token",
                "refresh_token",
                "password",
                "authorization",
                "card_number",
                "cardNumber",
                "bban",
                "secret",
            ]
        ),
        secret=st.text(
            st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\'),
            min_size=9,
            max_size=64,
        ),
    )
    def test_property_masked_json_never_shows_the_whole_secret(self, key, secret):
        text = json.dumps({"id": 1, key: secret, "note": "ok"})
        masked = mask_payload(text)
        assert secret not in masked
        assert json.loads(masked)[key] == "••••" + secret[-4:]
