"""Subscriptions: which business events go to which connection, and how."""

from odoo import api, fields, models
from odoo.tools.safe_eval import safe_eval

EVENT_TYPES = [
    ("invoice.posted", "Customer invoice posted"),
    ("credit_note.posted", "Credit note posted"),
    ("bill.posted", "Vendor bill posted"),
    ("move.posted", "Journal entry posted"),
    ("payment.posted", "Payment posted"),
    ("payment.state_changed", "Payment state changed"),
    ("statement_line.reconciled", "Statement line reconciled"),
    ("record.synced", "Record sent on request (Send now / automation)"),
]


#: The model of the records each event is about (what a domain filters).
EVENT_MODELS = {
    "payment.posted": "account.payment",
    "payment.state_changed": "account.payment",
    "statement_line.reconciled": "account.bank.statement.line",
}


class FinanceConnectSubscription(models.Model):
    _name = "finance.connect.subscription"
    _description = "Finance Connect subscription"
    _order = "connection_id, event_type"

    name = fields.Char(compute="_compute_name", store=True)
    active = fields.Boolean(default=True)
    connection_id = fields.Many2one(
        "finance.connect.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True, index=True)
    event_type = fields.Selection(EVENT_TYPES, required=True, index=True)
    journal_ids = fields.Many2many(
        "account.journal", string="Only these journals", help="Empty: every journal."
    )
    domain = fields.Char(
        string="Only records matching",
        default="[]",
        help="Only records matching these conditions send the event.",
    )
    record_model = fields.Char(
        compute="_compute_record_model", help="The model of the records the event is about."
    )
    mode = fields.Selection(
        [
            ("realtime", "Real time (one message per event)"),
            ("batch", "Batch (a cron collects events into one message)"),
        ],
        default="realtime",
        required=True,
    )
    path = fields.Char(help="Path for these messages; empty: the connection's path.")
    last_batch_at = fields.Datetime(readonly=True)

    @api.depends("connection_id", "event_type")
    def _compute_name(self):
        labels = dict(EVENT_TYPES)
        for sub in self:
            sub.name = f"{sub.connection_id.name or ''}: {labels.get(sub.event_type, '')}"

    @api.depends("event_type")
    def _compute_record_model(self):
        for sub in self:
            sub.record_model = EVENT_MODELS.get(sub.event_type, "account.move")

    @api.model
    def _get_candidates(self, event_type, company):
        """Active subscriptions of active connections of ``company`` to ``event_type``."""
        return self.sudo().search(
            [
                ("event_type", "=", event_type),
                ("connection_id.active", "=", True),
                ("company_id", "=", company.id),
            ]
        )

    @api.model
    def _get_matching(self, event_type, record):
        """Active subscriptions of active connections that want this event of ``record``."""
        subs = self._get_candidates(event_type, record.company_id)
        return subs.filtered(lambda s: s._accepts(record))

    def _accepts(self, record):
        """Journal and domain filters of one subscription."""
        self.ensure_one()
        if self.journal_ids and "journal_id" in record._fields:
            if record.journal_id not in self.journal_ids:
                return False
        domain = safe_eval(self.domain or "[]")
        return not domain or bool(record.filtered_domain(domain))

    def _get_effective_mode(self):
        """The mode events of this subscription are sent in now: its own, or
        batch while its connection is degraded (the system has been down too
        long; ``finance.connect.delivery._degrade_check``)."""
        self.ensure_one()
        if self.mode == "realtime" and self.sudo().connection_id.degraded:
            return "batch"
        return self.mode

    @api.model
    def _cron_send_batches(self):
        """Collect waiting batch events into one message per subscription.

        Items held for a missing mapping (``waiting_for``) stay out: they join a
        later batch once the mapping is created and they are replayed.
        """
        Message = self.env["finance.connect.message"].sudo()
        subs = self.sudo().search(
            ["|", ("mode", "=", "batch"), ("connection_id.degraded", "=", True)]
        )
        for sub in subs:
            items = Message.search(
                [
                    ("subscription_id", "=", sub.id),
                    ("state", "=", "new"),
                    ("direction", "=", "out"),
                    ("batch_id", "=", False),
                    ("waiting_for", "=", False),
                ],
                order="id",
                limit=5000,
            )
            if not items:
                continue
            sub._send_batch(items)
            sub.last_batch_at = fields.Datetime.now()

    def _send_batch(self, items):
        """One message carrying the payloads of ``items``."""
        import json

        self.ensure_one()
        Message = self.env["finance.connect.message"]
        first = items[0]
        payload = {
            "event_id": f"batch:{self.id}:{first.id}-{items[-1].id}:{len(items)}",
            "occurred_at": fields.Datetime.now().isoformat() + "Z",
            "company": {"id": self.company_id.id, "name": self.company_id.name},
            "items": [json.loads(item.sudo().payload) for item in items],
        }
        batch = Message._enqueue_outbound(
            self.connection_id,
            "batch",
            payload,
            subscription=self,
            idempotency_key=payload["event_id"],
        )
        items._set_state("queued", f"in batch {batch.reference}", batch_id=batch.id)
        return batch
