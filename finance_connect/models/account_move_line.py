"""Reconciling journal items: the events it can cause."""

from odoo import models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def reconcile(self):
        # EXTENDS account: reconciling can match a statement line (an event) and
        # make a payment "paid" through its compute, not through write().
        st_lines = self.move_id.statement_line_id
        before = {line.id: line._fc_is_matched() for line in st_lines}
        res = super().reconcile()
        self.env["account.payment"]._fc_emit_state_changes()
        if st_lines:
            newly = st_lines.filtered(lambda st: st._fc_is_matched() and not before.get(st.id))
            if newly:
                newly._fc_emit("statement_line.reconciled")
        return res
