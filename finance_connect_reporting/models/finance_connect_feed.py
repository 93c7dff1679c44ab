"""Reporting feeds: governed exports of journal items, balances and actuals.

A feed reads the ledger with read-only SQL (posted entries only), shapes rows
with the pure helpers of ``..lib`` (currency conversion, mapping to a group
chart, control totals) and hands them out three ways:

- push: one ``feed.delivery`` message per period or increment, through the
  core's outbound engine (signed, retried, idempotent);
- pull: ``GET /finance_connect/feed/<token>/rows`` with an opaque cursor
  (see ``_pull_page`` and readme/DEVELOP.md for the watermark);
- files: CSV and JSON Lines, streamed page by page.

The feed model holds the set-up, the watermark, push and file export. It
calls three AbstractModels with itself, each in its own file: the ledger
reader (``finance.connect.feed.reader``, the SQL), the conversion
(``finance.connect.feed.conversion``: rates, mapping and its checks) and the
pull protocol (``finance.connect.feed.pull``, behind the endpoint).
"""

import base64
import io
import logging
import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.addons.finance_connect.lib.webhook_inbound import hash_token
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..lib import controls as lib_controls
from ..lib import rows as lib_rows
from ..lib import writers as lib_writers

_logger = logging.getLogger(__name__)

KINDS = [
    ("journal_items", "Journal items (incremental)"),
    ("trial_balance", "Trial balance per period"),
    ("actuals", "Actuals (account x month x company x analytic)"),
    ("open_items", "Open receivables and payables"),
    ("bank_balances", "Bank balances per journal"),
]
MANAGER_GROUP = "finance_connect.group_manager"


