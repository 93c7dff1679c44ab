"""One delivery of a feed: what was sent, its control totals, the answer.

Push deliveries cover a period (or, for journal items, a watermark window)
and carry the message that took them out; pull deliveries are the runs of a
pull consumer (one per snapshot watermark). The list of deliveries is the
comparison screen: Odoo ledger totals, delivered and acknowledged totals.
"""

import json
import os
import uuid
from decimal import Decimal

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import controls as lib_controls


class FinanceConnectFeedDelivery(models.Model):
    _name = "finance.connect.feed.delivery"
    _description = "Finance Connect feed delivery"
    _order = "id desc"

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        default=lambda self: self._new_reference(),
    )
    feed_id = fields.Many2one(
        "finance.connect.feed", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    mode = fields.Selection([("push", "Push"), ("pull", "Pull")], required=True, readonly=True)
    period_status = fields.Selection(
        [("formal", "Formal"), ("flash", "Flash (provisional)")], readonly=True
    )
    date_from = fields.Date(readonly=True)
    date_to = fields.Date(readonly=True)
    watermark_from = fields.Char(readonly=True, help="Posting marker window: from (included).")
    watermark_to = fields.Char(readonly=True, help="Posting marker window: to (excluded).")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("blocked", "Blocked (unmapped)"),
            ("delivered", "Delivered"),
            ("acknowledged", "Acknowledged"),
            ("mismatch", "Acknowledgement differs"),
            ("superseded", "Superseded"),
        ],
        required=True,
        default="draft",
        readonly=True,
        index=True,
    )
    message_id = fields.Many2one("finance.connect.message", readonly=True)
    previous_id = fields.Many2one("finance.connect.feed.delivery", string="Replaces", readonly=True)
    note = fields.Text(string="Reason / note", readonly=True)
    content_sha256 = fields.Char(
        readonly=True,
        help="Hash of the rows without lineage: "
        "a period is delivered again only when it changes.",
    )
    row_count = fields.Integer(readonly=True)
    total_debit = fields.Char(readonly=True)
    total_credit = fields.Char(readonly=True)
    sha256 = fields.Char(string="Rows SHA-256", readonly=True)
    ledger_debit = fields.Char(string="Odoo ledger debit", readonly=True)
    ledger_credit = fields.Char(string="Odoo ledger credit", readonly=True)
    ack_row_count = fields.Integer(readonly=True)
    ack_total_debit = fields.Char(readonly=True)
    ack_total_credit = fields.Char(readonly=True)
    ack_sha256 = fields.Char(readonly=True)
    ack_at = fields.Datetime(readonly=True)
    ack_source = fields.Char(readonly=True)
    # The control totals above are kept as the exact decimal strings that were
    # sent and received; these are the same figures as amounts of the feed's
    # currency, for lists to format, compare and add up.
    currency_id = fields.Many2one(related="feed_id.currency_id", store=True)
    ledger_debit_amount = fields.Monetary(
        string="Ledger debit", compute="_compute_amounts", store=True, aggregator="sum"
    )
    ledger_credit_amount = fields.Monetary(
        string="Ledger credit", compute="_compute_amounts", store=True, aggregator="sum"
    )
    delivered_debit_amount = fields.Monetary(
        string="Delivered debit", compute="_compute_amounts", store=True, aggregator="sum"
    )
    delivered_credit_amount = fields.Monetary(
        string="Delivered credit", compute="_compute_amounts", store=True, aggregator="sum"
    )
    ack_debit_amount = fields.Monetary(
        string="Acknowledged debit", compute="_compute_amounts", store=True, aggregator="sum"
    )
    ack_credit_amount = fields.Monetary(
        string="Acknowledged credit", compute="_compute_amounts", store=True, aggregator="sum"
    )
    ledger_difference = fields.Monetary(
        string="Difference to ledger",
        compute="_compute_amounts",
        store=True,
        aggregator="sum",
        help="How far the delivered debit and credit are from Odoo's ledger for the period "
        "(debit and credit differences added, without sign): 0 when they agree.",
    )
    ack_difference = fields.Monetary(
        string="Difference acknowledged",
        compute="_compute_amounts",
        store=True,
        aggregator="sum",
        help="How far the totals the other system acknowledged are from the delivered ones "
        "(debit and credit differences added, without sign): 0 when they agree.",
    )

    @api.model
    def _new_reference(self):
        self.env.cr.execute(
            SQL("SELECT COALESCE(MAX(id), 0) + 1 FROM finance_connect_feed_delivery")
        )
        return f"FCD-{self.env.cr.fetchone()[0]}-{uuid.uuid4().hex[:6].upper()}"

    def _store_totals(self, totals):
        self.write(
            {
                "row_count": totals.row_count,
                "total_debit": str(totals.debit),
                "total_credit": str(totals.credit),
                "sha256": totals.sha256,
            }
        )

    def _control(self):
        """The delivered control totals; pull runs are counted on demand."""
        self.ensure_one()
        if not self.sha256 and self.mode == "pull" and self.watermark_to:
            self._store_totals(self._recount())
        return {
            "row_count": self.row_count,
            "total_debit": self.total_debit or "0",
            "total_credit": self.total_credit or "0",
            "sha256": self.sha256 or "",
        }

    def _recount(self):
        """Totals of a pull run: its rows in id order, as the pages served them
        (the run's JSON Lines download, hashed and discarded)."""
        feed = self.feed_id
        with open(os.devnull, "wb") as discard:
            return self.env["finance.connect.feed.reader"]._journal_item_export(
                feed,
                discard,
                "jsonl",
                self.name,
                self.env["finance.connect.feed.conversion"]._mapper(feed),
                low=int(self.watermark_from),
                high=int(self.watermark_to),
            )

    def _payload(self, rows, totals, reason):
        feed = self.feed_id
        return {
            "event_id": self.name,
            "occurred_at": fields.Datetime.now().isoformat() + "Z",
            "feed": {"id": feed.id, "name": feed.name, "kind": feed.kind},
            "delivery": self.name,
            "replaces": self.previous_id.name or None,
            "reason": reason or None,
            "period": {
                "date_from": str(self.date_from) if self.date_from else None,
                "date_to": str(self.date_to) if self.date_to else None,
                "watermark_from": self.watermark_from or None,
                "watermark_to": self.watermark_to or None,
                "status": self.period_status,
            },
            "currency": feed.currency_id.name,
            "companies": [{"id": c.id, "name": c.name} for c in feed.company_ids],
            "control": totals.as_dict(),
            "rows": rows,
        }

    @api.depends(
        "ledger_debit",
        "ledger_credit",
        "total_debit",
        "total_credit",
        "ack_total_debit",
        "ack_total_credit",
    )
    def _compute_amounts(self):
        for delivery in self:
            ledger = (_amount(delivery.ledger_debit), _amount(delivery.ledger_credit))
            sent = (_amount(delivery.total_debit), _amount(delivery.total_credit))
            ack = (_amount(delivery.ack_total_debit), _amount(delivery.ack_total_credit))
            delivery.ledger_debit_amount, delivery.ledger_credit_amount = ledger
            delivery.delivered_debit_amount, delivery.delivered_credit_amount = sent
            delivery.ack_debit_amount, delivery.ack_credit_amount = ack
            delivery.ledger_difference = (
                abs(sent[0] - ledger[0]) + abs(sent[1] - ledger[1])
                if delivery.ledger_debit or delivery.ledger_credit
                else 0.0
            )
            delivery.ack_difference = (
                abs(ack[0] - sent[0]) + abs(ack[1] - sent[1])
                if delivery.ack_total_debit or delivery.ack_total_credit
                else 0.0
            )

    def _send(self, rows, reason):
        """Compute the control totals and queue the message (when connected)."""
        self.ensure_one()
        feed = self.feed_id
        totals = lib_controls.ControlTotals.of(rows)
        self._store_totals(totals)
        if self.date_from and self.date_to:
            reader = self.env["finance.connect.feed.reader"]
            debit, credit = reader._ledger_totals(feed, self.date_from, self.date_to)
            self.write({"ledger_debit": str(debit), "ledger_credit": str(credit)})
        vals = {"state": "delivered"}
        if feed.connection_id:
            message = self.env["finance.connect.message"]._enqueue_outbound(
                feed.connection_id,
                "feed.delivery",
                self._payload(rows, totals, reason),
                record=self,
                idempotency_key=f"feed.delivery:{self.name}",
            )
            vals["message_id"] = message.id
        self.write(vals)
        return self

    def _change_reason(self, rows):
        """Why a period goes out again: the keys whose amounts changed."""
        self.ensure_one()
        old = {}
        if self.message_id:
            try:
                old_rows = json.loads(self.message_id.sudo().payload or "{}").get("rows", [])
            except ValueError:
                old_rows = []
            old = {_key(r): r.get("balance") for r in old_rows}
        new = {_key(r): r.get("balance") for r in rows}
        changed = sorted(
            k for k in set(old) | set(new) if Decimal(old.get(k) or 0) != Decimal(new.get(k) or 0)
        )
        if not changed:
            return self.env._("Rows changed since %(ref)s (lineage or attributes).", ref=self.name)
        shown = "; ".join("/".join(str(p) for p in k if p is not None) for k in changed[:10])
        return self.env._(
            "%(n)s row(s) changed since %(ref)s: %(keys)s",
            n=len(changed),
            ref=self.name,
            keys=shown + (" …" if len(changed) > 10 else ""),
        )

    def _acknowledge(self, control, source=""):
        """Match a consumer's control totals; a difference opens an exception."""
        self.ensure_one()
        expected = self._control()
        problems = lib_controls.compare(expected, control)
        control = control if isinstance(control, dict) else {}
        vals = {
            "ack_row_count": _int(control.get("row_count")),
            "ack_total_debit": str(control.get("total_debit") or ""),
            "ack_total_credit": str(control.get("total_credit") or ""),
            "ack_sha256": str(control.get("sha256") or "")[:64],
            "ack_at": fields.Datetime.now(),
            "ack_source": source or False,
            "state": "mismatch" if problems else "acknowledged",
        }
        self.sudo().write(vals)
        # The consumer answered: the feed's SLA rules are checked now, not at the next cron.
        self.env["finance.connect.sla.rule"]._fc_on_feed_ack(self.feed_id)
        if not problems:
            return f"{self.name}: acknowledged, control totals match"
        feed = self.feed_id
        self.env["finance.connect.exception"]._open(
            "balance_mismatch",
            self.env._(
                "Feed %(feed)s: acknowledgement of %(ref)s differs", feed=feed.name, ref=self.name
            ),
            self.env._(
                "The consumer acknowledged %(ref)s of feed %(feed)s with totals that differ "
                "from what was delivered: %(problems)s. Check what the consumer loaded, then "
                "deliver the period again.",
                ref=self.name,
                feed=feed.name,
                problems="; ".join(problems),
            ),
            connection=feed.connection_id or None,
            record=self,
            company=self.company_id,
            fingerprint=f"feed-ack:{self.id}",
        )
        return f"{self.name}: acknowledgement differs: {'; '.join(problems)}"


def _key(row):
    return (
        row.get("company_id"),
        row.get("period"),
        row.get("account_code"),
        row.get("analytic"),
        row.get("line_id"),
        row.get("journal"),
    )


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _amount(text):
    """A control total (a decimal string, or empty) as a float for display."""
    try:
        return float(Decimal(text)) if text else 0.0
    except (ArithmeticError, ValueError):
        return 0.0
