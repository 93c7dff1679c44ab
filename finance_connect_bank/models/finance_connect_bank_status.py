"""Payment status in: pain.002 reports and PSP events, each applied once.

Every status that changes a payment is written to ``finance.connect.bank.status``
under a key unique in the database (report or event id, payment, status):
a report delivered twice, or a late copy of an older one, changes nothing.
A rejection cancels the payment (its bills are open again) and opens an
exception quoting the reason code in words.
"""

import json
from decimal import Decimal, InvalidOperation

import psycopg2

from odoo import api, fields, models
from odoo.tools import mute_logger

from ..lib.pain002 import describe_reason

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
    "payout.settled": None,
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
    move_id = fields.Many2one("account.move", string="Fee entry", readonly=True)

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
        batches = (
            self.env["finance.connect.payment.batch"].search(
                [("name", "=", report.original_message_id)]
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
        payments = self.env["account.payment"].search([("fc_end_to_end_id", "in", e2e_ids)])
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
        words = describe_reason(reason_code) if reason_code else ""
        reason = ": ".join(x for x in (reason_code, words) if x)
        if reason_text:
            reason = f"{reason} ({reason_text})" if reason else reason_text
        if not payment._fc_set_bank_status(status, reason):
            return 0
        if line:
            line.write(
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
                message, payment, reason_code, reason_text, payment.fc_end_to_end_id
            )
        elif status in ("refunded", "disputed"):
            self.env["finance.connect.exception"]._open(
                "remote_rejected",
                self.env._("Payment %(name)s %(status)s", name=payment.display_name, status=status),
                self.env._(
                    "The payment service provider reports payment %(name)s as %(status)s%(r)s. "
                    "Check the case with the provider and book the refund or dispute.",
                    name=payment.display_name,
                    status=status,
                    r=f" ({reason})" if reason else "",
                ),
                connection=message.connection_id,
                message=message,
                record=payment,
                company=payment.company_id,
                fingerprint=f"pspcase:{payment.id}:{status}",
            )
        return 1

    @api.model
    def _open_rejection(self, message, payment, code, text, e2e):
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
            text=f" ({text})" if text else "",
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
        self.env["finance.connect.exception"]._open(
            "remote_rejected",
            self.env._(
                "Bank rejected %(what)s: %(code)s %(words)s",
                what=what,
                code=code or "",
                words=words,
            )[:200],
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
        """Apply a PSP webhook event (JSON) to its payment; returns a summary text.

        Expected payload: ``{"id": ..., "type": "payment.succeeded", "data":
        {"reference" or "end_to_end_id": ..., "reason_code", "reason", "amount",
        "fee", "currency", "payout_id"}}``; the type may also come from the
        message's event type.
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
        event_id = event.get("id") or message.idempotency_key
        if kind not in PSP_EVENTS:
            raise HandlerError(f"unknown PSP event type {kind!r}", "schema")
        if kind == "payout.settled":
            return self._apply_payout(message, event_id, data)
        reference = data.get("reference") or data.get("provider_reference")
        e2e = data.get("end_to_end_id")
        domain = []
        if reference:
            domain = [("fc_provider_ref", "=", reference)]
        elif e2e:
            domain = [("fc_end_to_end_id", "=", e2e)]
        else:
            raise HandlerError(
                "the PSP event names no payment (reference or end_to_end_id)", "schema"
            )
        payment = self.env["account.payment"].search(domain, limit=2)
        if len(payment) != 1:
            raise HandlerError(
                f"{len(payment)} payments have the reference {reference or e2e!r}", "mapping"
            )
        applied = self._apply_payment_status(
            payment,
            PSP_EVENTS[kind],
            message,
            source="psp",
            code=kind,
            key=f"psp:{event_id}:{payment.id}:{kind}",
            reason_code=data.get("reason_code"),
            reason_text=data.get("reason"),
        )
        return self.env._(
            "%(kind)s for %(payment)s: %(what)s",
            kind=kind,
            payment=payment.display_name,
            what=self.env._("applied") if applied else self.env._("already applied"),
        )

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
        amount = float(fee)
        move = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": journal.id,
                "date": data.get("date") or fields.Date.context_today(self),
                "ref": self.env._(
                    "PSP fees of payout %(id)s", id=data.get("payout_id") or event_id
                ),
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "name": self.env._("PSP fees"),
                            "account_id": connection.fc_fee_account_id.id,
                            "currency_id": currency.id,
                            "amount_currency": amount,
                            "balance": self._company_amount(amount, currency, journal),
                        },
                    ),
                    (
                        0,
                        0,
                        {
                            "name": self.env._("PSP fees"),
                            "account_id": journal.default_account_id.id,
                            "currency_id": currency.id,
                            "amount_currency": -amount,
                            "balance": -self._company_amount(amount, currency, journal),
                        },
                    ),
                ],
            }
        )
        move.action_post()
        record.move_id = move
        return self.env._(
            "payout %(id)s: fees %(fee)s %(cur)s booked in %(move)s",
            id=data.get("payout_id") or event_id,
            fee=fee,
            cur=currency.name,
            move=move.name,
        )

    @api.model
    def _company_amount(self, amount, currency, journal):
        company = journal.company_id
        return currency._convert(amount, company.currency_id, company, fields.Date.today())

    @api.model
    def _handler_error(self):
        from odoo.addons.finance_connect.models.finance_connect_handler import HandlerError

        return HandlerError
