"""Degraded mode: a counterparty down for a while, then back.

The sandbox counterparty answers 503 for a while: the circuit opens; when it
has stayed open longer than the connection allows, real-time events are
collected in batches and the connection says so. When the counterparty is back,
every message goes out once, in the order its event happened, then real time
resumes. Time passing is simulated by moving the stored timestamps back.
"""

import json
from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestDegradedMode(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.psp = cls._create_connection(
            "Test PSP",
            cls.company_data["company"],
            kind="psp",
            deliver_in_order=True,
            degrade_after_minutes=5,
            circuit_threshold=2,
            circuit_cooldown=60,
            max_attempts=10,
            backoff_base=30,
        )
        cls.connection.active = False  # only the PSP receives the invoices here

    def perform_all(self, trap, rounds=20):
        """Run the jobs that are due now; jobs due later (a retry, a drain put
        off by the open circuit) are dropped: :meth:`minutes_pass` and a new
        drain stand for them."""
        for _ in range(rounds):
            soon = datetime.now() + timedelta(seconds=2)
            trap.enqueued_jobs = [j for j in trap.enqueued_jobs if not j.eta or j.eta <= soon]
            if not trap.enqueued_jobs:
                return
            trap.perform_enqueued_jobs()
        raise AssertionError("jobs keep re-queueing themselves")

    def msg(self, invoice):
        return self.messages_of(invoice).filtered(lambda m: m.connection_id == self.psp)

    def minutes_pass(self, minutes):
        """Move the connection's and its messages' clocks ``minutes`` back."""
        delta = timedelta(minutes=minutes)
        psp = self.psp.sudo()
        vals = {}
        for name in ("circuit_opened_at", "circuit_changed_at"):
            if psp[name]:
                vals[name] = psp[name] - delta
        psp.write(vals)
        for message in (
            self.env["finance.connect.message"]
            .sudo()
            .search([("connection_id", "=", psp.id), ("next_retry_at", "!=", False)])
        ):
            message.next_retry_at -= delta

    def test_down_then_back_every_message_once_in_order(self):
        self.sandbox.set_default(status=503)
        with self.run_jobs():
            inv1 = self.post_invoice(1.0)
            inv2 = self.post_invoice(2.0)
        m1, m2 = self.msg(inv1), self.msg(inv2)
        # In order: the first failed and will retry; the second waits behind it.
        self.assertEqual((m1.state, m1.attempt_count), ("retrying", 1))
        self.assertEqual((m2.state, m2.attempt_count), ("queued", 0))
        self.minutes_pass(1)
        with self.run_jobs():
            self.env["finance.connect.delivery"]._schedule_drain(self.psp, [0])
        self.assertEqual(self.psp.circuit_state, "open")
        self.assertEqual(m2.attempt_count, 0, "nothing overtook the first message")
        self.assertFalse(self.psp.degraded)
        self.env["finance.connect.connection"]._cron_check_degraded()
        self.assertFalse(self.psp.degraded, "open for less than 5 minutes")

        # Down for 6 minutes: real time switches to batch, and the form says so.
        self.minutes_pass(6)
        self.env["finance.connect.connection"]._cron_check_degraded()
        self.assertTrue(self.psp.degraded)
        self.assertIn("Degraded: sending in batches since", self.psp.degraded_text)
        sub = self.psp.subscription_ids.filtered(lambda s: s.event_type == "invoice.posted")
        self.assertEqual(sub.mode, "realtime", "the configured mode is kept")
        with self.run_jobs():
            inv3 = self.post_invoice(3.0)
        m3 = self.msg(inv3)
        self.assertEqual(m3.state, "new", "collected for a batch, not sent on its own")
        self.env["finance.connect.subscription"]._cron_send_batches()
        self.assertTrue(m3.batch_id)
        with self.run_jobs():
            inv4 = self.post_invoice(4.0)
        m4 = self.msg(inv4)
        self.assertEqual(m4.state, "new")
        self.assertEqual(self.sandbox.deliveries(), [], "nothing got through while down")

        # Back: the probe goes through, the circuit closes, the rest follows in order.
        self.sandbox.reset()
        self.minutes_pass(2)
        with self.run_jobs():
            self.env["finance.connect.delivery"]._schedule_drain(self.psp, [0])
        self.assertEqual(self.psp.circuit_state, "closed")
        self.assertFalse(self.psp.degraded, "real time resumes")
        self.assertFalse(self.psp.degraded_text)
        self.assertTrue(m4.batch_id, "the events collected last went in a batch at recovery")
        with self.run_jobs():
            inv5 = self.post_invoice(5.0)
        m5 = self.msg(inv5)
        self.assertFalse(m5.batch_id, "real time again: a message of its own")
        all_msgs = m1 | m2 | m3 | m4 | m5
        self.assertEqual(set(all_msgs.mapped("state")), {"done"})

        deliveries = self.sandbox.deliveries("/events")
        ids = [r["webhook_id"] for r in deliveries]
        self.assertEqual(len(ids), len(set(ids)), "every message delivered once")
        expected = [m1.webhook_id, m2.webhook_id, m3.batch_id.webhook_id]
        if m4.batch_id != m3.batch_id:
            expected.append(m4.batch_id.webhook_id)
        expected.append(m5.webhook_id)
        self.assertEqual(ids, expected, "in the order the events happened")
        # And inside the batches, the events in their order too.
        amounts = []
        for record in deliveries:
            body = json.loads(record["body"])
            for item in body.get("items", [body]):
                amounts.append(item["data"]["amount_untaxed"])
        self.assertEqual(amounts, ["1.00", "2.00", "3.00", "4.00", "5.00"])
        audit = (
            self.env["finance.connect.audit"]
            .search([("res_model", "=", self.psp._name), ("res_id", "=", self.psp.id)])
            .mapped("action")
        )
        self.assertIn("degraded_on", audit)
        self.assertIn("degraded_off", audit)

    def test_not_degraded_without_a_setting(self):
        self.psp.degrade_after_minutes = 0
        self.sandbox.set_default(status=503)
        with self.run_jobs():
            self.post_invoice(1.0)
        self.minutes_pass(1)
        with self.run_jobs():
            self.env["finance.connect.delivery"]._schedule_drain(self.psp, [0])
        self.assertEqual(self.psp.circuit_state, "open")
        self.minutes_pass(600)
        self.env["finance.connect.connection"]._cron_check_degraded()
        self.assertFalse(self.psp.degraded)
        self.sandbox.reset()
