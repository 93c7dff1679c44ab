"""Bank side of payments: end-to-end id, bank status, batches."""

from odoo import fields, models

BANK_STATUSES = [
    ("none", "Not sent"),
    ("sent", "Sent to the bank"),
    ("pending", "Pending at the bank"),
    ("accepted", "Accepted"),
    ("settled", "Settled"),
    ("rejected", "Rejected"),
    ("refunded", "Refunded"),
    ("disputed", "Disputed"),
]
# A status only moves forward; a rejection, refund or dispute always applies.
STATUS_RANK = {
    "none": 0,
    "sent": 1,
    "pending": 2,
    "accepted": 3,
    "settled": 4,
    "refunded": 5,
    "disputed": 5,
    "rejected": 9,
}


class AccountPayment(models.Model):
    _inherit = "account.payment"

    fc_end_to_end_id = fields.Char(
        string="End-to-end id",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The id the bank reports this payment under (set when it goes into a batch).",
    )
    fc_provider_ref = fields.Char(
        string="Provider reference",
        copy=False,
        index="btree_not_null",
        help="The payment's id at the payment service provider.",
    )
    fc_bank_status = fields.Selection(
        BANK_STATUSES,
        string="Bank status",
        default="none",
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    fc_bank_reason = fields.Char(string="Bank reason", readonly=True, copy=False)
    fc_batch_line_ids = fields.One2many(
        "finance.connect.payment.batch.line",
        "payment_id",
        string="Payment batches",
        readonly=True,
    )

    def _fc_set_bank_status(self, status, reason=False):
        """Move the bank status forward (never back); returns the payments changed."""
        changed = self.browse()
        for payment in self:
            current = STATUS_RANK.get(payment.fc_bank_status or "none", 0)
            if payment.fc_bank_status == "rejected" or (
                STATUS_RANK[status] <= current and status != payment.fc_bank_status
            ):
                continue
            if payment.fc_bank_status == status and not reason:
                continue
            payment.write({"fc_bank_status": status, "fc_bank_reason": reason or False})
            changed |= payment
        return changed

    def _fc_reject(self, reason):
        """The bank refused the payment: cancel it (its bills are open again)."""
        for payment in self:
            if payment.state in ("in_process", "paid"):
                payment.action_cancel()
            if payment.state != "rejected":
                payment.action_reject()

    def _fc_action_create_batch(self):
        """Server action: a draft payment batch from the selected payments."""
        batch = self.env["finance.connect.payment.batch"]._create_from_payments(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": batch._name,
            "res_id": batch.id,
            "view_mode": "form",
        }
