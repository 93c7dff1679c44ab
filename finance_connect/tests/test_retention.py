"""Retention per message class, legal holds, and archived payloads verified by
their hash.

Messages get their age by moving their ``create_date`` back
(``retention_common.make_aged_message``); the retention cron then archives what a user of
the message log would no longer see in its default view.
"""

import hashlib
from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .retention_common import make_aged_message
from .trust_common import TrustCase

HOLD = "finance.connect.legal.hold"


@tagged("post_install", "-at_install")
class RetentionCase(TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("finance_connect.retention_days", 90)
        cls.conn_b = cls._create_connection("Retention bank B", cls.company_b)
        cls.other_conn = cls._create_connection("Second bank", cls.company_a)
        cls.fc_admin = new_test_user(
            cls.env,
            login="fc_admin_ret",
            groups="account.group_account_manager,finance_connect.group_administrator",
            company_id=cls.company_a.id,
        )
        # no hold of the database's own data interferes
        cls.env[HOLD].sudo().with_context(active_test=False).search([]).write({"active": False})

    def make_message(self, age_days, event_type="invoice.posted", direction="out", **vals):
        """A message (done by default) recorded ``age_days`` ago."""
        connection = self.env["finance.connect.connection"].browse(
            vals.pop("connection_id", self.connection.id)
        )
        return make_aged_message(self.env, connection, age_days, event_type, direction, **vals)

    def archive(self):
        return self.env["finance.connect.message"]._cron_archive_old_messages()

    def assert_archived(self, archived=(), kept=()):
        for message in archived:
            self.assertFalse(message.active, f"{message.event_type} should be archived")
        for message in kept:
            self.assertTrue(message.active, f"{message.event_type} should be kept")

    def hold(self, **vals):
        return self.env[HOLD].create({"name": "Tax audit 2025", **vals})


@tagged("post_install", "-at_install")
class TestRetentionClasses(RetentionCase):
    def test_class_of_a_message(self):
        out = self.make_message(1, "invoice.posted")
        webhook = self.make_message(1, "payment.settled", direction="in")
        self.assertEqual(out.retention_class, "other")
        self.assertEqual(webhook.retention_class, "webhook")
        Message = self.env["finance.connect.message"]
        self.assertEqual(
            Message.search(
                [("retention_class", "=", "webhook"), ("id", "in", (out | webhook).ids)]
            ),
            webhook,
        )
        self.assertEqual(
            Message.search(
                [("retention_class", "!=", "webhook"), ("id", "in", (out | webhook).ids)]
            ),
            out,
        )

    def test_each_class_has_its_own_retention(self):
        self.company_a.write({"fc_retention_webhook_days": 10, "fc_retention_other_days": 400})
        webhook_old = self.make_message(11, "payment.settled", direction="in")
        webhook_young = self.make_message(9, "payment.settled", direction="in")
        other_old = self.make_message(120, "invoice.posted")  # older than the default 90
        other_older = self.make_message(401, "invoice.posted")
        failed = self.make_message(500, "invoice.posted", state="failed")
        # company B keeps the system default (90 days) for every class
        b_webhook = self.make_message(
            11, "payment.settled", direction="in", connection_id=self.conn_b.id
        )
        b_other = self.make_message(91, "invoice.posted", connection_id=self.conn_b.id)
        Audit = self.env["finance.connect.audit"]
        before = Audit.search([("action", "=", "messages_archived")])
        self.archive()
        self.assert_archived(
            archived=(webhook_old, other_older, b_other),
            kept=(webhook_young, other_old, failed, b_webhook),
        )
        # the audit trail says, per company, how many of each class were archived
        lines = Audit.search([("action", "=", "messages_archived")]) - before
        line_a = lines.filtered(lambda line: line.company_id == self.company_a)
        self.assertEqual(len(line_a), 1)
        self.assertIn("webhook: 1", line_a.detail)
        self.assertIn("other: 1", line_a.detail)

    def test_archived_payload_stays_verifiable_by_its_hash(self):
        message = self.make_message(200, "invoice.posted")
        before = (message.payload_sha256, message.sudo().payload, message.state)
        self.archive()
        self.assertFalse(message.active)
        self.assertEqual((message.payload_sha256, message.sudo().payload, message.state), before)
        digest = hashlib.sha256(message._get_payload_bytes()).hexdigest()
        self.assertEqual(digest, message.payload_sha256)
        # still found by its hash, archived
        found = (
            self.env["finance.connect.message"]
            .with_context(active_test=False)
            .search([("payload_sha256", "=", digest)])
        )
        self.assertIn(message, found)

    def test_retention_is_set_in_the_settings(self):
        settings = self.env["res.config.settings"].create(
            {"fc_retention_statement_days": 3650, "fc_retention_webhook_days": 14}
        )
        settings.execute()
        self.assertEqual(self.env.company.fc_retention_statement_days, 3650)
        self.assertEqual(self.env.company.fc_retention_webhook_days, 14)
        Message = self.env["finance.connect.message"]
        self.assertEqual(Message._get_retention_days(self.env.company, "webhook"), 14)
        self.assertEqual(Message._get_retention_days(self.env.company, "other"), 90)

    def test_negative_retention_is_refused(self):
        with self.assertRaisesRegex(Exception, "cannot be negative"):
            self.company_a.fc_retention_webhook_days = -1


@tagged("post_install", "-at_install")
class TestLegalHolds(RetentionCase):
    def test_hold_on_a_connection_suspends_archiving_until_released(self):
        held = self.make_message(200, "invoice.posted")
        other = self.make_message(200, "invoice.posted", connection_id=self.other_conn.id)
        hold = self.hold(connection_id=self.connection.id)
        self.assertEqual(hold.placed_by_id, self.env.user)
        self.assertTrue(held.on_legal_hold)
        self.assertFalse(other.on_legal_hold)
        on_hold = self.env["finance.connect.message"].search(
            [("on_legal_hold", "=", True), ("id", "in", (held | other).ids)]
        )
        self.assertEqual(on_hold, held, "the message log's filter On legal hold")
        self.archive()
        self.assert_archived(archived=(other,), kept=(held,))
        self.assertEqual(
            hold.message_count,
            len(
                hold.env["finance.connect.message"]
                .with_context(active_test=False)
                .search(hold._get_covered_domain())
            ),
        )
        hold.with_user(self.manager).action_release()
        self.assertFalse(hold.active)
        held.invalidate_recordset(["on_legal_hold"])
        self.assertFalse(held.on_legal_hold)
        self.assertEqual(hold.released_by_id, self.manager)
        self.archive()
        self.assert_archived(archived=(held,))
        actions = (
            self.env["finance.connect.audit"]
            .search([("res_model", "=", HOLD), ("res_id", "=", hold.id)])
            .mapped("action")
        )
        self.assertEqual(sorted(actions), ["legal_hold_placed", "legal_hold_released"])

    def test_hold_on_a_period_suspends_archiving_of_that_period_only(self):
        in_period = self.make_message(200, "payment.settled", direction="in")
        before = self.make_message(300, "payment.settled", direction="in")
        other_company = self.make_message(200, "invoice.posted", connection_id=self.conn_b.id)
        day = fields.Date.context_today(self.env.user) - timedelta(days=200)
        hold = self.hold(date_from=day - timedelta(days=5), date_to=day + timedelta(days=5))
        self.archive()
        self.assert_archived(archived=(before, other_company), kept=(in_period,))
        hold.action_release()
        self.archive()
        self.assert_archived(archived=(in_period,))

    def test_hold_of_a_whole_company(self):
        message = self.make_message(200, "invoice.posted")
        self.hold()
        self.archive()
        self.assert_archived(kept=(message,))

    def test_a_hold_is_not_edited(self):
        hold = self.hold(connection_id=self.connection.id)
        for user in (self.manager, self.fc_admin):
            self.assert_refused(
                self.rpc(user, HOLD, "write", [hold.ids, {"connection_id": self.other_conn.id}]),
                contains="release it",
            )
            self.assert_refused(self.rpc(user, HOLD, "action_archive", [hold.ids]))
        self.assertEqual(hold.connection_id, self.connection)
        self.assertTrue(hold.active)


@tagged("post_install", "-at_install")
class TestLegalHoldTrust(RetentionCase):
    def holds(self):
        return self.env[HOLD].with_context(active_test=False).search([])

    def test_only_managers_place_holds_over_http(self):
        before = self.holds()
        vals = {"name": "Hidden hold", "company_id": self.company_a.id}
        for role in ("portal", "internal", "fc_user"):
            with self.subTest(role=role):
                self.assert_refused(self.rpc(self.roles[role], HOLD, "create", [vals]))
        self.assertEqual(self.holds(), before, "no hold was created")
        # a manager of company A places one in A, not in B
        self.assert_refused(
            self.rpc(self.manager, HOLD, "create", [dict(vals, company_id=self.company_b.id)])
        )
        self.assert_ok(self.rpc(self.manager, HOLD, "create", [vals]))
        created = self.holds() - before
        self.assertEqual(created.company_id, self.company_a)
        self.assertEqual(created.placed_by_id, self.manager)

    def test_only_managers_release_holds_over_http(self):
        hold = self.hold()
        hold_b = self.hold(company_id=self.company_b.id)
        for role in ("portal", "internal", "fc_user"):
            with self.subTest(role=role):
                self.assert_refused(self.button(self.roles[role], hold, "action_release"))
        self.assert_refused(self.button(self.manager, hold_b, "action_release"))
        self.assertTrue(hold.active and hold_b.active, "no hold was released")
        self.assert_ok(self.button(self.manager, hold, "action_release"))
        self.assertFalse(hold.active)
