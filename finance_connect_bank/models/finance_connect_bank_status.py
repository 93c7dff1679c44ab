"""Payment status in: pain.002 reports and PSP events, each applied once.

Every status that changes a payment is written to ``finance.connect.bank.status``
under a key unique in the database (report or event id, payment, status):
a report delivered twice, or a late copy of an older one, changes nothing.
A rejection cancels the payment (its bills are open again) and opens an
exception quoting the reason code in words.

PSP events apply to an ``account.payment`` (by provider reference or end-to-end
id) or, when Odoo's ``payment`` module is installed, to a ``payment.transaction``
(by provider reference or reference) and the payment it created. Refunds and
disputes are booked once per refund and dispute, whatever the order or
repetition of delivery (see ``readme/DEVELOP.md``).
"""

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import psycopg2

from odoo import Command, api, fields, models
from odoo.addons.finance_connect.exceptions import HandlerError
from odoo.tools import SQL, format_amount, mute_logger

from ..lib.pain002 import describe_reason
from ..lib.psp import describe_psp_reason, parse_amount, reason_in_words

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
PSP_EVENTS = {
    "payment.succeeded": "settled",
    "payment.failed": "rejected",
    "payment.refunded": "refunded",
    "payment.disputed": "disputed",
    "payment.dispute_won": "dispute_won",
    "payment.dispute_lost": "dispute_lost",
    "payout.settled": None,
}
# Transaction states a PSP event may confirm (Odoo's ``_set_done`` allows these).
TX_CONFIRMABLE = ("draft", "pending", "authorized", "error")


