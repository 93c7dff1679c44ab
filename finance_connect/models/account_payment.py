"""Integration state and events of payments.

``payment.state_changed`` follows the payment's ``state`` whichever way it
changes: through ``write()`` (validate, reject, cancel) or through its compute
(Odoo 18 stores ``state`` as a computed field: a posted payment goes from
"in_process" to "paid" when it is reconciled with a bank statement line or an
invoice, without a ``write()``). Both paths record the state a payment had
before (the first one since the last event, like mail tracking does) in the
transaction's precommit data; ``_fc_emit_state_changes`` then compares it with
the state now and emits one event per payment whose state differs. It runs
after ``write()`` and after reconciling, and before commit for any other path.
"""

from odoo import models

# Key of the payments' previous states in ``env.cr.precommit.data``.
STATE_TRACKING_KEY = "finance_connect.payment_state"


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
        self._fc_track_state()
        res = super().write(vals)
        self._fc_emit_state_changes()
        return res

    def _compute_field_value(self, field):
        # EXTENDS account: "state" is computed and stored; a reconciliation
        # changes it without write().
        if field.name == "state":
            self._fc_track_state()
        return super()._compute_field_value(field)

    # ------------------------------------------------------------------
    # payment.state_changed
    # ------------------------------------------------------------------

    def _fc_track_state(self):
        """Remember the state of these payments before it may change (the first
        one since the last ``payment.state_changed``)."""
        data = self.env.cr.precommit.data
        if STATE_TRACKING_KEY not in data:
            data[STATE_TRACKING_KEY] = {}
            self.env.cr.precommit.add(self.browse()._fc_emit_state_changes_precommit)
        tracked = data[STATE_TRACKING_KEY]
        for payment in self:
            if payment.id:
                tracked.setdefault(payment.id, payment.state)

    def _fc_emit_state_changes(self):
        """Emit ``payment.state_changed`` once for every tracked payment whose
        state differs from the one it had (leaving or entering draft is no
        state change: posting is ``payment.posted``). Consumes what it emits."""
        data = self.env.cr.precommit.data
        Payment = self.env["account.payment"].sudo()
        for _round in range(5):  # emitting itself changes no state: one round
            # Run the pending recomputations (after a reconciliation): they track.
            Payment.flush_model(["state"])
            tracked = data.pop(STATE_TRACKING_KEY, None)
            if not tracked:
                return
            by_previous = {}
            for payment in Payment.browse(list(tracked)).exists():
                previous = tracked[payment.id]
                if previous in (False, "draft", payment.state) or payment.state == "draft":
                    continue
                by_previous.setdefault(previous, []).append(payment.id)
            for previous, ids in by_previous.items():
                Payment.browse(ids).with_context(
                    fc_state_change={"previous_state": previous}
                )._fc_emit("payment.state_changed")

    def _fc_emit_state_changes_precommit(self):
        """The changes no write() or reconciliation emitted, just before commit."""
        self._fc_emit_state_changes()
        # After the main flush of the commit: store what emitting created.
        self.env.flush_all()

    # ------------------------------------------------------------------
    # Payloads
    # ------------------------------------------------------------------

    def _fc_prepare_payload(self, event_type):
        # EXTENDS finance_connect
        if event_type == "payment.posted":
            return self._fc_prepare_envelope(event_type, self._fc_prepare_data())
        if event_type == "payment.state_changed":
            # The change itself is history: a replay sends the one it recorded.
            change = self.env.context.get("fc_state_change") or {}
            data = self._fc_prepare_data()
            data["state"] = change.get("state") or data["state"]
            data["previous_state"] = change.get("previous_state")
            return self._fc_prepare_envelope(event_type, data)
        return super()._fc_prepare_payload(event_type)

    def _fc_rebuild_payload(self, event_type, stored_payload):
        # EXTENDS finance_connect: the recorded change is kept, the rest rebuilt.
        if event_type == "payment.state_changed":
            stored = stored_payload.get("data") or {}
            change = {key: stored.get(key) for key in ("previous_state", "state")}
            return self.with_context(fc_state_change=change)._fc_prepare_payload(event_type)
        return super()._fc_rebuild_payload(event_type, stored_payload)

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
