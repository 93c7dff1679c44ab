"""Matching imported statement lines to open payments and invoices.

In order, for lines not reconciled yet:

1. end-to-end id -> the outstanding journal item of the ``account.payment``
   sent under that id;
2. structured creditor reference, else a word of the remittance text ->
   an open invoice or bill whose payment reference (or number) it is;
3. partner and amount within the tolerance (system parameter
   ``finance_connect_bank.match_tolerance``, default 0) -> an open
   receivable / payable item of that partner, when exactly one fits.

A match by id or reference whose amount is exactly the open amount is
reconciled at once ("exact"); any other single candidate is only proposed
(``fc_match_candidate_id``), for the accountant to confirm. Lines with no
candidate are "unmatched" and listed for the accountant. Each step costs one
query for all the lines, whatever their number.
"""

import re

from odoo import Command, api, models
from odoo.exceptions import UserError

TOLERANCE_PARAM = "finance_connect_bank.match_tolerance"
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-.]{2,}")


def _norm(reference):
    return re.sub(r"[^A-Z0-9]", "", (reference or "").upper())


class FinanceConnectBankMatcher(models.AbstractModel):
    _name = "finance.connect.bank.matcher"
    _description = "Finance Connect bank line matching"

    @api.model
    def _match_lines(self, lines):
        """Match ``lines``; returns {"reconciled": n, "proposed": n, "unmatched": n}.

        The caller has checked that the user may write ``lines``; the match
        fields are the engine's (refused to a plain write), so they are
        written as superuser.
        """
        lines = lines.filtered(lambda line: not line.is_reconciled and line.amount)
        counts = {"reconciled": 0, "proposed": 0, "unmatched": 0}
        if not lines:
            return counts
        found = {}  # line -> (move line, reason, exact)
        self._by_end_to_end(lines, found)
        self._by_reference(lines.filtered(lambda line: line not in found), found)
        self._by_partner_amount(lines.filtered(lambda line: line not in found), found)
        for line in lines:
            candidate, reason, exact = found.get(line, (None, None, False))
            if candidate and exact and self._reconcile(line, candidate):
                line.sudo().write(
                    {
                        "fc_match_state": "reconciled",
                        "fc_match_candidate_id": False,
                        "fc_match_reason": reason,
                    }
                )
                counts["reconciled"] += 1
            elif candidate:
                line.sudo().write(
                    {
                        "fc_match_state": "proposed",
                        "fc_match_candidate_id": candidate.id,
                        "fc_match_reason": reason,
                    }
                )
                counts["proposed"] += 1
            else:
                counts["unmatched"] += 1
        unmatched = lines.filtered(
            lambda line: line not in found and line.fc_match_state != "unmatched"
        )
        unmatched.sudo().write({"fc_match_state": "unmatched"})
        return counts

    # ------------------------------------------------------------------
    # Candidates
    # ------------------------------------------------------------------

    @api.model
    def _open_items_domain(self, company):
        return [
            ("company_id", "=", company.id),
            ("parent_state", "=", "posted"),
            ("reconciled", "=", False),
            ("account_id.reconcile", "=", True),
            ("display_type", "not in", ("line_section", "line_note")),
        ]

    @api.model
    def _candidates(self, line, limit=20):
        """Open receivable/payable items a person may match ``line`` with, the
        likeliest first: the proposed one, then the partner's items of the same
        amount, the partner's other items, other items of the same amount."""
        domain = self._open_items_domain(line.company_id) + [
            ("account_id.account_type", "in", ("asset_receivable", "liability_payable")),
        ]
        Item = self.env["account.move.line"]
        partner = line.partner_id.commercial_partner_id
        items = Item.search(
            domain
            + (
                ["|", ("partner_id", "child_of", partner.id), ("amount_residual", "=", line.amount)]
                if partner
                else [("amount_residual", "=", line.amount)]
            ),
            limit=200,
            order="date_maturity, id",
        )
        currency = line.currency_id

        def rank(item):
            same_amount = currency.compare_amounts(item.amount_residual, line.amount) == 0
            own = bool(partner) and item.partner_id.commercial_partner_id == partner
            return (item != line.fc_match_candidate_id, not (own and same_amount), not own)

        return (line.fc_match_candidate_id & items) | Item.concat(*sorted(items, key=rank))[:limit]

    @api.model
    def _match_by_hand(self, line, item):
        """Reconcile ``line`` with ``item`` chosen by a person; the caller checked
        they may write the line and the item. Raises ``UserError`` saying why not."""
        if line.is_reconciled:
            raise UserError(self.env._("This bank line is reconciled already."))
        if item.company_id != line.company_id:
            raise UserError(self.env._("The counterpart belongs to another company."))
        if item.reconciled or item.parent_state != "posted" or not item.account_id.reconcile:
            raise UserError(
                self.env._(
                    "%(item)s is not an open item any more (paid, not posted, or on an "
                    "account that is not reconciled): choose another.",
                    item=item.display_name,
                )
            )
        if not self._reconcile(line, item):
            raise UserError(
                self.env._(
                    "The bank line could not be reconciled with %(item)s: it may have been "
                    "booked already; open the statement to check it.",
                    item=item.display_name,
                )
            )
        line.sudo().write(
            {
                "fc_match_state": "reconciled",
                "fc_match_candidate_id": False,
                "fc_match_reason": self.env._(
                    "matched by hand by %(user)s", user=self.env.user.name
                ),
            }
        )
        return True

    @api.model
    def _is_exact(self, line, item):
        currency = line.currency_id
        return currency.compare_amounts(line.amount, item.amount_residual) == 0

    @api.model
    def _by_end_to_end(self, lines, found):
        with_id = lines.filtered("fc_end_to_end_id")
        if not with_id:
            return
        payments = self.env["account.payment"].search(
            [
                ("fc_end_to_end_id", "in", with_id.mapped("fc_end_to_end_id")),
                ("company_id", "in", with_id.company_id.ids),
                ("state", "=", "in_process"),
            ]
        )
        by_id = {p.fc_end_to_end_id: p for p in payments}
        for line in with_id:
            payment = by_id.get(line.fc_end_to_end_id)
            if not payment:
                continue
            items = payment.move_id.line_ids.filtered(
                lambda line, p=payment: line.account_id == p.outstanding_account_id
                and not line.reconciled
            )
            if len(items) == 1:
                found[line] = (
                    items,
                    f"end-to-end id {line.fc_end_to_end_id}",
                    self._is_exact(line, items),
                )

    @api.model
    def _by_reference(self, lines, found):
        if not lines:
            return
        words = {}
        for line in lines:
            keys = [_norm(line.fc_creditor_ref)] if line.fc_creditor_ref else []
            keys += [_norm(word) for word in _WORD.findall(line.payment_ref or "")]
            words[line] = [key for key in keys if len(key) >= 3]
        wanted = {key for keys in words.values() for key in keys}
        if not wanted:
            return
        items = self.env["account.move.line"].search(
            self._open_items_domain(lines.company_id[:1])
            + [
                ("account_id.account_type", "in", ("asset_receivable", "liability_payable")),
                ("move_id.move_type", "!=", "entry"),
            ]
        )
        by_reference = {}
        for item in items:
            for reference in {_norm(item.move_id.payment_reference), _norm(item.move_id.name)}:
                if reference in wanted:
                    by_reference.setdefault(reference, self.env["account.move.line"])
                    by_reference[reference] |= item
        for line in lines:
            for key in words[line]:
                candidates = by_reference.get(key)
                if candidates and len(candidates) == 1:
                    found[line] = (candidates, f"reference {key}", self._is_exact(line, candidates))
                    break

    @api.model
    def _by_partner_amount(self, lines, found):
        lines = lines.filtered("partner_id")
        if not lines:
            return
        tolerance = float(
            self.env["ir.config_parameter"].sudo().get_param(TOLERANCE_PARAM, "0") or 0
        )
        items = self.env["account.move.line"].search(
            self._open_items_domain(lines.company_id[:1])
            + [
                ("partner_id", "in", lines.partner_id.commercial_partner_id.ids),
                ("account_id.account_type", "in", ("asset_receivable", "liability_payable")),
            ]
        )
        by_partner = {}
        for item in items:
            by_partner.setdefault(item.partner_id.commercial_partner_id, []).append(item)
        for line in lines:
            fits = [
                item
                for item in by_partner.get(line.partner_id.commercial_partner_id, [])
                if abs(item.amount_residual - line.amount) <= tolerance + 1e-9
            ]
            if len(fits) == 1:
                # Same partner and amount: likely, never certain; proposed only.
                found[line] = (fits[0], "partner and amount", False)

    # ------------------------------------------------------------------
    # Reconciliation (community: the suspense item becomes the counterpart)
    # ------------------------------------------------------------------

    @api.model
    def _reconcile(self, st_line, item):
        """Reconcile ``st_line`` with the open journal item ``item``.

        The statement line's suspense item is moved to the item's account and
        partner, then both are reconciled. Returns whether it worked.
        """
        _liquidity, suspense, other = st_line._seek_for_lines()
        if len(suspense) != 1 or other or item.reconciled:
            return False
        try:
            with self.env.cr.savepoint():
                st_line.move_id.with_context(skip_readonly_check=True).write(
                    {
                        "line_ids": [
                            Command.update(
                                suspense.id,
                                {
                                    "account_id": item.account_id.id,
                                    "partner_id": item.partner_id.id,
                                },
                            )
                        ],
                    }
                )
                (suspense | item).reconcile()
        except UserError:
            return False
        return st_line.is_reconciled

    # ------------------------------------------------------------------
    # Accountant's actions
    # ------------------------------------------------------------------

    @api.model
    def _confirm(self, lines):
        """Reconcile lines with their proposed counterpart."""
        done = self.env["account.bank.statement.line"]
        for line in lines.filtered(
            lambda line: line.fc_match_candidate_id and not line.is_reconciled
        ):
            if self._reconcile(line, line.fc_match_candidate_id):
                line.sudo().write({"fc_match_state": "reconciled", "fc_match_candidate_id": False})
                done |= line
        return done
