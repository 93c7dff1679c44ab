"""PSP events: refunds, disputes and Odoo payment transactions, each booked once."""

import json
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from .common import BankCase


@tagged("post_install", "-at_install")
class TestBankPsp(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.company_data["default_journal_bank"]
        cls.psp_balance = cls.journal.default_account_id
        cls.fee_account = cls.company_data["default_account_expense"]
        cls.disputes_account = cls.env["account.account"].create(
            {"name": "Disputed card payments", "code": "DSP001", "account_type": "asset_current"}
        )
        cls.psp = cls._create_connection("PSP", cls.company, kind="psp")
        cls.psp.write(
            {
                "fc_fee_account_id": cls.fee_account.id,
                "fc_fee_journal_id": cls.journal.id,
                "fc_dispute_account_id": cls.disputes_account.id,
            }
        )
        cls.Status = cls.env["finance.connect.bank.status"]

    # -- helpers ------------------------------------------------------------

    def event(self, kind, event_id, key=None, **data):
        """Deliver one PSP event as an inbound message and process it."""
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.psp.id,
                "event_type": kind,
                "idempotency_key": key or event_id,
                "content_type": "application/json",
                "payload": json.dumps({"id": event_id, "type": kind, "data": data}),
            }
        )
        message._job_process()
        return message

    def paid_invoice(self, amount=100.0, reference="ch_1"):
        """A customer invoice paid through the PSP (provider reference ``reference``)."""
        invoice = self.post_invoice(amount)
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": self.journal.id})
            ._create_payments()
        )
        payment.fc_provider_ref = reference
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        return invoice, payment

    def refunds_of(self, payment):
        return self.env["account.payment"].search([("fc_refund_of_id", "=", payment.id)])

    def balance(self, account, partner=None):
        domain = [("account_id", "=", account.id), ("parent_state", "=", "posted")]
        if partner:
            domain.append(("partner_id", "=", partner.id))
        return sum(self.env["account.move.line"].search(domain).mapped("balance"))

    def open_exceptions(self, category):
        return self.env["finance.connect.exception"].search(
            [("category", "=", category), ("state", "in", ("open", "in_progress"))]
        )

    # -- refunds of account.payment ------------------------------------------

    def test_full_refund_books_an_outbound_payment_once(self):
        _invoice, payment = self.paid_invoice(100.0)
        self.assertEqual(self.event("payment.succeeded", "evt_s", reference="ch_1").state, "done")
        message = self.event(
            "payment.refunded", "evt_r", reference="ch_1", refund_id="re_1", reason="requested"
        )
        self.assertEqual(message.state, "done", message.error)
        refund = self.refunds_of(payment)
        self.assertEqual(len(refund), 1)
        self.assertEqual(refund.payment_type, "outbound")
        self.assertEqual(refund.partner_type, "customer")
        self.assertEqual(refund.partner_id, self.partner_a)
        self.assertEqual(refund.amount, 100.0)
        self.assertEqual(refund.journal_id, self.journal)
        self.assertIn(refund.state, ("in_process", "paid"))
        self.assertEqual(refund.fc_provider_ref, "re_1")
        self.assertIn(payment.name, refund.memo)
        # The refund debits the customer's receivable: the money went back.
        receivable = refund.move_id.line_ids.filtered(
            lambda line: line.account_id == refund.destination_account_id
        )
        self.assertEqual(receivable.balance, 100.0)
        self.assertEqual(receivable.partner_id, self.partner_a)
        self.assertEqual(payment.fc_bank_status, "refunded")
        self.assertEqual(payment.fc_refunded_amount, 100.0)
        self.assertIn("Refunded", payment.fc_bank_reason)
        status = self.Status.search([("refund_payment_id", "=", refund.id)])
        self.assertEqual(status.amount, 100.0)
        self.assertEqual(status.move_id, refund.move_id)
        # Nothing for a person to do.
        self.assertFalse(self.open_exceptions("remote_rejected"))
        # Delivered again (same event), or as another event of the same refund:
        # nothing more is booked.
        self.event(
            "payment.refunded", "evt_r", key="evt_r-copy", reference="ch_1", refund_id="re_1"
        )
        again = self.event("payment.refunded", "evt_r2", reference="ch_1", refund_id="re_1")
        self.assertEqual(again.state, "done")
        self.assertIn("already applied", again.state_log)
        self.assertEqual(len(self.refunds_of(payment)), 1)
        self.assertEqual(payment.fc_refunded_amount, 100.0)

    def test_partial_refunds_add_up_and_pay_the_credit_note(self):
        invoice, payment = self.paid_invoice(100.0, "ch_2")
        credit_note = self.init_invoice(
            "out_refund", partner=self.partner_a, amounts=[30.0], post=True
        )
        self.event("payment.refunded", "evt_p1", reference="ch_2", refund_id="re_a", amount="30")
        refund = self.refunds_of(payment)
        self.assertEqual(refund.amount, 30.0)
        self.assertEqual(payment.fc_bank_status, "partially_refunded")
        self.assertEqual(payment.fc_refunded_amount, 30.0)
        # The open credit note of that amount is paid by the refund.
        self.assertIn(credit_note.payment_state, ("in_payment", "paid"))
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        self.event("payment.refunded", "evt_p2", reference="ch_2", refund_id="re_b", amount=70)
        self.assertEqual(sorted(self.refunds_of(payment).mapped("amount")), [30.0, 70.0])
        self.assertEqual(payment.fc_bank_status, "refunded")
        # More than was paid: nothing booked, a person checks with the provider.
        too_much = self.event(
            "payment.refunded", "evt_p3", reference="ch_2", refund_id="re_c", amount="0.01"
        )
        self.assertEqual(too_much.state, "failed")
        self.assertIn("already refunded in full", too_much.error)
        self.assertEqual(len(self.refunds_of(payment)), 2)
        self.assertFalse(self.Status.search([("key", "like", "%re_c")]))
        exception = self.env["finance.connect.exception"].search([("message_id", "=", too_much.id)])
        self.assertIn("already refunded in full", exception.description)

    def test_refund_before_success_and_twice_books_once(self):
        _invoice, payment = self.paid_invoice(80.0, "ch_3")
        # No refund id: the event id makes it once.
        self.event("payment.refunded", "evt_early", reference="ch_3", amount="80.00")
        self.event("payment.refunded", "evt_early", key="again", reference="ch_3", amount="80")
        late = self.event("payment.succeeded", "evt_late", reference="ch_3")
        self.assertEqual(late.state, "done")
        self.assertEqual(len(self.refunds_of(payment)), 1)
        self.assertEqual(payment.fc_bank_status, "refunded")

    def test_refund_larger_than_the_payment_or_in_another_currency_books_nothing(self):
        _invoice, payment = self.paid_invoice(50.0, "ch_4")
        over = self.event("payment.refunded", "evt_o", reference="ch_4", amount="50.01")
        self.assertEqual(over.state, "failed")
        self.assertIn("exceeds", over.error)
        other = self.env.ref("base.USD") if self.company.currency_id.name != "USD" else self.eur
        wrong = self.event(
            "payment.refunded", "evt_c", reference="ch_4", amount="10", currency=other.name
        )
        self.assertEqual(wrong.state, "failed")
        self.assertIn("currency", wrong.error)
        self.assertFalse(self.refunds_of(payment))
        self.assertEqual(payment.fc_bank_status, "none")

    # -- failures of account.payment ----------------------------------------

    def test_failed_payment_is_rejected_with_the_reason_in_words(self):
        invoice, payment = self.paid_invoice(60.0, "ch_5")
        message = self.event(
            "payment.failed", "evt_f", reference="ch_5", reason_code="insufficient_funds"
        )
        self.assertEqual(message.state, "done")
        self.assertEqual(payment.fc_bank_status, "rejected")
        self.assertEqual(payment.state, "rejected")
        self.assertEqual(invoice.payment_state, "not_paid")
        exception = self.open_exceptions("remote_rejected")
        self.assertEqual(len(exception), 1)
        self.assertIn("insufficient_funds: The card has insufficient funds", exception.description)
        self.event("payment.failed", "evt_f", key="evt_f-copy", reference="ch_5")
        self.assertEqual(exception.occurrences, 1)

    # -- disputes -----------------------------------------------------------

    def test_dispute_without_disputes_account_books_nothing_and_names_the_setting(self):
        _invoice, payment = self.paid_invoice(100.0, "ch_6")
        self.psp.fc_dispute_account_id = False
        message = self.event(
            "payment.disputed", "evt_d", reference="ch_6", dispute_id="dp_1", amount="100"
        )
        self.assertEqual(message.state, "failed")
        exception = self.env["finance.connect.exception"].search([("message_id", "=", message.id)])
        self.assertIn('"Disputes account"', exception.description)
        self.assertIn("nothing was booked", exception.description)
        self.assertFalse(self.Status.search([("key", "like", "psp:dispute:%")]))
        self.assertEqual(payment.fc_bank_status, "none")
        # Once the setting is there, replaying the message books it.
        self.psp.fc_dispute_account_id = self.disputes_account
        with self.run_jobs():
            message.action_replay()
        self.assertEqual(message.state, "done", message.error)
        self.assertEqual(self.balance(self.disputes_account), 100.0)

    def test_dispute_is_booked_once_and_a_won_dispute_reverses_it(self):
        _invoice, payment = self.paid_invoice(100.0, "ch_7")
        psp_before = self.balance(self.psp_balance)
        data = {
            "reference": "ch_7",
            "dispute_id": "dp_7",
            "amount": "100.00",
            "reason_code": "fraudulent",
            "evidence_due_by": "2030-01-15",
        }
        message = self.event("payment.disputed", "evt_d1", **data)
        self.assertEqual(message.state, "done", message.error)
        self.assertEqual(self.balance(self.disputes_account, self.partner_a), 100.0)
        self.assertEqual(self.balance(self.psp_balance) - psp_before, -100.0)
        self.assertEqual(payment.fc_bank_status, "disputed")
        exception = self.open_exceptions("psp_dispute")
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.res_model, "account.payment")
        self.assertEqual(exception.res_id, payment.id)
        self.assertIn("fraudulent: Fraud: the cardholder did not authorise", exception.description)
        self.assertIn("2030-01-15", exception.description)
        self.assertIn(self.disputes_account.display_name, exception.description)
        # Delivered twice, or as another event of the same dispute: booked once.
        self.event("payment.disputed", "evt_d1", key="evt_d1-copy", **data)
        self.event("payment.disputed", "evt_d1b", **data)
        self.assertEqual(self.balance(self.disputes_account), 100.0)
        self.assertEqual(exception.occurrences, 1)
        # The provider decides for us: the entry is reversed, the case closed.
        won = self.event("payment.dispute_won", "evt_w", reference="ch_7", dispute_id="dp_7")
        self.assertEqual(won.state, "done", won.error)
        self.assertEqual(self.balance(self.disputes_account), 0.0)
        self.assertEqual(self.balance(self.psp_balance), psp_before)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(payment.fc_bank_status, "dispute_won")
        closed = self.Status.search([("key", "=", f"psp:dispute:{payment.id}:dp_7:closed")])
        self.assertEqual(closed.move_id.reversed_entry_id.ref, f"Dispute of {payment.name} (dp_7)")
        self.event(
            "payment.dispute_won", "evt_w", key="evt_w-copy", reference="ch_7", dispute_id="dp_7"
        )
        self.assertEqual(self.balance(self.disputes_account), 0.0)
        self.assertEqual(len(closed.move_id), 1)

    def test_lost_dispute_keeps_the_amount_whatever_the_order(self):
        _invoice, payment = self.paid_invoice(100.0, "ch_8")
        # The outcome arrives first: the disputed amount is booked then, and no
        # exception asks anyone to answer a dispute that is already decided.
        lost = self.event(
            "payment.dispute_lost", "evt_l", reference="ch_8", dispute_id="dp_8", amount="40"
        )
        self.assertEqual(lost.state, "done", lost.error)
        self.assertEqual(self.balance(self.disputes_account), 40.0)
        self.assertEqual(payment.fc_bank_status, "dispute_lost")
        disputed = self.event(
            "payment.disputed", "evt_d8", reference="ch_8", dispute_id="dp_8", amount="40"
        )
        self.assertEqual(disputed.state, "done")
        self.assertEqual(self.balance(self.disputes_account), 40.0)
        self.assertFalse(self.open_exceptions("psp_dispute"))
        self.assertEqual(payment.fc_bank_status, "dispute_lost")
        # A contradicting outcome changes nothing booked but asks a person.
        self.event("payment.dispute_won", "evt_w8", reference="ch_8", dispute_id="dp_8")
        self.assertEqual(self.balance(self.disputes_account), 40.0)
        self.assertIn("Contradictory", self.open_exceptions("psp_dispute").name)

    def test_dispute_lost_after_it_was_opened_closes_the_case(self):
        _invoice, payment = self.paid_invoice(100.0, "ch_9")
        self.event(
            "payment.disputed", "evt_o9", reference="ch_9", reason_code="product_not_received"
        )
        exception = self.open_exceptions("psp_dispute")
        self.assertIn("The customer says the goods or service were not received", exception.name)
        self.event("payment.dispute_lost", "evt_l9", reference="ch_9")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(self.balance(self.disputes_account), 100.0)
        self.assertEqual(payment.fc_bank_status, "dispute_lost")

    def test_dispute_won_before_it_was_reported_books_nothing(self):
        _invoice, payment = self.paid_invoice(100.0, "ch_10")
        self.event("payment.dispute_won", "evt_w10", reference="ch_10", dispute_id="dp_10")
        self.event("payment.disputed", "evt_d10", reference="ch_10", dispute_id="dp_10")
        self.assertEqual(self.balance(self.disputes_account), 0.0)
        self.assertFalse(self.open_exceptions("psp_dispute"))
        self.assertEqual(payment.fc_bank_status, "dispute_won")

    # -- payment.transaction (Odoo's payment module) --------------------------

    @classmethod
    def psp_provider(cls):
        """A payment provider whose transactions are paid into the PSP journal.

        As a provider module does, it has its own payment method and a line of
        it on the journal (account_payment needs one to create the payments).
        """
        # Odoo's payment module is installed with accounting (account_payment is
        # auto-installed with account), so the transaction model is there.
        assert "payment.transaction" in cls.env, "Odoo's payment module is not installed"
        Method = cls.env["account.payment.method"]
        information = Method._get_payment_method_information()

        def with_test_provider(*_args, **_kwargs):
            return {**information, "none": {"mode": "electronic", "type": ("bank",)}}

        with patch.object(
            cls.env.registry["account.payment.method"],
            "_get_payment_method_information",
            with_test_provider,
        ):
            Method.sudo().create({"name": "Test PSP", "code": "none", "payment_type": "inbound"})
            provider = cls.env["payment.provider"].create(
                {
                    "name": "Test PSP",
                    "code": "none",
                    "state": "test",
                    "company_id": cls.company.id,
                    "payment_method_ids": [
                        Command.set(cls.env.ref("payment.payment_method_unknown").ids)
                    ],
                }
            )
            provider.journal_id = cls.journal
        return provider

    def transaction(self, reference, provider_reference, amount=100.0, state="pending"):
        self.assertIn("payment.transaction", self.env)
        if not getattr(self, "_provider", None):
            self._provider = self.psp_provider()
        tx = self.env["payment.transaction"].create(
            {
                "provider_id": self._provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "reference": reference,
                "provider_reference": provider_reference,
                "amount": amount,
                "currency_id": self.company.currency_id.id,
                "partner_id": self.partner_a.id,
                "operation": "online_redirect",
            }
        )
        tx.state = state
        return tx

    def test_transaction_succeeds_then_is_partly_refunded_once(self):
        tx = self.transaction("SO-TX-1", "pi_1")
        message = self.event("payment.succeeded", "evt_t1", reference="pi_1")
        self.assertEqual(message.state, "done", message.error)
        self.assertEqual(tx.state, "done")
        payment = tx.payment_id
        self.assertEqual(payment.amount, 100.0)
        self.assertEqual(payment.partner_id, self.partner_a)
        self.assertEqual(payment.payment_type, "inbound")
        self.assertEqual(payment.fc_bank_status, "settled")
        status = self.Status.search([("message_id", "=", message.id)])
        self.assertEqual(status.transaction_model, "payment.transaction")
        self.assertEqual(status.transaction_id, tx.id)
        self.assertEqual(status.payment_id, payment)
        # Found by the transaction's own reference too.
        refund_msg = self.event(
            "payment.refunded", "evt_t2", reference="SO-TX-1", refund_id="re_t", amount="40"
        )
        self.assertEqual(refund_msg.state, "done", refund_msg.error)
        child = tx.child_transaction_ids
        self.assertEqual(child.operation, "refund")
        self.assertEqual(child.state, "done")
        self.assertEqual(child.amount, -40.0)
        self.assertEqual(child.provider_reference, "re_t")
        refund = child.payment_id
        self.assertEqual(refund.payment_type, "outbound")
        self.assertEqual(refund.amount, 40.0)
        self.assertEqual(refund.partner_id, self.partner_a)
        self.assertEqual(refund.fc_refund_of_id, payment)
        self.assertEqual(payment.fc_bank_status, "partially_refunded")
        # Replays: nothing more.
        self.event("payment.succeeded", "evt_t1b", reference="pi_1")
        self.event("payment.refunded", "evt_t2b", reference="pi_1", refund_id="re_t", amount="40")
        self.assertEqual(len(tx.child_transaction_ids), 1)
        self.assertEqual(
            self.env["account.payment"].search_count(
                [("payment_transaction_id", "in", (tx | child).ids)]
            ),
            2,
        )

    def test_transaction_refunded_before_it_succeeded(self):
        tx = self.transaction("SO-TX-2", "pi_2", amount=50.0)
        self.event("payment.refunded", "evt_t3", reference="pi_2")
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.payment_id.amount, 50.0)
        self.assertEqual(tx.child_transaction_ids.payment_id.amount, 50.0)
        self.assertEqual(tx.payment_id.fc_bank_status, "refunded")
        late = self.event("payment.succeeded", "evt_t4", reference="pi_2")
        self.assertEqual(late.state, "done")
        self.assertEqual(
            self.env["account.payment"].search_count([("payment_transaction_id", "=", tx.id)]), 1
        )
        self.assertEqual(tx.payment_id.fc_bank_status, "refunded")

    def test_transaction_failure_sets_error_with_the_reason_in_words(self):
        tx = self.transaction("SO-TX-3", "pi_3")
        message = self.event(
            "payment.failed", "evt_t5", reference="pi_3", reason_code="card_declined"
        )
        self.assertEqual(message.state, "done", message.error)
        self.assertEqual(tx.state, "error")
        self.assertIn("card_declined: The card was declined", tx.state_message)
        exception = self.open_exceptions("remote_rejected")
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.res_model, "payment.transaction")
        self.assertIn("The card was declined", exception.description)
        self.assertIn("nothing was booked", exception.description)
        self.event("payment.failed", "evt_t5", key="evt_t5-copy", reference="pi_3")
        self.assertEqual(exception.occurrences, 1)
        # A failure reported after the success does not undo the payment.
        done = self.transaction("SO-TX-4", "pi_4")
        self.event("payment.succeeded", "evt_t6", reference="pi_4")
        self.event("payment.failed", "evt_t7", reference="pi_4", reason_code="card_declined")
        self.assertEqual(done.state, "done")
        self.assertIn(done.payment_id.state, ("in_process", "paid"))
        self.assertIn(
            "Nothing was changed",
            self.env["finance.connect.exception"]
            .search([("res_model", "=", "account.payment"), ("res_id", "=", done.payment_id.id)])
            .description,
        )

    def test_transaction_dispute_is_booked_on_the_disputes_account(self):
        tx = self.transaction("SO-TX-5", "pi_5", amount=70.0)
        self.event("payment.succeeded", "evt_t8", reference="pi_5")
        self.event("payment.disputed", "evt_t9", reference="pi_5", dispute_id="dp_t")
        self.assertEqual(self.balance(self.disputes_account, self.partner_a), 70.0)
        self.assertEqual(tx.payment_id.fc_bank_status, "disputed")
        self.event("payment.dispute_won", "evt_t10", reference="pi_5", dispute_id="dp_t")
        self.assertEqual(self.balance(self.disputes_account), 0.0)
        self.assertFalse(self.open_exceptions("psp_dispute"))
