"""Four-eyes control of the bank addon (issue 15, first part), over real HTTP JSON-RPC.

- Bank CSV profiles: in a company with four-eyes on, a change of how a file's
  rows are read waits for another manager's approval.
- Payment batches: a pain.001 batch to a production connection is sent by
  another user than its creator; the batch records both.
"""

from odoo.addons.finance_connect.tests.trust_common import TrustCase
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import new_test_user, tagged

from .common import BankCase

Profile = "finance.connect.bank.csv.profile"
Request = "finance.connect.change.request"


@tagged("post_install", "-at_install")
class TestFourEyesBank(BankCase, TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_sepa_payments()
        cls.manager2 = new_test_user(
            cls.env,
            login="fc_manager2",
            groups="account.group_account_manager,finance_connect.group_manager",
            company_id=cls.company_a.id,
        )
        cls.profile = cls.env[Profile].create(
            {
                "name": "Sparkasse",
                "company_id": cls.company_a.id,
                "date_column": "Buchungstag",
                "amount_column": "Betrag",
            }
        )

    def pending(self, record):
        return (
            self.env[Request]
            .sudo()
            .search([("res_model", "=", record._name), ("res_id", "=", record.id)])
        )

    # ------------------------------------------------------------------
    # CSV profiles
    # ------------------------------------------------------------------

    def test_profile_change_waits_for_another_manager(self):
        self.assert_refused(
            self.rpc(self.manager, Profile, "write", [self.profile.ids, {"amount_column": "X"}]),
            contains="Reason for change",
        )
        self.assert_ok(
            self.rpc(
                self.manager,
                Profile,
                "write",
                [
                    self.profile.ids,
                    {
                        "amount_column": "Umsatz",
                        "name": "Sparkasse (2027)",
                        "fc_change_reason": "New export format",
                    },
                ],
            )
        )
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.amount_column, "Betrag", "the value in force stays")
        self.assertEqual(self.profile.name, "Sparkasse (2027)", "the name is not guarded")
        self.assertEqual(self.profile.fc_pending_change_count, 1)
        request = self.pending(self.profile)
        self.assertEqual((request.state, request.approval_group), ("pending", "manager"))
        for user in (self.manager, self.fc_user, self.internal):
            with self.subTest(user=user.login):
                self.assert_refused(self.button(user, request, "action_approve"))
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.amount_column, "Betrag")
        self.assert_ok(self.button(self.manager2, request, "action_approve"))
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.amount_column, "Umsatz")
        self.assertEqual(request.state, "applied")

    def test_profile_deletion_waits_and_forged_context_does_not_bypass(self):
        self.assert_ok(
            self.rpc(
                self.manager,
                Profile,
                "unlink",
                [self.profile.ids],
                {
                    "context": {
                        "fc_change_reason": "Bank closed",
                        "fc_four_eyes_pass": self.profile.id,
                        "allowed_company_ids": [self.company_a.id],
                    }
                },
            )
        )
        self.assertTrue(self.profile.exists(), "still there until approved")
        request = self.pending(self.profile)
        self.assertEqual(request.operation, "unlink")
        self.assert_ok(self.button(self.manager2, request, "action_approve"))
        self.assertFalse(self.profile.exists())

    def test_profile_changes_at_once_when_the_company_turned_four_eyes_off(self):
        self.company_a.sudo().with_context(fc_change_reason="test set-up").fc_four_eyes = False
        request = self.pending(self.company_a)
        # Approved by another administrator (the switch is itself four-eyes).
        admin2 = new_test_user(
            self.env,
            login="fc_admin2",
            groups="finance_connect.group_administrator",
            company_id=self.company_a.id,
        )
        request.with_user(admin2).action_approve()
        self.assertFalse(self.company_a.fc_four_eyes)
        self.assert_ok(
            self.rpc(self.manager, Profile, "write", [self.profile.ids, {"amount_column": "U"}])
        )
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.amount_column, "U")

    def test_fee_account_of_a_production_bank_waits_for_another_manager(self):
        self.connection.environment = "production"
        fee = self.company_data["default_account_expense"]
        context = {"fc_change_reason": "Fees to 6xx", "allowed_company_ids": [self.company_a.id]}
        self.assert_ok(
            self.rpc(
                self.manager,
                "finance.connect.connection",
                "write",
                [self.connection.ids, {"fc_fee_account_id": fee.id}],
                {"context": context},
            )
        )
        self.connection.invalidate_recordset()
        self.assertFalse(self.connection.fc_fee_account_id)
        request = self.pending(self.connection)
        self.assertEqual(request.approval_group, "manager")
        self.assert_refused(self.button(self.manager, request, "action_approve"))
        self.assert_ok(self.button(self.manager2, request, "action_approve"))
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.fc_fee_account_id, fee)

    # ------------------------------------------------------------------
    # Payment batches
    # ------------------------------------------------------------------

    def draft_batch(self, connection, creator):
        bill = self.init_invoice("in_invoice", partner=self.partner_a, amounts=[250.0], post=True)
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create({"journal_id": self.journal.id, "partner_bank_id": self.vendor_bank.id})
            ._create_payments()
        )
        return (
            self.env["finance.connect.payment.batch"]
            .with_user(creator)
            ._create_from_payments(payment, connection=connection)
        )

    def send(self, user, batch):
        with trap_jobs():
            return self.button(user, batch, "action_send")

    def test_batch_creator_cannot_send_it_to_a_production_bank(self):
        self.connection.environment = "production"
        batch = self.draft_batch(self.connection, self.manager)
        self.assertEqual(batch.create_uid, self.manager)
        self.assert_refused(self.send(self.manager, batch), contains="another Finance Connect")
        batch.invalidate_recordset()
        self.assertEqual(batch.state, "draft")
        self.assertFalse(batch.sent_by_id)
        self.assertFalse(batch.message_out_id)
        # Nor can the sender be written over RPC, nor the creator be rewritten.
        self.assert_refused(
            self.rpc(self.manager, batch._name, "write", [batch.ids, {"sent_by_id": 1}])
        )
        self.rpc(self.manager, batch._name, "write", [batch.ids, {"create_uid": self.manager2.id}])
        batch.invalidate_recordset()
        self.assertEqual(batch.create_uid, self.manager)
        self.assert_refused(self.send(self.manager, batch), contains="another Finance Connect")
        self.assert_ok(self.send(self.manager2, batch))
        batch.invalidate_recordset()
        self.assertEqual(batch.state, "sent")
        self.assertEqual((batch.create_uid, batch.sent_by_id), (self.manager, self.manager2))
        self.assertTrue(batch.sent_at)

    def test_batch_to_a_test_connection_may_be_sent_by_its_creator(self):
        batch = self.draft_batch(self.connection, self.manager)
        self.assert_ok(self.send(self.manager, batch))
        batch.invalidate_recordset()
        self.assertEqual((batch.state, batch.sent_by_id), ("sent", self.manager))
