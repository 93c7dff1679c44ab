"""Signed inbound webhooks over real HTTP: verify, store, acknowledge, process once."""

import base64
import hashlib
import json
import secrets
import string
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import psycopg2

from odoo import fields
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import tagged

from ..exceptions import HandlerError, HandlerRetry
from ..lib import signing
from ..lib.webhook_inbound import UNAUTHORIZED
from .webhook_common import WebhookCase, signing_json

VECTORS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / ("webhook_test_vectors.json")
)


@tagged("post_install", "-at_install")
class TestWebhookAccept(WebhookCase):
    def test_signed_json_is_stored_acknowledged_and_processed_once(self):
        body = signing_json({"type": "payment.settled", "id": "pay_1", "amount": "12.50"})
        with trap_jobs() as trap:
            response = self.post_raw(
                self.webhook_url(self.connection),
                body,
                self.standard_headers(
                    body, msg_id="msg_accept_1", **{"X-Correlation-Id": "corr-abc-1"}
                ),
            )
            self.assertEqual(response.status_code, 202, response.text)
            answer = response.json()
            self.assertEqual(answer["status"], "accepted")
            self.assertEqual(response.headers["X-Correlation-Id"], "corr-abc-1")
            message = self.inbound_messages()
            self.assertEqual(len(message), 1)
            self.assertEqual(answer["reference"], message.reference)
            self.assertEqual(message.state, "queued")
            self.assertEqual(message.event_type, "payment.settled")
            self.assertEqual(message.idempotency_key, "msg_accept_1")
            self.assertEqual(message.webhook_id, "msg_accept_1")
            self.assertEqual(message.correlation_id, "corr-abc-1")
            self.assertEqual(message.payload, body.decode())
            self.assertEqual(message._get_payload_bytes(), body)
            self.assertEqual(len(trap.enqueued_jobs), 1, "one processing job is queued")
            job_uuid = trap.enqueued_jobs[0].uuid
            self.perform_trapped(trap)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.job_uuid, job_uuid)
        self.assertEqual(message.attempt_ids.mapped("outcome"), ["done"])
        # The job is idempotent: running it again changes nothing.
        self.assertIn("nothing to do", message._job_process())
        self.assertEqual(len(message.attempt_ids), 1)
        self.assertFalse(self.rejections())

    def test_correlation_id_is_generated_when_absent_and_echoed(self):
        response = self.post_webhook(self.connection, {"type": "x"})
        self.assertEqual(response.status_code, 202)
        message = self.inbound_messages()
        self.assertTrue(message.correlation_id)
        self.assertEqual(response.headers["X-Correlation-Id"], message.correlation_id)
        self.assertEqual(response.json()["correlation_id"], message.correlation_id)

    def test_repeated_webhook_id_answers_the_original_reference(self):
        with trap_jobs() as trap:
            first = self.post_webhook(self.connection, {"type": "a"}, msg_id="msg_dup")
            self.assertEqual(first.status_code, 202)
            # The sender retries later: new timestamp, new signature, same id.
            again = self.post_webhook(
                self.connection, {"type": "a"}, msg_id="msg_dup", timestamp=int(time.time()) + 5
            )
            self.assertEqual(again.status_code, 200, again.text)
            self.assertEqual(again.json()["status"], "duplicate")
            self.assertEqual(again.json()["reference"], first.json()["reference"])
            self.assertEqual(len(trap.enqueued_jobs), 1, "no second job")
        self.assertEqual(len(self.inbound_messages()), 1)

    def test_concurrent_deliveries_of_one_webhook_id_store_one_message(self):
        body = signing_json({"type": "payment.settled", "id": "pay_c"})
        headers = self.standard_headers(body, msg_id="msg_concurrent")
        with trap_jobs() as trap:
            responses = self.post_concurrently(self.webhook_url(self.connection), body, headers, 10)
            statuses = sorted(r.status_code for r in responses)
            self.assertEqual(statuses, [200] * 9 + [202], [r.text for r in responses])
            self.assertEqual(
                {r.json()["reference"] for r in responses}, {self.inbound_messages().reference}
            )
            self.assertEqual(len(trap.enqueued_jobs), 1)
        self.assertEqual(len(self.inbound_messages()), 1)

    def test_duplicate_committed_by_a_concurrent_transaction_is_read_back(self):
        """Under REPEATABLE READ a duplicate committed after our snapshot is not
        visible to the search after the unique violation: it is read through a
        fresh cursor instead."""
        first = self.post_webhook(self.connection, {"type": "a"}, msg_id="msg_race")
        Message = type(self.env["finance.connect.message"])
        with patch.object(Message, "_create_idempotent", lambda self, vals: (self.browse(), False)):
            again = self.post_webhook(self.connection, {"type": "a"}, msg_id="msg_race")
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["reference"], first.json()["reference"])
        with patch.object(Message, "_create_idempotent", lambda self, vals: (self.browse(), False)):
            lost = self.post_webhook(self.connection, {"type": "a"}, msg_id="msg_not_there")
        self.assertEqual(lost.status_code, 503)
        self.assertEqual(lost.headers["Retry-After"], "1")

    def test_serialization_failure_runs_the_request_again(self):
        Receiver = type(self.env["finance.connect.webhook.receiver"])
        original = Receiver._verify_and_store
        calls = []

        def flaky(model, *args):
            calls.append(1)
            if len(calls) == 1:
                raise psycopg2.errors.SerializationFailure("concurrent update")
            return original(model, *args)

        with patch.object(Receiver, "_verify_and_store", flaky):
            response = self.post_webhook(self.connection, {"type": "a"})
        self.assertEqual(response.status_code, 202)
        self.assertEqual(len(calls), 2)
        self.assertEqual(len(self.inbound_messages()), 1)

        def always(model, *args):
            raise psycopg2.errors.SerializationFailure("concurrent update")

        with patch.object(Receiver, "_verify_and_store", always):
            response = self.post_webhook(self.connection, {"type": "a"})
        self.assertEqual(response.status_code, 503)

    def test_event_type_from_body_header_or_default(self):
        self.post_webhook(self.connection, {"event_type": "invoice.paid"})
        self.post_webhook(self.connection, [1, 2], **{"X-Event-Type": "statement"})
        self.post_webhook(self.connection, {"data": {}})
        self.assertEqual(
            sorted(self.inbound_messages().mapped("event_type")),
            ["invoice.paid", "statement", "webhook"],
        )

    def test_latin1_csv_statement_is_kept_byte_for_byte(self):
        body = "date;amount;name\n2025-01-02;-12,50;Müller GmbH\n".encode("latin-1")
        headers = self.standard_headers(
            body, content_type="text/csv; charset=iso-8859-1", **{"X-Event-Type": "statement"}
        )
        response = self.post_raw(self.webhook_url(self.connection), body, headers)
        self.assertEqual(response.status_code, 202, response.text)
        message = self.inbound_messages()
        self.assertEqual(message.event_type, "statement")
        self.assertEqual(message.payload_encoding, "base64")
        self.assertEqual(message.content_type, "text/csv; charset=iso-8859-1")
        self.assertEqual(message._get_payload_bytes(), body)
        self.assertEqual(base64.b64decode(message.sudo().payload), body)

    def test_xml_statement_above_default_limit_when_raised(self):
        camt = (
            b"<?xml version='1.0' encoding='UTF-8'?><Document><BkToCstmrStmt>"
            + b"<Ntry><Amt Ccy='EUR'>1.00</Amt></Ntry>" * 200
            + b"</BkToCstmrStmt></Document>"
        )
        self.connection.max_body_kib = 4
        headers = self.standard_headers(camt, content_type="application/xml")
        response = self.post_raw(self.webhook_url(self.connection), camt, headers)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["max_bytes"], 4096)
        self.connection.max_body_kib = 64
        response = self.post_raw(self.webhook_url(self.connection), camt, headers)
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(self.inbound_messages().payload, camt.decode())

    def test_long_or_odd_webhook_id_is_hashed_into_the_key(self):
        response = self.post_webhook(self.connection, {"type": "a"}, msg_id="m" * 3000)
        self.assertEqual(response.status_code, 202, response.text)
        message = self.inbound_messages()
        self.assertTrue(message.idempotency_key.startswith("sha256:"))
        again = self.post_webhook(self.connection, {"type": "a"}, msg_id="m" * 3000)
        self.assertEqual((again.status_code, again.json()["reference"]), (200, message.reference))

    def test_ping(self):
        response = self.url_open("/finance_connect/ping")
        self.assertEqual((response.status_code, response.text), (200, "ok"))


