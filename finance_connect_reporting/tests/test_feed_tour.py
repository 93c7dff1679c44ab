"""The reporting feeds in a browser: an Odoo tour in headless Chromium.

An accountant creates a flash trial balance feed mapped to a group chart that
misses accounts: "Deliver now" blocks the month (nothing sent). Once the
accounts are mapped, the month goes out with the ledger's totals.
"""

import json
from decimal import Decimal

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import ReportingCase

FEEDS_URL = "/odoo/action-finance_connect_reporting.finance_connect_feed_action"


@tagged("post_install", "-at_install")
class TestFeedTour(ReportingCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A flash feed delivers the current month up to the user's today.
        cls.today = fields.Date.context_today(cls.manager.with_user(cls.manager))
        cls.period = (cls.today.replace(day=1), cls.today)
        cls.init_invoice("out_invoice", invoice_date=cls.today, amounts=[120.0], post=True)
        cls.income = cls.company_data["default_account_revenue"]
        cls.mapping = cls.env["finance.connect.mapping"].create(
            {"name": "Tour group chart", "company_id": cls.company_a.id}
        )
        cls.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": cls.mapping.id,
                "mapping_type": "account",
                "account_id": cls.income.id,
                "external_code": "G4000",
            }
        )

    def feed_messages(self):
        return self.env["finance.connect.message"].search(
            [("connection_id", "=", self.reporting.id), ("event_type", "=", "feed.delivery")]
        )

    def test_unmapped_accounts_block_then_the_month_goes_out(self):
        ledger = self.odoo_trial_balance(self.company_a, *self.period)
        unmapped = sorted({code for _company, code in ledger} - {self.income.code})
        self.assertIn(self.company_data["default_account_receivable"].code, unmapped)

        self.start_tour(FEEDS_URL, "finance_connect_reporting_feed_tour", login=self.manager.login)
        self.env.invalidate_all()
        feed = self.env["finance.connect.feed"].search([("name", "=", "Tour trial balance")])
        self.assertEqual(
            (feed.kind, feed.mode, feed.period_status, feed.mapping_id, feed.connection_id),
            ("trial_balance", "batch", "flash", self.mapping, self.reporting),
        )
        self.assertEqual(feed.company_ids, self.company_a)
        blocked = feed.delivery_ids
        self.assertEqual(blocked.state, "blocked")
        self.assertEqual((blocked.date_from, blocked.date_to), self.period)
        self.assertEqual(blocked.note, f"Unmapped accounts: {', '.join(unmapped)}")
        self.assertFalse(blocked.message_id)
        self.assertFalse(self.feed_messages())
        excs = self.env["finance.connect.exception"].search(
            [("category", "=", "mapping"), ("res_model", "=", feed._name), ("res_id", "=", feed.id)]
        )
        self.assertEqual(sorted(excs.mapped("mapping_value")), unmapped)
        self.assertEqual(set(excs.mapped("state")), {"open"})

        for code in unmapped:
            self.env["finance.connect.mapping.line"].create(
                {
                    "mapping_id": self.mapping.id,
                    "mapping_type": "account",
                    "source_value": code,
                    "external_code": f"G{code}",
                }
            )
        self.start_tour(
            f"{FEEDS_URL}/{feed.id}",
            "finance_connect_reporting_feed_redeliver_tour",
            login=self.manager.login,
        )
        self.env.invalidate_all()
        self.assertEqual(blocked.state, "blocked")
        delivered = feed.delivery_ids - blocked
        self.assertEqual(delivered.state, "delivered")
        self.assertEqual((delivered.date_from, delivered.date_to), self.period)
        # The delivered rows add up to Odoo's own trial balance of the month.
        message = delivered.message_id
        self.assertEqual(message, self.feed_messages())
        self.assertEqual(message.state, "queued", message.error)
        rows = json.loads(message.sudo().payload)["rows"]
        self.assertEqual(self.sum_rows(rows), ledger)
        self.assertEqual(
            {r["account_code"]: r["group_account"] for r in rows},
            {code: "G4000" if code == self.income.code else f"G{code}" for _c, code in ledger},
        )
        debit = sum((d for d, _c, _b in ledger.values()), Decimal(0))
        credit = sum((c for _d, c, _b in ledger.values()), Decimal(0))
        self.assertEqual(Decimal(delivered.total_debit), debit)
        self.assertEqual(Decimal(delivered.total_credit), credit)
        self.assertEqual(
            (delivered.ledger_debit, delivered.ledger_credit),
            (delivered.total_debit, delivered.total_credit),
        )
        # The accounts are mapped and the month went out: their exceptions are closed.
        self.assertEqual(set(excs.mapped("state")), {"resolved"})
