"""Bank side of payments: end-to-end id, bank status, batches."""

from odoo import api, fields, models
from odoo.exceptions import AccessError

BANK_STATUSES = [
    ("none", "Not sent"),
    ("sent", "Sent to the bank"),
    ("pending", "Pending at the bank"),
    ("accepted", "Accepted"),
    ("settled", "Settled"),
    ("rejected", "Rejected"),
    ("partially_refunded", "Partially refunded"),
    ("refunded", "Refunded"),
    ("disputed", "Disputed"),
    ("dispute_won", "Dispute won"),
    ("dispute_lost", "Dispute lost"),
]
# A status only moves forward; a refund or dispute (a "case") always applies
# over a settlement, and a rejection over everything.
CASE_STATUSES = ("partially_refunded", "refunded", "disputed", "dispute_won", "dispute_lost")
STATUS_RANK = {
    "none": 0,
    "sent": 1,
    "pending": 2,
    "accepted": 3,
    "settled": 4,
    **dict.fromkeys(CASE_STATUSES, 5),
    "rejected": 9,
}
#: What only the engine writes (as superuser, after its checks): the id the
#: bank's status reports find a payment by, the bank status, and the refund link.
ENGINE_FIELDS = frozenset(
    {"fc_end_to_end_id", "fc_bank_status", "fc_bank_reason", "fc_refund_of_id"}
)


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
    fc_refund_of_id = fields.Many2one(
        "account.payment",
        string="Refund of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The payment this one refunds (booked from a PSP refund event).",
    )
    fc_refund_ids = fields.One2many(
        "account.payment", "fc_refund_of_id", string="Refunds", readonly=True
    )
    fc_refunded_amount = fields.Monetary(
        string="Refunded",
        currency_field="currency_id",
        compute="_compute_fc_refunded_amount",
        help="The amount of this payment's booked refunds.",
    )
    fc_batch_line_ids = fields.One2many(
        "finance.connect.payment.batch.line",
        "payment_id",
        string="Payment batches",
        readonly=True,
    )

    @api.model_create_multi
    def create(self, vals_list):
        # EXTENDS account: the bank fields are the engine's.
        for vals in vals_list:
            self._fc_check_engine_fields(vals)
        return super().create(vals_list)

    def write(self, vals):
        # EXTENDS account: the bank fields are the engine's.
        self._fc_check_engine_fields(vals)
        return super().write(vals)

    def _fc_check_engine_fields(self, vals):
        """Refuse the engine's fields to anyone but the engine (superuser): a
        payment given another's end-to-end id would take that payment's bank
        status report (a rejection cancels it)."""
        engine = ENGINE_FIELDS.intersection(vals)
        if engine and not self.env.su:
            raise AccessError(
                self.env._(
                    "%(fields)s of a payment are set by Finance Connect only, from the "
                    "payment batches and the bank's and payment provider's reports.",
                    fields=", ".join(sorted(self._fields[name].string for name in engine)),
                )
            )

    @api.depends("fc_refund_ids.amount", "fc_refund_ids.state")
    def _compute_fc_refunded_amount(self):
        for payment in self:
            payment.fc_refunded_amount = sum(
                payment.fc_refund_ids.filtered(
                    lambda p: p.state not in ("draft", "canceled", "rejected")
                ).mapped("amount")
            )

    def _fc_set_bank_status(self, status, reason=False):
        """Move the bank status forward (never back); returns the payments changed.

        A refund or dispute status applies over any other but a rejection.
        """
        changed = self.browse()
        for payment in self:
            current = STATUS_RANK.get(payment.fc_bank_status or "none", 0)
            if payment.fc_bank_status == "rejected" or (
                status not in CASE_STATUSES
                and STATUS_RANK[status] <= current
                and status != payment.fc_bank_status
            ):
                continue
            if payment.fc_bank_status == status and not reason:
                continue
            # The callers checked (batch buttons) or are the engine (reports).
            payment.sudo().write({"fc_bank_status": status, "fc_bank_reason": reason or False})
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
