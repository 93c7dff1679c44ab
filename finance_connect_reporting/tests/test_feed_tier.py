"""A reporting feed's incremental delivery waits for a slot of the bulk tier."""

from odoo.addons.finance_connect.models.finance_connect_tier import GATE_LOCK_BASE
from odoo.tests import tagged
from odoo.tools import SQL

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedTier(ReportingCase):
    def test_increment_waits_while_the_bulk_tier_is_busy(self):
        bulk = self.env.ref("finance_connect.tier_bulk")
        bulk.capacity = 1
        self.assertEqual(self.reporting.tier, "bulk")
        feed = self.make_feed(mode="event", connection_id=self.reporting.id, kind="journal_items")
        Delivery = self.env["finance.connect.feed.delivery"]
        before = Delivery.search_count([("feed_id", "=", feed.id)])
        watermark = feed.last_watermark
        self.env.flush_all()
        other = self.registry.cursor()  # a bulk job is running elsewhere
        self.addCleanup(other.close)
        other.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, 0)", GATE_LOCK_BASE + bulk.id))
        self.assertTrue(other.fetchone()[0])
        with self.run_jobs() as trap:
            outcome = feed._job_deliver_increment()
            self.assertIn("busy", outcome)
            self.assertEqual(Delivery.search_count([("feed_id", "=", feed.id)]), before)
            self.assertEqual(feed.last_watermark, watermark, "nothing delivered, nothing skipped")
            self.assertEqual(len(trap.enqueued_jobs), 1, "it comes back a few seconds later")
            self.assertTrue(trap.enqueued_jobs[0].eta)
            other.rollback()  # the other bulk job ends
            trap.enqueued_jobs = []
        # Its slot is free: the increment runs (what it delivers depends on the
        # transactions committed before it, which a test transaction cannot show).
        self.assertEqual(feed._job_deliver_increment(), "nothing new")
