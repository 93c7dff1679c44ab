"""Business SLA of the reporting addon: a feed's month not acknowledged by the
consumer by day D of the next month.

EXTENDS finance_connect: ``selection_add`` on ``kind`` and
``_evaluate_feed_ack``; evaluated by the core's cron and, at once, when an
acknowledgement arrives (``_fc_on_feed_ack``).
"""

from datetime import timedelta

import pytz

from odoo import api, fields, models


class FinanceConnectSlaRule(models.Model):
    _inherit = "finance.connect.sla.rule"

    kind = fields.Selection(
        selection_add=[("feed_ack", "Feed period not acknowledged by day D")],
        ondelete={"feed_ack": "cascade"},
    )
    feed_id = fields.Many2one(
        "finance.connect.feed",
        check_company=True,
        ondelete="cascade",
        help="The feed whose monthly period the consumer must acknowledge.",
    )

    def _get_missing_fields(self):
        # EXTENDS finance_connect
        missing = super()._get_missing_fields()
        if self.kind == "feed_ack" and not self.feed_id:
            missing.append(self._fields["feed_id"].get_description(self.env)["string"])
        return missing

    def _fc_feed_period(self, now):
        """The month whose acknowledgement was due last (by the end of day D of
        the month after it, on the calendar's clock): ``(first day, last day)``."""
        self.ensure_one()
        today = pytz.utc.localize(now).astimezone(self._get_tz()).date()
        month_start = today.replace(day=1)
        if today.day <= self.day:
            # Day D of this month has not ended: the month before last was the last due.
            month_start = (month_start - timedelta(days=1)).replace(day=1)
        period_end = month_start - timedelta(days=1)
        return period_end.replace(day=1), period_end

    def _evaluate_feed_ack(self, now):
        """The last due month of the feed has no acknowledged delivery."""
        date_from, date_to = self._fc_feed_period(now)
        acknowledged = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .search_count(
                [
                    ("feed_id", "=", self.feed_id.id),
                    ("state", "=", "acknowledged"),
                    ("date_from", "<=", date_from),
                    ("date_to", ">=", date_to),
                ],
                limit=1,
            )
        )
        if acknowledged:
            return None
        return self.env._(
            "The period %(from)s to %(to)s of feed %(feed)s was not acknowledged by the "
            "consumer by day %(day)s of the next month. Check that it was delivered (deliver "
            "it again if needed) and ask the consumer to load and acknowledge it: this breach "
            "resolves itself when the acknowledgement arrives.",
            feed=self.feed_id.display_name,
            day=self.day,
            to=fields.Date.to_string(date_to),
            **{"from": fields.Date.to_string(date_from)},
        )

    @api.model
    def _fc_on_feed_ack(self, feeds):
        """Re-check the acknowledgement rules of ``feeds`` now."""
        rules = self.sudo().search([("kind", "=", "feed_ack"), ("feed_id", "in", feeds.ids)])
        rules._apply_evaluation()
