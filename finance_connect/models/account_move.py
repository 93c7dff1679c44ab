"""Integration state and events of journal entries, invoices and bills."""

from odoo import models

MOVE_EVENTS = {
    "out_invoice": "invoice.posted",
    "out_refund": "credit_note.posted",
    "in_invoice": "bill.posted",
    "in_refund": "credit_note.posted",
    "entry": "move.posted",
}


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "finance.connect.integration.mixin"]

    def _post(self, soft=True):
        # EXTENDS account
        posted = super()._post(soft=soft)
        # One emit per event type: payloads are built with prefetching and the
        # messages stored in batches, not move by move.
        by_event = {}
        for move in posted:
            event = MOVE_EVENTS.get(move.move_type)
            if event:
                by_event.setdefault(event, []).append(move.id)
        for event, move_ids in by_event.items():
            posted.browse(move_ids)._fc_emit(event)
        return posted

    def _fc_prepare_payload(self, event_type):
        # EXTENDS finance_connect
        if event_type in ("invoice.posted", "credit_note.posted", "bill.posted"):
            return self._fc_prepare_envelope(event_type, self._fc_prepare_invoice_data())
        if event_type == "move.posted":
            return self._fc_prepare_envelope(event_type, self._fc_prepare_move_data())
        return super()._fc_prepare_payload(event_type)

    def _fc_prepare_data(self):
        # EXTENDS finance_connect
        if self.is_invoice(include_receipts=True):
            return self._fc_prepare_invoice_data()
        return self._fc_prepare_move_data()

    def _fc_prepare_invoice_data(self):
        """The data part of an invoice / credit note / bill payload."""
        self.ensure_one()
        cur = self.currency_id
        lines = self.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        return {
            "id": self.id,
            "name": self.name,
            "move_type": self.move_type,
            "partner": self._fc_partner(self.partner_id.commercial_partner_id),
            "invoice_date": self.invoice_date.isoformat() if self.invoice_date else None,
            "due_date": self.invoice_date_due.isoformat() if self.invoice_date_due else None,
            "currency": cur.name,
            "amount_untaxed": self._fc_amount(self.amount_untaxed, cur),
            "amount_tax": self._fc_amount(self.amount_tax, cur),
            "amount_total": self._fc_amount(self.amount_total, cur),
            "amount_residual": self._fc_amount(self.amount_residual, cur),
            "payment_reference": self.payment_reference or None,
            "lines": [self._fc_prepare_invoice_line(line, cur) for line in lines],
        }

    def _fc_prepare_invoice_line(self, line, currency):
        """One invoice line of the payload."""
        return {
            "sequence": line.sequence,
            "name": line.name or "",
            "account_code": line.account_id.code or "",
            "external_account": None,
            "quantity": self._fc_amount(line.quantity, currency),
            "price_unit": self._fc_amount(line.price_unit, currency),
            "price_subtotal": self._fc_amount(line.price_subtotal, currency),
            "tax_codes": [t.name for t in line.tax_ids],
            "analytic": {str(k): v for k, v in (line.analytic_distribution or {}).items()},
        }

    def _fc_prepare_move_data(self):
        """The data part of a journal entry payload."""
        self.ensure_one()
        cur = self.company_id.currency_id
        return {
            "id": self.id,
            "name": self.name,
            "date": self.date.isoformat(),
            "journal": self._fc_journal(self.journal_id),
            "ref": self.ref or None,
            "lines": [
                {
                    "account_code": line.account_id.code or "",
                    "external_account": None,
                    "name": line.name or "",
                    "debit": self._fc_amount(line.debit, cur),
                    "credit": self._fc_amount(line.credit, cur),
                    "balance": self._fc_amount(line.balance, cur),
                    "currency": line.currency_id.name,
                    "amount_currency": self._fc_amount(line.amount_currency, line.currency_id),
                    "partner_id": line.partner_id.id or None,
                }
                for line in self.line_ids
            ],
        }
