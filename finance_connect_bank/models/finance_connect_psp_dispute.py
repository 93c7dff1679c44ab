"""PSP disputes (chargebacks): booked once per dispute, whatever the order.

``payment.disputed`` books the disputed amount from the PSP balance to the
connection's disputes account and opens an exception to answer the dispute;
``payment.dispute_won`` reverses that entry, ``payment.dispute_lost`` leaves
it. A dispute is two ``finance.connect.bank.status`` keys:
``psp:dispute:<target>:<dispute id or ->:opened`` (the entry) and ``...:closed``
(the outcome); see ``readme/DEVELOP.md`` for the orders of delivery.
"""

from odoo import api, models
from odoo.addons.finance_connect.exceptions import HandlerError

from ..lib.psp import reason_in_words, short_text
from .finance_connect_psp_event import PspTarget


class FinanceConnectPspDispute(models.AbstractModel):
    _name = "finance.connect.psp.dispute"
    _description = "Finance Connect PSP dispute"

    @api.model
    def _psp_dispute_key(self, target, data):
        return f"psp:dispute:{target.key}:{short_text(data.get('dispute_id')) or '-'}"

    @api.model
    def _psp_apply_dispute(self, message, target, kind, event_id, data):
        """payment.disputed: book the amount out of the PSP balance, once per dispute."""
        Event = self.env["finance.connect.psp.event"]
        Status = self.env["finance.connect.bank.status"]
        amount = Event._psp_amount(data, target) or target.amount
        base = self._psp_dispute_key(target, data)
        opened = Status._record_once(
            Event._psp_status_vals(
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
            return Event._psp_summary(kind, target, 0)
        target = self._psp_confirm_for_case(target)
        opened.payment_id = target.payment
        closed = Status.search([("key", "=", f"{base}:closed")], limit=1)
        if closed.status == "payment.dispute_won":
            # Won before the dispute was reported: nothing to book, nothing to answer.
            return Event._psp_summary(
                kind,
                target,
                1,
                self.env._("the dispute was already won: nothing booked"),
            )
        move = self._psp_book_dispute(message, target, amount, data)
        opened.move_id = move
        if not closed:
            reason = reason_in_words(
                short_text(data.get("reason_code")), short_text(data.get("reason"))
            )
            due = short_text(data.get("evidence_due_by"))
            values = {
                "partner": target.partner.display_name,
                "name": target.name,
                "amount": Event._psp_format(amount, target.currency),
                "reason": reason or self.env._("no reason given"),
                "account": message.connection_id.fc_dispute_account_id.display_name,
                "move": move.name,
            }
            Event._psp_open_case(
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
        return Event._psp_summary(
            kind,
            target,
            1,
            self.env._(
                "%(amount)s booked in %(move)s",
                amount=Event._psp_format(amount, target.currency),
                move=move.name,
            ),
        )

    @api.model
    def _psp_apply_dispute_outcome(self, message, target, kind, event_id, data):
        """payment.dispute_won reverses the dispute entry, payment.dispute_lost confirms it."""
        Event = self.env["finance.connect.psp.event"]
        Status = self.env["finance.connect.bank.status"]
        base = self._psp_dispute_key(target, data)
        closed = Status._record_once(
            Event._psp_status_vals(message, target, kind, f"{base}:closed", data)
        )
        if not closed:
            earlier = Status.search([("key", "=", f"{base}:closed")], limit=1)
            if earlier.status != kind:
                Event._psp_open_case(
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
            return Event._psp_summary(kind, target, 0)
        won = kind == "payment.dispute_won"
        opened = Status.search([("key", "=", f"{base}:opened")], limit=1)
        if not opened and not won:
            target = self._psp_confirm_for_case(target)
        closed.payment_id = target.payment
        if won and opened.move_id:
            date = Event._psp_date(data)
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
            amount = Event._psp_amount(data, target) or target.amount
            opened = Status._record_once(
                Event._psp_status_vals(
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
        Event._psp_close_case(f"dispute:{base}", words)
        if target.payment:
            target.payment._fc_set_bank_status("dispute_won" if won else "dispute_lost", words)
        return Event._psp_summary(kind, target, 1, detail)

    @api.model
    def _psp_confirm_for_case(self, target):
        """Before a dispute is booked: a transaction is confirmed first (the provider
        only disputes captured money); returns the target with its payment."""
        Event = self.env["finance.connect.psp.event"]
        transaction = target.transaction
        Event._psp_check_bookable(transaction or target.payment, "dispute")
        if not transaction:
            return target
        payment = Event._psp_confirm_transaction(
            transaction, self.env._("Confirmed by the provider's dispute event")
        )
        return PspTarget(payment or target.payment, transaction)

    @api.model
    def _psp_book_dispute(self, message, target, amount, data):
        """Dispute entry: disputes account (debit) against the PSP balance (credit)."""
        Event = self.env["finance.connect.psp.event"]
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
        dispute_id = short_text(data.get("dispute_id"))
        ref = self.env._("Dispute of %(name)s", name=target.name)
        return Event._psp_post_entry(
            journal,
            Event._psp_date(data),
            f"{ref} ({dispute_id})" if dispute_id else ref,
            self.env._("PSP dispute"),
            connection.fc_dispute_account_id,
            journal.default_account_id,
            amount,
            target.currency,
            target.partner,
        )
