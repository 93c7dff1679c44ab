"""Business SLAs of the core: an exception open too long, a connection's
failure rate. Time moves by passing ``now`` to the evaluation."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from .common import FinanceConnectCase
from .metrics_common import MetricsCase
from .trust_common import TrustCase


class SlaMixin:
    def _rule(self, **vals):
        return self.env["finance.connect.sla.rule"].create(
            {
                "name": "SLA",
                "company_id": self.company_data["company"].id,
                "user_id": self.manager.id,
                **vals,
            }
        )

    def _breaches(self, rule, states=("open", "in_progress")):
        return self.env["finance.connect.exception"].search(
            [("fingerprint", "=", f"sla:{rule.id}"), ("state", "in", states)]
        )

    def _problem(self, name="Mapping missing", company=None):
        return self.env["finance.connect.exception"]._open(
            "other",
            name,
            "Something to act on.",
            company=company or self.company_data["company"],
            fingerprint=f"test:{name}",
        )


@tagged("post_install", "-at_install")
class TestSlaCore(SlaMixin, FinanceConnectCase):
    def test_exception_unassigned_too_long_opens_one_breach_then_resolves(self):
        self._problem()
        rule = self._rule(name="Inbox taken within 4 h", kind="exception_open", hours=4)
        now = fields.Datetime.now()
        rule._apply_evaluation(now + timedelta(hours=3))
        self.assertFalse(self._breaches(rule), "3 hours is within the SLA")

        rule._apply_evaluation(now + timedelta(hours=5))
        breach = self._breaches(rule)
        self.assertEqual(len(breach), 1)
        self.assertEqual(breach.category, "sla")
        self.assertEqual(breach.user_id, self.manager)
        self.assertIn("1 exception(s) (unassigned) open for more than 4 hours", breach.description)
        self.assertIn("Mapping missing", breach.description)
        # The owner has a to-do and was notified.
        self.assertEqual(breach.activity_ids.user_id, self.manager)
        self.assertIn("Inbox taken within 4 h", breach.activity_ids.summary)
        notified = breach.message_ids.filtered(lambda m: self.manager.partner_id in m.partner_ids)
        self.assertTrue(notified, "the owner is notified of the breach")
        self.assertEqual(rule.breach_id, breach)
        self.assertEqual(
            rule.action_view_breach()["domain"], [("fingerprint", "=", f"sla:{rule.id}")]
        )

        # The cron runs again and again: still ONE exception, one more occurrence.
        rule._apply_evaluation(now + timedelta(hours=5, minutes=15))
        rule._apply_evaluation(now + timedelta(hours=5, minutes=30))
        self.assertEqual(self._breaches(rule), breach)
        self.assertEqual(breach.occurrences, 3)
        self.assertEqual(len(breach.activity_ids), 1)

        # Someone takes the exception: the condition clears, the breach resolves.
        self.env["finance.connect.exception"].search(
            [("fingerprint", "=", "test:Mapping missing")]
        ).with_user(self.manager).action_assign_to_me()
        rule._apply_evaluation(now + timedelta(hours=6))
        self.assertEqual(breach.state, "resolved")
        self.assertFalse(breach.activity_ids, "the owner's to-do is marked done")
        self.assertIn("resolved by itself", breach.message_ids[0].body)
        rule.invalidate_recordset(["breach_id", "breach_count"])
        self.assertFalse(rule.breach_id)

    def test_archived_or_deleted_rule_leaves_no_breach_open(self):
        self._problem()
        archived = self._rule(name="Archived later", kind="exception_open", hours=0)
        deleted = self._rule(name="Deleted later", kind="exception_open", hours=0)
        (archived | deleted)._apply_evaluation()
        breaches = self._breaches(archived) | self._breaches(deleted)
        self.assertEqual(len(breaches), 2)
        archived.with_user(self.manager).active = False
        deleted.with_user(self.manager).unlink()
        self.assertEqual(set(breaches.mapped("state")), {"resolved"})
        self.assertFalse(breaches.activity_ids)

    def test_owner_must_see_the_breach(self):
        outsider = new_test_user(self.env, login="sla_outsider", groups="base.group_user")
        with self.assertRaisesRegex(ValidationError, "must be a Finance Connect user"):
            self._rule(name="Owner", kind="exception_open", hours=1, user_id=outsider.id)

    def test_taking_the_exceptions_clears_the_breach_at_once(self):
        first, second = self._problem("First"), self._problem("Second")
        rule = self._rule(name="Taken at once", kind="exception_open", hours=0)
        rule._apply_evaluation()
        breach = self._breaches(rule)
        self.assertIn("2 exception(s)", breach.description)
        first.with_user(self.manager).action_assign_to_me()
        self.assertEqual(breach.state, "open", "the second one is still unassigned")
        self.assertEqual(breach.occurrences, 2, "checked again when the first was taken")
        second.with_user(self.manager).action_assign_to_me()
        self.assertEqual(breach.state, "resolved", "no cron needed")

    def test_a_breach_closed_by_hand_is_not_reopened_while_it_holds(self):
        problem = self._problem()
        rule = self._rule(name="Closed by hand", kind="exception_open", hours=0)
        rule._apply_evaluation()
        first = self._breaches(rule)
        first.with_user(self.manager)._ignore("Known: the bank is down today")
        rule._apply_evaluation()
        rule._apply_evaluation()
        self.assertFalse(self._breaches(rule), "no new exception every 15 minutes")
        # The condition clears, then is breached again: a new episode, a new exception.
        problem.with_user(self.manager).action_assign_to_me()
        rule._apply_evaluation()
        self._problem("Again")
        rule._apply_evaluation()
        second = self._breaches(rule)
        self.assertEqual(len(second), 1)
        self.assertNotEqual(second, first)
        self.assertIn("Again", second.description)

    def test_exception_assigned_too_long(self):
        problem = self._problem("Balance differs")
        rule = self._rule(
            name="Assigned fixed within 8 h",
            kind="exception_open",
            hours=8,
            exception_scope="assigned",
        )
        later = fields.Datetime.now() + timedelta(hours=9)
        rule._apply_evaluation(later)
        self.assertFalse(self._breaches(rule), "an unassigned exception is not 'assigned'")
        problem.with_user(self.manager).action_assign_to_me()
        rule._apply_evaluation(later)
        self.assertIn("(assigned)", self._breaches(rule).description)
        problem.with_user(self.manager).action_resolve()
        rule._apply_evaluation(later)
        self.assertFalse(self._breaches(rule))
        self.assertEqual(len(self._breaches(rule, ("resolved",))), 1)

    def test_sla_breaches_do_not_count_as_late_exceptions(self):
        self._problem()
        rule = self._rule(name="Four hours", kind="exception_open", hours=4, exception_scope="any")
        later = fields.Datetime.now() + timedelta(hours=5)
        rule._apply_evaluation(later)
        other = self._rule(name="Any at all", kind="exception_open", hours=0, exception_scope="any")
        other._apply_evaluation(later)
        self.assertIn("1 exception(s)", self._breaches(other).description)

    def _attempts(self, outcomes, at):
        message = (
            self.env["finance.connect.message"]
            .sudo()
            .create(
                {
                    "reference": "SLA-TEST",
                    "direction": "out",
                    "connection_id": self.connection.id,
                    "company_id": self.connection.company_id.id,
                    "event_type": "invoice.posted",
                    "idempotency_key": "sla-test",
                }
            )
        )
        self.env["finance.connect.message.attempt"].sudo().create(
            [{"message_id": message.id, "outcome": o, "at": at} for o in outcomes]
        )

    def test_failure_rate_over_the_last_hour(self):
        now = fields.Datetime.now()
        rule = self._rule(
            name="Bank failures under 25 %",
            kind="failure_rate",
            connection_id=self.connection.id,
            percentage=25,
        )
        # 2 failures out of 4 attempts 30 minutes before: 50 %.
        self._attempts(["done", "done", "retry", "fail"], now - timedelta(minutes=30))
        rule._apply_evaluation(now)
        breach = self._breaches(rule)
        self.assertIn(
            "failed 2 of its 4 delivery attempts over the last hour (50 %", breach.description
        )
        self.assertEqual(breach.connection_id, self.connection)
        # An hour and a half later those attempts are out of the window: cleared.
        rule._apply_evaluation(now + timedelta(minutes=90))
        self.assertEqual(breach.state, "resolved")

    def test_failure_rate_needs_a_connection(self):
        with self.assertRaisesRegex(Exception, "needs Connection"):
            self._rule(name="No connection", kind="failure_rate")

    def test_cron_checks_every_active_rule(self):
        self._problem()
        rule = self._rule(name="Immediately", kind="exception_open", hours=0)
        archived = self._rule(name="Archived", kind="exception_open", hours=0, active=False)
        self.env.ref("finance_connect.ir_cron_evaluate_sla").method_direct_trigger()
        self.assertEqual(len(self._breaches(rule)), 1)
        self.assertFalse(self._breaches(archived), "an archived rule is not checked")

    def test_working_days_of_the_company_calendar(self):
        rule = self._rule(name="Calendar", kind="exception_open", hours=4)
        saturday = fields.Date.to_date("2026-12-05")
        self.assertFalse(rule._works_on(saturday))
        self.assertTrue(rule._works_on(saturday - timedelta(days=1)))
        calendar = rule.company_id.resource_calendar_id
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Bank holiday",
                "calendar_id": calendar.id,
                "date_from": "2026-12-03 00:00:00",
                "date_to": "2026-12-03 23:59:59",
            }
        )
        self.assertFalse(rule._works_on(fields.Date.to_date("2026-12-03")), "a public holiday")


@tagged("post_install", "-at_install")
class TestSlaTrust(SlaMixin, TrustCase):
    def test_rules_are_configured_by_managers_of_the_company(self):
        Rule = self.env["finance.connect.sla.rule"]
        vals = {
            "name": "Hack",
            "kind": "exception_open",
            "hours": 1,
            "company_id": self.company_a.id,
            "user_id": self.fc_user.id,
        }
        for role in ("portal", "internal", "fc_user"):
            self.assert_refused(self.rpc(self.roles[role], Rule._name, "create", [vals]))
        self.assertFalse(Rule.search([("name", "=", "Hack")]))
        created = self.assert_ok(self.rpc(self.manager, Rule._name, "create", [vals]))
        self.assertTrue(Rule.browse(created).exists())

        rule_b = self._rule(
            name="Company B",
            kind="exception_open",
            hours=1,
            company_id=self.company_b.id,
            user_id=self.manager_ab.id,
        )
        self.assert_refused(self.rpc(self.manager, Rule._name, "read", [rule_b.ids, ["name"]]))
        self.assert_refused(
            self.rpc(self.manager, Rule._name, "write", [rule_b.ids, {"hours": 100}])
        )
        self.assertEqual(rule_b.hours, 1)
        # A Finance Connect user reads the rules of their company.
        rule_a = Rule.browse(created)
        answer = self.assert_ok(self.rpc(self.fc_user, Rule._name, "read", [rule_a.ids, ["name"]]))
        self.assertEqual(answer[0]["name"], "Hack")

    def test_check_now_is_for_managers_of_the_company(self):
        self._problem()
        self._problem("In B", company=self.company_b)
        rule_a = self._rule(name="A", kind="exception_open", hours=0)
        rule_b = self._rule(
            name="B",
            kind="exception_open",
            hours=0,
            company_id=self.company_b.id,
            user_id=self.manager_ab.id,
        )
        for role in ("internal", "fc_user"):
            self.assert_refused(self.button(self.roles[role], rule_a, "action_evaluate_now"))
        self.assertFalse(self._breaches(rule_a), "nothing was evaluated by a refused call")
        self.assert_refused(
            self.rpc(self.manager, rule_b._name, "action_evaluate_now", [rule_b.ids])
        )
        self.assertFalse(self._breaches(rule_b))
        self.assert_ok(self.button(self.manager, rule_a, "action_evaluate_now"))
        self.assertEqual(len(self._breaches(rule_a)), 1)
        # The manager of both companies may check B's rule: B's exception is late.
        self.assert_ok(self.rpc(self.manager_ab, rule_b._name, "action_evaluate_now", [rule_b.ids]))
        self.assertIn("In B", self._breaches(rule_b).description)


@tagged("post_install", "-at_install")
class TestSlaMetrics(SlaMixin, MetricsCase):
    def test_breaches_on_the_metrics_endpoint(self):
        token = self.issue_token()
        rule = self._rule(
            name="Failures under 10 %",
            kind="failure_rate",
            connection_id=self.conn.id,
            percentage=10,
            company_id=self.company_a.id,
        )
        message = self.make_message(self.conn, "retrying")
        now = fields.Datetime.now()
        self.make_attempt(message, 503, 120, "retry")
        rule._apply_evaluation(now)
        self.assertEqual(len(self._breaches(rule)), 1)
        samples = self.samples(self.scrape(token))
        name = "finance_connect_sla_breaches_open"
        self.assertEqual(self.value(samples, name, connection_id=self.conn.id), 1)
        rule._apply_evaluation(now + timedelta(hours=2))
        samples = self.samples(self.scrape(token))
        self.assertEqual(self.value(samples, name, connection_id=self.conn.id), 0)
