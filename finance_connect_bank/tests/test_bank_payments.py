"""Payment batches out (pain.001), status in (pain.002, PSP events), once each."""

import base64
import json
import re

from odoo.addons.finance_connect.lib import xmlsafe
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import ADDON_XSD, SHARED, BankCase, fixture, use_addon_xsd_folder

PAIN002 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
<CstmrPmtStsRpt>
<GrpHdr><MsgId>{msg}</MsgId><CreDtTm>2024-05-02T10:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>{orig}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
</OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>{orig}</OrgnlPmtInfId>
{transactions}
</OrgnlPmtInfAndSts>
</CstmrPmtStsRpt>
</Document>
"""
TX = """<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>{status}</TxSts>{reason}
</TxInfAndSts>"""
REASON = "<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn><AddtlInf>{text}</AddtlInf></StsRsnInf>"


@tagged("post_install", "-at_install")
class TestBankPayments(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_sepa_payments()

    def pay_bill(self, amount=500.0):
        bill = self.init_invoice("in_invoice", partner=self.partner_a, amounts=[amount], post=True)
        register = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create({"journal_id": self.journal.id, "partner_bank_id": self.vendor_bank.id})
        )
        payment = register._create_payments()
        self.assertIn(payment.state, ("in_process", "paid"))
        self.assertIn(bill.payment_state, ("in_payment", "paid"))
        return bill, payment

    def status_message(self, xml, key):
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "payment_status",
                "idempotency_key": key,
                "payload": xml,
                "content_type": "application/xml",
            }
        )
        return message

    def test_batch_pain001_valid_sent_then_rejection_reopens_the_bill(self):
        bill, payment = self.pay_bill(500.0)
        other_bill, other = self.pay_bill(120.0)
        batch = self.env["finance.connect.payment.batch"]._create_from_payments(
            payment | other, connection=self.connection
        )
        self.assertEqual(batch.payment_count, 2)
        self.assertTrue(payment.fc_end_to_end_id)
        batch.action_generate()
        xml = base64.b64decode(batch.xml_file)
        root = xmlsafe.strip_namespaces(xmlsafe.parse_xml(xml))
        self.assertEqual(root.findtext("CstmrCdtTrfInitn/GrpHdr/NbOfTxs"), "2")
        self.assertEqual(root.findtext("CstmrCdtTrfInitn/GrpHdr/CtrlSum"), "620.00")
        self.assertEqual(
            xmlsafe.validate_xsd(
                xmlsafe.parse_xml(xml), SHARED / "sepaxml_schemas" / "pain.001.001.09.xsd"
            ),
            [],
        )
        with self.run_jobs():
            batch.action_send()
        self.assertEqual(batch.state, "sent")
        self.assertEqual(batch.message_out_id.state, "done")
        body = json.loads(self.sandbox.deliveries("/events")[-1]["body"])
        self.assertEqual(body["event_type"], "payment_batch.created")
        self.assertIn(payment.fc_end_to_end_id, body["data"]["content"])
        self.assertEqual(payment.fc_bank_status, "sent")
        # A payment is in one batch at a time.
        with self.assertRaises(UserError):
            self.env["finance.connect.payment.batch"]._create_from_payments(payment)
        # The bank rejects one transaction (AC01) and accepts the other.
        xml = PAIN002.format(
            msg="STS-1",
            orig=batch.name,
            transactions="".join(
                [
                    TX.format(
                        e2e=payment.fc_end_to_end_id,
                        status="RJCT",
                        reason=REASON.format(code="AC01", text="Konto ungueltig"),
                    ),
                    TX.format(e2e=other.fc_end_to_end_id, status="ACCP", reason=""),
                ]
            ),
        )
        message = self.status_message(xml, "sts-1")
        outcome = message._job_process()
        self.assertEqual(message.state, "done", outcome)
        self.assertEqual(payment.fc_bank_status, "rejected")
        self.assertEqual(payment.state, "rejected")
        self.assertEqual(bill.payment_state, "not_paid")
        self.assertEqual(other.fc_bank_status, "accepted")
        self.assertIn(other.state, ("in_process", "paid"))
        self.assertEqual(batch.state, "partially")
        exc = self.exceptions("remote_rejected")
        self.assertEqual(len(exc), 1)
        self.assertIn("AC01", exc.description)
        self.assertIn("Incorrect account number", exc.description)
        # The same report again, or as another message: applied once.
        again = self.status_message(xml, "sts-1-copy")
        again._job_process()
        statuses = self.env["finance.connect.bank.status"].search([("batch_id", "=", batch.id)])
        self.assertEqual(len(statuses), 2)
        self.assertEqual(exc.occurrences, 1)
        # A late, older acceptance does not undo the rejection.
        late = PAIN002.format(
            msg="STS-0",
            orig=batch.name,
            transactions=TX.format(e2e=payment.fc_end_to_end_id, status="ACSC", reason=""),
        )
        self.status_message(late, "sts-0")._job_process()
        self.assertEqual(payment.fc_bank_status, "rejected")
        # The rejected payment may go into a new batch.
        self.assertTrue(
            self.env["finance.connect.payment.batch.line"].search(
                [("payment_id", "=", payment.id), ("state", "=", "rejected")]
            )
        )

    def test_pain002_version_10_rejects_a_credit_transfer_like_version_03(self):
        for version in ("10", "03"):
            bill, payment = self.pay_bill(210.0)
            batch = self.env["finance.connect.payment.batch"]._create_from_payments(
                payment, connection=self.connection
            )
            batch.action_generate()
            xml = PAIN002.format(
                msg=f"STS-{version}",
                orig=batch.name,
                transactions=TX.format(
                    e2e=payment.fc_end_to_end_id,
                    status="RJCT",
                    reason=REASON.format(code="AM04", text="Deckung fehlt"),
                ),
            ).replace("pain.002.001.03", f"pain.002.001.{version}")
            self.assertIn(f"pain.002.001.{version}", xml)
            message = self.status_message(xml, f"sts-{version}")
            outcome = message._job_process()
            self.assertEqual(message.state, "done", outcome)
            self.assertEqual(payment.fc_bank_status, "rejected", version)
            self.assertEqual(payment.state, "rejected")
            self.assertEqual(bill.payment_state, "not_paid")
            exc = self.exceptions("remote_rejected").filtered(
                lambda e, message=message: e.message_id == message
            )
            self.assertIn("Insufficient funds", exc.description)

    def test_pain001_version_03_validates(self):
        _bill, payment = self.pay_bill(80.0)
        batch = self.env["finance.connect.payment.batch"]._create_from_payments(
            payment, connection=self.connection, version="001.001.03"
        )
        batch.action_generate()
        xml = base64.b64decode(batch.xml_file)
        self.assertIn(b"pain.001.001.03", xml)

    def test_pain001_generates_with_the_default_xsd_folder(self):
        use_addon_xsd_folder(self.env, "pain.001.001.09.xsd", "pain.001.001.03.xsd")
        Batch = self.env["finance.connect.payment.batch"]
        self.assertEqual(Batch._get_xsd_dir().resolve(), ADDON_XSD.resolve())
        for version in ("001.001.09", "001.001.03"):
            _bill, payment = self.pay_bill(80.0)
            batch = Batch._create_from_payments(
                payment, connection=self.connection, version=version
            )
            batch.action_generate()
            xml = base64.b64decode(batch.xml_file)
            self.assertIn(f"urn:iso:std:iso:20022:tech:xsd:pain.{version}".encode(), xml)
            self.assertEqual(batch._validate_xml(xml), [])
            # The schema is really applied: without the group header's MsgId the
            # file is invalid.
            broken = re.sub(rb"<MsgId>[^<]*</MsgId>", b"", xml, count=1)
            errors = batch._validate_xml(broken)
            self.assertTrue(errors)
            self.assertIn("MsgId", errors[0])

    def test_missing_xsd_is_a_clear_error(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "finance_connect_bank.pain001_xsd_dir", "/nonexistent"
        )
        _bill, payment = self.pay_bill(80.0)
        batch = self.env["finance.connect.payment.batch"]._create_from_payments(
            payment, connection=self.connection
        )
        with self.assertRaisesRegex(UserError, "pain.001.001.09.xsd"):
            batch.action_generate()

    def test_real_postfinance_pain002_files_process_without_payments(self):
        folder = SHARED / "moov_iso20022" / "testdata"
        for path in sorted(folder.glob("pain002*.xml")):
            message = self.status_message(fixture(path).decode("utf-8"), path.name)
            outcome = message._job_process()
            self.assertEqual(message.state, "done", outcome)
        # Rejections of unknown end-to-end ids are in the inbox, not lost.
        self.assertTrue(self.exceptions("remote_rejected"))

    def test_psp_events_apply_once_and_fees_are_booked(self):
        psp = self._create_connection("PSP", self.company, kind="psp")
        fee_account = self.company_data["default_account_expense"]
        psp.write(
            {
                "fc_fee_account_id": fee_account.id,
                "fc_fee_journal_id": self.company_data["default_journal_bank"].id,
                "fc_dispute_account_id": self.company_data["default_account_expense"].id,
            }
        )
        payment = self.init_payment(100.0, post=True)
        payment.fc_provider_ref = "pi_123"

        def event(kind, key, **data):
            message, _created = self.env["finance.connect.message"]._create_idempotent(
                {
                    "direction": "in",
                    "connection_id": psp.id,
                    "event_type": kind,
                    "idempotency_key": key,
                    "content_type": "application/json",
                    "payload": json.dumps({"id": key, "type": kind, "data": data}),
                }
            )
            return message

        first = event("payment.succeeded", "evt_1", reference="pi_123")
        first._job_process()
        self.assertEqual(first.state, "done")
        self.assertEqual(payment.fc_bank_status, "settled")
        dispute = event("payment.disputed", "evt_2", reference="pi_123", reason="fraudulent")
        dispute._job_process()
        self.assertEqual(payment.fc_bank_status, "disputed")
        # The first event delivered late again: nothing moves back.
        event("payment.succeeded", "evt_1b", reference="pi_123")._job_process()
        self.assertEqual(payment.fc_bank_status, "disputed")
        payout = event(
            "payout.settled",
            "evt_3",
            payout_id="po_1",
            fee="2.50",
            currency=self.company.currency_id.name,
        )
        payout._job_process()
        self.assertEqual(payout.state, "done")
        fees = self.env["account.move.line"].search(
            [("account_id", "=", fee_account.id), ("name", "=", "PSP fees")]
        )
        self.assertEqual(len(fees), 1)
        self.assertAlmostEqual(fees.balance, 2.5)
        # The payout delivered twice (new message, same event id): booked once.
        event("payout.settled", "evt_3", payout_id="po_1", fee="2.50")
        replay = event("payout.settled", "evt_3-again", payout_id="po_1", fee="2.50")
        replay.payload  # noqa: B018  # pylint: disable=pointless-statement
        self.env["finance.connect.psp.payout"]._apply_payout(replay, "evt_3", {"fee": "2.50"})
        self.assertEqual(
            len(
                self.env["account.move.line"].search(
                    [("account_id", "=", fee_account.id), ("name", "=", "PSP fees")]
                )
            ),
            1,
        )