@tagged("post_install", "-at_install")
class TestWebhookSignatures(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not VECTORS.is_file():
            raise AssertionError(f"The shared webhook vectors are missing: {VECTORS}")
        cls.vectors = json.loads(VECTORS.read_text(encoding="utf-8"))

    def _vector_connection(self, name, **vals):
        conn = self._create_connection(name, self.company_data["company"], **vals)
        # The vectors were signed in 2021: widen the tolerance to reach them.
        conn.webhook_tolerance = int(time.time()) - 1614265330 + 86400
        conn.rate_limit_per_minute = 0
        return conn

    def _post_vector(self, conn, vector, signature):
        body = vector["body"].encode()
        headers = {
            "webhook-id": vector["webhook-id"],
            "webhook-timestamp": str(vector["webhook-timestamp"]),
            "webhook-signature": signature,
            "Content-Type": "application/json",
        }
        return self.post_raw(self.webhook_url(conn), body, headers)

    def test_shared_v1_vectors_positive_and_negative(self):
        vector = self.vectors["standard_webhooks_v1_hmac_sha256"]
        conn = self._vector_connection("Vector v1")
        conn.webhook_secret = vector["secret"]
        negative = vector["negative_vector_from_same_tests"].split()[0]
        response = self._post_vector(conn, vector, negative)
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.inbound_messages(conn))
        response = self._post_vector(conn, vector, vector["expected_webhook-signature"])
        self.assertEqual(response.status_code, 202, response.text)
        message = self.inbound_messages(conn)
        self.assertEqual(message.webhook_id, vector["webhook-id"])
        self.assertEqual(message.payload, vector["body"])
        # Several signatures, one of them right (a sender rotating secrets).
        response = self._post_vector(
            conn, vector, f"{negative} {vector['expected_webhook-signature']}"
        )
        self.assertEqual(response.status_code, 200)

    def test_shared_v1a_ed25519_vector_positive_and_negative(self):
        vector = self.vectors["standard_webhooks_v1a_ed25519"]
        conn = self._vector_connection(
            "Vector v1a", webhook_public_key=vector["public_key_base64_derived_locally"]
        )
        good = vector["expected_webhook-signature"]
        raw = bytearray(base64.b64decode(good.split(",", 1)[1]))
        raw[0] ^= 1
        bad = "v1a," + base64.b64encode(bytes(raw)).decode()
        self.assertEqual(self._post_vector(conn, vector, bad).status_code, 401)
        tampered = dict(vector, body=vector["body"].replace("2432232314", "2432232315"))
        self.assertEqual(self._post_vector(conn, tampered, good).status_code, 401)
        self.assertFalse(self.inbound_messages(conn))
        response = self._post_vector(conn, vector, good)
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(len(self.inbound_messages(conn)), 1)

    def test_missing_wrong_and_stale_signatures_are_401_and_not_stored(self):
        body = signing_json({"type": "x"})
        url = self.webhook_url(self.connection)
        cases = {
            "missing_signature": {
                k: v for k, v in self.standard_headers(body).items() if k != "webhook-signature"
            },
            "bad_signature": self.standard_headers(body, secret=signing.generate_secret()),
            "stale_timestamp": self.standard_headers(body, timestamp=int(time.time()) - 301),
        }
        cases["future"] = self.standard_headers(body, timestamp=int(time.time()) + 400)
        for name, headers in cases.items():
            with self.subTest(name):
                response = self.post_raw(url, body, headers)
                self.assertEqual(response.status_code, 401)
                self.assertEqual(response.json(), UNAUTHORIZED)
                self.assertNotIn("Traceback", response.text)
        # A body changed after signing.
        headers = self.standard_headers(body)
        response = self.post_raw(url, body.replace(b"x", b"y"), headers)
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.inbound_messages())
        self.assertEqual(
            sorted(self.rejections().mapped("reason")),
            [
                "bad_signature",
                "bad_signature",
                "missing_signature",
                "stale_timestamp",
                "stale_timestamp",
            ],
        )
        self.assertEqual(set(self.rejections().mapped("http_status")), {401})

    def test_previous_secret_is_accepted_until_it_expires(self):
        old_secret = self.secret
        self.connection.action_generate_webhook_secret()
        new_secret = self.connection._get_secret("webhook_secret")
        self.assertNotEqual(new_secret, old_secret)
        self.assertEqual(
            self.post_webhook(self.connection, {"type": "a"}, secret=old_secret).status_code, 202
        )
        self.assertEqual(
            self.post_webhook(self.connection, {"type": "b"}, secret=new_secret).status_code, 202
        )
        self.connection.webhook_previous_expiry = fields.Datetime.now() - timedelta(seconds=1)
        self.assertEqual(
            self.post_webhook(self.connection, {"type": "c"}, secret=old_secret).status_code, 401
        )
        self.assertEqual(
            self.post_webhook(self.connection, {"type": "d"}, secret=new_secret).status_code, 202
        )

    def test_stripe_signature_scheme(self):
        alphabet = string.ascii_letters + string.digits
        secret = "whsec_" + "".join(secrets.choice(alphabet) for _ in range(32))
        conn = self._create_connection(
            "PSP (Stripe-style)",
            self.company_data["company"],
            kind="psp",
            webhook_verifier="stripe",
        )
        conn.webhook_secret = secret
        body = json.dumps(
            {"id": "evt_1Pq", "object": "event", "type": "payment_intent.succeeded"}
        ).encode()
        url = self.webhook_url(conn)
        first = self.post_raw(url, body, self.stripe_headers(body, secret))
        self.assertEqual(first.status_code, 202, first.text)
        message = self.inbound_messages(conn)
        self.assertEqual(message.idempotency_key, "evt_1Pq")
        self.assertEqual(message.event_type, "payment_intent.succeeded")
        # Stripe retries the same event with a new timestamp: same message.
        again = self.post_raw(url, body, self.stripe_headers(body, secret, int(time.time()) + 3))
        self.assertEqual((again.status_code, again.json()["reference"]), (200, message.reference))
        # Several v1 during a rotation: one matching is enough.
        other = json.dumps({"id": "evt_2", "type": "charge.refunded"}).encode()
        ts = int(time.time())
        wrong = signing.sign_stripe("whsec_" + "x" * 32, other, ts).split(",")[1]
        header = signing.sign_stripe(secret, other, ts) + "," + wrong
        response = self.post_raw(
            url, other, {"Stripe-Signature": header, "Content-Type": "application/json"}
        )
        self.assertEqual(response.status_code, 202, response.text)
        # Wrong secret, stale timestamp, Standard Webhooks headers: refused.
        for headers in (
            self.stripe_headers(other, "whsec_" + "y" * 32),
            self.stripe_headers(other, secret, int(time.time()) - 301),
            self.standard_headers(other),
        ):
            self.assertEqual(self.post_raw(url, other, headers).status_code, 401)
        malformed = {"Stripe-Signature": "v1=abc", "Content-Type": "application/json"}
        self.assertEqual(self.post_raw(url, other, malformed).status_code, 400)
        self.assertEqual(len(self.inbound_messages(conn)), 2)

    def test_secret_that_cannot_be_decrypted_refuses_without_error(self):
        secret = (
            self.env["finance.connect.secret"]
            .sudo()
            .search([("connection_id", "=", self.connection.id), ("name", "=", "webhook_secret")])
        )
        secret.ciphertext = "fc1:not-a-fernet-token"
        response = self.post_webhook(self.connection, {"type": "a"})
        self.assertEqual(response.status_code, 401)
        self.assertEqual(self.rejections().reason, "not_configured")

    def test_connection_without_secret_refuses_everything(self):
        conn = self._create_connection("No secret", self.company_data["company"])
        conn.webhook_secret = False
        response = self.post_webhook(conn, {"type": "a"})
        self.assertEqual(response.status_code, 401)
        self.assertEqual(self.rejections(conn).reason, "not_configured")
        conn.webhook_verifier = "stripe"
        body = b'{"id": "evt_x"}'
        response = self.post_raw(
            self.webhook_url(conn), body, self.stripe_headers(body, "whsec_" + "z" * 32)
        )
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.inbound_messages(conn))


