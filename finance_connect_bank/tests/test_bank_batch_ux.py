"""Payment batches as a manager builds them (issue 17, rough list): refused at
creation when a payment has no vendor bank account, filled from the batch's
form, sent; who may not gets a refusal over HTTP; and the flow in a browser."""

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_trust_batches import BatchCase

WIZARD = "finance.connect.payment.batch.add"


@tagged("post_install", "-at_install")
class TestBankBatchUx(BatchCase):
    def test_a_payment_without_vendor_bank_account_is_named_at_creation(self):
        paid = self.pay_bill(100.0)
        bare = self.init_invoice("in_invoice", partner=self.partner_b, amounts=[70.0], post=True)
        orphan = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bare.ids)
            .create({"journal_id": self.journal.id})
            ._create_payments()
        )
        self.assertFalse(orphan.partner_bank_id)
        with self.assertRaises(UserError) as caught:
            self.env["finance.connect.payment.batch"]._create_from_payments(
                paid | orphan, connection=self.connection
            )
        message = str(caught.exception)
        self.assertIn("1 payment(s) have no recipient bank account", message)
        self.assertIn(orphan.display_name, message)
        self.assertIn("Recipient Bank Account", message)
        self.assertFalse(self.env["finance.connect.payment.batch"].search([]))

    def test_payments_are_added_from_the_batch_form(self):
        batch, first = self.draft_batch(200.0)
        second = self.pay_bill(300.0)
        answer = self.assert_ok(self.button(self.manager, batch, "action_add_payments"))
        wizard = self.env[WIZARD].browse(answer["res_id"])
        self.assertIn(second, wizard.candidate_ids)
        self.assertNotIn(first, wizard.candidate_ids, "already in this batch")
        wizard.payment_ids = second
        answer = self.assert_ok(self.button(self.manager, wizard, "action_add"))
        self.assertIn("1 payment(s) added: 2 in the batch", answer["params"]["message"])
        batch.invalidate_recordset()
        self.assertEqual(batch.payment_ids, first | second)
        self.assertEqual(second.fc_end_to_end_id, f"FC-{batch.id}-{second.id}")
        # The same payment again: refused, naming the batch.
        again = self.env[WIZARD].create({"batch_id": batch.id, "payment_ids": second.ids})
        message = self.assert_refused(self.button(self.manager, again, "action_add"))
        self.assertIn("already in batch", message)

    def test_who_may_not_build_gets_a_refusal(self):
        batch, _first = self.draft_batch(200.0)
        second = self.pay_bill(300.0)
        for role in ("portal", "internal", "fc_user"):
            with self.subTest(role=role):
                user = self.roles[role]
                self.assert_refused(self.button(user, batch, "action_add_payments"))
                self.assert_refused(
                    self.rpc(
                        user, WIZARD, "create", [{"batch_id": batch.id, "payment_ids": second.ids}]
                    )
                )
        self.assertEqual(len(batch.sudo().line_ids), 1)
        # Sent: nothing can be added any more.
        batch.sudo().state = "sent"
        message = self.assert_refused(self.button(self.manager, batch, "action_add_payments"))
        self.assertIn("was sent already", message)

    def test_build_and_send_a_batch_in_the_browser(self):
        batch, first = self.draft_batch(200.0)
        second = self.pay_bill(300.0)
        self.manager.groups_id |= self.env.ref("account.group_account_basic")
        self.start_tour(
            f"/odoo/action-finance_connect_bank.finance_connect_payment_batch_action/{batch.id}",
            "finance_connect_bank_batch_tour",
            login=self.manager.login,
        )
        batch = batch.sudo()
        batch.invalidate_recordset()
        self.assertEqual(batch.state, "sent")
        self.assertEqual(batch.payment_ids, first | second)
        self.assertEqual(batch.sent_by_id, self.manager)
