"""Retention class of the reporting addon's messages: feed deliveries."""

from odoo.addons.finance_connect.tests.retention_common import make_aged_message
from odoo.tests import tagged

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedRetention(ReportingCase):
    def test_feed_deliveries_keep_their_own_retention(self):
        self.company_a.write({"fc_retention_feed_days": 20, "fc_retention_other_days": 3650})
        delivery = make_aged_message(self.env, self.reporting, 21, "feed.delivery")
        ack = make_aged_message(self.env, self.reporting, 21, "feed.ack", "in")
        young = make_aged_message(self.env, self.reporting, 19, "feed.delivery")
        invoice = make_aged_message(self.env, self.reporting, 21, "invoice.posted")
        self.assertEqual((delivery | ack).mapped("retention_class"), ["feed", "feed"])
        self.env["finance.connect.message"]._cron_archive_old_messages()
        self.assertEqual(
            [m.active for m in (delivery, ack, young, invoice)], [False, False, True, True]
        )
