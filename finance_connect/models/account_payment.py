"""Integration state and events of payments."""

from odoo import models


class AccountPayment(models.Model):
    _name = "account.payment"
    _inherit = ["account.payment", "finance.connect.integration.mixin"]

    def action_post(self):
        # EXTENDS account
        res = super().action_post()
        self.filtered(lambda p: p.state not in ("draft", "canceled"))._fc_emit("payment.posted")
        return res

    def write(self, vals):
        # EXTENDS account: every state change after posting is an event.
        if "state" not in vals:
            return super().write(vals)
        before = {p.id: p.state for p in self}
        res = super().write(vals)
        changed = self.filtered(
            lambda p: before.get(p.id) not in (p.state, "draft") and p.state != "draft"
        )
        if changed:
            changed._fc_emit("payment.state_changed")
        return res

    def _fc_prepare_payload(self, event_type):
        # EXTENDS finance_connect
        if event_type in ("payment.posted", "payment.state_changed"):
            return self._fc_prepare_envelope(event_type, self._fc_prepare_data())
        return super()._fc_prepare_payload(event_type)

    def _fc_prepare_data(self):
        # EXTENDS finance_connect
        self.ensure_one()
        return {
            "id": self.id,
            "name": self.name or "",
            "payment_type": self.payment_type,
            "partner_type": self.partner_type,
            "partner": self._fc_partner(self.partner_id.commercial_partner_id),
            "amount": self._fc_amount(self.amount, self.currency_id),
            "currency": self.currency_id.name,
            "date": self.date.isoformat(),
            "state": self.state,
            "journal": self._fc_journal(self.journal_id),
            "memo": self.memo or None,
            "end_to_end_id": None,
            "reconciled_invoice_names": self.reconciled_invoice_ids.mapped("name"),
        }
