"""PSP payouts: the fees of a settled payout booked once.

A ``payout.settled`` event carries the payout id and the provider's fees;
they are booked from the PSP balance (the fee journal's default account) to
the connection's fee account, once per event id.
"""

from decimal import Decimal, InvalidOperation

from odoo import api, models
from odoo.addons.finance_connect.exceptions import HandlerError


class FinanceConnectPspPayout(models.AbstractModel):
    _name = "finance.connect.psp.payout"
    _description = "Finance Connect PSP payout"

    @api.model
    def _apply_payout(self, message, event_id, data):
        """A payout settled: book its fees once on the connection's fee account."""
        Event = self.env["finance.connect.psp.event"]
        connection = message.connection_id
        try:
            fee = Decimal(str(data.get("fee") or "0"))
        except InvalidOperation as exc:
            raise HandlerError(f"invalid fee {data.get('fee')!r}", "schema") from exc
        record = self.env["finance.connect.bank.status"]._record_once(
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
        move = Event._psp_post_entry(
            journal,
            Event._psp_date(data),
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
