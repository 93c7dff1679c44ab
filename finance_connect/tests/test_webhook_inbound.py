"""Inbound webhook helpers: content types, body checks, safe identifiers (no ORM)."""

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect.lib import webhook_inbound as inbound
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestWebhookInbound(BaseCase):
    # ---------------------------------------------------------------------------
    # Content types
    # ---------------------------------------------------------------------------

    def test_accepted_content_types(self):
        for value, kind, charset in [
            ("application/json", "json", None),
            ("Application/JSON; charset=UTF-8", "json", "UTF-8"),
            ("application/cloudevents+json", "json", None),
            ("application/xml", "xml", None),
            ('text/xml; charset="iso-8859-1"', "xml", "iso-8859-1"),
            ("application/vnd.iso20022+xml", "xml", None),
            ("text/csv", "csv", None),
            ("text/csv; charset=windows-1252", "csv", "windows-1252"),
            ("text/csv;charset=latin1", "csv", "latin1"),
            ("application/octet-stream", "binary", None),
        ]:
            with self.subTest(value=value, kind=kind, charset=charset):
                got_kind, _media_type, got_charset = inbound.content_kind(value)
                assert (got_kind, got_charset) == (kind, charset)

    def test_refused_content_types(self):
        for value in [
            None,
            "",
            "json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json+",
            "text/csv; charset=utf-16",
            "text/csv; charset=rot13",
            "application/\x00json",
        ]:
            with self.subTest(value=value):
                with self.assertRaises(inbound.UnsupportedContentType):
                    inbound.content_kind(value)

    def test_clean_content_type_is_bounded_and_printable(self):
        assert inbound.clean_content_type("text/csv; charset=latin1") == "text/csv; charset=latin1"
        assert inbound.clean_content_type("a/b\r\n\x00" + "x" * 500) == "a/b" + "x" * 125
        assert inbound.clean_content_type(None) == "application/octet-stream"

    # ---------------------------------------------------------------------------
    # Bodies
    # ---------------------------------------------------------------------------

    def test_json_body_is_parsed_and_stored_as_text(self):
        decoded = inbound.decode_body("json", b'{"type": "payment.settled", "amount": "1.00"}')
        assert decoded.encoding == "text"
        assert decoded.data == {"type": "payment.settled", "amount": "1.00"}
        assert json.loads(decoded.payload) == decoded.data

    def test_bad_json_is_malformed(self):
        for body in [
            b"",
            b"   ",
            b"{",
            b"not json",
            b"NaN",
            b'{"a": Infinity}',
            b"\xff\xfe{}",
            b'{"a": "\x00"}',
            b"[" * 100000,  # deep nesting
        ]:
            with self.subTest(body=body[:20]):
                with self.assertRaises(inbound.MalformedBody):
                    inbound.decode_body("json", body)

    def test_xml_must_be_well_formed_and_entities_are_refused(self):
        ok = inbound.decode_body("xml", b"<?xml version='1.0'?><Document><a>1</a></Document>")
        assert ok.encoding == "text"
        with self.assertRaises(inbound.MalformedBody):
            inbound.decode_body("xml", b"<Document><a></Document>")
        bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
        with self.assertRaises(inbound.MalformedBody):
            inbound.decode_body("xml", bomb)

    def test_latin1_xml_is_kept_byte_for_byte_as_base64(self):
        body = "<?xml version='1.0' encoding='ISO-8859-1'?><d>Müller</d>".encode("latin-1")
        decoded = inbound.decode_body("xml", body)
        assert decoded.encoding == "base64"
        assert inbound.payload_bytes(decoded.payload, decoded.encoding) == body

    def test_csv_decodes_with_its_charset(self):
        latin = "name;amount\nMüller;1,00\n".encode("latin-1")
        with self.assertRaises(inbound.MalformedBody):
            inbound.decode_body("csv", latin)  # not UTF-8, and no charset declared
        decoded = inbound.decode_body("csv", latin, "iso-8859-1")
        assert decoded.encoding == "base64"
        assert base64.b64decode(decoded.payload) == latin

    def test_binary_with_nul_is_base64_and_round_trips(self):
        body = b"\x00\x01MT940\xff"
        decoded = inbound.decode_body("binary", body)
        assert decoded.encoding == "base64"
        assert inbound.payload_bytes(decoded.payload, decoded.encoding) == body
        text = inbound.decode_body("binary", b":20:STATEMENT\r\n")
        assert text.encoding == "text"
        assert inbound.payload_bytes(text.payload, text.encoding) == b":20:STATEMENT\r\n"

    @settings(max_examples=300, deadline=None)
    @given(kind=st.sampled_from(["json", "xml", "csv", "binary"]), body=st.binary(max_size=400))
    def test_any_body_is_refused_cleanly_or_stored_losslessly(self, kind, body):
        try:
            decoded = inbound.decode_body(kind, body)
        except inbound.MalformedBody:
            return
        assert "\x00" not in decoded.payload
        assert inbound.payload_bytes(decoded.payload, decoded.encoding) == body

    # ---------------------------------------------------------------------------
    # Identifiers, event types, rate limit
    # ---------------------------------------------------------------------------

    def test_idempotency_key(self):
        assert inbound.idempotency_key("msg_p5jXN8AQM9LWM0D4loKWxJek", b"x") == (
            "msg_p5jXN8AQM9LWM0D4loKWxJek"
        )
        long_key = inbound.idempotency_key("m" * 5000, b"x")
        assert long_key.startswith("sha256:") and len(long_key) == 71
        odd = inbound.idempotency_key("id with spaces\x00", b"x")
        assert odd.startswith("sha256:")
        # Same body, no provider id: same key; different bodies: different keys.
        assert inbound.idempotency_key("", b"a") == inbound.idempotency_key(None, b"a")
        assert inbound.idempotency_key("", b"a") != inbound.idempotency_key("", b"b")

    def test_safe_token(self):
        for value, expected in [
            ("abc-123", "abc-123"),
            ("  padded  ", "padded"),
            ("with space", ""),
            ("x" * 129, ""),
            ("bad\r\nheader", ""),
            (None, ""),
            ("ünïcode", ""),
        ]:
            with self.subTest(value=value, expected=expected):
                assert inbound.safe_token(value) == expected

    def test_event_type_order(self):
        assert inbound.event_type({"type": "a", "event_type": "b"}, "c") == "a"
        assert inbound.event_type({"event_type": "b"}, "c") == "b"
        assert inbound.event_type({"type": 5, "event_type": ""}, "c") == "c"
        assert inbound.event_type([1, 2], " statement ") == "statement"
        assert inbound.event_type(None, "bad\x00type") == "webhook"
        assert inbound.event_type({"type": "x" * 200}, None) == "webhook"

    def test_retry_after(self):
        for age, expected in [(0, 60), (59.5, 1), (30.2, 30), (120, 1), (-5, 60), (None, 60)]:
            with self.subTest(age=age, expected=expected):
                assert inbound.retry_after(age, 60) == expected

    def test_burn_verification_accepts_anything(self):
        inbound.burn_verification({}, b"")
        inbound.burn_verification(
            {"Webhook-Id": "\udcff", "webhook-signature": "ü" * 999}, b"x" * 10
        )

    def test_sliding_window_counter(self):
        counter = inbound.SlidingWindowCounter(window=60)
        assert counter.count("c", now=0) == 0
        for t in range(10):
            counter.add("c", now=t)
        assert counter.count("c", now=10) == 10
        assert counter.count("other", now=10) == 0
        # Half-way into the next window, half of the previous bucket still counts.
        self.assertAlmostEqual(counter.count("c", now=90), 5)
        counter.add("c", now=90)
        self.assertAlmostEqual(counter.count("c", now=90), 6)
        # Two windows later nothing is left.
        assert counter.count("c", now=300) == 0

    def test_sliding_window_counter_is_bounded(self):
        counter = inbound.SlidingWindowCounter(window=60, max_keys=3)
        for key in range(10):
            counter.add(key, now=0)
        assert len(counter._buckets) <= 3
