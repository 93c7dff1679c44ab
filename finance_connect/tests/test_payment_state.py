"""payment.state_changed follows the payment's state however it changes: Odoo 18
computes "in_process" -> "paid" when the payment is reconciled, without write()."""

import json

from odoo import Command
from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestPaymentStateChanged(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["finance.connect.subscription"].create(
            {"connection_id": cls.connection.id, "event_type": "payment.state_changed"}
        )

    def state_changes(self, payment):
        """The delivered payment.state_changed bodies of ``payment``, oldest first."""
        messages = self.messages_of(payment).filtered(
            lambda m: m.event_type == "payment.state_changed"
        )
        self.assertEqual(set(messages.mapped("state")), {"done"} if messages else set())
        return [json.loads(m.payload) for m in messages.sorted("id")]

    def changes(self, payment):
        """(previous state, state) of each payment.state_changed of ``payment``."""
        return [
            (b["data"]["previous_state"], b["data"]["state"]) for b in self.state_changes(payment)
        ]

    def post_payment(self, amount, **vals):
        payment = self.env["account.payment"].create(
            {
                **vals,
                "amount": amount,
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": self.partner_a.id,
                "journal_id": self.company_data["default_journal_bank"].id,
                "payment_method_line_id": self.inbound_payment_method_line.id,
            }
        )
        with self.run_jobs():
            payment.action_post()
        self.assertEqual(payment.state, "in_process")
        self.assertEqual(self.messages_of(payment).mapped("event_type"), ["payment.posted"])
        return payment

    def match_with_statement_line(self, payment):
        st_line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.company_data["default_journal_bank"].id,
                "date": payment.date,
                "amount": payment.amount,
                "payment_ref": payment.name,
                "partner_id": payment.partner_id.id,
            }
        )
        liquidity, _counterpart, _writeoff = payment._seek_for_lines()
        _st_liquidity, suspense, _other = st_line.with_context(
            skip_account_move_synchronization=True
        )._seek_for_lines()
        suspense.account_id = liquidity.account_id
        (suspense | liquidity).reconcile()
        return st_line

    def test_matched_with_a_statement_line_emits_paid_once(self):
        payment = self.post_payment(75.0)
        with self.run_jobs():
            self.match_with_statement_line(payment)
            self.assertEqual(payment.state, "paid")
            self.assertEqual(len(self.messages_of(payment)), 2, "emitted by reconcile()")
            # Validating a paid payment (a write) and the commit change nothing more.
            payment.action_validate()
            self.env.cr.flush()
        (body,) = self.state_changes(payment)
        self.assertEqual(body["event_type"], "payment.state_changed")
        self.assertEqual(self.changes(payment), [("in_process", "paid")])
        self.assertEqual(body["data"]["amount"], "75.00")
        self.assertEqual(payment.fc_state, "synced")
        delivered = self.sandbox.deliveries("/events")
        self.assertEqual(
            [json.loads(d["body"])["event_type"] for d in delivered],
            ["payment.posted", "payment.state_changed"],
        )

    def test_reconciled_with_an_invoice_emits_paid_once(self):
        invoice = self.post_invoice(60.0)
        payment = self.post_payment(60.0, invoice_ids=[Command.link(invoice.id)])
        _liquidity, counterpart, _writeoff = payment._seek_for_lines()
        receivable = invoice.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        with self.run_jobs():
            (counterpart | receivable).reconcile()
            self.assertEqual(len(self.messages_of(payment)), 2, "emitted by reconcile()")
            self.env.cr.flush()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(payment.state, "paid")
        (body,) = self.state_changes(payment)
        self.assertEqual(self.changes(payment), [("in_process", "paid")])
        self.assertEqual(body["data"]["reconciled_invoice_names"], [invoice.name])

    def test_register_payment_wizard_emits_posted_then_paid(self):
        invoice = self.post_invoice(40.0)
        with self.run_jobs():
            payment = (
                self.env["account.payment.register"]
                .with_context(active_model="account.move", active_ids=invoice.ids)
                .create({})
                ._create_payments()
            )
            self.env.cr.flush()
        self.assertEqual(payment.state, "paid")
        self.assertEqual(
            self.messages_of(payment).sorted("id").mapped("event_type"),
            ["payment.posted", "payment.state_changed"],
        )
        self.assertEqual(self.changes(payment), [("in_process", "paid")])

    def test_unreconciled_outside_reconcile_is_emitted_before_commit(self):
        payment = self.post_payment(30.0)
        with self.run_jobs():
            self.match_with_statement_line(payment)
        liquidity, _counterpart, _writeoff = payment._seek_for_lines()
        with self.run_jobs():
            # No write() and no reconcile(): only the commit's precommit hook sees it.
            (liquidity.matched_debit_ids | liquidity.matched_credit_ids).unlink()
            self.assertEqual(len(self.state_changes(payment)), 1)
            self.env.cr.flush()
        self.assertEqual(payment.state, "in_process")
        self.assertEqual(self.changes(payment), [("in_process", "paid"), ("paid", "in_process")])

    def test_write_path_still_emits_with_both_states(self):
        payment = self.post_payment(20.0)
        with self.run_jobs():
            payment.action_cancel()
        self.assertEqual(self.changes(payment), [("in_process", "canceled")])
