"""Payment status in: each status applied once, and the pain.002 reports.

Every status that changes a payment is written to ``finance.connect.bank.status``
under a key unique in the database (report or event id, payment, status):
a report delivered twice, or a late copy of an older one, changes nothing.
A rejection cancels the payment (its bills are open again) and opens an
exception quoting the reason code in words.

This file applies pain.002 reports; PSP events (payments, refunds, disputes,
payouts) are applied by ``finance.connect.psp.event`` and its siblings, which
record their statuses here (see ``readme/DEVELOP.md``).
"""

import psycopg2

from odoo import api, fields, models
from odoo.tools import mute_logger

from ..lib.pain002 import describe_reason
from ..lib.psp import describe_psp_reason

PAIN002_STATUS = {
    "ACSC": "settled",
    "ACCP": "accepted",
    "ACWC": "accepted",
    "ACTC": "pending",
    "ACSP": "accepted",
    "PDNG": "pending",
    "RCVD": "pending",
    "PART": None,
    "RJCT": "rejected",
}


class FinanceConnectBankStatus(models.Model):
    _name = "finance.connect.bank.status"
    _description = "Finance Connect applied payment status"
    _order = "id desc"

    key = fields.Char(required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    message_id = fields.Many2one("finance.connect.message", readonly=True, index=True)
    payment_id = fields.Many2one("account.payment", readonly=True, index=True)
    batch_id = fields.Many2one("finance.connect.payment.batch", readonly=True, index=True)
    source = fields.Selection([("pain002", "pain.002"), ("psp", "PSP event")], readonly=True)
    status = fields.Char(readonly=True, help="ISO status code or PSP event type.")
    reason_code = fields.Char(readonly=True)
    reason_text = fields.Char(readonly=True)
    end_to_end_id = fields.Char(readonly=True)
    move_id = fields.Many2one(
        "account.move",
        string="Journal entry",
        readonly=True,
        help="The fee, dispute or reversal entry booked for this status.",
    )
    refund_payment_id = fields.Many2one(
        "account.payment",
        string="Refund payment",
        readonly=True,
        index="btree_not_null",
    )
    amount = fields.Monetary(readonly=True, help="Refunded or disputed amount.")
    currency_id = fields.Many2one("res.currency", readonly=True)
    transaction_model = fields.Char(readonly=True)
    transaction_id = fields.Many2oneReference(
        string="Payment transaction",
        model_field="transaction_model",
        readonly=True,
        index="btree_not_null",
        help="The payment.transaction of Odoo's payment module the PSP event applied to.",
    )
    transaction_reference = fields.Char(string="Transaction", readonly=True)

    _sql_constraints = [
        ("key_uniq", "unique(key)", "A payment status is applied once."),
    ]

    @api.model
    def _record_once(self, vals):
        """Create the status record; False when the same key was applied before."""
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                record = self.sudo().create(vals)
                record.flush_recordset()
            return record
        except psycopg2.errors.UniqueViolation:
            return False

    # ------------------------------------------------------------------
    # pain.002
    # ------------------------------------------------------------------

    @api.model
    def _apply_pain002(self, report, message):
        """Apply a parsed pain.002 report; returns a summary text."""
        # Only the batches and payments of the company whose connection received
        # the report: a report on A's connection never touches B's payments.
        company_domain = [("company_id", "=", message.company_id.id)]
        batches = (
            self.env["finance.connect.payment.batch"].search(
                [("name", "=", report.original_message_id), *company_domain]
            )
            if report.original_message_id
            else self.env["finance.connect.payment.batch"]
        )
        per_payment = {}
        reasons = {}
        # The group status applies to every payment of the batch, a payment
        # block status to its payments, a transaction status to its payment.
        for status in report.statuses:
            if status.level == "transaction":
                continue
            for line in batches.line_ids:
                if status.level == "group" or status.original_payment_information_id in (
                    line.batch_id.name,
                    False,
                    None,
                ):
                    if status.status:
                        per_payment[line.payment_id] = status
        e2e_ids = [
            s.original_end_to_end_id
            for s in report.statuses
            if s.level == "transaction" and s.original_end_to_end_id
        ]
        payments = self.env["account.payment"].search(
            [("fc_end_to_end_id", "in", e2e_ids), *company_domain]
        )
        by_e2e = {p.fc_end_to_end_id: p for p in payments}
        unknown = []
        for status in report.statuses:
            if status.level != "transaction":
                continue
            payment = by_e2e.get(status.original_end_to_end_id)
            if not payment:
                unknown.append(status)
                continue
            per_payment[payment] = status
        applied = 0
        for payment, status in per_payment.items():
            if status.status == "PART" or not PAIN002_STATUS.get(status.status):
                continue
            reasons[payment] = status
            applied += self._apply_payment_status(
                payment,
                PAIN002_STATUS[status.status],
                message,
                source="pain002",
                code=status.status,
                reason_code=status.reason_code,
                reason_text=status.reason_text,
                key=f"pain002:{report.message_id or message.idempotency_key}:{payment.id}:"
                f"{status.status}",
            )
        for status in unknown:
            if status.status == "RJCT":
                self._open_rejection(
                    message,
                    None,
                    status.reason_code,
                    status.reason_text,
                    status.original_end_to_end_id,
                )
        batches._update_state()
        # A status arrived: the batches' SLA rules clear now, not at the next cron.
        self.env["finance.connect.sla.rule"]._fc_on_bank_status(batches)
        text = self.env._(
            "pain.002 %(id)s for %(orig)s: %(n)s payment status(es) applied",
            id=report.message_id or "?",
            orig=report.original_message_id or "?",
            n=applied,
        )
        if unknown:
            text += self.env._(
                ", %(n)s for unknown end-to-end ids (%(ids)s)",
                n=len(unknown),
                ids=", ".join(s.original_end_to_end_id or "?" for s in unknown),
            )
        return text

    @api.model
    def _apply_payment_status(
        self, payment, status, message, source, code, key, reason_code=None, reason_text=None
    ):
        """Apply one status to one payment, once; returns 1 when applied."""
        line = payment.fc_batch_line_ids.filtered(lambda line: line.state != "rejected")[:1]
        record = self._record_once(
            {
                "key": key,
                "company_id": payment.company_id.id,
                "message_id": message.id,
                "payment_id": payment.id,
                "batch_id": line.batch_id.id,
                "source": source,
                "status": code,
                "reason_code": reason_code,
                "reason_text": reason_text,
                "end_to_end_id": payment.fc_end_to_end_id,
            }
        )
        if not record:
            return 0
        describe = describe_psp_reason if source == "psp" else describe_reason
        words = describe(reason_code) if reason_code else ""
        reason = ": ".join(x for x in (reason_code, words) if x)
        if reason_text:
            reason = f"{reason} ({reason_text})" if reason else reason_text
        if not payment._fc_set_bank_status(status, reason):
            return 0
        if line:
            line.sudo().write(
                {
                    "state": {
                        "rejected": "rejected",
                        "settled": "accepted",
                        "accepted": "accepted",
                    }.get(status, line.state),
                    "reason": reason or False,
                }
            )
        if status == "rejected":
            payment._fc_reject(reason)
            self._open_rejection(
                message, payment, reason_code, reason_text, payment.fc_end_to_end_id, source
            )
        return 1

    @api.model
    def _open_rejection(self, message, payment, code, text, e2e, source="pain002"):
        if source == "psp":
            words = describe_psp_reason(code) if code else self.env._("no reason given")
            what = payment.display_name
            description = self.env._(
                "The payment service provider reports %(what)s as failed with reason "
                "%(code)s: %(words)s%(text)s. The payment was cancelled, so its invoices are "
                "open again; ask the customer to pay again.",
                what=what,
                code=code or "-",
                words=words,
                text=" (" + str(text) + ")" if text else "",
            )
            summary = self.env._(
                "PSP payment failed %(what)s: %(code)s %(words)s",
                what=what,
                code=code or "",
                words=words,
            )
        else:
            words = describe_reason(code) if code else self.env._("no reason given")
            what = (
                payment.display_name
                if payment
                else self.env._("an unknown payment (end-to-end id %(e2e)s)", e2e=e2e or "?")
            )
            description = self.env._(
                "The bank rejected %(what)s with reason %(code)s: %(words)s%(text)s. %(done)s",
                what=what,
                code=code or "-",
                words=words,
                text=" (" + str(text) + ")" if text else "",
                done=self.env._(
                    "The payment was cancelled, so its bills are open again. Correct "
                    "the cause (e.g. the vendor's bank account), then pay again."
                )
                if payment
                else self.env._(
                    "No payment with this end-to-end id was found; "
                    "check the report against the bank's portal."
                ),
            )
            summary = self.env._(
                "Bank rejected %(what)s: %(code)s %(words)s",
                what=what,
                code=code or "",
                words=words,
            )
        self.env["finance.connect.exception"]._open(
            "remote_rejected",
            summary[:200],
            description,
            connection=message.connection_id,
            message=message,
            record=payment,
            company=payment.company_id if payment else message.company_id,
            fingerprint=f"rjct:{payment.id if payment else e2e}:{code}",
        )
