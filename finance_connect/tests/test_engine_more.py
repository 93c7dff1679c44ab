"""More of the engine as users meet it: batches, payments, OAuth2, masking, limits."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.tests import tagged

from .common import FinanceConnectCase


class _TokenHandler(BaseHTTPRequestHandler):
    calls = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        type(self).calls.append(self.rfile.read(length).decode())
        body = json.dumps({"access_token": f"tok-{len(self.calls)}", "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestEngineMore(FinanceConnectCase):
    def test_batch_subscription_sends_one_message_of_many(self):
        self.connection.subscription_ids.filtered(
            lambda s: s.event_type == "invoice.posted"
        ).mode = "batch"
        with self.run_jobs():
            invoices = self.post_invoice(10.0) | self.post_invoice(20.0) | self.post_invoice(30.0)
        items = self.env["finance.connect.message"].search(
            [("res_model", "=", "account.move"), ("res_id", "in", invoices.ids)]
        )
        self.assertEqual(set(items.mapped("state")), {"new"}, "batch items wait for the cron")
        self.assertFalse(self.sandbox.received())
        with self.run_jobs():
            self.env["finance.connect.subscription"]._cron_send_batches()
        deliveries = self.sandbox.deliveries("/events")
        self.assertEqual(len(deliveries), 1)
        body = json.loads(deliveries[0]["body"])
        self.assertEqual(body["event_type"], "batch")
        self.assertEqual(
            sorted(i["data"]["name"] for i in body["items"]), sorted(invoices.mapped("name"))
        )
        self.assertEqual(set(items.mapped("state")), {"done"})
        self.assertEqual(set(invoices.mapped("fc_state")), {"synced"})
        # The cron again: nothing new to send.
        with self.run_jobs():
            self.env["finance.connect.subscription"]._cron_send_batches()
        self.assertEqual(len(self.sandbox.deliveries("/events")), 1)

    def test_payment_posted_is_delivered(self):
        invoice = self.post_invoice(80.0)
        with self.run_jobs():
            payment = (
                self.env["account.payment.register"]
                .with_context(
                    active_model="account.move",
                    active_ids=invoice.ids,
                )
                .create({})
                ._create_payments()
            )
        messages = self.messages_of(payment)
        self.assertEqual(messages.mapped("event_type"), ["payment.posted"])
        self.assertEqual(messages.state, "done")
        body = json.loads(self.sandbox.deliveries("/events")[-1]["body"])
        self.assertEqual(body["data"]["amount"], "80.00")
        self.assertEqual(payment.fc_state, "synced")

    def test_payload_masked_below_administrator(self):
        self.partner_a.vat = False
        bank = self.env["res.partner.bank"].create(
            {"acc_number": "NL91ABNA0417164300", "partner_id": self.partner_a.id}
        )
        self.assertTrue(bank)
        message = self.env["finance.connect.message"]._enqueue_outbound(
            self.connection,
            "record.synced",
            {
                "event_id": "iban-1",
                "occurred_at": "2026-01-01T00:00:00Z",
                "company": {"id": 1, "name": "C", "vat": None, "currency": "EUR"},
                "data": {
                    "model": "res.partner.bank",
                    "id": bank.id,
                    "display_name": "x",
                    "company": None,
                    "data": {"iban": "NL91ABNA0417164300"},
                },
            },
        )
        as_user = message.with_user(self.fc_user)
        self.assertNotIn("NL91ABNA0417164300", as_user.payload_display)
        self.assertIn("4300", as_user.payload_display)
        self.assertIn("NL91ABNA0417164300", message.payload_display)

    def test_oauth2_token_fetched_once_and_cached(self):
        _TokenHandler.calls = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        self.connection.write(
            {
                "auth_type": "oauth2",
                "oauth_token_url": f"http://127.0.0.1:{server.server_port}/token",
                "oauth_client_id": "client-1",
                "oauth_client_secret": "s3cret-client",
            }
        )
        with self.run_jobs():
            self.post_invoice(1.0)
            self.post_invoice(2.0)
        self.assertEqual(len(_TokenHandler.calls), 1, "the token is cached until expiry")
        self.assertIn("grant_type=client_credentials", _TokenHandler.calls[0])
        auths = {d["headers"].get("Authorization") for d in self.sandbox.deliveries("/events")}
        self.assertEqual(auths, {"Bearer tok-1"})

    def test_rate_limit_postpones_instead_of_sending(self):
        self.connection.rate_limit_per_minute = 1
        with self.run_jobs() as trap:
            first = self.post_invoice(1.0)
            second = self.post_invoice(2.0)
            trap.perform_enqueued_jobs()
            states = sorted([self.messages_of(first).state, self.messages_of(second).state])
            self.assertEqual(states, ["done", "queued"])
            self.assertEqual(len(self.sandbox.deliveries("/events")), 1)
            trap.enqueued_jobs = []  # the postponed attempt waits for the next minute

    def test_paused_connection_holds_messages(self):
        self.connection.paused = True
        with self.run_jobs():
            invoice = self.post_invoice(5.0)
        self.assertEqual(self.messages_of(invoice).state, "queued")
        self.assertFalse(self.sandbox.received())
        self.connection.paused = False
        with self.run_jobs():
            self.messages_of(invoice)._enqueue_send(1)
        self.assertEqual(self.messages_of(invoice).state, "done")


@tagged("post_install", "-at_install")
class TestStatementLineEvent(FinanceConnectCase):
    def test_reconciled_statement_line_is_delivered_once(self):
        from odoo import Command

        self.env["finance.connect.subscription"].create(
            {"connection_id": self.connection.id, "event_type": "statement_line.reconciled"}
        )
        invoice = self.post_invoice(150.0)
        st_line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.company_data["default_journal_bank"].id,
                "date": "2019-01-10",
                "amount": invoice.amount_total,
                "payment_ref": invoice.name,
                "partner_id": self.partner_a.id,
            }
        )
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        _liquidity, suspense, _other = st_line._seek_for_lines()
        with self.run_jobs():
            st_line.move_id.with_context(skip_readonly_check=True).write(
                {
                    "line_ids": [
                        Command.update(suspense.id, {"account_id": receivable.account_id.id})
                    ]
                }
            )
            (suspense | receivable).reconcile()
        self.assertTrue(st_line.is_reconciled)
        message = self.messages_of(st_line)
        self.assertEqual(message.event_type, "statement_line.reconciled")
        self.assertEqual(message.state, "done")
        body = json.loads(self.sandbox.deliveries("/events")[-1]["body"])
        self.assertTrue(body["data"]["is_reconciled"])
        self.assertEqual(body["data"]["reconciled_move_names"], [invoice.name])
        self.assertEqual(st_line.fc_state, "synced")