@tagged("post_install", "-at_install")
class TestWebhookRefusals(WebhookCase):
    def test_unknown_paused_and_archived_tokens_look_like_a_bad_signature(self):
        body = signing_json({"type": "x"})
        bad = self.post_raw(
            self.webhook_url(self.connection),
            body,
            self.standard_headers(body, secret=signing.generate_secret()),
        )
        self.assertEqual(bad.status_code, 401)
        unknown = self.post_raw(self.webhook_url("u" * 32), body, self.standard_headers(body))
        self.assertEqual(unknown.status_code, 404)
        self.assertEqual(unknown.content, bad.content, "same body as a bad signature")
        self.assertEqual(unknown.headers["Content-Type"], bad.headers["Content-Type"])
        self.connection.paused = True
        paused = self.post_raw(self.webhook_url(self.connection), body, self.standard_headers(body))
        self.assertEqual((paused.status_code, paused.content), (404, bad.content))
        self.connection.paused = False
        self.connection.active = False
        archived = self.post_raw(
            self.webhook_url(self.connection), body, self.standard_headers(body)
        )
        self.assertEqual((archived.status_code, archived.content), (404, bad.content))
        self.assertFalse(self.inbound_messages())
        self.assertEqual(
            sorted(self.rejections().mapped("reason")), ["bad_signature", "paused", "paused"]
        )

    def test_nul_and_control_characters_in_the_url_are_a_404(self):
        """Found by the fuzz run: a NUL in the token, or in a path that matches
        no route, made PostgreSQL refuse the lookup (a 500)."""
        body = signing_json({"type": "x"})
        headers = self.standard_headers(body)
        base = self.webhook_url(self.connection)
        for url in (
            base + "%00",
            base[: -len(self.webhook_token(self.connection))] + "abcdefghijklmnop%01qrs",
            base + "/extra%00/part",
        ):
            response = self.post_raw(url, body, headers)
            self.assertEqual(response.status_code, 404, url)
            self.assertNotIn("Traceback", response.text)
        self.assertFalse(self.inbound_messages())

    def test_regenerated_token_retires_the_old_url(self):
        old_token = self.webhook_token(self.connection)
        action = self.connection.action_regenerate_webhook_token()
        new_token = action["params"]["message"].rsplit("/", 1)[1]
        self.assertNotEqual(old_token, new_token)
        self.assertNotIn(new_token, self.connection.sudo().webhook_url)
        self.assertNotEqual(new_token, str(self.connection.id))
        self.assertEqual(self.post_webhook(old_token, {"type": "a"}).status_code, 404)
        self.assertEqual(self.post_webhook(new_token, {"type": "a"}).status_code, 202)

    def test_token_changed_outside_the_orm_is_still_found(self):
        """The route caches the token index per worker; a token the cache does
        not know is looked up in the database, which also refreshes the cache."""
        old_token = self.webhook_token(self.connection)
        self.assertEqual(self.post_webhook(old_token, {"type": "a"}).status_code, 202)
        self.env.cr.execute(
            "UPDATE finance_connect_connection SET webhook_token_hash = %s WHERE id = %s",
            (hashlib.sha256(b"n" * 32).hexdigest(), self.connection.id),
        )
        self.assertEqual(self.post_webhook("n" * 32, {"type": "b"}).status_code, 202)
        self.assertEqual(self.post_webhook(old_token, {"type": "c"}).status_code, 404)

    def test_malformed_headers_and_bodies_are_400(self):
        url = self.webhook_url(self.connection)
        body = signing_json({"type": "x"})
        headers = self.standard_headers(body)
        for name, broken in {
            "timestamp not a number": dict(headers, **{"webhook-timestamp": "yesterday"}),
            "no webhook-id": {k: v for k, v in headers.items() if k != "webhook-id"},
            "no timestamp": {k: v for k, v in headers.items() if k != "webhook-timestamp"},
        }.items():
            with self.subTest(name):
                response = self.post_raw(url, body, broken)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"], "bad_request")
        for content_type, bad_body in (
            ("application/json", b"{not json"),
            ("application/json", b"\xff\xfe\x00{"),
            ("application/xml", b"<Document><unclosed></Document>"),
            (
                "application/xml",
                b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
            ),
            ("text/csv", "Müller".encode("latin-1")),
        ):
            with self.subTest(content_type=content_type, body=bad_body[:20]):
                response = self.post_raw(
                    url, bad_body, self.standard_headers(bad_body, content_type=content_type)
                )
                self.assertEqual(response.status_code, 400, response.text)
        self.assertFalse(self.inbound_messages())

    def test_unsupported_content_type_is_415(self):
        url = self.webhook_url(self.connection)
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "text/csv; charset=utf-16",
            None,
        ):
            with self.subTest(content_type):
                body = b"a=1"
                headers = self.standard_headers(body, content_type=content_type)
                if content_type is None:
                    del headers["Content-Type"]
                response = self.post_raw(url, body, headers)
                self.assertEqual(response.status_code, 415, response.text)
        self.assertFalse(self.inbound_messages())
        self.assertEqual(set(self.rejections().mapped("http_status")), {415})

    def test_body_over_the_limit_is_413(self):
        self.connection.max_body_kib = 1
        body = signing_json({"type": "x", "pad": "p" * 2000})
        response = self.post_raw(
            self.webhook_url(self.connection), body, self.standard_headers(body)
        )
        self.assertEqual(response.status_code, 413)
        self.assertEqual(self.rejections().reason, "too_large")
        self.assertFalse(self.inbound_messages())

    def test_rate_limit_is_429_with_retry_after(self):
        self.connection.rate_limit_per_minute = 3
        statuses = [self.post_webhook(self.connection, {"type": "a"}).status_code for _ in range(3)]
        self.assertEqual(statuses, [202, 202, 202])
        response = self.post_webhook(self.connection, {"type": "a"})
        self.assertEqual(response.status_code, 429)
        self.assertTrue(1 <= int(response.headers["Retry-After"]) <= 60)
        self.assertEqual(len(self.inbound_messages()), 3)
        self.connection.rate_limit_per_minute = 0
        self.assertEqual(self.post_webhook(self.connection, {"type": "a"}).status_code, 202)

    def test_burst_of_bad_signatures_opens_one_exception(self):
        Exception_ = self.env["finance.connect.exception"]
        body = signing_json({"type": "x"})
        wrong = signing.generate_secret()
        url = self.webhook_url(self.connection)
        for _ in range(20):
            self.post_raw(url, body, self.standard_headers(body, secret=wrong))
        domain = [("category", "=", "signature"), ("connection_id", "=", self.connection.id)]
        self.assertFalse(Exception_.search(domain), "20 is not yet a burst")
        for _ in range(5):
            response = self.post_raw(url, body, self.standard_headers(body, secret=wrong))
            self.assertEqual(response.status_code, 401)
        exceptions = Exception_.search(domain)
        self.assertEqual(len(exceptions), 1)
        self.assertEqual(exceptions.state, "open")
        self.assertIn("21", exceptions.description)
        self.assertTrue(self.connection.webhook_rejection_alert_at)
        self.assertEqual(len(self.rejections()), 25)
        self.assertFalse(self.inbound_messages())
        # Resolved, then a new burst: a new exception.
        exceptions.action_resolve()
        self.post_raw(url, body, self.standard_headers(body, secret=wrong))
        self.assertEqual(len(Exception_.search(domain + [("state", "=", "open")])), 1)

    def test_never_a_500(self):
        url = self.webhook_url(self.connection)
        body = signing_json({"type": "x"})
        headers = self.standard_headers(body)
        odd_requests = [
            (405, "GET", url, None, {}),
            (405, "PUT", url, body, headers),
            (411, "POST", url, iter([body]), headers),  # chunked: no Content-Length
            (401, "POST", url, b"", headers),
            (401, "POST", url, body, dict(headers, **{"webhook-id": "x" * 3000})),
            (401, "POST", url, body, dict(headers, **{"webhook-signature": "v1a,@@@ v1, v2,x"})),
            # An unusable correlation id is replaced, not echoed.
            (202, "POST", url, body, dict(headers, **{"X-Correlation-Id": "a\tb" * 300})),
            (
                415,
                "POST",
                url,
                b"--x\r\nContent-Disposition: form-data\r\n\r\n",
                dict(headers, **{"Content-Type": "multipart/form-data; boundary=x"}),
            ),
            (
                415,
                "POST",
                url,
                b"a=%ZZ&&==",
                dict(headers, **{"Content-Type": "application/x-www-form-urlencoded"}),
            ),
            (404, "POST", "/finance_connect/webhook/" + "t" * 5000, body, headers),
            (404, "POST", "/finance_connect/webhook/%00%ff", body, headers),
        ]
        for expected, method, path, data, hdrs in odd_requests:
            with self.subTest(method=method, path=path[:60], expected=expected):
                self.env.flush_all()
                response = self.opener.request(
                    method, self.base_url() + path, data=data, headers=hdrs, timeout=30
                )
                self.env.invalidate_all()
                self.assertEqual(response.status_code, expected, response.text[:300])
                self.assertNotIn("Traceback", response.text)
                if response.headers.get("Content-Type", "").startswith("application/json"):
                    self.assertNotIn("\t", response.headers["X-Correlation-Id"])
        self.assertEqual(len(self.inbound_messages()), 1)

    def test_unexpected_error_answers_400_without_traceback(self):
        Receiver = type(self.env["finance.connect.webhook.receiver"])
        with patch.object(Receiver, "_verify_and_store", side_effect=RuntimeError("boom")):
            with self.assertLogs("odoo.addons.finance_connect.controllers.webhook", "ERROR"):
                response = self.post_webhook(
                    self.connection, {"type": "a"}, **{"X-Correlation-Id": "corr-err"}
                )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.headers["X-Correlation-Id"], "corr-err")
        self.assertNotIn("boom", response.text)
        self.assertNotIn("Traceback", response.text)


