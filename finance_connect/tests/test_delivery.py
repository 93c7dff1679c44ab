"""Outbound delivery end to end: Odoo event -> queue job -> real HTTP on loopback."""

import json

from odoo.tests import tagged

from ..lib import signing
from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestDelivery(FinanceConnectCase):
    def test_invoice_posted_is_delivered_signed_once(self):
        with self.run_jobs():
            invoice = self.post_invoice(250.0)
        message = self.messages_of(invoice)
        self.assertEqual(len(message), 1)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.event_type, "invoice.posted")
        self.assertEqual(invoice.fc_state, "synced")
        self.assertTrue(invoice.fc_last_sync)
        deliveries = self.sandbox.deliveries("/events")
        self.assertEqual(len(deliveries), 1)
        delivery = deliveries[0]
        self.assertTrue(delivery["verified"], "the counterparty verified the signature")
        self.assertEqual(delivery["webhook_id"], message.webhook_id)
        headers = {k.lower(): v for k, v in delivery["headers"].items()}
        self.assertEqual(headers["x-correlation-id"], message.correlation_id)
        # The signature verifies with the connection's secret, independently.
        signing.verify_standard(headers, delivery["body"], secrets=[self.secret])
        body = json.loads(delivery["body"])
        self.assertEqual(body["event_type"], "invoice.posted")
        self.assertEqual(body["data"]["name"], invoice.name)
        self.assertEqual(body["data"]["amount_untaxed"], "250.00")
        self.assertEqual(message.payload_sha256, signing_sha(delivery["body"]))

    def test_same_event_twice_is_one_message(self):
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
            invoice._fc_emit("invoice.posted")  # the same business event again
        self.assertEqual(len(self.messages_of(invoice)), 1)
        self.assertEqual(len(self.sandbox.deliveries("/events")), 1)

    def test_503_three_times_then_200_keeps_webhook_id(self):
        self.sandbox.add_fault(status=503, times=3)
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.attempt_count, 4)
        self.assertEqual(message.attempt_ids.mapped("http_status"), [503, 503, 503, 200])
        ids = {r["webhook_id"] for r in self.sandbox.received() if r["path"] == "/events"}
        self.assertEqual(ids, {message.webhook_id}, "every retry carries the same webhook-id")
        self.assertEqual(len(self.sandbox.deliveries("/events")), 1)

    def test_429_retry_after_is_honoured(self):
        self.sandbox.add_fault(status=429, retry_after=7)
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "done")
        first = message.attempt_ids[0]
        self.assertEqual(first.http_status, 429)
        self.assertGreaterEqual(first.retry_in, 7)

    def test_timeout_and_dropped_connection_are_retried(self):
        self.connection.timeout_read = 0.3
        self.sandbox.add_fault(delay=1.0)
        self.sandbox.add_fault(drop=True)
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.attempt_count, 3)
        self.assertEqual(message.attempt_ids.mapped("http_status"), [0, 0, 200])
        self.assertIn("Timed out", message.attempt_ids[0].error)

    def test_400_fails_at_once_into_the_inbox(self):
        self.sandbox.add_fault(status=400, body=b'{"error": "unknown customer"}')
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempt_count, 1)
        self.assertEqual(invoice.fc_state, "error")
        exc = message.exception_ids
        self.assertEqual(len(exc), 1)
        self.assertEqual(exc.category, "remote_rejected")
        self.assertIn("unknown customer", exc.description)
        # Replay after the fix: same idempotency key and webhook-id, delivered once.
        with self.run_jobs():
            exc.with_user(self.manager).action_retry()
        self.assertEqual(message.state, "done")
        self.assertEqual(invoice.fc_state, "synced")
        ids = {r["webhook_id"] for r in self.sandbox.received() if r["path"] == "/events"}
        self.assertEqual(ids, {message.webhook_id})

    def test_dead_letter_after_max_attempts_notifies_once(self):
        self.connection.write({"max_attempts": 3, "circuit_threshold": 50})
        self.sandbox.set_default(status=503)
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempt_count, 3)
        exc = message.exception_ids
        self.assertEqual(len(exc), 1)
        self.assertEqual(exc.category, "remote_unavailable")
        notifications = exc.message_ids.filtered(lambda m: m.message_type == "notification")
        self.assertEqual(len(notifications), 1, "managers are told once, not per retry")
        self.assertIn(self.manager.partner_id, notifications.partner_ids)

    def test_circuit_opens_and_holds_sends(self):
        self.connection.write({"circuit_threshold": 2, "circuit_cooldown": 600, "max_attempts": 10})
        self.sandbox.set_default(status=503)
        with trap_jobs_ctx(self) as trap:
            invoice = self.post_invoice(100.0)
            trap.perform_enqueued_jobs()  # attempt 1 fails
            trap.perform_enqueued_jobs()  # attempt 2 fails: circuit opens
            self.assertEqual(self.connection.circuit_state, "open")
            sent_before = len(self.sandbox.received())
            trap.perform_enqueued_jobs()  # attempt 3 is held back, not sent
            self.assertEqual(len(self.sandbox.received()), sent_before)
        message = self.messages_of(invoice)
        self.assertEqual(message.attempt_count, 2)
        self.assertEqual(message.state, "retrying")

    def test_invalid_payload_is_not_sent(self):
        self.env["finance.connect.message"]._enqueue_outbound(
            self.connection,
            "invoice.posted",
            {"event_id": "x", "data": {"id": "nope"}},
        )
        message = self.env["finance.connect.message"].search([("idempotency_key", "=", "x")])
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.exception_ids.category, "schema")
        self.assertFalse(self.sandbox.received())

    def test_unsubscribed_connection_gets_nothing(self):
        self.connection.subscription_ids.write({"active": False})
        with self.run_jobs():
            invoice = self.post_invoice(100.0)
        self.assertFalse(self.messages_of(invoice))
        self.assertEqual(invoice.fc_state, "not_synced")

    def test_send_now_and_automation(self):
        invoice = self.init_invoice("out_invoice", amounts=[10.0], post=False)
        automation = self.env["base.automation"].create(
            {
                "name": "Sync invoices on confirmation",
                "model_id": self.env.ref("account.model_account_move").id,
                "trigger": "on_state_set",
                "trg_selection_field_id": self.env.ref(
                    "account.selection__account_move__state__posted"
                ).id,
                "trg_field_ref": self.env.ref("account.selection__account_move__state__posted").id,
                "action_server_ids": [
                    (
                        0,
                        0,
                        {
                            "name": "Run Finance Connect sync",
                            "model_id": self.env.ref("account.model_account_move").id,
                            "state": "multi",
                            "child_ids": [
                                (6, 0, self.env.ref("finance_connect.action_server_sync_move").ids)
                            ],
                        },
                    )
                ],
            }
        )
        self.assertTrue(automation)
        with self.run_jobs():
            invoice.action_post()
        events = set(self.messages_of(invoice).mapped("event_type"))
        self.assertEqual(events, {"invoice.posted", "record.synced"})
        self.assertTrue(all(m.state == "done" for m in self.messages_of(invoice)))

    def test_send_now_names_the_connection_and_asks_before_sending_again(self):
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        self.assertEqual(invoice.fc_state, "synced")
        self.assertEqual(invoice.fc_send_label, "Send to Test bank")
        self.assertTrue(
            invoice.fc_state_note.startswith("Sent to Test bank on "), invoice.fc_state_note
        )
        before = self.messages_of(invoice)
        # Sent already: the button asks first, and nothing is queued yet.
        action = invoice.action_fc_send_now()
        self.assertEqual(action["res_model"], "finance.connect.send.confirm")
        confirm = self.env[action["res_model"]].browse(action["res_id"])
        self.assertIn(invoice.display_name, confirm.summary)
        self.assertIn("Sent to Test bank on", confirm.summary)
        self.assertEqual(self.messages_of(invoice), before)
        with self.run_jobs():
            answer = confirm.action_send_again()
        self.assertIn("1 message(s) queued for Test bank", answer["params"]["message"])
        sent = self.messages_of(invoice) - before
        self.assertEqual(sent.mapped("event_type"), ["record.synced"])
        # A failure says where and why, next to the badge.
        self.sandbox.add_fault(status=400)
        with self.run_jobs():
            failed = self.post_invoice(20.0)
        self.assertEqual(failed.fc_state, "error")
        self.assertTrue(failed.fc_state_note.startswith("Sending to Test bank failed: "))
        # Not sent yet: no question, sent at once.
        draft = self.init_invoice("out_invoice", amounts=[5.0], post=True)
        draft._fc_write_state({"fc_state": "not_synced"})
        with self.run_jobs():
            answer = draft.action_fc_send_now()
        self.assertEqual(answer["tag"], "display_notification")

    def test_dashboard_figures(self):
        self.sandbox.add_fault(status=503)
        with self.run_jobs():
            self.post_invoice(100.0)
            self.post_invoice(200.0)
        conn = self.connection
        conn.invalidate_recordset()
        self.assertEqual(conn.dash_today_done, 2)
        self.assertEqual(conn.dash_queue_depth, 0)
        self.assertAlmostEqual(conn.dash_failure_rate, 33.3, places=1)
        self.assertTrue(conn.dash_last_success)
        self.assertGreater(conn.dash_latency_p95, 0)


def signing_sha(body):
    import hashlib

    return hashlib.sha256(body).hexdigest()


def trap_jobs_ctx(case):
    from odoo.addons.queue_job.tests.common import trap_jobs

    return trap_jobs()
