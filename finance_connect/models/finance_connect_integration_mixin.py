"""Integration state on accounting records, and the events they emit."""

import json

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_repr

from ..lib import payloads as lib_payloads

FC_STATES = [
    ("not_synced", "Not synced"),
    ("pending", "Pending"),
    ("synced", "Synced"),
    ("error", "Error"),
]
MESSAGE_TO_RECORD_STATE = {
    "new": "pending",
    "queued": "pending",
    "sending": "pending",
    "retrying": "pending",
    "done": "synced",
    "duplicate": "synced",
    "failed": "error",
    "cancelled": None,
}


class FinanceConnectIntegrationMixin(models.AbstractModel):
    _name = "finance.connect.integration.mixin"
    _description = "Finance Connect integration state"

    fc_state = fields.Selection(
        FC_STATES,
        string="Integration",
        default="not_synced",
        copy=False,
        index=True,
        readonly=True,
        help="Whether this record reached the connected systems: Pending (waiting or being "
        "retried), Synced (they confirmed it), Error (it failed: open its Integration "
        "messages and the exception inbox).",
    )
    fc_state_note = fields.Char(
        string="Integration detail",
        compute="_compute_fc_state_note",
        help="Where it went, when, and what failed.",
    )
    fc_send_label = fields.Char(compute="_compute_fc_send_label")
    fc_last_sync = fields.Datetime(string="Last sync", copy=False, readonly=True)
    fc_external_ref = fields.Char(string="External reference", copy=False, readonly=True)
    fc_message_count = fields.Integer(
        string="Integration messages", compute="_compute_fc_message_count"
    )

    def _compute_fc_message_count(self):
        counts = (
            dict(
                self.env["finance.connect.message"]._read_group(
                    [("res_model", "=", self._name), ("res_id", "in", self.ids)],
                    ["res_id"],
                    ["__count"],
                )
            )
            if self.ids
            else {}
        )
        for record in self:
            record.fc_message_count = counts.get(record.id, 0)

    def _fc_last_messages(self):
        """The latest outbound message of each record (read as superuser: only
        the connection's name, the state, the date and the error are shown)."""
        if not self.ids:
            return {}
        messages = (
            self.env["finance.connect.message"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    ("direction", "=", "out"),
                ],
                order="id desc",
            )
        )
        latest = {}
        for message in messages:
            latest.setdefault(message.res_id, message)
        return latest

    @api.depends("fc_state", "fc_last_sync")
    @api.depends_context("uid")
    def _compute_fc_state_note(self):
        latest = self._fc_last_messages()
        for record in self:
            message = latest.get(record.id)
            conn = message.connection_id.display_name if message else ""
            if record.fc_state == "synced":
                note = self.env._(
                    "Sent to %(conn)s on %(when)s",
                    conn=conn or "?",
                    when=fields.Datetime.to_string(record.fc_last_sync) or "?",
                )
                if record.fc_external_ref:
                    note += self.env._(" (their reference %(ref)s)", ref=record.fc_external_ref)
            elif record.fc_state == "pending":
                note = self.env._("Waiting to be sent to %(conn)s", conn=conn or "?")
            elif record.fc_state == "error":
                note = self.env._(
                    "Sending to %(conn)s failed: %(error)s. Open Integration for the message.",
                    conn=conn or "?",
                    error=(message.error or "").splitlines()[0][:160] if message else "?",
                )
            else:
                note = False
            record.fc_state_note = note

    @api.depends("company_id")
    def _compute_fc_send_label(self):
        Subscription = self.env["finance.connect.subscription"]
        for record in self:
            subs = (
                Subscription._get_matching("record.synced", record) if record.id else Subscription
            )
            names = sorted(set(subs.connection_id.mapped("display_name")))
            if len(names) == 1:
                record.fc_send_label = self.env._("Send to %(conn)s", conn=names[0])
            elif names:
                record.fc_send_label = self.env._("Send to %(n)s connections", n=len(names))
            else:
                record.fc_send_label = self.env._("Send now")

    def _fc_apply_message_state(self, message):
        """Reflect one message's state on this record."""
        state = MESSAGE_TO_RECORD_STATE.get(message.state)
        if not state:
            return
        vals = {"fc_state": state}
        if state == "synced":
            vals["fc_last_sync"] = fields.Datetime.now()
            if message.external_id:
                vals["fc_external_ref"] = message.external_id
        self._fc_write_state(vals)

    def _fc_write_state(self, vals):
        """Write the integration columns directly.

        They are this addon's own plain columns and nothing is computed from
        them, so the heavy ``write`` of posted invoices and payments (lock
        date and integrity checks, recomputations) is not needed here.
        """
        if not self.ids:
            return
        self.flush_recordset(list(vals))
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET %s WHERE id IN %s",
                SQL.identifier(self._table),
                SQL(", ").join(
                    SQL("%s = %s", SQL.identifier(name), value) for name, value in vals.items()
                ),
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(list(vals))

    def action_fc_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_message_action"
        )
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Events
    # ------------------------------------------------------------------

    def _fc_emit(self, event_type):
        """Queue ``event_type`` of these records for every subscribed connection."""
        Subscription = self.env["finance.connect.subscription"]
        Message = self.env["finance.connect.message"]
        messages = Message
        candidates = {}
        prepared = []
        # Build every payload first (reads only, so prefetching works across
        # the records), then store and queue the messages.
        for record in self:
            company = record.company_id
            if company not in candidates:
                candidates[company] = Subscription._get_candidates(event_type, company)
            subs = candidates[company].filtered(lambda s, r=record: s._accepts(r))
            if subs:
                payload = record._fc_prepare_payload(event_type)
                prepared.append((record, subs, payload, record.display_name))
        items = []
        for record, subs, payload, name in prepared:
            key = record._fc_idempotency_key(event_type, payload)
            for sub in subs:
                # Batch items are mapped, validated and held like any message;
                # they then wait for their subscription's batch cron.
                items.append(
                    {
                        "connection": sub.connection_id,
                        "event_type": event_type,
                        "payload": payload,
                        "record": record,
                        "idempotency_key": key,
                        "subscription": sub,
                        "res_name": name,
                        "batch_item": sub._get_effective_mode() == "batch",
                    }
                )
        for start in range(0, len(items), 500):
            messages |= Message._enqueue_outbound_many(items[start : start + 500])
        return messages

    def _fc_idempotency_key(self, event_type, payload):
        """Stable key of a business event: the same content gives the same key."""
        return payload["event_id"]

    def _fc_prepare_payload(self, event_type):
        """The canonical payload of ``event_type`` for this record. EXTEND per model."""
        self.ensure_one()
        if event_type == "record.synced":
            return self._fc_prepare_envelope(
                event_type,
                {
                    "model": self._name,
                    "id": self.id,
                    "display_name": self.display_name,
                    "company": self._fc_company(self.company_id),
                    "data": self._fc_json(self._fc_prepare_data()),
                },
            )
        raise UserError(self.env._("No payload for %(event)s.", event=event_type))

    def _fc_rebuild_payload(self, event_type, stored_payload):
        """The payload of an event stored before, prepared again from the record
        (a replay after a fix); ``stored_payload`` is the one stored. EXTEND when
        a payload carries what the record no longer knows (a previous state)."""
        return self._fc_prepare_payload(event_type)

    def _fc_prepare_data(self):
        """Natural data of the record for a record.synced message. EXTEND per model."""
        return {}

    def _fc_prepare_envelope(self, event_type, data):
        """The envelope shared by every event: its id derives from the data."""
        digest = lib_payloads.sha256_hex(lib_payloads.canonical_json(data))[:24]
        return {
            "event_id": f"{event_type}:{self._name}:{self.id}:{digest}",
            "occurred_at": fields.Datetime.now().isoformat() + "Z",
            "company": self._fc_company(self.company_id),
            "data": data,
        }

    @api.model
    def _fc_company(self, company):
        return {
            "id": company.id,
            "name": company.name,
            "vat": company.vat or None,
            "currency": company.currency_id.name,
        }

    def _fc_send_now(self):
        """Send these records now (button, server action, automated action)."""
        Subscription = self.env["finance.connect.subscription"]
        Message = self.env["finance.connect.message"]
        messages = Message
        for record in self:
            subs = Subscription._get_matching("record.synced", record)
            if not subs:
                raise UserError(
                    self.env._(
                        "No active connection subscribes to records sent on request for "
                        "%(company)s. Add a 'Record sent on request' subscription to a "
                        "connection first.",
                        company=record.company_id.name,
                    )
                )
            payload = record._fc_prepare_payload("record.synced")
            for sub in subs:
                messages |= Message._enqueue_outbound(
                    sub.connection_id,
                    "record.synced",
                    payload,
                    record=record,
                    idempotency_key=payload["event_id"],
                    subscription=sub,
                )
        return messages

    def action_fc_send_now(self):
        # Who may change the record may ask for it to be sent again (its own
        # access rules, e.g. an invoice of another company is refused).
        self.check_access("write")
        synced = self.filtered(lambda record: record.fc_state == "synced")
        if synced and not self.env.context.get("fc_send_again"):
            # Sent already: say so and ask before sending it again.
            summary = "\n".join(
                f"{record.display_name}: {record.fc_state_note}" for record in synced[:20]
            )
            confirm = self.env["finance.connect.send.confirm"]._for(self, summary)
            return {
                "type": "ir.actions.act_window",
                "name": self.env._("Send again?"),
                "res_model": confirm._name,
                "res_id": confirm.id,
                "view_mode": "form",
                "target": "new",
            }
        messages = self._fc_send_now()
        names = ", ".join(sorted(set(messages.sudo().connection_id.mapped("display_name"))))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Finance Connect"),
                "message": self.env._(
                    "%(n)s message(s) queued for %(conns)s.", n=len(messages), conns=names
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------------
    # Payload helpers
    # ------------------------------------------------------------------

    @api.model
    def _fc_amount(self, value, currency):
        """A decimal string rounded to the currency (never a float in a payload)."""
        return float_repr(currency.round(value or 0.0), currency.decimal_places)

    @api.model
    def _fc_partner(self, partner):
        if not partner:
            return None
        return {
            "id": partner.id,
            "name": partner.name or "",
            "vat": partner.vat or None,
            "ref": partner.ref or None,
            "external_code": None,
        }

    @api.model
    def _fc_journal(self, journal):
        return {"id": journal.id, "name": journal.name, "code": journal.code}

    @api.model
    def _fc_json(self, payload):
        return json.loads(lib_payloads.canonical_json(payload))
