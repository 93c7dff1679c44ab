"""Mapping exceptions: "create mapping and replay"."""

from odoo import models

from .finance_connect_mapping_line import PARTNER_KEYS, TYPE_RECORDS


class FinanceConnectException(models.Model):
    _inherit = "finance.connect.exception"

    def action_open_fix(self):
        # EXTENDS finance_connect: a missing mapping is fixed by a new mapping line.
        self.ensure_one()
        if self.category != "mapping" or self.mapping_type not in TYPE_RECORDS:
            return super().action_open_fix()
        self._check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Create mapping and replay"),
            "res_model": "finance.connect.mapping.line",
            "view_mode": "form",
            "views": [
                (
                    self.env.ref("finance_connect.finance_connect_mapping_line_view_form_fix").id,
                    "form",
                )
            ],
            "target": "new",
            "context": self._fc_prepare_fix_context(),
        }

    def _fc_prepare_fix_context(self):
        """Defaults of the mapping line that fixes this exception."""
        self.ensure_one()
        value = self.mapping_value or ""
        context = {
            "default_mapping_type": self.mapping_type,
            "default_direction": "outbound",
            "default_source_value": value,
            "fc_mapping_exception_id": self.id,
            "fc_connection_id": self.connection_id.id,
        }
        if self.mapping_type == "partner":
            kind, _sep, rest = value.partition(":")
            if kind in dict(PARTNER_KEYS):
                context.update(default_partner_key=kind, default_source_value=rest)
            elif kind == "id" and rest.isdigit():
                context.update(
                    default_partner_id=int(rest), default_partner_key="ref", default_source_value=""
                )
        sets = self.connection_id._fc_get_mapping_sets()
        if len(sets) == 1:
            context["default_mapping_id"] = sets.id
        return context

    def _fc_replay_mapping(self):
        """Replay the messages waiting for this exception's value; resolve it
        once none waits any more."""
        Message = self.env["finance.connect.message"]
        for exc in self.sudo():
            if exc.state not in ("open", "in_progress") or not exc.connection_id:
                continue
            waiting_for = f"{exc.mapping_type}:{exc.mapping_value}"
            replayed = Message._replay_waiting(
                exc.connection_id, exc.mapping_type, exc.mapping_value
            )
            still = Message.sudo().search_count(
                [
                    ("connection_id", "=", exc.connection_id.id),
                    ("state", "=", "new"),
                    ("waiting_for", "=", waiting_for),
                ]
            )
            if still:
                continue
            exc._fc_resolve(
                self.env._(
                    "%(type)s %(value)s is mapped now (by %(user)s): %(n)s waiting message(s) "
                    "replayed.",
                    type=exc.mapping_type,
                    value=exc.mapping_value,
                    user=self.env.user.name,
                    n=len(replayed),
                ),
                f"mapping created; {len(replayed)} message(s) replayed",
            )
