"""The exception inbox: one entry per problem, actions, notifications, archiving."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestExceptionInbox(FinanceConnectCase):
    def _open(self, **kw):
        return self.env["finance.connect.exception"]._open(
            kw.pop("category", "other"),
            "Statement file broken",
            "The file x.xml is not XML. Ask the bank for a new file.",
            connection=self.connection,
            **kw,
        )

    def test_same_problem_counts_occurrences(self):
        first = self._open(fingerprint="file:x")
        again = self._open(fingerprint="file:x")
        self.assertEqual(first, again)
        self.assertEqual(first.occurrences, 2)
        notes = first.message_ids.filtered(lambda m: m.message_type == "notification")
        self.assertEqual(len(notes), 1)

    def test_the_systray_is_pinged_once_per_transaction_without_data(self):
        """Opening or resolving exceptions pings the Finance Connect users' bus
        channel once per transaction (the browsers count again, each for its
        own companies); nothing else, and no data, goes on the bus."""
        Bus = self.env["bus.bus"].sudo()
        group = self.env.ref("finance_connect.group_user")

        def pings():
            self.env.cr.flush()  # runs the precommit hooks that write the bus
            return Bus.search(
                [("message", "like", "finance_connect/exceptions_changed"), ("id", ">", last)]
            )

        last = Bus.search([], order="id desc", limit=1).id or 0
        first = self._open(fingerprint="p1")
        self._open(fingerprint="p2")
        self._open(fingerprint="p1")  # one more occurrence
        (ping,) = pings()
        self.assertIn(f'"res.groups",{group.id}]', ping.channel)
        self.assertNotIn("Statement file broken", ping.message)
        last = ping.id
        first.with_user(self.manager).action_resolve()
        self.assertEqual(len(pings()), 1)

    def test_every_category_has_a_runbook(self):
        """Whatever addon adds a category, the person who meets it reads what it
        means, what to check and what to press."""
        Exception_ = self.env["finance.connect.exception"]
        categories = Exception_._fields["category"]._description_selection(self.env)
        self.assertGreater(len(categories), 8)
        for key, label in categories:
            with self.subTest(category=key):
                exc = Exception_.new({"category": key})
                text = str(exc.runbook or "")
                for part in ("What it means", "What to check", "What to press"):
                    self.assertIn(part, text, f"{label}: no runbook")
        exc = self._open(fingerprint="runbook", category="mapping")
        self.assertIn("Press Fix", str(exc.runbook))

    def test_assign_resolve_ignore(self):
        exc = self._open(fingerprint="a").with_user(self.manager)
        exc.action_assign_to_me()
        self.assertEqual(exc.user_id, self.manager)
        self.assertEqual(exc.state, "in_progress")
        exc.action_resolve()
        self.assertEqual(exc.state, "resolved")
        other = self._open(fingerprint="b").with_user(self.manager)
        with self.assertRaises(UserError):
            other._ignore("  ")
        wizard = (
            self.env["finance.connect.exception.ignore"]
            .with_user(self.manager)
            .create({"exception_ids": [(6, 0, other.ids)], "reason": "Test bank, known issue"})
        )
        wizard.action_confirm()
        self.assertEqual(other.state, "ignored")
        self.assertEqual(other.ignore_reason, "Test bank, known issue")
        audit = self.env["finance.connect.audit"].search(
            [("res_model", "=", "finance.connect.exception"), ("res_id", "=", other.id)]
        )
        self.assertEqual(audit.mapped("action"), ["ignore"])

    def test_bulk_resolve_from_list(self):
        excs = self._open(fingerprint="1") | self._open(fingerprint="2")
        excs.with_user(self.manager).action_resolve()
        self.assertEqual(set(excs.mapped("state")), {"resolved"})

    def test_user_cannot_act(self):
        exc = self._open(fingerprint="u").with_user(self.fc_user)
        self.assertTrue(exc.name)
        with self.assertRaises(AccessError):
            exc.action_resolve()

    def test_audit_trail_is_append_only(self):
        exc = self._open(fingerprint="z")
        exc.with_user(self.manager).action_resolve()
        audit = self.env["finance.connect.audit"].search([], limit=1)
        with self.assertRaises(UserError):
            audit.write({"action": "nothing"})
        with self.assertRaises(UserError):
            audit.unlink()

    def test_retention_archives_done_keeps_failed(self):
        with self.run_jobs():
            self.sandbox.add_fault(status=400)
            failed = self.messages_of(self.post_invoice(1.0))
            done = self.messages_of(self.post_invoice(2.0))
        self.env.cr.execute(
            "UPDATE finance_connect_message SET create_date = now() - interval '200 days' "
            "WHERE id IN %s",
            ((failed.id, done.id),),
        )
        self.env.invalidate_all()
        self.env["finance.connect.message"]._cron_archive_old_messages()
        self.assertFalse(done.active)
        self.assertTrue(failed.active)