@dataclass(frozen=True)
class PspTarget:
    """What a PSP event is about: a payment, a transaction, or a transaction and its payment."""

    payment: models.BaseModel
    transaction: models.BaseModel | None

    @property
    def key(self):
        """Stable part of the once-only keys: the transaction when there is one."""
        return f"tx{self.transaction.id}" if self.transaction else str(self.payment.id)

    @property
    def name(self):
        if self.payment:
            return self.payment.display_name
        return self.transaction.reference

    @property
    def record(self):
        return self.payment or self.transaction

    @property
    def company(self):
        return (self.payment or self.transaction).company_id

    @property
    def currency(self):
        return (self.payment or self.transaction).currency_id

    @property
    def partner(self):
        if self.payment:
            return self.payment.partner_id
        return self.transaction.partner_id.commercial_partner_id

    @property
    def amount(self):
        return self.payment.amount if self.payment else self.transaction.amount


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
        batches._fc_update_state()
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

    # ------------------------------------------------------------------
    # PSP events
    # ------------------------------------------------------------------

    @api.model
    def _apply_psp_event(self, message):
        """Apply a PSP webhook event (JSON) to its payment or transaction; returns a summary.

        Payload (see ``readme/DEVELOP.md``): ``{"id": ..., "type":
        "payment.refunded", "data": {"reference" (or "provider_reference") or
        "end_to_end_id", "amount", "currency", "reason_code", "reason",
        "refund_id", "dispute_id", "evidence_due_by", "date", "fee",
        "payout_id"}}``; the type may also come from the message's event type.
        """
        HandlerError = self._handler_error()
        try:
            event = json.loads(self.env["finance.connect.bank.import"]._decode_payload(message))
        except ValueError as exc:
            raise HandlerError(f"the PSP event is not JSON: {exc}", "schema") from exc
        if not isinstance(event, dict):
            raise HandlerError("the PSP event is not a JSON object", "schema")
        kind = event.get("type") or message.event_type
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        event_id = str(event.get("id") or message.idempotency_key)
        if kind not in PSP_EVENTS:
            raise HandlerError(f"unknown PSP event type {kind!r}", "schema")
        if kind == "payout.settled":
            return self._apply_payout(message, event_id, data)
        target = self._psp_find_target(message, data)
        self._psp_lock(target)
        apply = {
            "payment.succeeded": self._psp_apply_status,
            "payment.failed": self._psp_apply_status,
            "payment.refunded": self._psp_apply_refund,
            "payment.disputed": self._psp_apply_dispute,
            "payment.dispute_won": self._psp_apply_dispute_outcome,
            "payment.dispute_lost": self._psp_apply_dispute_outcome,
        }[kind]
        return apply(message, target, kind, event_id, data)

    @api.model
    def _psp_find_target(self, message, data):
        """The payment and/or transaction an event names.

        ``reference`` is looked up as the payment's provider reference and, with
        Odoo's ``payment`` module, as a transaction's ``provider_reference`` or
        ``reference``; ``end_to_end_id`` as the payment's end-to-end id. A
        transaction brings the payment it created (``account_payment``).
        EXTEND to find payments another way.
        """
        HandlerError = self._handler_error()
        reference = _text(data.get("reference") or data.get("provider_reference"))
        e2e = _text(data.get("end_to_end_id"))
        if not reference and not e2e:
            raise HandlerError(
                "the PSP event names no payment (reference or end_to_end_id)", "schema"
            )
        company = [("company_id", "=", message.company_id.id)] if message.company_id else []
        Payment = self.env["account.payment"]
        field = "fc_provider_ref" if reference else "fc_end_to_end_id"
        payment = Payment.search([(field, "=", reference or e2e), *company], limit=2)
        transactions = self._psp_find_transactions(reference, company) if reference else None
        if len(payment) > 1 or (transactions and len(transactions) > 1):
            raise HandlerError(
                f"{max(len(payment), len(transactions or ()))} payments have the reference "
                f"{reference or e2e!r}",
                "mapping",
            )
        transaction = transactions or None
        if transaction:
            linked = transaction.payment_id if "payment_id" in transaction._fields else Payment
            if payment and linked and payment != linked:
                raise HandlerError(
                    f"the reference {reference!r} names payment {payment.display_name} and "
                    f"transaction {transaction.reference} of payment {linked.display_name}",
                    "mapping",
                )
            payment = payment or linked
        elif "payment_transaction_id" in payment._fields and payment.payment_transaction_id:
            transaction = payment.payment_transaction_id.sudo()
        if not payment and not transaction:
            raise HandlerError(f"0 payments have the reference {reference or e2e!r}", "mapping")
        return PspTarget(payment, transaction)

    @api.model
    def _psp_find_transactions(self, reference, company_domain=()):
        """``payment.transaction`` records with this provider reference or reference.

        ``None`` when Odoo's ``payment`` module is not installed: it is an
        optional companion, not a dependency of this addon.
        """
        if "payment.transaction" not in self.env:
            return None
        Transaction = self.env["payment.transaction"].sudo()
        return Transaction.search(
            [("provider_reference", "=", reference), *company_domain], limit=2
        ) or Transaction.search([("reference", "=", reference), *company_domain], limit=2)

    @api.model
    def _psp_lock(self, target):
        """Serialise the events of one payment: a concurrent delivery waits for this one."""
        for record in (target.payment, target.transaction):
            if record:
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id = %s FOR NO KEY UPDATE",
                        SQL.identifier(record._table),
                        record.id,
                    )
                )

    @api.model
    def _psp_status_vals(self, message, target, kind, key, data, **extra):
        transaction = target.transaction
        return {
            "key": key,
            "company_id": target.company.id,
            "message_id": message.id,
            "payment_id": target.payment.id,
            "source": "psp",
            "status": kind,
            "reason_code": _text(data.get("reason_code")),
            "reason_text": _text(data.get("reason")),
            "end_to_end_id": target.payment.fc_end_to_end_id,
            "transaction_model": transaction._name if transaction else False,
            "transaction_id": transaction.id if transaction else False,
            "transaction_reference": transaction.reference if transaction else False,
            **extra,
        }

    @api.model
    def _psp_summary(self, kind, target, applied, detail=None):
        text = self.env._(
            "%(kind)s for %(payment)s: %(what)s",
            kind=kind,
            payment=target.name,
            what=self.env._("applied") if applied else self.env._("already applied"),
        )
        return f"{text} ({detail})" if detail else text

    # Succeeded, failed ------------------------------------------------

    @api.model
    def _psp_apply_status(self, message, target, kind, event_id, data):
        """payment.succeeded / payment.failed, once per event."""
        key = f"psp:{event_id}:{target.key}:{kind}"
        transaction = target.transaction
        if not transaction:
            applied = self._apply_payment_status(
                target.payment,
                PSP_EVENTS[kind],
                message,
                source="psp",
                code=kind,
                key=key,
                reason_code=_text(data.get("reason_code")),
                reason_text=_text(data.get("reason")),
            )
            return self._psp_summary(kind, target, applied)
        record = self._record_once(self._psp_status_vals(message, target, kind, key, data))
        if not record:
            return self._psp_summary(kind, target, 0)
        if kind == "payment.failed":
            self._psp_fail_transaction(message, target, data)
            return self._psp_summary(kind, target, 1)
        if transaction.state == "cancel":
            self._psp_open_case(
                message,
                target,
                f"{target.key}:paid_cancelled",
                self.env._(
                    "PSP paid a cancelled transaction %(ref)s",
                    ref=transaction.reference,
                ),
                self.env._(
                    "The payment service provider reports transaction %(ref)s of %(partner)s "
                    "(%(amount)s) as paid, but it is cancelled in Odoo, so nothing was booked. "
                    "Check with the provider: refund the customer there, or record the payment "
                    "by hand.",
                    ref=transaction.reference,
                    partner=target.partner.display_name,
                    amount=self._psp_format(target.amount, target.currency),
                ),
            )
            return self._psp_summary(kind, target, 1)
        payment = self._psp_confirm_transaction(
            transaction,
            self.env._("Confirmed by the provider's event %(id)s", id=event_id),
        )
        if payment:
            record.payment_id = payment
            payment._fc_set_bank_status("settled")
        return self._psp_summary(kind, target, 1)

    @api.model
    def _psp_confirm_transaction(self, transaction, state_message=None):
        """Confirm a transaction (``_set_done``) and post-process it; returns its payment.

        A refund or dispute confirms the transaction too: the provider only
        refunds or disputes money it captured, so the succeeded event may
        arrive later, and then changes nothing.
        """
        if transaction.state in TX_CONFIRMABLE:
            transaction._set_done(state_message=state_message)
        if transaction.state == "done" and not transaction.is_post_processed:
            transaction._post_process()
        if "payment_id" in transaction._fields:
            return transaction.payment_id
        return self.env["account.payment"]

    @api.model
    def _psp_fail_transaction(self, message, target, data):
        """A failed transaction goes to "error" with the reason in words (never from done)."""
        transaction = target.transaction
        code = _text(data.get("reason_code"))
        reason = reason_in_words(code, _text(data.get("reason"))) or self.env._("no reason given")
        values = {
            "ref": transaction.reference,
            "partner": target.partner.display_name,
            "amount": self._psp_format(target.amount, target.currency),
            "reason": reason,
            "payment": target.payment.display_name,
        }
        if transaction.state in ("draft", "pending", "authorized"):
            transaction._set_error(reason)
            description = self.env._(
                "The payment service provider reports transaction %(ref)s of %(partner)s "
                "(%(amount)s) as failed with reason %(reason)s. The transaction is in error "
                "and nothing was booked: its invoices stay open. Ask the customer to pay again.",
                **values,
            )
        elif transaction.state == "done":
            # Odoo's transactions never go back from done; a failed attempt
            # reported after the success is usual, a returned payment is not.
            description = self.env._(
                "The payment service provider reports transaction %(ref)s of %(partner)s "
                "(%(amount)s) as failed with reason %(reason)s, but it is confirmed in Odoo "
                "(payment %(payment)s). Nothing was changed. Check with the provider: if the "
                "money was returned, cancel the payment; if a failed attempt was only "
                "reported late, ignore this exception.",
                **values,
            )
        else:
            return
        self._psp_open_case(
            message,
            target,
            None,
            self.env._(
                "PSP payment failed %(ref)s: %(reason)s",
                ref=transaction.reference,
                reason=reason,
            ),
            description,
            fingerprint=f"rjct:{target.key}:{code}",
        )

    # Refunds ----------------------------------------------------------

    @api.model
    def _psp_apply_refund(self, message, target, kind, event_id, data):
        """payment.refunded: book the refund once (per refund id, else per event id).

        A payment gets a posted payment the other way (same partner, journal
        and currency) linked to it; a transaction gets a refund transaction as
        Odoo's payment module makes them, and its payment (``account_payment``).
        """
        HandlerError = self._handler_error()
        amount = self._psp_amount(data, target)
        refund_ref = _text(data.get("refund_id"))
        key = (
            f"psp:refund:{target.key}:{refund_ref}"
            if refund_ref
            else f"psp:{event_id}:{target.key}:{kind}"
        )
        record = self._record_once(self._psp_status_vals(message, target, kind, key, data))
        if not record:
            return self._psp_summary(kind, target, 0)
        reason = reason_in_words(_text(data.get("reason_code")), _text(data.get("reason")))
        currency = target.currency
        if target.transaction:
            refund, original, amount = self._psp_refund_transaction(
                target, amount, refund_ref, reason
            )
        else:
            original = target.payment
            if original.state in ("draft", "canceled", "rejected"):
                raise HandlerError(
                    f"{original.display_name} is {original.state}: its refund cannot be "
                    "booked; check the case with the provider",
                    "other",
                )
            left = original.amount - original.fc_refunded_amount
            amount = self._psp_check_refund_amount(target, amount, left)
            refund = self._psp_create_refund_payment(
                original, amount, refund_ref, self._psp_date(data)
            )
        if refund:
            self._psp_reconcile_refund(refund)
        if original:
            refunded = original.fc_refunded_amount
            status = (
                "refunded"
                if currency.compare_amounts(refunded, original.amount) >= 0
                else "partially_refunded"
            )
            words = self.env._(
                "Refunded %(refunded)s of %(total)s%(reason)s",
                refunded=self._psp_format(refunded, currency),
                total=self._psp_format(original.amount, currency),
                reason=" (" + str(reason) + ")" if reason else "",
            )
            original._fc_set_bank_status(status, words)
            if refund:
                original.message_post(
                    body=self.env._(
                        "The payment service provider refunded %(amount)s: %(refund)s.",
                        amount=self._psp_format(amount, currency),
                        refund=refund._get_html_link(),
                    )
                )
        record.write(
            {
                "payment_id": original.id,
                "refund_payment_id": refund.id,
                "move_id": refund.move_id.id,
                "amount": amount,
                "currency_id": currency.id,
            }
        )
        return self._psp_summary(
            kind,
            target,
            1,
            self.env._(
                "refund of %(amount)s booked%(as)s",
                amount=self._psp_format(amount, currency),
                **{"as": self.env._(" as %(name)s", name=refund.name) if refund else ""},
            ),
        )

    @api.model
    def _psp_check_refund_amount(self, target, amount, left):
        """The amount to refund: the event's, or all that is left; never more than that."""
        HandlerError = self._handler_error()
        currency = target.currency
        if currency.compare_amounts(left, 0) <= 0:
            raise HandlerError(
                f"{target.name} is already refunded in full; check the refund with the provider",
                "other",
            )
        if amount is None:
            return left
        if currency.compare_amounts(amount, left) > 0:
            raise HandlerError(
                f"the refund of {amount} {currency.name} exceeds the {left} {currency.name} "
                f"left to refund of {target.name}; check the refund with the provider",
                "other",
            )
        return amount

    @api.model
    def _psp_refund_transaction(self, target, amount, refund_ref, reason):
        """Refund a transaction the way Odoo's payment module does; (refund payment,
        original payment, amount)."""
        HandlerError = self._handler_error()
        transaction = target.transaction
        if transaction.state == "cancel":
            raise HandlerError(
                f"transaction {transaction.reference} is cancelled: its refund cannot be "
                "booked; check the case with the provider",
                "other",
            )
        original = self._psp_confirm_transaction(
            transaction, self.env._("Confirmed by the provider's refund event")
        )
        refunds = transaction.child_transaction_ids.filtered(lambda t: t.operation == "refund")
        # A refund made from Odoo (action_refund) already has its transaction.
        child = refunds.filtered(lambda t: refund_ref and t.provider_reference == refund_ref)[:1]
        if child:
            amount = -child.amount
        else:
            left = transaction.amount - sum(-t.amount for t in refunds if t.state == "done")
            amount = self._psp_check_refund_amount(target, amount, left)
            child = transaction._create_child_transaction(
                amount, is_refund=True, provider_reference=refund_ref or False
            )
        if child.state in TX_CONFIRMABLE:
            child._set_done(state_message=reason or None)
        refund = self._psp_confirm_transaction(child)
        if refund and original:
            refund.write({"fc_refund_of_id": original.id, "fc_provider_ref": refund_ref or False})
        return refund, original, amount

    @api.model
    def _psp_create_refund_payment(self, original, amount, refund_ref, date):
        """A posted payment refunding ``original``: the other way, same partner and journal."""
        HandlerError = self._handler_error()
        journal = original.journal_id
        payment_type = "outbound" if original.payment_type == "inbound" else "inbound"
        methods = (
            journal.outbound_payment_method_line_ids
            if payment_type == "outbound"
            else journal.inbound_payment_method_line_ids
        )
        method = (
            methods.filtered(lambda m: m.code == original.payment_method_line_id.code)[:1]
            or methods.filtered(lambda m: m.code == "manual")[:1]
            or methods[:1]
        )
        if not method:
            raise HandlerError(
                f"the journal {journal.display_name} has no {payment_type} payment method "
                "for the refund: add one, then replay the message",
                "mapping",
            )
        memo = self.env._("Refund of %(name)s", name=original.name)
        refund = (
            self.env["account.payment"]
            .with_company(original.company_id)
            .create(
                {
                    "payment_type": payment_type,
                    "partner_type": original.partner_type,
                    "partner_id": original.partner_id.id,
                    "amount": amount,
                    "currency_id": original.currency_id.id,
                    "journal_id": journal.id,
                    "company_id": original.company_id.id,
                    "payment_method_line_id": method.id,
                    "date": date,
                    "memo": f"{memo} ({refund_ref})" if refund_ref else memo,
                    "fc_provider_ref": refund_ref or False,
                    "fc_refund_of_id": original.id,
                }
            )
        )
        refund.action_post()
        return refund

    @api.model
    def _psp_reconcile_refund(self, refund):
        """Reconcile a refund payment with the one open credit note of the same amount."""
        line = refund.move_id.line_ids.filtered(
            lambda aml: aml.account_id == refund.destination_account_id and not aml.reconciled
        )
        if len(line) != 1:
            return
        move_type = "out_refund" if refund.partner_type == "customer" else "in_refund"
        candidates = self.env["account.move.line"].search(
            [
                ("account_id", "=", line.account_id.id),
                (
                    "partner_id.commercial_partner_id",
                    "=",
                    line.partner_id.commercial_partner_id.id,
                ),
                ("move_id.move_type", "=", move_type),
                ("parent_state", "=", "posted"),
                ("reconciled", "=", False),
                ("company_id", "=", refund.company_id.id),
                ("currency_id", "=", line.currency_id.id),
            ]
        )
        matches = candidates.filtered(
            lambda aml: line.currency_id.compare_amounts(
                aml.amount_residual_currency, -line.amount_residual_currency
            )
            == 0
        )
        if len(matches) == 1:
            (line | matches).reconcile()

    # Disputes ---------------------------------------------------------

    @api.model
    def _psp_dispute_key(self, target, data):
        return f"psp:dispute:{target.key}:{_text(data.get('dispute_id')) or '-'}"

    @api.model
    def _psp_apply_dispute(self, message, target, kind, event_id, data):
        """payment.disputed: book the amount out of the PSP balance, once per dispute."""
        amount = self._psp_amount(data, target) or target.amount
        base = self._psp_dispute_key(target, data)
        opened = self._record_once(
            self._psp_status_vals(
                message,
                target,
                kind,
                f"{base}:opened",
                data,
                amount=amount,
                currency_id=target.currency.id,
            )
        )
        if not opened:
            return self._psp_summary(kind, target, 0)
        target = self._psp_confirm_for_case(target)
        opened.payment_id = target.payment
        closed = self.search([("key", "=", f"{base}:closed")], limit=1)
        if closed.status == "payment.dispute_won":
            # Won before the dispute was reported: nothing to book, nothing to answer.
            return self._psp_summary(
                kind,
                target,
                1,
                self.env._("the dispute was already won: nothing booked"),
            )
        move = self._psp_book_dispute(message, target, amount, data)
        opened.move_id = move
        if not closed:
            reason = reason_in_words(_text(data.get("reason_code")), _text(data.get("reason")))
            due = _text(data.get("evidence_due_by"))
            values = {
                "partner": target.partner.display_name,
                "name": target.name,
                "amount": self._psp_format(amount, target.currency),
                "reason": reason or self.env._("no reason given"),
                "account": message.connection_id.fc_dispute_account_id.display_name,
                "move": move.name,
            }
            self._psp_open_case(
                message,
                target,
                f"dispute:{base}",
                self.env._("Answer the dispute of %(name)s (%(amount)s): %(reason)s", **values),
                self.env._(
                    "%(partner)s disputes %(name)s (chargeback) for %(amount)s with reason "
                    "%(reason)s. The provider took the amount from the PSP balance; it is "
                    "booked on %(account)s in %(move)s. Answer the dispute with the "
                    "provider%(due)s (proof of delivery, invoice, correspondence). The "
                    "provider's decision closes this exception: a won dispute reverses the "
                    "entry, a lost one leaves the amount on %(account)s.",
                    due=self.env._(" by %(date)s", date=due) if due else "",
                    **values,
                ),
                category="psp_dispute",
            )
            if target.payment:
                target.payment._fc_set_bank_status(
                    "disputed",
                    self.env._("Disputed %(amount)s: %(reason)s", **values),
                )
        return self._psp_summary(
            kind,
            target,
            1,
            self.env._(
                "%(amount)s booked in %(move)s",
                amount=self._psp_format(amount, target.currency),
                move=move.name,
            ),
        )

    @api.model
    def _psp_apply_dispute_outcome(self, message, target, kind, event_id, data):
        """payment.dispute_won reverses the dispute entry, payment.dispute_lost confirms it."""
        base = self._psp_dispute_key(target, data)
        closed = self._record_once(
            self._psp_status_vals(message, target, kind, f"{base}:closed", data)
        )
        if not closed:
            earlier = self.search([("key", "=", f"{base}:closed")], limit=1)
            if earlier.status != kind:
                self._psp_open_case(
                    message,
                    target,
                    f"dispute-outcome:{base}",
                    self.env._("Contradictory dispute outcomes for %(name)s", name=target.name),
                    self.env._(
                        "The payment service provider reports the dispute of %(name)s as "
                        "%(now)s, after reporting it as %(before)s. The first outcome stays "
                        "booked; check the dispute with the provider and correct the entries "
                        "by hand if needed.",
                        name=target.name,
                        now=kind,
                        before=earlier.status,
                    ),
                    category="psp_dispute",
                )
            return self._psp_summary(kind, target, 0)
        won = kind == "payment.dispute_won"
        opened = self.search([("key", "=", f"{base}:opened")], limit=1)
        if not opened and not won:
            target = self._psp_confirm_for_case(target)
        closed.payment_id = target.payment
        if won and opened.move_id:
            date = self._psp_date(data)
            closed.move_id = opened.move_id._reverse_moves(
                [
                    {
                        "date": date,
                        "ref": self.env._(
                            "Dispute won: reversal of %(move)s",
                            move=opened.move_id.name,
                        ),
                    }
                ]
            )
            closed.move_id.action_post()
            detail = self.env._("reversed by %(move)s", move=closed.move_id.name)
        elif won:
            detail = self.env._("nothing was booked yet")
        elif opened:
            detail = self.env._(
                "the disputed amount stays booked in %(move)s", move=opened.move_id.name
            )
        else:
            # Lost before the dispute was reported: book it now, nothing to answer.
            amount = self._psp_amount(data, target) or target.amount
            opened = self._record_once(
                self._psp_status_vals(
                    message,
                    target,
                    "payment.disputed",
                    f"{base}:opened",
                    data,
                    amount=amount,
                    currency_id=target.currency.id,
                )
            )
            opened.move_id = self._psp_book_dispute(message, target, amount, data)
            detail = self.env._(
                "the disputed amount is booked in %(move)s", move=opened.move_id.name
            )
        closed.write({"amount": opened.amount, "currency_id": opened.currency_id.id})
        words = self.env._(
            "The provider decided the dispute: %(outcome)s; %(detail)s.",
            outcome=self.env._("won") if won else self.env._("lost"),
            detail=detail,
        )
        self._psp_close_case(f"dispute:{base}", words)
        if target.payment:
            target.payment._fc_set_bank_status("dispute_won" if won else "dispute_lost", words)
        return self._psp_summary(kind, target, 1, detail)

    @api.model
    def _psp_confirm_for_case(self, target):
        """Before a dispute is booked: a transaction is confirmed first (the provider
        only disputes captured money); returns the target with its payment."""
        transaction = target.transaction
        if not transaction:
            payment = target.payment
            if payment.state in ("draft", "canceled", "rejected"):
                raise self._handler_error()(
                    f"{payment.display_name} is {payment.state}: its dispute cannot be "
                    "booked; check the case with the provider",
                    "other",
                )
            return target
        if transaction.state == "cancel":
            raise self._handler_error()(
                f"transaction {transaction.reference} is cancelled: its dispute cannot be "
                "booked; check the case with the provider",
                "other",
            )
        payment = self._psp_confirm_transaction(
            transaction, self.env._("Confirmed by the provider's dispute event")
        )
        return PspTarget(payment or target.payment, transaction)

    @api.model
    def _psp_book_dispute(self, message, target, amount, data):
        """Dispute entry: disputes account (debit) against the PSP balance (credit)."""
        HandlerError = self._handler_error()
        connection = message.connection_id
        journal = connection.fc_fee_journal_id
        missing = []
        if not connection.fc_dispute_account_id:
            missing.append('"Disputes account"')
        if not journal.default_account_id:
            missing.append('"Fee journal" (its default account is the PSP balance)')
        if missing:
            raise HandlerError(
                f"{connection.display_name} has no {' and no '.join(missing)}: set it on "
                "the connection (PSP accounting), then replay the message; nothing was booked",
                "mapping",
            )
        dispute_id = _text(data.get("dispute_id"))
        ref = self.env._("Dispute of %(name)s", name=target.name)
        return self._psp_post_entry(
            journal,
            self._psp_date(data),
            f"{ref} ({dispute_id})" if dispute_id else ref,
            self.env._("PSP dispute"),
            connection.fc_dispute_account_id,
            journal.default_account_id,
            amount,
            target.currency,
            target.partner,
        )

    # Exceptions of PSP cases --------------------------------------------

    @api.model
    def _psp_open_case(
        self, message, target, case, summary, description, category=None, fingerprint=None
    ):
        """Open (or count) the exception of a PSP case on the target's record."""
        return self.env["finance.connect.exception"]._open(
            category or "remote_rejected",
            summary[:200],
            description,
            connection=message.connection_id,
            message=message,
            record=target.record,
            company=target.company,
            fingerprint=fingerprint or f"pspcase:{case}",
        )

    @api.model
    def _psp_close_case(self, case, note):
        exceptions = (
            self.env["finance.connect.exception"]
            .sudo()
            .search(
                [
                    ("fingerprint", "=", f"pspcase:{case}"),
                    ("state", "in", ("open", "in_progress")),
                ]
            )
        )
        for exception in exceptions:
            exception.message_post(body=note)
        exceptions.action_resolve()

    # Payouts ----------------------------------------------------------

    @api.model
    def _apply_payout(self, message, event_id, data):
        """A payout settled: book its fees once on the connection's fee account."""
        HandlerError = self._handler_error()
        connection = message.connection_id
        try:
            fee = Decimal(str(data.get("fee") or "0"))
        except InvalidOperation as exc:
            raise HandlerError(f"invalid fee {data.get('fee')!r}", "schema") from exc
        record = self._record_once(
            {
                "key": f"psp:{event_id}:payout",
                "company_id": message.company_id.id,
                "message_id": message.id,
                "source": "psp",
                "status": "payout.settled",
                "reason_text": str(data.get("payout_id") or "")[:200] or False,
            }
        )
        if not record:
            return self.env._("payout %(id)s already applied", id=event_id)
        if not fee:
            return self.env._("payout %(id)s settled without fees", id=event_id)
        if not connection.fc_fee_account_id or not connection.fc_fee_journal_id.default_account_id:
            raise HandlerError(
                f"{connection.display_name} has no fee account and fee journal: set them on the "
                "connection, then replay the message",
                "mapping",
            )
        journal = connection.fc_fee_journal_id
        currency = self.env["res.currency"].search([("name", "=", data.get("currency"))], limit=1)
        currency = currency or journal.currency_id or journal.company_id.currency_id
        move = self._psp_post_entry(
            journal,
            self._psp_date(data),
            self.env._("PSP fees of payout %(id)s", id=data.get("payout_id") or event_id),
            self.env._("PSP fees"),
            connection.fc_fee_account_id,
            journal.default_account_id,
            float(fee),
            currency,
        )
        record.write({"move_id": move.id, "amount": float(fee), "currency_id": currency.id})
        return self.env._(
            "payout %(id)s: fees %(fee)s %(cur)s booked in %(move)s",
            id=data.get("payout_id") or event_id,
            fee=fee,
            cur=currency.name,
            move=move.name,
        )

    # Helpers ----------------------------------------------------------

    @api.model
    def _psp_post_entry(
        self,
        journal,
        date,
        ref,
        label,
        debit_account,
        credit_account,
        amount,
        currency,
        partner=None,
    ):
        """Post a two-line entry moving ``amount`` from ``credit_account`` to ``debit_account``."""
        balance = self._company_amount(amount, currency, journal, date)
        lines = [
            Command.create(
                {
                    "name": label,
                    "account_id": account.id,
                    "partner_id": partner.id if partner else False,
                    "currency_id": currency.id,
                    "amount_currency": sign * amount,
                    "balance": sign * balance,
                }
            )
            for account, sign in ((debit_account, 1), (credit_account, -1))
        ]
        move = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": journal.id,
                "date": date,
                "ref": ref,
                "line_ids": lines,
            }
        )
        move.action_post()
        return move

    @api.model
    def _psp_amount(self, data, target):
        """The event's amount (rounded in the payment's currency), ``None`` when absent."""
        HandlerError = self._handler_error()
        try:
            amount = parse_amount(data.get("amount"))
        except ValueError as exc:
            raise HandlerError(str(exc), "schema") from exc
        currency = _text(data.get("currency"))
        if amount is not None and currency and currency.upper() != target.currency.name:
            raise HandlerError(
                f"the event's currency {currency} is not the currency of {target.name} "
                f"({target.currency.name})",
                "schema",
            )
        return None if amount is None else target.currency.round(float(amount))

    @api.model
    def _psp_date(self, data):
        value = data.get("date")
        if not value:
            return fields.Date.context_today(self)
        try:
            return fields.Date.to_date(str(value)[:10])
        except ValueError as exc:
            raise self._handler_error()(f"invalid date {value!r}", "schema") from exc

    @api.model
    def _psp_format(self, amount, currency):
        return format_amount(self.env, amount, currency)

    @api.model
    def _company_amount(self, amount, currency, journal, date=None):
        company = journal.company_id
        return currency._convert(
            amount,
            company.currency_id,
            company,
            date or fields.Date.context_today(self),
        )

    @api.model
    def _handler_error(self):
        return HandlerError


def _text(value):
    """A short text from a JSON value (``False`` when empty)."""
    if value is None or value == "" or isinstance(value, dict | list):
        return False
    return str(value)[:200]