class FinanceConnectFeed(models.Model):
    _name = "finance.connect.feed"
    _description = "Finance Connect reporting feed"
    _inherit = ["mail.thread"]
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        string="Owner company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    company_ids = fields.Many2many(
        "res.company",
        string="Companies",
        required=True,
        default=lambda self: self.env.company,
        help="The companies whose ledgers the feed reads.",
    )
    kind = fields.Selection(KINDS, required=True, default="journal_items", tracking=True)
    mode = fields.Selection(
        [
            ("batch", "Scheduled batch"),
            ("event", "On event (posted entries)"),
            ("pull", "Pull only"),
        ],
        required=True,
        default="batch",
        tracking=True,
        help="Batch: the daily cron delivers. On event: posting an entry queues an "
        "incremental delivery. Pull: the consumer reads the JSON endpoint.",
    )
    connection_id = fields.Many2one(
        "finance.connect.connection",
        string="Reporting connection",
        check_company=True,
        domain="[('kind', 'in', ('reporting', 'planning', 'treasury', 'other'))]",
        tracking=True,
        help="Where pushed deliveries go. Empty: pull and files only.",
    )
    mapping_id = fields.Many2one(
        "finance.connect.mapping",
        string="Mapping set",
        check_company=True,
        tracking=True,
        help="Local accounts to the group or planning chart (account lines, outbound). "
        "An unmapped account stops the delivery of its period.",
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        tracking=True,
        default=lambda self: self.env.company.currency_id,
    )
    rate_policy = fields.Selection(
        [
            ("closing_average", "Closing rate for balance sheet, average for P&L"),
            ("closing", "Closing rate for all accounts"),
            ("average", "Average rate for all accounts"),
        ],
        required=True,
        default="closing_average",
        tracking=True,
    )
    period_status = fields.Selection(
        [
            ("formal", "Formal (locked periods only)"),
            ("flash", "Flash (open periods, provisional)"),
        ],
        required=True,
        default="formal",
        tracking=True,
    )
    pull_token_hash = fields.Char(
        copy=False,
        readonly=True,
        index=True,
        groups=MANAGER_GROUP,
        help="sha256 of the secret in the pull URL; the URL itself is shown once, "
        "when it is generated. Generate a new one to revoke a consumer.",
    )
    pull_url = fields.Char(compute="_compute_pull_url", groups=MANAGER_GROUP)
    last_watermark = fields.Char(
        readonly=True,
        copy=False,
        default="0",
        help="Posting marker up to which the pushed increments went (exclusive).",
    )
    scope_user_id = fields.Many2one(
        "res.users",
        string="Companies set by",
        readonly=True,
        copy=False,
        help="Who last set the feed's companies. The pull endpoint and the deliveries "
        "read a company only while this user may still access it.",
    )
    delivery_ids = fields.One2many("finance.connect.feed.delivery", "feed_id")
    delivery_count = fields.Integer(compute="_compute_delivery_count")

    _sql_constraints = [
        ("pull_token_hash_uniq", "unique(pull_token_hash)", "Pull tokens are unique.")
    ]

    @api.depends("pull_token_hash")
    def _compute_pull_url(self):
        hidden = self.env._("<token shown once, when generated>")
        for feed in self:
            feed.pull_url = self._pull_url_for(hidden) if feed.sudo().pull_token_hash else False

    def _pull_url_for(self, token):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return f"{base}/finance_connect/feed/{token}/rows"

    def _check_token_write(self, vals):
        """Pull tokens are generated (``action_regenerate_token``), never typed:
        a chosen token such as ``1`` would be guessed. The push marker moves
        with the deliveries only."""
        if "pull_token_hash" in vals and not self.env.su:
            raise AccessError(
                self.env._(
                    "A feed's pull token is generated by the New pull URL button, "
                    "never set by hand."
                )
            )
        if "last_watermark" in vals and not self.env.su:
            # moved back, it would have the increments pushed again
            raise AccessError(
                self.env._(
                    "A feed's delivery marker is moved by its deliveries only, never by "
                    "hand: moved back, it would have the increments delivered again."
                )
            )

    def _issue_pull_token(self):
        """Generate a pull token, store its sha256, return it in clear (once).
        The caller has checked the rights."""
        self.ensure_one()
        token = secrets.token_urlsafe(32)
        self.sudo().pull_token_hash = hash_token(token)
        self.message_post(body=self.env._("Pull URL generated; the previous one stopped working."))
        return token

    def _compute_delivery_count(self):
        for feed in self:
            feed.delivery_count = len(feed.delivery_ids)

    # ------------------------------------------------------------------
    # Company scope: a feed reads only companies its author may access
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_token_write(vals)
        if not self.env.su:
            for vals in vals_list:
                vals["scope_user_id"] = self.env.uid
        feeds = super().create(vals_list)
        feeds._check_author_companies()
        return feeds

    def write(self, vals):
        self._check_token_write(vals)
        if not self.env.su:
            vals = dict(vals)
            vals.pop("scope_user_id", None)
            if {"company_ids", "company_id"} & set(vals):
                vals["scope_user_id"] = self.env.uid
        res = super().write(vals)
        if {"company_ids", "company_id"} & set(vals):
            self._check_author_companies()
        return res

    @api.constrains("company_id", "company_ids")
    def _check_own_company_included(self):
        for feed in self:
            if feed.company_id not in feed.company_ids:
                raise ValidationError(
                    self.env._(
                        "Feed %(feed)s must include its owner company %(company)s in its "
                        "companies.",
                        feed=feed.name,
                        company=feed.company_id.name,
                    )
                )

    def _check_author_companies(self):
        """Only companies the user may access (their allowed companies, not only
        the active ones): a manager of A cannot read B's ledger through a feed."""
        if self.env.su:
            return
        allowed = self.env.user.company_ids
        for feed in self:
            outside = feed.company_ids - allowed
            if outside:
                raise AccessError(
                    self.env._(
                        "You cannot give feed %(feed)s the companies %(companies)s: you have no "
                        "access to them. Ask someone with access to every company of the feed.",
                        feed=feed.name,
                        companies=", ".join(outside.mapped("name")),
                    )
                )

    def _scope_ok(self):
        """Whether the feed may still read its companies: the user who set them
        is active and still has access to each (checked by the pull endpoint,
        the cron and the jobs, which run as superuser)."""
        self.ensure_one()
        author = self.sudo().scope_user_id
        if not author:
            return True  # set by the system (data files, superuser scripts)
        return author.active and not (self.sudo().company_ids - author.company_ids)

    def _check_scope(self):
        if not self._scope_ok():
            raise UserError(
                self.env._(
                    "Feed %(feed)s reads companies that %(user)s, who chose them, can no "
                    "longer access: nothing is delivered until someone with access to every "
                    "company saves the feed's companies again.",
                    feed=self.name,
                    user=self.sudo().scope_user_id.name,
                )
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_regenerate_token(self):
        """A new pull URL, shown once in a notification; the old one stops
        working. Managers only, on feeds of their companies."""
        self.ensure_one()
        self.env["finance.connect.exception"]._check_manager()
        self.check_access("write")
        url = self._pull_url_for(self._issue_pull_token())
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("New pull URL (shown once)"),
                "message": url,
                "sticky": True,
                "type": "warning",
            },
        }

    def action_deliver_last_period(self):
        """Deliver the last closed month (formal) or the current month (flash)."""
        self.env["finance.connect.exception"]._check_manager()
        self.check_access("write")
        pull_only = self.filtered(lambda feed: not feed.connection_id)
        if pull_only:
            raise UserError(
                self.env._(
                    "%(feeds)s has no reporting connection, so there is nowhere to deliver"
                    " to: its consumer reads it through the pull endpoint, or you export"
                    ' it as a file ("Export file"). To push it, choose a reporting'
                    " connection on the feed first.",
                    feeds=", ".join(pull_only.mapped("display_name")),
                )
            )
        for feed in self:
            feed._deliver_scheduled()
        return self.action_open_deliveries()

    def action_open_deliveries(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Deliveries of %(feed)s", feed=self.name),
            "res_model": "finance.connect.feed.delivery",
            "view_mode": "list,form",
            "domain": [("feed_id", "=", self.id)],
        }

    # ------------------------------------------------------------------
    # Watermark (see readme/DEVELOP.md)
    # ------------------------------------------------------------------

    @api.model
    def _post_marker(self):
        """The marker stamped on entries posted by this transaction: its xid."""
        self.env.cr.execute(SQL("SELECT pg_current_xact_id()::text::bigint"))
        return self.env.cr.fetchone()[0]

    @api.model
    def _snapshot_watermark(self):
        """Exclusive upper bound of markers whose transactions are all finished.

        Every transaction with an xid below the snapshot's xmin has committed
        or aborted: the set of rows under it can no longer change.
        """
        self.env.cr.execute(SQL("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------------
    # Lock dates
    # ------------------------------------------------------------------

    def _lock_date(self, company):
        """The date up to which ``company``'s ledger is locked (None: nothing)."""
        dates = [d for d in (company.fiscalyear_lock_date, company.hard_lock_date) if d]
        return max(dates) if dates else None

    def _period_locked(self, date_to):
        """Whether every company of the feed is locked through ``date_to``."""
        return all((lock := self._lock_date(c)) and lock >= date_to for c in self.company_ids)

    # ------------------------------------------------------------------
    # Push: deliveries
    # ------------------------------------------------------------------

    def _deliver_scheduled(self):
        self.ensure_one()
        self._check_scope()
        if self.kind == "journal_items":
            return self._deliver_increment()
        today = fields.Date.context_today(self)
        first_this_month = today.replace(day=1)
        if self.period_status == "formal":
            date_to = first_this_month - timedelta(days=1)
            date_from = date_to.replace(day=1)
        else:
            date_from, date_to = first_this_month, today
        return self._deliver_period(date_from, date_to)

    def _deliver_period(self, date_from, date_to, reason=None):
        """Deliver one period; returns the delivery (existing one if unchanged).

        Formal feeds only deliver locked periods. An unmapped account blocks the
        period (mapping exception, nothing sent). A period delivered before is
        delivered again only when its rows changed, with the reason.
        """
        self.ensure_one()
        self._check_scope()
        date_from, date_to = (fields.Date.to_date(date_from), fields.Date.to_date(date_to))
        Delivery = self.env["finance.connect.feed.delivery"].sudo()
        if self.period_status == "formal" and not self._period_locked(date_to):
            raise UserError(
                self.env._(
                    "The feed %(feed)s is formal: the period up to %(date)s must be locked in "
                    "every company (lock dates) before it is delivered.",
                    feed=self.name,
                    date=date_to,
                )
            )
        self.env["account.move.line"].flush_model()
        self.env["account.move"].flush_model()
        with_dates = self.kind in ("journal_items", "trial_balance", "actuals")
        missing, mapper = self.env["finance.connect.feed.conversion"]._check_mapping(
            self, date_to, date_from=date_from if with_dates else None, date_to=date_to
        )
        vals = {
            "feed_id": self.id,
            "company_id": self.company_id.id,
            "mode": "push",
            "date_from": date_from,
            "date_to": date_to,
            "period_status": self.period_status,
        }
        if missing:
            return Delivery.create(
                dict(
                    vals,
                    state="blocked",
                    note=self.env._("Unmapped accounts: %(codes)s", codes=", ".join(missing)),
                )
            )
        previous = Delivery.search(
            [
                ("feed_id", "=", self.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
                ("state", "not in", ("blocked", "superseded")),
                ("mode", "=", "push"),
            ],
            order="id desc",
            limit=1,
        )
        reader = self.env["finance.connect.feed.reader"]
        content = lib_controls.ControlTotals.of(
            reader._rows(self, date_from, date_to, None, mapper)
        )
        if previous and previous.content_sha256 == content.sha256:
            return previous
        delivery = Delivery.create(dict(vals, state="draft", content_sha256=content.sha256))
        rows = list(reader._rows(self, date_from, date_to, delivery.name, mapper))
        if previous:
            reason = reason or previous._change_reason(rows)
            delivery.write({"previous_id": previous.id, "note": reason})
            previous.write({"state": "superseded"})
        return delivery._send(rows, reason)

    def _deliver_increment(self):
        """Push the journal items posted since the last increment (event and batch)."""
        self.ensure_one()
        self._check_scope()
        low = int(self.last_watermark or 0)
        high = self._snapshot_watermark()
        self.env["account.move.line"].flush_model()
        reader = self.env["finance.connect.feed.reader"]
        codes = reader._account_codes(self, low=low, high=high)
        if not codes:
            return self.env["finance.connect.feed.delivery"]
        Delivery = self.env["finance.connect.feed.delivery"].sudo()
        vals = {
            "feed_id": self.id,
            "company_id": self.company_id.id,
            "mode": "push",
            "watermark_from": str(low),
            "watermark_to": str(high),
            "period_status": self.period_status,
        }
        missing, mapper = self.env["finance.connect.feed.conversion"]._check_mapping(
            self, fields.Date.context_today(self), codes
        )
        if missing:
            return Delivery.create(
                dict(
                    vals,
                    state="blocked",
                    note=self.env._("Unmapped accounts: %(codes)s", codes=", ".join(missing)),
                )
            )
        delivery = Delivery.create(dict(vals, state="draft"))
        rows = list(reader._journal_item_rows(self, delivery.name, mapper, low=low, high=high))
        delivery._send(rows, None)
        self.sudo().last_watermark = str(high)
        return delivery

    @api.model
    def _on_moves_posted(self, moves):
        """Queue one incremental delivery per event feed of the posted companies."""
        feeds = self.sudo().search(
            [
                ("mode", "=", "event"),
                ("connection_id", "!=", False),
                ("company_ids", "in", moves.company_id.ids),
            ]
        )
        for feed in feeds:
            feed._enqueue_increment()

    def _enqueue_increment(self, eta=None):
        self.ensure_one()
        self.with_delay(
            channel=self.connection_id._get_channel(),
            eta=eta,
            identity_key=f"finance_connect_reporting-increment-{self.id}",
            description=f"Feed {self.name}: incremental delivery",
        )._job_deliver_increment()

    def _job_deliver_increment(self):
        """Queued job body; idempotent (the watermark moves only after a delivery).

        It first takes a slot of its connection's service tier (bulk, for a
        reporting connection: ``finance.connect.tier._gate_try_enter``); when
        the tier is busy or paused it comes back later, nothing lost."""
        conn = self.sudo().connection_id
        seconds = self.env["finance.connect.tier"]._gate_retry_seconds()
        wait = self.env["finance.connect.delivery"]._gate_wait(
            conn, retry=lambda: self._enqueue_increment(eta=seconds)
        )
        if wait:
            if "busy" not in wait:
                self._enqueue_increment(eta=60)  # paused: look again in a minute
            return wait
        delivery = self._deliver_increment()
        return f"delivered {delivery.name}" if delivery else "nothing new"

    @api.model
    def _cron_deliver_feeds(self):
        for feed in self.search([("mode", "=", "batch")]):
            try:
                with self.env.cr.savepoint():
                    feed._deliver_scheduled()
            except UserError as exc:
                _logger.info("finance_connect_reporting: feed %s not delivered: %s", feed.name, exc)

    # ------------------------------------------------------------------
    # Files
    # ------------------------------------------------------------------

    def _export(self, out, file_format, date_from, date_to, delivery_ref=None):
        """Stream the period's rows to ``out`` (binary) as CSV or JSON Lines.

        Returns the file's :class:`~..lib.controls.ControlTotals`: row count,
        debit and credit totals, and the SHA-256 of the file as written (for
        JSON Lines, also the hash of the canonical rows).
        """
        self.ensure_one()
        missing, mapper = self.env["finance.connect.feed.conversion"]._check_mapping(
            self, date_to, date_from=date_from, date_to=date_to
        )
        if missing:
            raise UserError(
                self.env._("Unmapped accounts stop the export: %(codes)s", codes=", ".join(missing))
            )
        columns = lib_rows.COLUMNS[self.kind]
        reader = self.env["finance.connect.feed.reader"]
        if self.kind == "journal_items":
            self.env.flush_all()
            return reader._journal_item_export(
                self, out, file_format, delivery_ref, mapper, date_from=date_from, date_to=date_to
            )
        rows = reader._rows(self, date_from, date_to, delivery_ref, mapper)
        if file_format == "csv":
            return lib_writers.write_csv(rows, out, columns)
        return lib_writers.write_jsonl(rows, out)

    def action_export_file(self):
        """Export the current month as JSON Lines (CSV with context fc_format=csv)."""
        self.ensure_one()
        # The whole ledger of the feed's companies: managers of all of them.
        self.env["finance.connect.exception"]._check_manager()
        self.check_access("write")
        file_format = self.env.context.get("fc_format", "jsonl")
        today = fields.Date.context_today(self)
        date_from = fields.Date.to_date(self.env.context.get("fc_date_from")) or today.replace(
            day=1
        )
        date_to = fields.Date.to_date(self.env.context.get("fc_date_to")) or today
        buf = io.BytesIO()
        totals = self._export(buf, file_format, date_from, date_to)
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"{self.name}-{date_from}-{date_to}.{file_format}",
                "datas": base64.b64encode(buf.getvalue()),
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        self.message_post(
            body=self.env._(
                "Exported %(n)s rows (debit %(debit)s, credit %(credit)s); SHA-256 of the"
                " file: %(sha)s.",
                n=totals.row_count,
                debit=totals.debit,
                credit=totals.credit,
                sha=totals.sha256,
            ),
            attachment_ids=attachment.ids,
        )
        return {
            "type": "ir.actions.act_url",
            "target": "self",
            "url": f"/web/content/{attachment.id}?download=true",
        }
