"""Push: deliveries through the core's outbound engine, redelivery with a
reason, acknowledgements, unmapped accounts."""

import json
from unittest.mock import patch

from odoo.addons.finance_connect.exceptions import MappingMissing
from odoo.addons.finance_connect_reporting.models.finance_connect_feed import (
    FinanceConnectFeed,
)
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedPush(ReportingCase):
    def _formal_tb(self):
        return self.make_feed(
            kind="trial_balance", period_status="formal", connection_id=self.reporting.id
        )

    def test_formal_needs_locked_period_then_delivers_with_control_totals(self):
        feed = self._formal_tb()
        with self.assertRaises(UserError):
            feed._deliver_period(*self.jan)
        self.lock(self.company_a, "2024-01-31")
        self.lock(self.company_b, "2024-01-31")
        delivery = feed._deliver_period(*self.jan)
        self.assertEqual(delivery.state, "delivered")
        msg = delivery.message_id
        self.assertEqual(msg.event_type, "feed.delivery")
        self.assertEqual(msg.state, "queued", msg.error)  # valid against its schema
        payload = json.loads(msg.sudo().payload)
        self.assertEqual(payload["period"]["status"], "formal")
        self.assertEqual(payload["control"]["sha256"], delivery.sha256)
        self.assertEqual(payload["control"]["total_debit"], delivery.total_debit)
        self.assertEqual(delivery.total_debit, delivery.ledger_debit)
        self.assertEqual(delivery.total_credit, delivery.ledger_credit)
        # The same figures as amounts of the feed's currency: the lists format,
        # compare and add them up.
        self.assertEqual(delivery.currency_id, delivery.feed_id.currency_id)
        self.assertAlmostEqual(delivery.delivered_debit_amount, float(delivery.total_debit))
        self.assertAlmostEqual(delivery.ledger_credit_amount, float(delivery.ledger_credit))
        self.assertTrue(delivery.delivered_debit_amount)
        self.assertEqual(delivery.ledger_difference, 0.0)
        self.assertTrue(all(r["delivery"] == delivery.name for r in payload["rows"]))
        self.assertFalse(any(r["provisional"] for r in payload["rows"]))
        # Unchanged: not delivered again.
        self.assertEqual(feed._deliver_period(*self.jan), delivery)
        self.assertEqual(len(feed.delivery_ids), 1)
        # A change in the locked period: delivered again, with the reason.
        self.lock(self.company_a, "2023-12-31")
        self.init_invoice("out_invoice", invoice_date="2024-01-30", amounts=[11.0], post=True)
        self.lock(self.company_a, "2024-01-31")
        again = feed._deliver_period(*self.jan)
        self.assertNotEqual(again, delivery)
        self.assertEqual(again.previous_id, delivery)
        self.assertEqual(delivery.state, "superseded")
        self.assertIn("changed since", again.note)
        again_payload = json.loads(again.message_id.sudo().payload)
        self.assertEqual(again_payload["replaces"], delivery.name)
        self.assertEqual(again.total_debit, again.ledger_debit)

    def test_feed_deliveries_menu_lists_feed_messages_only(self):
        """The "Feed deliveries" menu opens the messages of feed deliveries, not the
        whole message log."""
        self.lock(self.company_a, "2024-01-31")
        self.lock(self.company_b, "2024-01-31")
        delivery = self._formal_tb()._deliver_period(*self.jan)
        other = self.env["finance.connect.message"]._enqueue_outbound(
            self.reporting, "invoice.posted", {"id": 1}, idempotency_key="not-a-feed"
        )
        menu = self.env.ref("finance_connect_reporting.finance_connect_reporting_messages_menu")
        action = menu.action
        self.assertEqual(action.res_model, "finance.connect.message")
        shown = self.env["finance.connect.message"].search(safe_eval(action.domain or "[]"))
        self.assertIn(delivery.message_id, shown)
        self.assertNotIn(other, shown)

    def test_deliver_now_refused_on_a_pull_only_feed(self):
        """A feed without a reporting connection is not "delivered" (no delivery
        marked push/delivered without a message): refused, saying why."""
        feed = self.make_feed(kind="trial_balance", period_status="flash")
        self.assertFalse(feed.connection_id)
        with self.assertRaisesRegex(UserError, "no reporting connection"):
            feed.action_deliver_last_period()
        self.assertFalse(feed.delivery_ids)
        # with a connection, it delivers
        feed.connection_id = self.reporting
        feed.action_deliver_last_period()
        self.assertTrue(feed.delivery_ids.message_id)

    def test_acknowledgement_match_and_mismatch(self):
        feed = self.make_feed(kind="trial_balance", connection_id=self.reporting.id)
        delivery = feed._deliver_period(*self.jan)
        control = json.loads(delivery.message_id.sudo().payload)["control"]
        # Through the inbound handler of the reporting connection.
        Message = self.env["finance.connect.message"]
        ack, _created = Message._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.reporting.id,
                "event_type": "feed.ack",
                "idempotency_key": "ack-1",
                "state": "queued",
                "payload": json.dumps({"delivery": delivery.name, "control": control}),
            }
        )
        ack._job_process()
        self.assertEqual(ack.state, "done")
        self.assertEqual(delivery.state, "acknowledged")
        self.assertEqual(delivery.ack_row_count, delivery.row_count)
        self.assertEqual(delivery.ack_difference, 0.0)
        self.assertAlmostEqual(delivery.ack_debit_amount, delivery.delivered_debit_amount)

        other = self.make_feed(
            kind="trial_balance", connection_id=self.reporting.id, name="Second feed"
        )._deliver_period(*self.jan)
        wrong = dict(control, total_debit="1.00")
        other._acknowledge(wrong, source="test")
        self.assertEqual(other.state, "mismatch")
        # The list shows how far off it is, and adds it up per feed.
        self.assertAlmostEqual(other.ack_difference, abs(other.delivered_debit_amount - 1.0))
        Delivery = self.env["finance.connect.feed.delivery"]
        groups = Delivery._read_group(
            [("id", "in", (delivery | other).ids)], ["feed_id"], ["ack_difference:sum"]
        )
        self.assertEqual(dict(groups), {delivery.feed_id: 0.0, other.feed_id: other.ack_difference})
        exc = self.env["finance.connect.exception"].search(
            [("res_model", "=", other._name), ("res_id", "=", other.id)]
        )
        self.assertEqual(exc.category, "balance_mismatch")
        self.assertIn("total debit", exc.description)

    def test_unmapped_account_blocks_the_period(self):
        mapping = self.env["finance.connect.mapping"].create(
            {"name": "Group chart", "company_id": self.company_a.id}
        )
        income = self.company_data["default_account_revenue"]
        self.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": mapping.id,
                "mapping_type": "account",
                "account_id": income.id,
                "external_code": "G4000",
            }
        )
        feed = self.make_feed(
            kind="trial_balance", connection_id=self.reporting.id, mapping_id=mapping.id
        )
        before = self.env["finance.connect.message"].search_count([])
        delivery = feed._deliver_period(*self.jan)
        self.assertEqual(delivery.state, "blocked")
        self.assertFalse(delivery.message_id)
        self.assertEqual(self.env["finance.connect.message"].search_count([]), before)
        excs = self.env["finance.connect.exception"].search(
            [("category", "=", "mapping"), ("res_model", "=", feed._name), ("res_id", "=", feed.id)]
        )
        self.assertTrue(excs)
        receivable = self.company_data["default_account_receivable"].code
        self.assertIn(receivable, excs.mapped("mapping_value"))
        self.assertNotIn(income.code, excs.mapped("mapping_value"))
        feed.kind = "journal_items"
        with (
            self.assertRaises(MappingMissing),
            patch.object(FinanceConnectFeed, "_snapshot_watermark", lambda self: 2**62),
        ):
            self.pull._pull_page(feed, None, 10)
        # Once every account is mapped, the period goes out, with group accounts.
        feed.kind = "trial_balance"
        for code in set(excs.mapped("mapping_value")):
            self.env["finance.connect.mapping.line"].create(
                {
                    "mapping_id": mapping.id,
                    "mapping_type": "account",
                    "source_value": code,
                    "external_code": f"G{code}",
                }
            )
        self.assertEqual(set(excs.mapped("state")), {"open"})  # mapping alone decides nothing
        delivery = feed._deliver_period(*self.jan)
        self.assertEqual(delivery.state, "delivered")
        rows = json.loads(delivery.message_id.sudo().payload)["rows"]
        self.assertTrue(all(r["group_account"] for r in rows))
        self.assertIn("G4000", {r["group_account"] for r in rows})
        # The delivery that used the accounts closes their exceptions, with a note.
        self.assertEqual(set(excs.mapped("state")), {"resolved"})
        self.assertIn("is mapped now", excs[0].message_ids[0].body)
