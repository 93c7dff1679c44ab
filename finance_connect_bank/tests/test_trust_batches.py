"""Trust boundary, payment batches (issue 13 item 5, and item 6's pain.002 scope).

The file that goes to the bank is the engine's: built from the payments at
send time and validated against the XSD. Nobody writes it, the batch or line
states, or the lines over JSON-RPC; a status report only touches payments of
the company whose connection received it.
"""

import base64
import json

from odoo.addons.finance_connect.tests.trust_common import TrustCase
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import tagged

from .common import FFFS_053, BankCase, fixture, generate_camt053
from .test_bank_payments import PAIN002, REASON, TX

EVIL_IBAN = "GB33BUKB20201555555555"


@tagged("post_install", "-at_install")
class BatchCase(BankCase, TrustCase):
    """SEPA-ready payments and batches, with the trust users (no tests of its own)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_sepa_payments()
        cls.connection_b = cls._create_connection("Bank of B", cls.company_b)

    def pay_bill(self, amount):
        bill = self.init_invoice("in_invoice", partner=self.partner_a, amounts=[amount], post=True)
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create({"journal_id": self.journal.id, "partner_bank_id": self.vendor_bank.id})
            ._create_payments()
        )

    def draft_batch(self, amount=500.0):
        payment = self.pay_bill(amount)
        batch = self.env["finance.connect.payment.batch"]._create_from_payments(
            payment, connection=self.connection
        )
        return batch, payment

    def snapshot(self, batch):
        batch = batch.sudo()
        batch.invalidate_recordset()
        return (
            batch.state,
            batch.xml_file,
            batch.message_out_id.id,
            [(line.payment_id.id, line.state, line.end_to_end_id) for line in batch.line_ids],
        )


@tagged("post_install", "-at_install")
class TestTrustBatches(BatchCase):
    def test_item5_nobody_writes_the_file_the_states_or_the_lines(self):
        batch, payment = self.draft_batch()
        before = self.snapshot(batch)
        evil = base64.b64encode(b"<Document>" + EVIL_IBAN.encode() + b"</Document>").decode()
        Batch = "finance.connect.payment.batch"
        attempts = [
            ("write", [batch.ids, {"xml_file": evil}]),
            ("write", [batch.ids, {"state": "sent"}]),
            ("write", [batch.ids, {"line_ids": [(2, batch.line_ids.id)]}]),
            (
                "create",
                [
                    {
                        "journal_id": self.journal.id,
                        "connection_id": self.connection.id,
                        "xml_file": evil,
                    }
                ],
            ),
        ]
        for role in ("portal", "internal", "fc_user", "manager"):
            for method, args in attempts:
                with self.subTest(role=role, method=method, args=str(args)[:60]):
                    self.assert_refused(self.rpc(self.roles[role], Batch, method, args))
            with self.subTest(role=role, what="line"):
                self.assert_refused(
                    self.rpc(
                        self.roles[role],
                        "finance.connect.payment.batch.line",
                        "write",
                        [batch.line_ids.ids, {"state": "accepted"}],
                    )
                )
                self.assert_refused(
                    self.rpc(
                        self.roles[role],
                        "finance.connect.payment.batch.line",
                        "create",
                        [{"batch_id": batch.id, "payment_id": payment.id}],
                    )
                )
            with self.subTest(role=role, what="send"):
                if role != "manager":
                    self.assert_refused(self.button(self.roles[role], batch, "action_send"))
        self.assertEqual(self.snapshot(batch), before)
        self.assertEqual(
            self.env[Batch].sudo().search_count([("journal_id", "=", self.journal.id)]), 1
        )
        # What a manager may set on a draft: its date.
        self.assert_ok(
            self.rpc(self.manager, Batch, "write", [batch.ids, {"requested_date": "2030-01-02"}])
        )

    def test_item5_send_builds_the_file_from_the_payments(self):
        batch, payment = self.draft_batch(321.0)
        # A stale or planted file (e.g. from before the fix) is never what goes out.
        batch.sudo().xml_file = base64.b64encode(
            b'<?xml version="1.0"?><Document>' + EVIL_IBAN.encode() + b"</Document>"
        )
        with trap_jobs() as trap:
            self.assert_ok(self.button(self.manager, batch, "action_send"))
            # Queued by the request: run in the test's environment.
            for job in trap.enqueued_jobs:
                job.recordset = job.recordset.with_env(self.env)
            self.perform_all(trap)
        batch = batch.sudo()
        self.assertEqual(batch.state, "sent")
        delivered = json.loads(self.sandbox.deliveries("/events")[-1]["body"])
        sent = delivered["data"]["content"]
        self.assertNotIn(EVIL_IBAN, sent)
        self.assertIn(self.vendor_bank.acc_number, sent)
        self.assertIn(payment.fc_end_to_end_id, sent)
        self.assertIn("<InstdAmt Ccy=", sent)
        self.assertIn(">321.00<", sent)
        self.assertEqual(base64.b64decode(batch.xml_file).decode(), sent)
        self.assertEqual(batch.message_out_id.state, "done")
        # A sent batch cannot be put back to draft, nor edited.
        before = self.snapshot(batch)
        for vals in ({"state": "draft"}, {"requested_date": "2031-01-01"}):
            with self.subTest(vals=vals):
                self.assert_refused(self.rpc(self.manager, batch._name, "write", [batch.ids, vals]))
        self.assertEqual(self.snapshot(batch), before)

    def test_item6_a_report_on_company_bs_connection_cannot_reject_as_payments(self):
        batch, payment = self.draft_batch(150.0)
        with self.run_jobs():
            batch.action_send()
        xml = PAIN002.format(
            msg="STS-B",
            orig=batch.name,
            transactions=TX.format(
                e2e=payment.fc_end_to_end_id,
                status="RJCT",
                reason=REASON.format(code="AC01", text="planted"),
            ),
        )
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection_b.id,
                "event_type": "payment_status",
                "idempotency_key": "sts-b",
                "payload": xml,
                "content_type": "application/xml",
            }
        )
        message._job_process()
        payment.invalidate_recordset()
        self.assertEqual(payment.fc_bank_status, "sent")
        self.assertIn(payment.state, ("in_process", "paid"))
        self.assertEqual(batch.sudo().state, "sent")
        self.assertEqual(batch.sudo().line_ids.state, "pending")
        self.assertFalse(
            self.env["finance.connect.bank.status"].sudo().search([("payment_id", "=", payment.id)])
        )

    def test_item5_no_plain_write_of_a_payments_bank_fields(self):
        """The end-to-end id is how the bank's status report finds a payment: a
        person with Odoo's invoicing rights who could give payment X the id of
        payment Y (sent in a batch) would have the bank's rejection of Y cancel X.
        The id, the bank status and reason, and the refund link are the engine's."""
        batch, sent = self.draft_batch(150.0)
        with self.run_jobs():
            batch.action_send()
        other = self.pay_bill(80.0)
        billing = self.fc_user  # Odoo's invoicing rights, Finance Connect read
        self.assertTrue(billing.has_group("account.group_account_invoice"))
        for vals in (
            {"fc_end_to_end_id": sent.fc_end_to_end_id},
            {"fc_bank_status": "rejected"},
            {"fc_bank_reason": "planted"},
            {"fc_refund_of_id": sent.id},
        ):
            with self.subTest(vals=vals):
                self.assert_refused(
                    self.rpc(billing, "account.payment", "write", [other.ids, vals]),
                    "Finance Connect",
                )
                other.invalidate_recordset()
                self.assertFalse(other.fc_end_to_end_id)
                self.assertEqual(other.fc_bank_status, "none")
                self.assertFalse(other.fc_bank_reason)
                self.assertFalse(other.fc_refund_of_id)
        # What the user may change on a payment is still theirs to change.
        self.assert_ok(
            self.rpc(billing, "account.payment", "write", [other.ids, {"fc_provider_ref": "P-1"}])
        )
        self.assertEqual(other.fc_provider_ref, "P-1")
        # The engine still sets them: the batch was sent, its payment marked so.
        self.assertEqual(sent.fc_bank_status, "sent")

    def test_statement_line_import_id_and_match_fields_are_the_engines(self):
        """The import id is what keeps a bank entry from being imported twice: a
        person with Odoo's bank rights who cleared it could have the same entry
        booked again. It, the bank references and the match fields are refused
        to a plain write over JSON-RPC; Match again still works for them."""
        accountant = self.manager_ab
        accountant.groups_id |= self.env.ref("account.group_account_basic")
        journal = self.bank_journal("FFFS", "FI74 3301 0001 2220 90", self.eur)
        result = self.Import._import_file(fixture(FFFS_053), FFFS_053.name)
        self.assertEqual(result["new"], 13)
        line = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", journal.id)], limit=1
        )
        before = (line.fc_import_id, line.fc_match_state, line.fc_end_to_end_id)
        for vals in (
            {"fc_import_id": False},
            {"fc_import_id": "planted"},
            {"fc_match_state": "reconciled"},
            {"fc_end_to_end_id": "E2E-OF-ANOTHER-PAYMENT"},
        ):
            with self.subTest(vals=vals):
                self.assert_refused(
                    self.rpc(accountant, "account.bank.statement.line", "write", [line.ids, vals]),
                    "bank import",
                )
                line.invalidate_recordset()
                self.assertEqual(
                    (line.fc_import_id, line.fc_match_state, line.fc_end_to_end_id), before
                )
        # What a person may change on a line is still theirs to change.
        self.assert_ok(
            self.rpc(
                accountant,
                "account.bank.statement.line",
                "write",
                [line.ids, {"payment_ref": "Checked"}],
            )
        )
        self.assertEqual(line.payment_ref, "Checked")
        # The same file again: still nothing new, the import id kept its job.
        again = self.Import._import_file(fixture(FFFS_053), "again.xml")
        self.assertEqual(again["new"], 0)
        # Match again is theirs, and the matcher writes the match fields.
        self.assert_ok(
            self.rpc(accountant, "account.bank.statement.line", "action_fc_match_again", [line.ids])
        )
        line.invalidate_recordset()
        self.assertNotEqual(line.fc_match_state, "none")
        # Someone without the bank rights cannot make the matcher run.
        self.assert_refused(
            self.rpc(
                self.internal, "account.bank.statement.line", "action_fc_match_again", [line.ids]
            )
        )

    def test_refused_upload_retry_and_corrected_file_over_rpc(self):
        """Retry and "Import a corrected file" on a refused upload's exception: a
        portal user, a plain user and a Finance Connect user are refused over
        HTTP and the exception is unchanged; a manager gets the upload wizard."""
        self.bank_journal("TRUP", "DE89370400440532013000")
        data, _o, closing = generate_camt053(3, currency=self.company.currency_id.name)
        data = data.replace(f"{abs(closing):.2f}".encode(), f"{abs(closing) + 1:.2f}".encode())
        result = self.Import._import_file(data, "unbalanced-rpc.xml")
        exc = self.env["finance.connect.exception"].search(
            [("message_id", "=", result["message_id"])]
        )
        self.assertTrue(exc.fc_bank_upload, (result["summary"], exc.mapped("category")))
        for role in ("portal", "internal", "fc_user"):
            for method in ("action_retry", "action_import_corrected_file"):
                with self.subTest(role=role, method=method):
                    self.assert_refused(self.button(self.roles[role], exc, method))
                    self.assertEqual((exc.state, exc.occurrences), ("open", 1))
        answer = self.assert_ok(self.button(self.manager, exc, "action_import_corrected_file"))
        self.assertEqual(answer["res_model"], "finance.connect.bank.import.wizard")
        self.assertEqual(exc.state, "in_progress")
