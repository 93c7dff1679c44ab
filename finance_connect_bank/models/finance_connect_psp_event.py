"""PSP events: a provider's webhook event applied to its payment or transaction.

``_apply_psp_event`` reads the event (JSON, see ``readme/DEVELOP.md``), finds
the ``account.payment`` it names (by provider reference or end-to-end id) or,
when Odoo's ``payment`` module is installed, the ``payment.transaction`` (by
provider reference or reference) and the payment it created, serialises the
events of that payment with a row lock, and applies the event once:
succeeded and failed here, refunds in ``finance.connect.psp.refund``,
disputes in ``finance.connect.psp.dispute``, payouts in
``finance.connect.psp.payout``. Each applied event is a
``finance.connect.bank.status`` under a key unique in the database.
"""

import json
from dataclasses import dataclass

from odoo import Command, api, fields, models
from odoo.addons.finance_connect.exceptions import HandlerError
from odoo.tools import SQL, format_amount

from ..lib.psp import PSP_EVENTS, parse_amount, reason_in_words, short_text

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


class FinanceConnectPspEvent(models.AbstractModel):
    _name = "finance.connect.psp.event"
    _description = "Finance Connect PSP event"

    @api.model
    def _apply_psp_event(self, message):
        """Apply a PSP webhook event (JSON) to its payment or transaction; returns a summary.

        Payload (see ``readme/DEVELOP.md``): ``{"id": ..., "type":
        "payment.refunded", "data": {"reference" (or "provider_reference") or
        "end_to_end_id", "amount", "currency", "reason_code", "reason",
        "refund_id", "dispute_id", "evidence_due_by", "date", "fee",
        "payout_id"}}``; the type may also come from the message's event type.
        """
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
            return self.env["finance.connect.psp.payout"]._apply_payout(message, event_id, data)
        target = self._psp_find_target(message, data)
        self._psp_lock(target)
        Refund = self.env["finance.connect.psp.refund"]
        Dispute = self.env["finance.connect.psp.dispute"]
        apply = {
            "payment.succeeded": self._psp_apply_status,
            "payment.failed": self._psp_apply_status,
            "payment.refunded": Refund._psp_apply_refund,
            "payment.disputed": Dispute._psp_apply_dispute,
            "payment.dispute_won": Dispute._psp_apply_dispute_outcome,
            "payment.dispute_lost": Dispute._psp_apply_dispute_outcome,
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
        reference = short_text(data.get("reference") or data.get("provider_reference"))
        e2e = short_text(data.get("end_to_end_id"))
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
            "reason_code": short_text(data.get("reason_code")),
            "reason_text": short_text(data.get("reason")),
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
        Status = self.env["finance.connect.bank.status"]
        key = f"psp:{event_id}:{target.key}:{kind}"
        transaction = target.transaction
        if not transaction:
            applied = Status._apply_payment_status(
                target.payment,
                PSP_EVENTS[kind],
                message,
                source="psp",
                code=kind,
                key=key,
                reason_code=short_text(data.get("reason_code")),
                reason_text=short_text(data.get("reason")),
            )
            return self._psp_summary(kind, target, applied)
        record = Status._record_once(self._psp_status_vals(message, target, kind, key, data))
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
    def _psp_check_bookable(self, record, what):
        """Refuse to book ``what`` (a refund, a dispute) on a payment that is not
        posted, or on a cancelled transaction (``record``)."""
        if record._name == "payment.transaction":
            if record.state == "cancel":
                raise HandlerError(
                    f"transaction {record.reference} is cancelled: its {what} cannot be "
                    "booked; check the case with the provider",
                    "other",
                )
        elif record.state in ("draft", "canceled", "rejected"):
            raise HandlerError(
                f"{record.display_name} is {record.state}: its {what} cannot be "
                "booked; check the case with the provider",
                "other",
            )

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
        code = short_text(data.get("reason_code"))
        reason = reason_in_words(code, short_text(data.get("reason"))) or self.env._(
            "no reason given"
        )
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

    # Exceptions of PSP cases ------------------------------------------

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

    # Amounts, dates, entries ------------------------------------------

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
        try:
            amount = parse_amount(data.get("amount"))
        except ValueError as exc:
            raise HandlerError(str(exc), "schema") from exc
        currency = short_text(data.get("currency"))
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
            raise HandlerError(f"invalid date {value!r}", "schema") from exc

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
