"""A neutralized copy: production's feed pull URL is refused, feeds are not
delivered on schedule."""

from odoo.modules.neutralize import neutralize_database
from odoo.tests import HttpCase, tagged

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedNeutralize(ReportingCase, HttpCase):
    def test_neutralized_copy_refuses_the_pull_url_and_stops_the_feed_cron(self):
        cron = self.env.ref("finance_connect_reporting.ir_cron_finance_connect_feed_deliver")
        cron.active = True
        feed = self.make_feed(kind="journal_items", mode="pull")
        token = feed._issue_pull_token()
        url = f"/finance_connect/feed/{token}/rows"
        self.assertEqual(self.url_open(url).status_code, 200, "production reads the feed")
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.assertEqual(self.url_open(url).status_code, 404)
        self.assertFalse(cron.active)
        # the copy's manager generates a new pull URL, which works
        new_url = f"/finance_connect/feed/{feed._issue_pull_token()}/rows"
        self.assertEqual(self.url_open(new_url).status_code, 200)
        self.assertEqual(self.url_open(url).status_code, 404)
