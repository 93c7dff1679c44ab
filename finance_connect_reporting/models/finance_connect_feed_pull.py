"""The pull protocol of reporting feeds (the endpoint's side of the model).

``finance.connect.feed.pull`` finds a feed by its pull token and serves it
(``feed``, the first argument of the other methods):
``GET /finance_connect/feed/<token>/rows`` pages a run by an opaque cursor
(exactly once per run, see readme/DEVELOP.md for the watermark) or streams it
as JSON Lines, and ``POST .../ack`` matches a consumer's control totals. The
controller calls this model only. Its own model because the feed model, with
set-up, push and file export, would pass 600 lines with it.
"""

import json

from odoo import api, fields, models
from odoo.addons.finance_connect.exceptions import MappingMissing
from odoo.addons.finance_connect.lib.webhook_inbound import find_by_token
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import controls as lib_controls
from ..lib import cursor as lib_cursor

PAGE_MAX = 10000


class FinanceConnectFeedPull(models.AbstractModel):
    _name = "finance.connect.feed.pull"
    _description = "Finance Connect feed pull protocol"

    @api.model
    def _from_token(self, token):
        """The active feed of a pull token (looked up by its sha256, as superuser),
        or an empty feed."""
        nobody = self.env["finance.connect.feed"]
        feed_id = find_by_token(
            self.env.cr, "finance_connect_feed", "pull_token_hash", token, SQL("active")
        )
        if not feed_id:
            return nobody
        feed = nobody.sudo().browse(feed_id)
        return feed if feed._scope_ok() else nobody

    @api.model
    def _pull_page(self, feed, cursor_token=None, limit=1000, date_from=None, date_to=None):
        """One page of pulled rows: ``{"rows", "next_cursor", "has_more", "control"}``.

        The parsed :meth:`_pull_page_json` (which the endpoint sends as is).
        """
        return json.loads(self._pull_page_json(feed, cursor_token, limit, date_from, date_to))

    @api.model
    def _pull_run(self, feed, cursor_token):
        """``(cursor, delivery)`` of the pull run a cursor belongs to.

        A cursor of a finished run (or none) starts the next run: its window
        ends at the snapshot watermark, its accounts must all be mapped, and a
        delivery records it. A cursor inside a run continues that run.
        """
        cur = lib_cursor.decode_cursor(cursor_token)
        Delivery = self.env["finance.connect.feed.delivery"].sudo()
        self.env.flush_all()
        if cur.high is None:
            high = feed._snapshot_watermark()
            missing, _mapper = self.env["finance.connect.feed.conversion"]._check_mapping(
                feed, fields.Date.context_today(feed), low=cur.low, high=high
            )
            if missing:
                raise MappingMissing("account", missing[0], "unmapped")
            delivery = Delivery.create(
                {
                    "feed_id": feed.id,
                    "company_id": feed.company_id.id,
                    "mode": "pull",
                    "watermark_from": str(cur.low),
                    "watermark_to": str(high),
                    "period_status": feed.period_status,
                    "state": "delivered",
                }
            )
            cur = lib_cursor.Cursor(cur.low, high, 0, delivery.id)
        else:
            delivery = Delivery.browse(cur.delivery).exists()
            if not delivery or delivery.feed_id != feed:
                raise lib_cursor.InvalidCursor("cursor of another feed")
        return cur, delivery

    @api.model
    def _pull_page_json(self, feed, cursor_token=None, limit=1000, date_from=None, date_to=None):
        """The JSON text of one page of pulled rows.

        Journal item feeds page by the cursor (exactly once per run, see
        readme/DEVELOP.md); their rows are the canonical texts PostgreSQL wrote,
        joined into the page without being parsed again. The other kinds answer
        the whole period at once. Raises :class:`~..lib.cursor.InvalidCursor`
        and :class:`MappingMissing`.
        """
        feed.ensure_one()
        limit = max(1, min(int(limit or 1000), PAGE_MAX))
        if feed.kind != "journal_items":
            return json.dumps(self._pull_period(feed, date_from, date_to), ensure_ascii=False)
        cur, delivery = self._pull_run(feed, cursor_token)
        records = []
        for batch in self.env["finance.connect.feed.reader"]._journal_item_texts(
            feed,
            delivery.name,
            self.env["finance.connect.feed.conversion"]._mapper(feed),
            low=cur.low,
            high=cur.high,
            after_id=cur.last_id,
            limit=limit + 1,
        ):  # a single keyset query of limit + 1 rows
            records.extend(batch)
        has_more = len(records) > limit
        records = records[:limit]
        if has_more:
            nxt = lib_cursor.Cursor(cur.low, cur.high, records[-1][0], cur.delivery)
        else:
            nxt = cur.next_run()
        totals = lib_controls.ControlTotals()
        lines = [r[3] for r in records]
        totals.add_texts(lines, [r[1] for r in records], [r[2] for r in records])
        head = json.dumps(
            {
                "feed": feed.name,
                "kind": feed.kind,
                "delivery": delivery.name,
                "period_status": feed.period_status,
                "currency": feed.currency_id.name,
                "has_more": has_more,
                "next_cursor": lib_cursor.encode_cursor(nxt),
                "control": totals.as_dict(),
            },
            ensure_ascii=False,
        )
        return head[:-1] + ',"rows":[' + ",".join(lines) + "]}"

    @api.model
    def _pull_run_jsonl(self, feed, out, cursor_token=None):
        """Stream the rest of a pull run to ``out`` (binary) as JSON Lines.

        The rows the pages would serve from ``cursor_token`` to the end of its
        run (the whole run for a cursor between runs), one canonical row per
        line, written by ``COPY`` (lib/copystream.py: no Python object per
        row). Returns ``(delivery, totals, next_cursor)``: the totals are of
        the streamed rows (``sha256`` is the hash of what was written) and are
        the delivery's when the stream covered its whole run; ``next_cursor``
        starts the next run. Raises like :meth:`_pull_page_json`.
        """
        feed.ensure_one()
        if feed.kind != "journal_items":
            raise UserError(
                self.env._("Only journal item feeds stream runs: ask for a page instead.")
            )
        cur, delivery = self._pull_run(feed, cursor_token)
        totals = self.env["finance.connect.feed.reader"]._journal_item_export(
            feed,
            out,
            "jsonl",
            delivery.name,
            self.env["finance.connect.feed.conversion"]._mapper(feed),
            low=cur.low,
            high=cur.high,
            after_id=cur.last_id,
        )
        if not cur.last_id:
            delivery._store_totals(totals)
        return delivery, totals, lib_cursor.encode_cursor(cur.next_run())

    @api.model
    def _pull_period(self, feed, date_from, date_to):
        today = fields.Date.context_today(feed)
        date_to = fields.Date.to_date(date_to) if date_to else today
        date_from = fields.Date.to_date(date_from) if date_from else date_to.replace(day=1)
        if feed.period_status == "formal" and not feed._period_locked(date_to):
            raise UserError(self.env._("The period is not locked."))
        missing, mapper = self.env["finance.connect.feed.conversion"]._check_mapping(
            feed, date_to, date_from=date_from, date_to=date_to
        )
        if missing:
            raise MappingMissing("account", missing[0], "unmapped")
        delivery = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .create(
                {
                    "feed_id": feed.id,
                    "company_id": feed.company_id.id,
                    "mode": "pull",
                    "date_from": date_from,
                    "date_to": date_to,
                    "state": "delivered",
                    "period_status": feed.period_status,
                }
            )
        )
        reader = self.env["finance.connect.feed.reader"]
        rows = list(reader._rows(feed, date_from, date_to, delivery.name, mapper))
        totals = lib_controls.ControlTotals.of(rows)
        delivery._store_totals(totals)
        return {
            "feed": feed.name,
            "kind": feed.kind,
            "delivery": delivery.name,
            "period_status": feed.period_status,
            "currency": feed.currency_id.name,
            "rows": rows,
            "has_more": False,
            "next_cursor": None,
            "control": totals.as_dict(),
        }

    @api.model
    def _pull_acknowledge(self, feed, body):
        """Match a pull consumer's ``{"delivery", "control"}`` with the delivery
        of ``feed`` it names. Returns ``(delivery, result)``; an empty delivery
        when the feed has none of that reference."""
        feed.ensure_one()
        delivery = feed.delivery_ids.filtered(lambda d: d.name == body.get("delivery"))[:1]
        if not delivery:
            return delivery, None
        return delivery, delivery._acknowledge(body.get("control"), source="pull acknowledgement")
