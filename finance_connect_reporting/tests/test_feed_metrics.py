"""The feeds' gauges on the metrics endpoint, scraped over real HTTP."""

from datetime import UTC, date, datetime

from prometheus_client.parser import text_string_to_metric_families

from odoo.tests import HttpCase, tagged

from .common import ReportingCase


def _timestamp(day):
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@tagged("post_install", "-at_install")
class TestFeedMetrics(ReportingCase, HttpCase):
    def scrape(self, company):
        token = self.env["finance.connect.metrics.token"]._issue_metrics_token(company)
        response = self.url_open(
            "/finance_connect/metrics", headers={"Authorization": f"Bearer {token}"}
        )
        self.assertEqual(response.status_code, 200)
        return {
            (sample.name, sample.labels.get("feed_id")): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
            if sample.name.startswith("finance_connect_feed_")
        }

    def test_last_delivered_and_acknowledged_periods(self):
        feed = self.make_feed(kind="trial_balance", connection_id=self.reporting.id)
        quiet = self.make_feed(name="Never delivered", connection_id=self.reporting.id)
        january = feed._deliver_period(*self.jan)
        january._acknowledge(january._control(), source="test")
        self.assertEqual(january.state, "acknowledged")
        february = feed._deliver_period(date(2024, 2, 1), date(2024, 2, 29))
        self.assertEqual(february.state, "delivered")
        delivered = "finance_connect_feed_last_delivered_period_end_timestamp_seconds"
        acknowledged = "finance_connect_feed_last_acknowledged_period_end_timestamp_seconds"
        gauges = self.scrape(self.company_a)
        self.assertEqual(gauges[delivered, str(feed.id)], _timestamp(date(2024, 2, 29)))
        self.assertEqual(gauges[acknowledged, str(feed.id)], _timestamp(date(2024, 1, 31)))
        # A feed that delivered nothing has no series yet.
        self.assertNotIn((delivered, str(quiet.id)), gauges)
        # Company B's token does not see company A's feeds.
        self.assertFalse(
            [key for key in self.scrape(self.company_b) if key[1] in (str(feed.id), str(quiet.id))]
        )
