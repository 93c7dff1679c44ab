"""Integration state and events of bank statement lines."""

from odoo import models


class AccountBankStatementLine(models.Model):
    _name = "account.bank.statement.line"
    _inherit = ["account.bank.statement.line", "finance.connect.integration.mixin"]

    def _fc_prepare_payload(self, event_type):
        # EXTENDS finance_connect
        if event_type == "statement_line.reconciled":
            return self._fc_prepare_envelope(event_type, self._fc_prepare_data())
        return super()._fc_prepare_payload(event_type)

    def _fc_prepare_data(self):
        # EXTENDS finance_connect
        self.ensure_one()
        currency = self.currency_id
        counterparts = self.move_id.line_ids.matched_debit_ids.debit_move_id.move_id | (
            self.move_id.line_ids.matched_credit_ids.credit_move_id.move_id
        )
        return {
            "id": self.id,
            "date": self.date.isoformat(),
            "amount": self._fc_amount(self.amount, currency),
            "currency": currency.name,
            "payment_ref": self.payment_ref or None,
            "partner": self._fc_partner(self.partner_id),
            "journal": self._fc_journal(self.journal_id),
            "is_reconciled": bool(self.is_reconciled),
            "reconciled_move_names": sorted((counterparts - self.move_id).mapped("name")),
        }

    def _fc_is_matched(self):
        """Reconciled and matched with its counterpart items (not only re-accounted)."""
        self.ensure_one()
        lines = self.move_id.line_ids
        return bool(self.is_reconciled and (lines.matched_debit_ids or lines.matched_credit_ids))
