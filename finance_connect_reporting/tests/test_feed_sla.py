"""Business SLA of the reporting feeds: a month acknowledged by the consumer by
day D of the next month. Time moves by passing ``now`` (and, for the
acknowledgement arriving, by freezing the clock)."""

from datetime import datetime

from freezegun import freeze_time

from odoo.addons.finance_connect.tests.test_sla import SlaMixin
from odoo.tests import tagged

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedSla(SlaMixin, ReportingCase):
    def test_month_not_acknowledged_by_day_d(self):
        feed = self.make_feed()
        delivery = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .create(
                {
                    "feed_id": feed.id,
                    "company_id": self.company_a.id,
                    "mode": "push",
                    "date_from": "2026-10-01",
                    "date_to": "2026-10-31",
                    "state": "delivered",
                    "row_count": 3,
                    "total_debit": "10.00",
                    "total_credit": "10.00",
                    "sha256": "ab" * 32,
                }
            )
        )
        rule = self._rule(name="October loaded by the 5th", kind="feed_ack", feed_id=feed.id, day=5)
        rule.company_id.resource_calendar_id.tz = "UTC"
        # On the 5th the consumer still has the day; September was due on 5 October.
        september = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .create(
                {
                    "feed_id": feed.id,
                    "company_id": self.company_a.id,
                    "mode": "push",
                    "date_from": "2026-09-01",
                    "date_to": "2026-09-30",
                    "state": "acknowledged",
                }
            )
        )
        rule._apply_evaluation(datetime(2026, 11, 5, 23, 0))
        self.assertFalse(self._breaches(rule), "day D is not over yet")
        rule._apply_evaluation(datetime(2026, 11, 6, 0, 5))
        breach = self._breaches(rule)
        self.assertIn("The period 2026-10-01 to 2026-10-31 of feed Group feed", breach.description)
        self.assertIn("by day 5 of the next month", breach.description)
        self.assertEqual(breach.activity_ids.user_id, self.manager)
        rule._apply_evaluation(datetime(2026, 11, 7, 9, 0))
        self.assertEqual(self._breaches(rule), breach, "one exception per rule")
        # The consumer acknowledges October with matching totals: resolved at once.
        with freeze_time("2026-11-07 10:00:00"):
            delivery._acknowledge(delivery._control(), source="test")
        self.assertEqual(delivery.state, "acknowledged")
        self.assertEqual(breach.state, "resolved")
        self.assertTrue(september.exists())

    def test_mismatching_acknowledgement_keeps_the_breach(self):
        feed = self.make_feed()
        delivery = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .create(
                {
                    "feed_id": feed.id,
                    "company_id": self.company_a.id,
                    "mode": "push",
                    "date_from": "2026-10-01",
                    "date_to": "2026-10-31",
                    "state": "delivered",
                    "row_count": 3,
                    "total_debit": "10.00",
                    "total_credit": "10.00",
                    "sha256": "ab" * 32,
                }
            )
        )
        rule = self._rule(name="October", kind="feed_ack", feed_id=feed.id, day=5)
        rule.company_id.resource_calendar_id.tz = "UTC"
        with freeze_time("2026-11-07 10:00:00"):
            delivery._acknowledge(dict(delivery._control(), row_count=2), source="test")
        self.assertEqual(delivery.state, "mismatch")
        self.assertIn("2026-10-01 to 2026-10-31", self._breaches(rule).description)
