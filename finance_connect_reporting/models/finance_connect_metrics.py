"""The feeds' gauges on the metrics endpoint (``/finance_connect/metrics``)."""

from datetime import UTC, datetime, time

from prometheus_client.metrics_core import GaugeMetricFamily

from odoo import api, models
from odoo.addons.finance_connect.lib.metrics import PREFIX
from odoo.tools import SQL

#: Deliveries whose period went out (a superseded one went out, then again).
DELIVERED_STATES = ("delivered", "acknowledged", "mismatch", "superseded")


def _end_timestamp(day):
    """The last day of a period as a Unix timestamp (its 00:00 UTC)."""
    return datetime.combine(day, time.min, tzinfo=UTC).timestamp()


class FinanceConnectMetrics(models.AbstractModel):
    _inherit = "finance.connect.metrics"

    @api.model
    def _metrics_families(self, company):
        # EXTENDS finance_connect: per feed of the company, the end of the last
        # period delivered and of the last one acknowledged (push deliveries of
        # a period; pull runs and journal-item increments have no period).
        families = super()._metrics_families(company)
        self.env.cr.execute(
            SQL(
                """
                SELECT f.id, f.name,
                       max(d.date_to) FILTER (WHERE d.state IN %(delivered)s),
                       max(d.date_to) FILTER (WHERE d.state = 'acknowledged')
                  FROM finance_connect_feed f
                  LEFT JOIN finance_connect_feed_delivery d
                         ON d.feed_id = f.id AND d.date_to IS NOT NULL
                 WHERE f.company_id = %(company)s AND f.active
                 GROUP BY f.id, f.name
                """,
                delivered=DELIVERED_STATES,
                company=company.id,
            )
        )
        delivered = GaugeMetricFamily(
            PREFIX + "feed_last_delivered_period_end_timestamp_seconds",
            "Last day of the latest period a feed delivered (00:00 UTC).",
            labels=["feed", "feed_id"],
            unit="seconds",
        )
        acknowledged = GaugeMetricFamily(
            PREFIX + "feed_last_acknowledged_period_end_timestamp_seconds",
            "Last day of the latest period a feed's consumer acknowledged (00:00 UTC).",
            labels=["feed", "feed_id"],
            unit="seconds",
        )
        for feed_id, name, last_delivered, last_acknowledged in self.env.cr.fetchall():
            labels = [name, str(feed_id)]
            if last_delivered:
                delivered.add_metric(labels, _end_timestamp(last_delivered))
            if last_acknowledged:
                acknowledged.add_metric(labels, _end_timestamp(last_acknowledged))
        return [*families, delivered, acknowledged]
