"""Unmatched bank lines, as the accountant works them (issue 17, rough list):
Match again and Confirm say what they did; a line opens in a form; Match by
hand offers the likely counterparts and reconciles the one chosen; nobody
without the right to edit the line gets further than a refusal, over HTTP."""

from odoo.addons.finance_connect.tests.trust_common import TrustCase
from odoo.tests import new_test_user, tagged

from .common import BankCase

WIZARD = "finance.connect.bank.match.wizard"


@tagged("post_install", "-at_install")
class TestBankMatchByHand(BankCase, TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.bank_journal("HAND", "DE89370400440532013000")
        cls.customer = cls.env["res.partner"].create({"name": "Customer Hand"})
        cls.invoice = cls.init_invoice(
            "out_invoice", partner=cls.customer, amounts=[250.0], post=True
        )
        cls.other = cls.init_invoice("out_invoice", partner=cls.customer, amounts=[40.0], post=True)
        cls.line = cls.env["account.bank.statement.line"].create(
            {
                "journal_id": cls.journal.id,
                "date": "2024-03-05",
                "amount": cls.invoice.amount_total,
                "payment_ref": "transfer without reference",
                "partner_id": cls.customer.id,
            }
        )
        cls.accountant = new_test_user(
            cls.env,
            login="fc_accountant",
            groups="account.group_account_user,finance_connect.group_user",
            company_id=cls.company.id,
        )

    def receivable(self, move):
        return move.line_ids.filtered(
            lambda item: item.account_id.account_type == "asset_receivable"
        )

    def test_match_again_and_confirm_say_what_they_did(self):
        self.customer.name = "Customer Hand"  # partner + amount: one fit, proposed
        answer = self.assert_ok(self.button(self.accountant, self.line, "action_fc_match_again"))
        params = answer["params"]
        self.assertIn(
            "0 reconciled, 1 with a proposed match to confirm, 0 still unmatched", params["message"]
        )
        self.assertEqual(self.line.fc_match_state, "proposed")
        answer = self.assert_ok(self.button(self.accountant, self.line, "action_fc_confirm_match"))
        self.assertIn("1 line(s) reconciled", answer["params"]["message"])
        self.assertTrue(self.line.is_reconciled)

    def test_a_line_opens_and_is_matched_by_hand(self):
        action = self.env.ref(
            "finance_connect_bank.account_bank_statement_line_action_fc_unmatched"
        )
        self.assertIn("form", action.view_mode)
        # Two open items of the partner: the one of the same amount comes first.
        answer = self.assert_ok(self.button(self.accountant, self.line, "action_fc_match_by_hand"))
        wizard = self.env[WIZARD].browse(answer["res_id"])
        self.assertEqual(wizard.candidate_ids[:1], self.receivable(self.invoice))
        self.assertIn(self.receivable(self.other), wizard.candidate_ids)
        self.assertEqual(wizard.counterpart_id, self.receivable(self.invoice))
        # The accountant picks the other one instead: it does not settle the line
        # in full, Odoo's partial reconciliation applies; here, the right one.
        answer = self.assert_ok(self.button(self.accountant, wizard, "action_match"))
        self.assertIn("is reconciled with", answer["params"]["message"])
        self.assertTrue(self.line.is_reconciled)
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.line.fc_match_state, "reconciled")
        self.assertIn("matched by hand by", self.line.fc_match_reason)
        # Matching it again is refused with the reason.
        message = self.assert_refused(
            self.button(self.accountant, self.line, "action_fc_match_by_hand")
        )
        self.assertIn("reconciled already", message)

    def test_a_paid_counterpart_is_refused_with_the_reason(self):
        answer = self.assert_ok(self.button(self.accountant, self.line, "action_fc_match_by_hand"))
        wizard = self.env[WIZARD].browse(answer["res_id"])
        wizard.counterpart_id = self.receivable(self.other)
        self.other.line_ids.remove_move_reconcile()
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=self.other.ids)
            .create({})
            ._create_payments()
        )
        self.assertTrue(payment)
        message = self.assert_refused(self.button(self.accountant, wizard, "action_match"))
        self.assertIn("is not an open item any more", message)
        self.assertFalse(self.line.is_reconciled)

    def test_without_the_right_to_edit_the_line_nothing_happens(self):
        for role in ("portal", "internal", "fc_user"):
            with self.subTest(role=role):
                user = self.roles[role]
                self.assert_refused(self.button(user, self.line, "action_fc_match_by_hand"))
                self.assert_refused(self.button(user, self.line, "action_fc_match_again"))
                self.assert_refused(self.rpc(user, WIZARD, "create", [{"line_id": self.line.id}]))
        # A wizard of the accountant's, pointed at a line and item over RPC by
        # someone else: transient records are their creator's only.
        answer = self.assert_ok(self.button(self.accountant, self.line, "action_fc_match_by_hand"))
        wizard = self.env[WIZARD].browse(answer["res_id"])
        self.assert_refused(self.button(self.roles["fc_user"], wizard, "action_match"))
        self.assertFalse(self.line.is_reconciled)
        self.assertEqual(self.line.fc_match_state, "none")
