"""PSP refunds: a ``payment.refunded`` event booked once per refund.

A payment gets a posted payment the other way (same partner, journal and
currency) linked to it, reconciled with the one open credit note of that
amount; a transaction gets a refund transaction as Odoo's payment module makes
them, and its payment. A refund never exceeds what is left to refund (see
``readme/DEVELOP.md``).
"""

from odoo import api, models
from odoo.addons.finance_connect.exceptions import HandlerError

from ..lib.psp import reason_in_words, short_text
from .finance_connect_psp_event import TX_CONFIRMABLE


class FinanceConnectPspRefund(models.AbstractModel):
    _name = "finance.connect.psp.refund"
    _description = "Finance Connect PSP refund"

    @api.model
    def _psp_apply_refund(self, message, target, kind, event_id, data):
        """payment.refunded: book the refund once (per refund id, else per event id).

        A payment gets a posted payment the other way (same partner, journal
        and currency) linked to it; a transaction gets a refund transaction as
        Odoo's payment module makes them, and its payment (``account_payment``).
        """
        Event = self.env["finance.connect.psp.event"]
        amount = Event._psp_amount(data, target)
        refund_ref = short_text(data.get("refund_id"))
        key = (
            f"psp:refund:{target.key}:{refund_ref}"
            if refund_ref
            else f"psp:{event_id}:{target.key}:{kind}"
        )
        record = self.env["finance.connect.bank.status"]._record_once(
            Event._psp_status_vals(message, target, kind, key, data)
        )
        if not record:
            return Event._psp_summary(kind, target, 0)
        reason = reason_in_words(
            short_text(data.get("reason_code")), short_text(data.get("reason"))
        )
        currency = target.currency
        if target.transaction:
            refund, original, amount = self._psp_refund_transaction(
                target, amount, refund_ref, reason
            )
        else:
            original = target.payment
            Event._psp_check_bookable(original, "refund")
            left = original.amount - original.fc_refunded_amount
            amount = self._psp_check_refund_amount(target, amount, left)
            refund = self._psp_create_refund_payment(
                original, amount, refund_ref, Event._psp_date(data)
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
                refunded=Event._psp_format(refunded, currency),
                total=Event._psp_format(original.amount, currency),
                reason=" (" + str(reason) + ")" if reason else "",
            )
            original._fc_set_bank_status(status, words)
            if refund:
                original.message_post(
                    body=self.env._(
                        "The payment service provider refunded %(amount)s: %(refund)s.",
                        amount=Event._psp_format(amount, currency),
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
        return Event._psp_summary(
            kind,
            target,
            1,
            self.env._(
                "refund of %(amount)s booked%(as)s",
                amount=Event._psp_format(amount, currency),
                **{"as": self.env._(" as %(name)s", name=refund.name) if refund else ""},
            ),
        )

    @api.model
    def _psp_check_refund_amount(self, target, amount, left):
        """The amount to refund: the event's, or all that is left; never more than that."""
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
        Event = self.env["finance.connect.psp.event"]
        transaction = target.transaction
        Event._psp_check_bookable(transaction, "refund")
        original = Event._psp_confirm_transaction(
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
        refund = Event._psp_confirm_transaction(child)
        if refund and original:
            refund.write({"fc_refund_of_id": original.id, "fc_provider_ref": refund_ref or False})
        return refund, original, amount

    @api.model
    def _psp_create_refund_payment(self, original, amount, refund_ref, date):
        """A posted payment refunding ``original``: the other way, same partner and journal."""
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