@tagged("post_install", "-at_install")
class TestWebhookProcessing(WebhookCase):
    def test_handler_failure_goes_to_the_inbox_and_the_message_is_kept(self):
        Handler = type(self.env["finance.connect.handler"])

        def failing(handler, message):
            raise HandlerError("the settlement references an unknown payout", "other")

        with trap_jobs() as trap:
            response = self.post_webhook(self.connection, {"type": "settlement"})
            self.assertEqual(response.status_code, 202)
            with patch.object(Handler, "_handle_record_event", failing):
                self.perform_trapped(trap)
        message = self.inbound_messages()
        self.assertEqual(message.state, "failed")
        self.assertIn("unknown payout", message.error)
        self.assertTrue(message.sudo().payload, "the stored message is never lost")
        exception = message.exception_ids
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.state, "open")
        # Fixed: the replay processes the same message once.
        with trap_jobs() as trap:
            message.action_replay()
            self.perform_all(trap)
        self.assertEqual(message.state, "done")
        self.assertEqual(len(self.inbound_messages()), 1)

    def test_a_flood_is_served_by_one_pending_drain_job(self):
        """Each accepted webhook has a processing job queued, but one pending job
        per connection serves them all; messages queued without a job (a drain
        that read the queue just before they were stored) are woken by the cron."""
        from odoo.addons.queue_job.job import Job

        Job_ = self.env["queue.job"].sudo()
        key = f"finance_connect-inbound-{self.connection.id}"
        for n in range(3):
            response = self.post_webhook(self.connection, {"type": "flood"}, msg_id=f"msg_fl_{n}")
            self.assertEqual(response.status_code, 202)
        jobs = Job_.search([("identity_key", "=", key)])
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs.state, "pending")
        self.assertEqual(jobs.channel, self.connection._get_channel())
        Job.load(self.env(su=True), jobs.uuid).perform()
        messages = self.inbound_messages()
        self.assertEqual(set(messages.mapped("state")), {"done"})
        self.assertEqual(set(messages.mapped("job_uuid")), {jobs.uuid})
        self.assertIn("nothing to do", messages[0]._job_process())
        jobs.write({"state": "done"})
        # Stored while the drain was finishing: queued, no pending job.
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE finance_connect_message SET state = 'queued', job_uuid = NULL,"
            " create_date = now() at time zone 'utc' - interval '5 minutes' WHERE id = %s",
            (messages[0].id,),
        )
        self.env.invalidate_all()
        Connection = self.env["finance.connect.connection"].sudo()
        self.assertGreaterEqual(Connection._cron_wake_queues(), 1)
        woken = Job_.search([("identity_key", "=", key), ("state", "=", "pending")])
        self.assertEqual(len(woken), 1)
        Job.load(self.env(su=True), woken.uuid).perform()
        self.assertEqual(messages[0].state, "done")

    def test_transient_handler_failure_is_retried(self):
        Handler = type(self.env["finance.connect.handler"])
        calls = []

        def flaky(handler, message):
            calls.append(message.id)
            if len(calls) == 1:
                raise HandlerRetry("ledger locked", seconds=5)
            return "recorded"

        with trap_jobs() as trap:
            self.post_webhook(self.connection, {"type": "payment.status"})
            with patch.object(Handler, "_handle_record_event", flaky):
                self.perform_trapped(trap)
        message = self.inbound_messages()
        self.assertEqual(message.state, "done")
        self.assertEqual(message.attempt_ids.mapped("outcome"), ["retry", "done"])

    def test_handler_registry_by_kind_and_event_type(self):
        Handler = type(self.env["finance.connect.handler"])
        seen = []

        def statement(handler, message):
            seen.append(message.event_type)
            return "statement imported"

        original = Handler._get_handlers

        def handlers(handler):
            return {**original(handler), ("bank", "statement"): "_handle_test_statement"}

        with (
            patch.object(Handler, "_get_handlers", handlers),
            patch.object(Handler, "_handle_test_statement", statement, create=True),
            trap_jobs() as trap,
        ):
            self.post_webhook(self.connection, {"type": "statement"})
            self.post_webhook(self.connection, {"type": "other"})
            self.perform_trapped(trap)
        self.assertEqual(seen, ["statement"])
        self.assertEqual(set(self.inbound_messages().mapped("state")), {"done"})

    def test_manager_reads_rejections_user_does_not(self):
        body = signing_json({"type": "x"})
        self.post_raw(
            self.webhook_url(self.connection),
            body,
            self.standard_headers(body, secret=signing.generate_secret()),
        )
        Rejection = self.env["finance.connect.webhook.rejection"]
        self.assertEqual(
            len(
                Rejection.with_user(self.manager).search(
                    [("connection_id", "=", self.connection.id)]
                )
            ),
            1,
        )
        from odoo.exceptions import AccessError

        with self.assertRaises(AccessError):
            Rejection.with_user(self.fc_user).search([])
