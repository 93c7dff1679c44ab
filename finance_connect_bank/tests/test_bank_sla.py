"""Business SLAs of the bank: the statement by 09:00 on working days, the bank
status of a payment batch within N hours. Time moves by passing ``now``."""

from datetime import date, datetime, timedelta

import pytz

from odoo import fields
from odoo.addons.finance_connect.tests.test_sla import SlaMixin
from odoo.tests import Form, tagged

from .common import BankCase, generate_camt053
from .test_bank_payments import PAIN002, TX

IBAN = "GB33BUKB20201555555555"
MONDAY = date(2026, 11, 30)


@tagged("post_install", "-at_install")
class TestBankSla(SlaMixin, BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.bank_journal("SLA", IBAN)

    def at(self, rule, day, hour, minute=0):
        """``day`` at ``hour``:``minute`` on the rule's calendar clock, as UTC."""
        tz = rule._get_tz()
        local = tz.localize(
            datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)
        )
        return local.astimezone(pytz.utc).replace(tzinfo=None)

    def line(self, day):
        return self.Line.create(
            {"journal_id": self.journal.id, "date": day, "amount": 10, "payment_ref": "SLA"}
        )

    def statement_rule(self):
        return self._rule(
            name="Main account by 09:00",
            kind="statement",
            journal_id=self.journal.id,
            deadline=9.0,
        )

    def test_statement_not_arrived_by_nine_on_a_working_day(self):
        rule = self.statement_rule()
        self.line(MONDAY - timedelta(days=4))  # Thursday's statement, in on Friday
        # Friday 08:55: Thursday's deadline has passed (Wednesday's statement due), kept.
        rule._apply_evaluation(self.at(rule, MONDAY - timedelta(days=3), 8, 55))
        self.assertFalse(self._breaches(rule))
        # Saturday 09:05: not a working day; Friday's deadline wanted Thursday's statement.
        rule._apply_evaluation(self.at(rule, MONDAY - timedelta(days=2), 9, 5))
        self.assertFalse(self._breaches(rule), "no breach on a Saturday")
        # Monday 08:55: still before the deadline.
        rule._apply_evaluation(self.at(rule, MONDAY, 8, 55))
        self.assertFalse(self._breaches(rule))
        # Monday 09:05: Friday's statement has not arrived.
        rule._apply_evaluation(self.at(rule, MONDAY, 9, 5))
        breach = self._breaches(rule)
        self.assertEqual(len(breach), 1)
        self.assertIn(
            "The statement of Bank SLA for 2026-11-27 has not arrived by 2026-11-30 09:00",
            breach.description,
        )
        self.assertEqual(breach.activity_ids.user_id, self.manager)
        rule._apply_evaluation(self.at(rule, MONDAY, 9, 20))
        self.assertEqual(self._breaches(rule), breach, "one exception per rule, not per run")

        # The statement arrives (imported): the breach resolves at once.
        data, _opening, _closing = generate_camt053(
            1,
            iban=IBAN,
            currency=self.company.currency_id.name,
            start=fields.Date.today(),
            stmt_id="SLA-1",
        )
        result = self.Import._import_file(data, "sla.xml")
        self.assertEqual(result["new"], 1, result["summary"])
        self.assertEqual(breach.state, "resolved")
        self.assertFalse(breach.activity_ids)

    def test_holiday_is_not_a_working_day(self):
        rule = self.statement_rule()
        self.line(MONDAY - timedelta(days=4))
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Bank holiday",
                "calendar_id": rule.calendar_id.id,
                "date_from": self.at(rule, MONDAY, 0),
                "date_to": self.at(rule, MONDAY, 23, 59),
            }
        )
        rule._apply_evaluation(self.at(rule, MONDAY, 9, 5))
        self.assertFalse(
            self._breaches(rule), "Monday is a holiday: Friday's statement is due Tuesday"
        )
        rule._apply_evaluation(self.at(rule, MONDAY + timedelta(days=1), 9, 5))
        self.assertIn("for 2026-11-27", self._breaches(rule).description)

    def test_deadline_is_on_the_calendar_clock(self):
        rule = self.statement_rule()
        rule.calendar_id.tz = "America/New_York"  # 09:00 there is 14:00 UTC in November
        self.line(MONDAY - timedelta(days=4))
        rule._apply_evaluation(datetime(2026, 11, 30, 13, 55))
        self.assertFalse(self._breaches(rule), "08:55 in New York")
        rule._apply_evaluation(datetime(2026, 11, 30, 14, 5))
        self.assertIn("by 2026-11-30 09:00 (America/New_York)", self._breaches(rule).description)

    def test_form_asks_for_the_fields_of_the_kind(self):
        form = Form(self.env["finance.connect.sla.rule"])
        form.name = "Statement by 09:00"
        form.kind = "statement"
        form.user_id = self.manager
        with self.assertRaisesRegex(AssertionError, "journal_id"):
            form.save()
        form.journal_id = self.journal
        form.deadline = 9.5
        rule = form.save()
        self.assertEqual(
            (rule.kind, rule.journal_id, rule.deadline), ("statement", self.journal, 9.5)
        )

    def test_statement_rule_needs_a_journal(self):
        with self.assertRaisesRegex(Exception, "needs Bank journal"):
            self._rule(name="No journal", kind="statement")


@tagged("post_install", "-at_install")
class TestBankSlaPayments(SlaMixin, BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_sepa_payments()

    def test_payment_batch_without_status_after_n_hours(self):
        bill = self.init_invoice("in_invoice", partner=self.partner_a, amounts=[500], post=True)
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create({"journal_id": self.journal.id, "partner_bank_id": self.vendor_bank.id})
            ._create_payments()
        )
        batch = self.env["finance.connect.payment.batch"]._create_from_payments(
            payment, connection=self.connection
        )
        batch.action_generate()
        with self.run_jobs():
            batch.action_send()
        self.assertEqual(batch.state, "sent")
        rule = self._rule(name="pain.002 within 4 h", kind="payment_status", hours=4)
        now = fields.Datetime.now()
        rule._apply_evaluation(now + timedelta(hours=3))
        self.assertFalse(self._breaches(rule), "3 hours is within the SLA")
        rule._apply_evaluation(now + timedelta(hours=5))
        breach = self._breaches(rule)
        self.assertIn("1 payment batch(es) sent more than 4 hours ago", breach.description)
        self.assertIn(batch.name, breach.description)
        self.assertEqual(breach.activity_ids.user_id, self.manager)
        # The bank's pain.002 arrives: applying it clears the breach at once.
        xml = PAIN002.format(
            msg="STS-SLA",
            orig=batch.name,
            transactions=TX.format(e2e=payment.fc_end_to_end_id, status="ACCP", reason=""),
        )
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "payment_status",
                "idempotency_key": "sts-sla",
                "payload": xml,
                "content_type": "application/xml",
            }
        )
        message._job_process()
        self.assertEqual(message.state, "done")
        self.assertEqual(batch.state, "accepted")
        self.assertEqual(breach.state, "resolved")
