"""Matching imported lines: by reference (reconciled), partner + amount (proposed)."""

from odoo.tests import tagged

from .common import BankCase, generate_camt053


@tagged("post_install", "-at_install")
class TestBankMatching(BankCase):
    def test_reference_reconciles_partner_amount_proposes_rest_unmatched(self):
        journal = self.bank_journal("MTCH", "DE89370400440532013000")
        invoice = self.init_invoice("out_invoice", partner=self.partner_a, amounts=[300.0])
        invoice.payment_reference = "RF18539007547034"
        invoice.action_post()
        customer = self.env["res.partner"].create({"name": "Customer C"})
        other = self.init_invoice("out_invoice", partner=customer, amounts=[77.0], post=True)
        lines = self.Line.create(
            [
                {
                    "journal_id": journal.id,
                    "date": "2024-03-01",
                    "amount": invoice.amount_total,
                    "payment_ref": "payment",
                    "fc_creditor_ref": "RF18 5390 0754 7034",
                },
                {
                    "journal_id": journal.id,
                    "date": "2024-03-01",
                    "amount": other.amount_total,
                    "payment_ref": "thanks",
                    "partner_id": customer.id,
                },
                {
                    "journal_id": journal.id,
                    "date": "2024-03-01",
                    "amount": 12.34,
                    "payment_ref": "who knows",
                },
            ]
        )
        counts = self.env["finance.connect.bank.matcher"]._match_lines(lines)
        self.assertEqual(counts, {"reconciled": 1, "proposed": 1, "unmatched": 1})
        exact, proposed, unmatched = lines
        self.assertEqual(exact.fc_match_state, "reconciled")
        self.assertTrue(exact.is_reconciled)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(proposed.fc_match_state, "proposed")
        self.assertEqual(proposed.fc_match_candidate_id.move_id, other)
        self.assertEqual(other.payment_state, "not_paid")
        self.assertEqual(unmatched.fc_match_state, "unmatched")
        # The unmatched list shows what the accountant must look at.
        action = self.env.ref(
            "finance_connect_bank.account_bank_statement_line_action_fc_unmatched"
        )
        from odoo.tools.safe_eval import safe_eval

        listed = self.Line.search(safe_eval(action.domain))
        self.assertIn(unmatched, listed)
        self.assertIn(proposed, listed)
        self.assertNotIn(exact, listed)
        # The accountant confirms the proposal.
        proposed.action_fc_confirm_match()
        self.assertTrue(proposed.is_reconciled)
        self.assertIn(other.payment_state, ("paid", "in_payment"))

    def test_imported_line_matched_by_end_to_end_id_of_a_payment(self):
        journal = self.company_data["default_journal_bank"]
        journal.bank_acc_number = "DE89370400440532013000"
        payment = self.init_payment(-250.0, post=True)
        self.assertEqual(payment.state, "in_process")
        payment.sudo().fc_end_to_end_id = "E2E-00000000"  # as the batch engine does
        currency = self.company.currency_id.name
        data, _o, _c = generate_camt053(1, currency=currency, stmt_id="E2E")
        amount = f"{payment.amount:.2f}".encode()
        data = data.replace(
            b"<CdtDbtInd>CRDT</CdtDbtInd><Sts>", b"<CdtDbtInd>DBIT</CdtDbtInd><Sts>"
        )
        import re

        entry_amount = re.search(
            rb"<Ntry><NtryRef>00000000</NtryRef><Amt Ccy=\"\w+\">([\d.]+)<", data
        ).group(1)
        sign = b"CRDT"
        closing = 1000 - payment.amount
        data = data.replace(b">" + entry_amount + b"<", b">" + amount + b"<", 1)
        data = re.sub(
            rb"(<Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"\w+\">)[\d.]+(</Amt><CdtDbtInd>)\w+",
            rb"\g<1>" + f"{closing:.2f}".encode() + rb"\g<2>" + sign,
            data,
        )
        result = self.Import._import_file(data, "e2e.xml")
        self.assertEqual(result["new"], 1, result["summary"])
        line = self.Line.browse(result["line_ids"])
        self.assertEqual(line.fc_end_to_end_id, "E2E-00000000")
        self.assertEqual(line.fc_match_state, "reconciled")
        self.assertTrue(line.is_reconciled)
        self.assertEqual(payment.state, "paid")
