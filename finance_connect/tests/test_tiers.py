"""Service tiers: per-tier channels, capacities enforced by our gate, pause and resume.

The job runner's own capacities are read at start; the tier's capacity is
enforced by advisory-lock slots that a job takes before it works. These tests
hold slots from a second database session (as running jobs do) and watch what a
user would see: which messages reach the counterparty, which wait, and that
nothing failed or went twice.
"""

from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models.finance_connect_tier import GATE_LOCK_BASE
from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestTiers(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Tier = cls.env["finance.connect.tier"]
        cls.critical = cls.env.ref("finance_connect.tier_critical")
        cls.bulk = cls.env.ref("finance_connect.tier_bulk")
        # Tiers hold every company's work: Settings administrators size and pause them.
        cls.sysadmin = new_test_user(
            cls.env,
            login="fc_tier_sysadmin",
            groups="base.group_system,finance_connect.group_manager",
        )
        cls.reporting = cls._create_connection(
            "Test BI", cls.company_data["company"], kind="reporting"
        )

    def out_messages(self, conn, record):
        return self.messages_of(record).filtered(lambda m: m.connection_id == conn)

    def hold_slots(self, tier, count):
        """A second database session takes ``count`` slots of ``tier``, as running
        jobs do; returns its cursor (closing it gives the slots back)."""
        self.env.flush_all()
        cr = self.registry.cursor()
        self.addCleanup(cr.close)
        for slot in range(count):
            cr.execute(
                SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", GATE_LOCK_BASE + tier.id, slot)
            )
            self.assertTrue(cr.fetchone()[0])
        return cr

    def test_tier_from_kind_and_channel(self):
        self.assertEqual(self.connection.tier, "critical")
        self.assertEqual(self.reporting.tier, "bulk")
        other = self._create_connection("Test other", self.company_data["company"], kind="other")
        self.assertEqual(other.tier, "standard")
        with self.run_jobs() as trap:
            self.post_invoice(10.0)
            channels = set(trap.enqueued_jobs and [job.channel for job in trap.enqueued_jobs])
        self.assertIn(f"root.finance_connect.critical.connection_{self.connection.id}", channels)
        self.assertIn(f"root.finance_connect.bulk.connection_{self.reporting.id}", channels)
        # A manager moves a connection to another tier: its jobs follow.
        self.reporting.with_user(self.manager).tier = "standard"
        self.assertEqual(
            self.reporting._get_channel(),
            f"root.finance_connect.standard.connection_{self.reporting.id}",
        )

    def test_busy_bulk_tier_never_holds_critical_work(self):
        self.bulk.capacity = 1
        other_session = self.hold_slots(self.bulk, 1)  # a bulk job is running
        with self.run_jobs() as trap:
            invoice = self.post_invoice(20.0)
            trap.perform_enqueued_jobs()
            # The critical connection delivered; the bulk one waits for a slot
            # and put its drain back in the queue, a few seconds later.
            self.assertEqual(self.out_messages(self.connection, invoice).state, "done")
            bulk_msg = self.out_messages(self.reporting, invoice)
            self.assertEqual(bulk_msg.state, "queued")
            self.assertEqual(bulk_msg.attempt_count, 0, "waiting for a slot is no failed attempt")
            self.assertTrue(trap.enqueued_jobs, "the bulk drain is queued again")
            self.assertTrue(all(job.eta for job in trap.enqueued_jobs))
            other_session.rollback()  # the running bulk job ends: its slot is free
            other_session.close()
            trap.perform_enqueued_jobs()
        self.assertEqual(bulk_msg.state, "done")
        ids = [m.webhook_id for m in self.out_messages(self.connection, invoice) | bulk_msg]
        delivered = [r["webhook_id"] for r in self.sandbox.deliveries("/events")]
        self.assertEqual(sorted(delivered), sorted(ids), "each message once")

    def test_capacity_set_in_the_ui_applies_at_once(self):
        self.critical.capacity = 2
        other_session = self.hold_slots(self.critical, 2)  # two critical jobs running
        with self.run_jobs() as trap:
            invoice = self.post_invoice(30.0)
            trap.perform_enqueued_jobs()
            msg = self.out_messages(self.connection, invoice)
            self.assertEqual((msg.state, msg.attempt_count), ("queued", 0))
            # An administrator raises the capacity: no restart, the next try goes through.
            self.critical.with_user(self.sysadmin).capacity = 3
            trap.perform_enqueued_jobs()
        self.assertEqual(msg.state, "done")
        other_session.rollback()

    def test_pause_and_resume_a_tier(self):
        self.critical.with_user(self.sysadmin).action_pause()
        self.assertTrue(self.critical.paused)
        with self.run_jobs():
            first = self.post_invoice(40.0)
            second = self.post_invoice(41.0)
        msgs = self.out_messages(self.connection, first) | self.out_messages(
            self.connection, second
        )
        self.assertEqual(set(msgs.mapped("state")), {"queued"})
        self.assertEqual(set(msgs.mapped("attempt_count")), {0})
        self.assertFalse(
            [
                r
                for r in self.sandbox.deliveries("/events")
                if r["webhook_id"] in msgs.mapped("webhook_id")
            ]
        )
        # The bulk tier is not paused: its connection delivered.
        self.assertEqual(self.out_messages(self.reporting, first).state, "done")
        # The wake cron leaves paused work alone.
        with self.run_jobs() as trap:
            self.env["finance.connect.delivery"]._wake_queues(age_seconds=-60)
            self.assertFalse([j for j in trap.enqueued_jobs if j.recordset == self.connection])
        with self.run_jobs():
            self.critical.with_user(self.sysadmin).action_resume()
        self.assertEqual(set(msgs.mapped("state")), {"done"})
        order = [
            r["webhook_id"]
            for r in self.sandbox.deliveries("/events")
            if r["webhook_id"] in msgs.mapped("webhook_id")
        ]
        self.assertEqual(order, msgs.sorted("id").mapped("webhook_id"), "once each, in order")
        audit = self.env["finance.connect.audit"].search(
            [("res_model", "=", "finance.connect.tier"), ("res_id", "=", self.critical.id)]
        )
        self.assertEqual(sorted(audit.mapped("action")), ["tier_paused", "tier_resumed"])
        self.assertEqual(set(audit.mapped("user_id")), {self.sysadmin})

    def test_pause_and_resume_a_connection(self):
        self.connection.with_user(self.manager).action_pause()
        with self.run_jobs():
            invoice = self.post_invoice(50.0)
        msg = self.out_messages(self.connection, invoice)
        self.assertEqual((msg.state, msg.attempt_count), ("queued", 0))
        with self.run_jobs():
            self.connection.with_user(self.manager).action_resume()
        self.assertEqual(msg.state, "done")
        self.assertEqual(len(self.sandbox.deliveries("/events")), 2)  # + the BI connection
        actions = (
            self.env["finance.connect.audit"]
            .search(
                [("res_model", "=", self.connection._name), ("res_id", "=", self.connection.id)]
            )
            .mapped("action")
        )
        self.assertIn("connection_paused", actions)
        self.assertIn("connection_resumed", actions)

    def test_capacity_must_be_sensible(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.bulk.with_user(self.sysadmin).capacity = 0
