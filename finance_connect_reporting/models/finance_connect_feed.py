"""Reporting feeds: governed exports of journal items, balances and actuals.

A feed reads the ledger with read-only SQL (posted entries only), shapes rows
with the pure helpers of ``..lib`` (currency conversion, mapping to a group
chart, control totals) and hands them out three ways:

- push: one ``feed.delivery`` message per period or increment, through the
  core's outbound engine (signed, retried, idempotent);
- pull: ``GET /finance_connect/feed/<token>/rows`` with an opaque cursor
  (see ``_fc_pull_page`` and readme/DEVELOP.md for the watermark);
- files: CSV and JSON Lines, streamed page by page.
"""

import base64
import contextlib
import hmac
import io
import itertools
import json
import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from odoo import api, fields, models
from odoo.addons.finance_connect.lib import mapping as lib_mapping
from odoo.addons.finance_connect.models.finance_connect_connection import hash_token
from odoo.addons.finance_connect.models.finance_connect_message import MappingMissing
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..lib import controls as lib_controls
from ..lib import copystream as lib_copystream
from ..lib import cursor as lib_cursor
from ..lib import rows as lib_rows
from ..lib import sqltext as lib_sqltext
from ..lib import writers as lib_writers

_logger = logging.getLogger(__name__)

KINDS = [
    ("journal_items", "Journal items (incremental)"),
    ("trial_balance", "Trial balance per period"),
    ("actuals", "Actuals (account x month x company x analytic)"),
    ("open_items", "Open receivables and payables"),
    ("bank_balances", "Bank balances per journal"),
]
PAGE_MAX = 10000
_CURSOR_SEQ = itertools.count(1)
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
            feed.pull_url = self._fc_pull_url_for(hidden) if feed.sudo().pull_token_hash else False

    def _fc_pull_url_for(self, token):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return f"{base}/finance_connect/feed/{token}/rows"

    def _fc_check_token_write(self, vals):
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

    def _fc_issue_pull_token(self):
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
            self._fc_check_token_write(vals)
        if not self.env.su:
            for vals in vals_list:
                vals["scope_user_id"] = self.env.uid
        feeds = super().create(vals_list)
        feeds._fc_check_author_companies()
        return feeds

    def write(self, vals):
        self._fc_check_token_write(vals)
        if not self.env.su:
            vals = dict(vals)
            vals.pop("scope_user_id", None)
            if {"company_ids", "company_id"} & set(vals):
                vals["scope_user_id"] = self.env.uid
        res = super().write(vals)
        if {"company_ids", "company_id"} & set(vals):
            self._fc_check_author_companies()
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

    def _fc_check_author_companies(self):
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

    def _fc_scope_ok(self):
        """Whether the feed may still read its companies: the user who set them
        is active and still has access to each (checked by the pull endpoint,
        the cron and the jobs, which run as superuser)."""
        self.ensure_one()
        author = self.sudo().scope_user_id
        if not author:
            return True  # set by the system (data files, superuser scripts)
        return author.active and not (self.sudo().company_ids - author.company_ids)

    def _fc_check_scope(self):
        if not self._fc_scope_ok():
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
        url = self._fc_pull_url_for(self._fc_issue_pull_token())
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
            feed._fc_deliver_scheduled()
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
    def _fc_post_marker(self):
        """The marker stamped on entries posted by this transaction: its xid."""
        self.env.cr.execute("SELECT pg_current_xact_id()::text::bigint")
        return self.env.cr.fetchone()[0]

    @api.model
    def _fc_snapshot_watermark(self):
        """Exclusive upper bound of markers whose transactions are all finished.

        Every transaction with an xid below the snapshot's xmin has committed
        or aborted: the set of rows under it can no longer change.
        """
        self.env.cr.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------------
    # Reading the ledger
    # ------------------------------------------------------------------

    def _fc_company_partner_ids(self):
        self.env.cr.execute("SELECT partner_id FROM res_company WHERE partner_id IS NOT NULL")
        return {r[0] for r in self.env.cr.fetchall()}

    def _fc_lock_date(self, company):
        """The date up to which ``company``'s ledger is locked (None: nothing)."""
        dates = [d for d in (company.fiscalyear_lock_date, company.hard_lock_date) if d]
        return max(dates) if dates else None

    def _fc_period_locked(self, date_to):
        """Whether every company of the feed is locked through ``date_to``."""
        return all((lock := self._fc_lock_date(c)) and lock >= date_to for c in self.company_ids)

    def _fc_base_sql(self, joins=""):
        """FROM/WHERE shared by every kind: posted lines of the feed's companies;
        formal feeds only see dates up to each company's lock date."""
        formal = self.period_status == "formal"
        return f"""
              FROM account_move_line aml
              JOIN account_move m ON m.id = aml.move_id
              JOIN account_account acc ON acc.id = aml.account_id
              JOIN res_company c ON c.id = aml.company_id
              JOIN res_currency cur ON cur.id = c.currency_id
              {joins}
             WHERE aml.company_id = ANY(%(companies)s)
               AND m.state = 'posted'
               AND aml.display_type NOT IN ('line_section', 'line_note')
               {"AND NOT " + self._PROVISIONAL if formal else ""}
        """

    _PROVISIONAL = (
        "(aml.date > COALESCE(GREATEST(c.fiscalyear_lock_date, c.hard_lock_date),"
        " DATE '0001-01-01'))"
    )
    _CODE = "acc.code_store->>split_part(c.parent_path, '/', 1)"

    def _fc_params(self, **kw):
        return dict(companies=self.company_ids.ids, **kw)

    # Journal items are written as text by PostgreSQL (lib/sqltext.py): the
    # rates and mapped codes, decided in Python, join the query as arrays.
    _PERIOD = "left(aml.date::text, 7)"
    _MONTH_END = "(date_trunc('month', aml.date::timestamp) + interval '1 month - 1 day')::date"

    def _fc_window_sql(self, low=None, high=None, date_from=None, date_to=None):
        """The conditions selecting the journal items of a pull window or period."""
        where = []
        if low is not None:
            where.append("COALESCE(m.fc_post_xid, 0) >= %(low)s")
        if high is not None:
            where.append("COALESCE(m.fc_post_xid, 0) < %(high)s")
        if date_from:
            where.append("aml.date >= %(date_from)s")
        if date_to:
            where.append("aml.date <= %(date_to)s")
        return "".join(" AND " + w for w in where)

    def _fc_rate_kind_sql(self):
        """SQL of :func:`..lib.currency.rate_kind` for the feed's policy."""
        if self.rate_policy == "closing_average":
            return (
                "CASE WHEN acc.account_type LIKE 'income%%' OR acc.account_type LIKE 'expense%%'"
                " THEN 'average' ELSE 'closing' END"
            )
        return "%(fc_policy)s::text"

    def _fc_journal_item_fields(self, delivery_ref, fx, gm):
        """The fields ``(key, kind, sql)`` of a journal item row (see lib/sqltext.py).

        ``fx``: the rates join is present (companies in another currency than
        the feed's); ``gm``: the mapped group codes join is present. Account
        types, currency codes and dates never need escaping ("plain").
        """

        def feed_amount(col):
            sql = f"aml.{col}"
            if fx:
                sql = (
                    f"CASE WHEN fx.rate IS NULL THEN {sql}"
                    f" ELSE round({sql} * fx.rate, %(fc_places)s) END"
                )
            return ("feed_" + col, "plain", sql)

        return [
            ("account_code", "text", self._CODE),
            ("account_type", "plain", "acc.account_type"),
            ("balance", "plain", "aml.balance"),
            ("company", "text", "c.name"),
            ("company_id", "int", "aml.company_id"),
            ("credit", "plain", "aml.credit"),
            ("currency", "plain", "cur.name"),
            ("date", "plain", "aml.date"),
            ("debit", "plain", "aml.debit"),
            ("delivery", "const", delivery_ref),
            feed_amount("balance"),
            feed_amount("credit"),
            feed_amount("debit"),
            ("feed_currency", "const", self.currency_id.name),
            ("group_account", "text", "gm.target") if gm else ("group_account", "const", None),
            ("intercompany", "bool", "COALESCE(aml.partner_id = ANY(%(fc_ic)s), FALSE)"),
            ("journal", "int", "aml.journal_id"),
            ("line_id", "int", "aml.id"),
            ("move_id", "int", "aml.move_id"),
            ("move_name", "text", "m.name"),
            ("partner_id", "int", "aml.partner_id"),
            ("period", "plain", self._PERIOD),
            ("provisional", "bool", self._PROVISIONAL),
            ("rate", "plain", "COALESCE(fx.rate_text, '1')") if fx else ("rate", "const", "1"),
            (
                "rate_date",
                "plain",
                f"COALESCE(fx.rate_date, {self._MONTH_END}::text)" if fx else self._MONTH_END,
            ),
            ("rate_kind", "plain", self._fc_rate_kind_sql()),
            ("rate_source", "text", "COALESCE(fx.source, 'same currency')")
            if fx
            else ("rate_source", "const", "same currency"),
        ]

    def _fc_journal_item_plan(self, where, params, mapper, limit=None):
        """Joins and parameters carrying the rates and group codes of the rows.

        Rates are looked up (:meth:`_fc_rate_book`) for the (company, month,
        rate kind) of the rows of companies kept in another currency than the
        feed's; group codes (``mapper``) for their (account code, month end).
        Raises :class:`MappingMissing` for an unmapped code. Returns
        ``(joins, params, fx, gm)``.
        """
        foreign = self.company_ids.filtered(lambda c: c.currency_id != self.currency_id)
        if not foreign and not mapper:
            return "", {}, False, False
        page = " ORDER BY aml.id LIMIT %(limit)s" if limit else ""
        self.env.cr.execute(
            f"""
            SELECT DISTINCT company_id, period, month_end::text, code, account_type
              FROM (SELECT aml.company_id, {self._PERIOD} AS period,
                           {self._MONTH_END} AS month_end, COALESCE({self._CODE}, '') AS code,
                           acc.account_type
                    {self._fc_base_sql()} {where}{page}) rows
            """,
            dict(params, limit=limit),
        )
        found = self.env.cr.fetchall()
        book, currencies = self._fc_rate_book(), {c.id: c.currency_id.name for c in foreign}
        rates, codes = {}, {}
        for company_id, period, month_end, code, account_type in found:
            if company_id in currencies:
                rate = book.get(
                    company_id, currencies[company_id], account_type, period + "-01", month_end
                )
                rates[company_id, period, rate.kind] = rate
            if mapper:
                codes[code, month_end] = mapper(code, month_end)
        joins, extra = "", {}
        if foreign:
            keys = list(rates)
            joins += f"""
              LEFT JOIN unnest(%(fx_company)s::int[], %(fx_period)s::text[], %(fx_kind)s::text[],
                               %(fx_rate)s::numeric[], %(fx_text)s::text[], %(fx_date)s::text[],
                               %(fx_source)s::text[])
                     AS fx(company_id, period, kind, rate, rate_text, rate_date, source)
                     ON fx.company_id = aml.company_id AND fx.period = {self._PERIOD}
                    AND fx.kind = {self._fc_rate_kind_sql()}"""
            extra.update(
                fx_company=[k[0] for k in keys],
                fx_period=[k[1] for k in keys],
                fx_kind=[k[2] for k in keys],
                fx_rate=[str(rates[k].rate) for k in keys],
                fx_text=[rates[k].text for k in keys],
                fx_date=[rates[k].date for k in keys],
                fx_source=[rates[k].source for k in keys],
            )
        if mapper:
            keys = list(codes)
            joins += f"""
              LEFT JOIN unnest(%(gm_code)s::text[], %(gm_date)s::date[], %(gm_target)s::text[])
                     AS gm(code, month_end, target)
                     ON gm.code = COALESCE({self._CODE}, '') AND gm.month_end = {self._MONTH_END}"""
            extra.update(
                gm_code=[k[0] for k in keys],
                gm_date=[k[1] for k in keys],
                gm_target=[None if codes[k] is None else str(codes[k]) for k in keys],
            )
        return joins, extra, bool(foreign), bool(mapper)

    def _fc_journal_item_query(
        self,
        delivery_ref,
        mapper=None,
        low=None,
        high=None,
        date_from=None,
        date_to=None,
        after_id=0,
        limit=None,
        columns=("id", "debit", "credit", "json"),
    ):
        """``(query, params)`` of the journal items of a window or period in id
        order, selecting ``columns`` among ``id``, ``debit``, ``credit`` (texts),
        ``json`` (the canonical row) and ``csv`` (its CSV line).

        ``limit``: a keyset page of that many rows after ``after_id``.
        """
        where = self._fc_window_sql(low, high, date_from, date_to) + " AND aml.id > %(after)s"
        params = self._fc_params(
            low=low, high=high, date_from=date_from, date_to=date_to, after=after_id
        )
        joins, extra, fx, gm = self._fc_journal_item_plan(where, params, mapper, limit)
        fields_ = self._fc_journal_item_fields(delivery_ref, fx, gm)
        sql = {
            "id": "aml.id",
            "debit": "aml.debit::text",
            "credit": "aml.credit::text",
            "json": lib_sqltext.json_object_sql(fields_),
            "csv": lib_sqltext.csv_line_sql(fields_, lib_rows.JOURNAL_ITEM_COLUMNS),
        }
        params.update(
            extra,
            limit=limit,
            fc_places=self.currency_id.decimal_places,
            fc_policy=self.rate_policy,
            fc_ic=list(self._fc_company_partner_ids()),
        )
        query = (
            f"SELECT {', '.join(sql[c] for c in columns)} {self._fc_base_sql(joins)} {where}"
            f" ORDER BY aml.id{' LIMIT %(limit)s' if limit else ''}"
        )
        return query, params

    def _fc_journal_item_texts(self, delivery_ref, mapper=None, batch=5000, **window):
        """Journal items in id order, written by PostgreSQL, in batches of tuples
        ``(line_id, debit, credit, canonical JSON text[, CSV line])``.

        ``window``: see :meth:`_fc_journal_item_query` (and ``with_csv``).
        With ``limit``, one keyset query (a pull page); without it, the whole
        window or period through a server-side cursor.
        """
        cr = self.env.cr
        columns = ("id", "debit", "credit", "json") + (
            ("csv",) if window.pop("with_csv", False) else ()
        )
        query, params = self._fc_journal_item_query(delivery_ref, mapper, columns=columns, **window)
        if window.get("limit"):
            cr.execute(query, params)
            records = cr.fetchall()
            if records:
                yield records
            return
        name = f"fc_feed_rows_{next(_CURSOR_SEQ)}"
        # The cursor name is generated here and the query built from constants:
        # values are parameters.
        cr.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {query}", params)  # pylint: disable=sql-injection
        try:
            while True:
                cr.execute(f"FETCH {int(batch)} FROM {name}")  # pylint: disable=sql-injection
                records = cr.fetchall()
                if records:
                    yield records
                if len(records) < batch:
                    return
        finally:
            with contextlib.suppress(Exception):
                cr.execute(f"CLOSE {name}")  # pylint: disable=sql-injection

    def _fc_journal_item_export(self, out, file_format, delivery_ref, mapper, after_id=0, **window):
        """Stream the journal items of a period or pull run to ``out`` with
        ``COPY ... TO STDOUT``; ``window``: see :meth:`_fc_journal_item_query`.

        PostgreSQL writes the rows (lib/sqltext.py: the canonical JSON text, or
        the CSV line) and sends them while this process hashes and writes them
        (lib/copystream.py): no Python object per row. The debit and credit
        totals are summed by PostgreSQL over the same rows in the same snapshot
        (the cursor is REPEATABLE READ), and the row counts of both must agree.
        """
        cr = self.env.cr
        columns = ("csv",) if file_format == "csv" else ("json",)
        query, params = self._fc_journal_item_query(
            delivery_ref, mapper, after_id=after_id, columns=columns, **window
        )
        if file_format == "csv":
            sink = lib_copystream.CsvSink(out, lib_rows.JOURNAL_ITEM_COLUMNS)
        else:
            sink = lib_copystream.JsonLinesSink(out)
        # The query is built from constants, its values bound by mogrify.
        cr._obj.copy_expert(f"COPY ({cr.mogrify(query, params).decode()}) TO STDOUT", sink)
        totals = sink.close()
        where = self._fc_window_sql(**window) + " AND aml.id > %(after)s"
        cr.execute(
            "SELECT count(*), COALESCE(sum(aml.debit), 0)::text,"
            f" COALESCE(sum(aml.credit), 0)::text {self._fc_base_sql()} {where}",
            self._fc_params(after=after_id, **window),
        )
        count, debit, credit = cr.fetchone()
        if count != totals.row_count:
            raise UserError(
                self.env._(
                    "The export wrote %(n)s rows but the period has %(m)s: export it again.",
                    n=totals.row_count,
                    m=count,
                )
            )
        totals.add_amounts(debit, credit)
        return totals

    def _fc_journal_item_rows(self, delivery_ref, mapper=None, **window):
        """The journal item rows (dicts) of a window or period: the texts, parsed."""
        loads = json.loads
        for records in self._fc_journal_item_texts(delivery_ref, mapper, **window):
            for record in records:
                yield loads(record[3])

    def _fc_aggregate_records(self, date_from, date_to):
        """Tuples (company_id, company, period, code, type, analytic, count, debit,
        credit, balance, currency, provisional) of the aggregated kinds."""
        cr = self.env.cr
        params = self._fc_params(date_from=date_from, date_to=date_to)
        code = self._CODE
        if self.kind == "trial_balance":
            cr.execute(
                f"""
                SELECT aml.company_id, c.name, NULL, {code}, acc.account_type, NULL,
                       count(*), sum(aml.debit)::text, sum(aml.credit)::text,
                       sum(aml.balance)::text, cur.name, bool_or({self._PROVISIONAL})
                {self._fc_base_sql()}
                   AND aml.date BETWEEN %(date_from)s AND %(date_to)s
                 GROUP BY aml.company_id, c.name, {code}, acc.account_type, cur.name
                 ORDER BY aml.company_id, {code}
            """,
                params,
            )
        elif self.kind == "actuals":
            # Analytic distribution split by its percentages, rounded per group.
            cr.execute(
                f"""
                SELECT aml.company_id, c.name, to_char(aml.date, 'YYYY-MM'), {code},
                       acc.account_type, ad.key, count(*),
                       round(sum(aml.debit * COALESCE(ad.value::numeric, 100) / 100),
                             cur.decimal_places)::text,
                       round(sum(aml.credit * COALESCE(ad.value::numeric, 100) / 100),
                             cur.decimal_places)::text,
                       round(sum(aml.balance * COALESCE(ad.value::numeric, 100) / 100),
                             cur.decimal_places)::text,
                       cur.name, bool_or({self._PROVISIONAL})
                {self._fc_base_sql(
                    "LEFT JOIN LATERAL jsonb_each_text(aml.analytic_distribution) ad ON TRUE")}
                   AND aml.date BETWEEN %(date_from)s AND %(date_to)s
                 GROUP BY aml.company_id, c.name, to_char(aml.date, 'YYYY-MM'), {code},
                          acc.account_type, ad.key, cur.name, cur.decimal_places
                 ORDER BY 1, 3, 4, 6
            """,
                params,
            )
        else:
            raise UserError(self.env._("Feed kind %(kind)s has no aggregates.", kind=self.kind))
        return cr.fetchall()

    # ------------------------------------------------------------------
    # Rows
    # ------------------------------------------------------------------

    def _fc_rate_book(self):
        places = self.currency_id.decimal_places
        return lib_rows.RateBook(self._fc_rate_lookup, self.rate_policy, places)

    def _fc_rate_lookup(self, company_id, currency_code, kind, date_from, date_to):
        company = self.env["res.company"].browse(company_id)
        source_cur, target = company.currency_id, self.currency_id
        if source_cur == target:
            return lib_rows.Rate(1, kind, date_to, "same currency")
        Currency = self.env["res.currency"]
        d_to = fields.Date.to_date(date_to)
        if kind == "closing":
            rate = Currency._get_conversion_rate(source_cur, target, company, d_to)
            return lib_rows.Rate(
                Decimal(repr(rate)), kind, date_to, f"res.currency.rate closing {date_to}"
            )
        d_from = fields.Date.to_date(date_from)
        self.env["res.currency.rate"].flush_model()
        self.env.cr.execute(
            """SELECT DISTINCT name FROM res_currency_rate
                WHERE currency_id IN %s AND name BETWEEN %s AND %s
                  AND (company_id IS NULL OR company_id = %s)""",
            ((source_cur.id, target.id), d_from, d_to, company.root_id.id),
        )
        days = sorted({d_from} | {r[0] for r in self.env.cr.fetchall()})
        rates = [
            Decimal(repr(Currency._get_conversion_rate(source_cur, target, company, d)))
            for d in days
        ]
        return lib_rows.Rate(
            sum(rates, Decimal(0)) / len(rates),
            kind,
            date_to,
            f"res.currency.rate average {date_from}..{date_to} " f"({len(days)} rate dates)",
        )

    def _fc_mapper(self):
        """A function (account code, on date) -> group code, or None without a set.

        Raises the core's :class:`MappingMissing` for an unmapped code.
        """
        table = self.mapping_id.sudo()._fc_get_table() if self.mapping_id else None
        if table is None or not table.has_type("account", lib_mapping.OUTBOUND):
            return None
        cache = {}

        def resolve(code, on_date):
            key = (code, on_date)
            if key not in cache:
                try:
                    cache[key] = table.resolve(
                        "account", code or "", lib_mapping.OUTBOUND, fields.Date.to_date(on_date)
                    ).target
                except lib_mapping.MappingError as exc:
                    raise MappingMissing("account", code, "unmapped") from exc
            return cache[key]

        return resolve

    def _fc_aggregate_rows(self, date_from, date_to, delivery_ref, book=None, mapper=None):
        book = book or self._fc_rate_book()
        d_from, d_to = str(date_from), str(date_to)
        feed_currency = self.currency_id.name
        for (
            company_id,
            company,
            period,
            code,
            account_type,
            analytic,
            count,
            debit,
            credit,
            balance,
            currency,
            provisional,
        ) in self._fc_aggregate_records(date_from, date_to):
            if period:
                first, last = lib_rows.month_bounds(period + "-01")
                r_from, r_to = max(first, d_from), min(last, d_to)
            else:
                r_from, r_to = d_from, d_to
            row = {
                "company_id": company_id,
                "company": company,
                "period": period or f"{d_from}..{d_to}",
                "account_code": code,
                "account_type": account_type,
                "group_account": mapper(code, d_to) if mapper else None,
                "analytic": analytic,
                "line_count": count,
                "debit": debit,
                "credit": credit,
                "balance": balance,
                "currency": currency,
                "feed_currency": feed_currency,
                "provisional": provisional,
                "delivery": delivery_ref,
            }
            yield book.apply(row, book.get(company_id, currency, account_type, r_from, r_to))

    def _fc_open_item_rows(self, date_to, delivery_ref, book=None, mapper=None):
        """Open receivables and payables (residual today) with their expected date."""
        book = book or self._fc_rate_book()
        ic = self._fc_company_partner_ids()
        self.env.cr.execute(
            f"""
            SELECT aml.id, m.name, aml.company_id, c.name, {self._CODE}, acc.account_type,
                   aml.partner_id, aml.date::text, COALESCE(aml.date_maturity, aml.date)::text,
                   aml.amount_residual::text, cur.name, {self._PROVISIONAL}
            {self._fc_base_sql()}
               AND acc.account_type IN ('asset_receivable', 'liability_payable')
               AND NOT aml.reconciled AND aml.amount_residual <> 0
               AND aml.date <= %(date_to)s
             ORDER BY aml.id
        """,
            self._fc_params(date_to=date_to),
        )
        feed_currency = self.currency_id.name
        for (
            line_id,
            move_name,
            company_id,
            company,
            code,
            account_type,
            partner_id,
            day,
            expected,
            residual,
            currency,
            provisional,
        ) in self.env.cr.fetchall():
            amount = Decimal(residual)
            row = {
                "line_id": line_id,
                "move_name": move_name,
                "company_id": company_id,
                "company": company,
                "account_code": code,
                "account_type": account_type,
                "group_account": mapper(code, str(date_to)) if mapper else None,
                "partner_id": partner_id,
                "intercompany": partner_id in ic,
                "date": day,
                "expected_date": expected,
                "debit": residual if amount > 0 else "0.00",
                "credit": str(-amount) if amount < 0 else "0.00",
                "balance": residual,
                "currency": currency,
                "feed_currency": feed_currency,
                "provisional": provisional,
                "delivery": delivery_ref,
            }
            rate = book.get(company_id, currency, "asset", str(date_to), str(date_to))
            yield book.apply(row, rate, fields=("balance",))

    def _fc_bank_balance_rows(self, date_to, delivery_ref, book=None, mapper=None):
        book = book or self._fc_rate_book()
        self.env.cr.execute(
            f"""
            SELECT aml.company_id, c.name, j.code, {self._CODE}, sum(aml.debit)::text,
                   sum(aml.credit)::text, sum(aml.balance)::text, cur.name,
                   bool_or({self._PROVISIONAL})
            {self._fc_base_sql(
                "JOIN account_journal j ON j.default_account_id = aml.account_id"
                " AND j.type = 'bank' AND j.company_id = aml.company_id")}
               AND aml.date <= %(date_to)s
             GROUP BY aml.company_id, c.name, j.code, {self._CODE}, cur.name
             ORDER BY 1, 3
        """,
            self._fc_params(date_to=date_to),
        )
        feed_currency = self.currency_id.name
        for (
            company_id,
            company,
            journal,
            code,
            debit,
            credit,
            balance,
            currency,
            provisional,
        ) in self.env.cr.fetchall():
            row = {
                "company_id": company_id,
                "company": company,
                "journal": journal,
                "account_code": code,
                "group_account": mapper(code, str(date_to)) if mapper else None,
                "date": str(date_to),
                "debit": debit,
                "credit": credit,
                "balance": balance,
                "currency": currency,
                "feed_currency": feed_currency,
                "provisional": provisional,
                "delivery": delivery_ref,
            }
            rate = book.get(company_id, currency, "asset_cash", str(date_to), str(date_to))
            yield book.apply(row, rate, fields=("balance",))

    def _fc_rows(self, date_from, date_to, delivery_ref, mapper=None):
        """Every row of the feed for a period, streamed."""
        self.ensure_one()
        self.env.flush_all()
        book = self._fc_rate_book()
        if self.kind == "journal_items":
            yield from self._fc_journal_item_rows(
                delivery_ref, mapper, date_from=date_from, date_to=date_to
            )
        elif self.kind in ("trial_balance", "actuals"):
            yield from self._fc_aggregate_rows(date_from, date_to, delivery_ref, book, mapper)
        elif self.kind == "open_items":
            yield from self._fc_open_item_rows(date_to, delivery_ref, book, mapper)
        else:
            yield from self._fc_bank_balance_rows(date_to, delivery_ref, book, mapper)

    def _fc_account_codes(self, date_from=None, date_to=None, low=None, high=None):
        """The distinct account codes a delivery would carry (for the mapping check)."""
        self.env.flush_all()
        where = self._fc_window_sql(low, high, date_from, date_to)
        self.env.cr.execute(
            f"SELECT DISTINCT {self._CODE} {self._fc_base_sql()} {where}",
            self._fc_params(date_from=date_from, date_to=date_to, low=low, high=high),
        )
        return sorted(r[0] or "" for r in self.env.cr.fetchall())

    def _fc_check_mapping(self, on_date, codes=None, **window):
        """Open one mapping exception per unmapped code, resolve the feed's open
        ones whose code maps now; return ``(unmapped codes, mapper)``.

        ``codes``: the account codes to check; by default those of the rows of
        ``window`` (:meth:`_fc_account_codes`), read only when the feed maps
        accounts at all.
        """
        mapper = self._fc_mapper()
        if mapper is None:
            return [], None
        if codes is None:
            codes = self._fc_account_codes(**window)
        missing, mapped = [], []
        for code in codes:
            try:
                mapper(code, str(on_date))
            except MappingMissing as exc:
                missing.append(exc.value)
                self._fc_open_mapping_exception(exc)
            else:
                mapped.append(code)
        self._fc_resolve_mapping_exceptions(mapped)
        return missing, mapper

    def _fc_resolve_mapping_exceptions(self, codes):
        """Resolve this feed's open mapping exceptions of ``codes`` (mapped now):
        the accountant mapped the account and the feed used it without a gap."""
        if not codes:
            return
        found = (
            self.env["finance.connect.exception"]
            .sudo()
            .search(
                [
                    ("category", "=", "mapping"),
                    ("state", "in", ("open", "in_progress")),
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("mapping_value", "in", [str(c) for c in codes]),
                ]
            )
        )
        for exc in found:
            exc._fc_resolve(
                self.env._(
                    "Account %(code)s is mapped now: the feed %(feed)s used it without a gap.",
                    code=exc.mapping_value,
                    feed=self.name,
                ),
                "account mapped; feed used it",
            )

    def _fc_open_mapping_exception(self, exc):
        return self.env["finance.connect.exception"]._open(
            "mapping",
            self.env._(
                "No mapping: account %(code)s (feed %(feed)s)", code=exc.value, feed=self.name
            ),
            self.env._(
                "Account %(code)s has no line in the mapping set %(set)s, so the feed "
                "%(feed)s delivers nothing of the periods that use it (nothing is sent "
                "half-mapped). Map the account, then deliver the period again.",
                code=exc.value,
                set=self.mapping_id.display_name,
                feed=self.name,
            ),
            connection=self.connection_id or None,
            record=self,
            company=self.company_id,
            fingerprint=f"feed-mapping:{self.id}:account:{exc.value}",
            mapping_type="account",
            mapping_value=str(exc.value),
        )

    # ------------------------------------------------------------------
    # Ledger totals (the comparison screen)
    # ------------------------------------------------------------------

    def _fc_ledger_totals(self, date_from, date_to):
        """Debit and credit of the posted lines of the feed's companies in a period,
        read through the ORM (Odoo's own figures, independent of the feed's SQL)."""
        domain = [
            ("company_id", "in", self.company_ids.ids),
            ("parent_state", "=", "posted"),
            ("date", "<=", date_to),
            ("display_type", "not in", ("line_section", "line_note")),
        ]
        if self.kind in ("journal_items", "trial_balance", "actuals"):
            domain.append(("date", ">=", date_from))
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(domain, ["company_id"], ["debit:sum", "credit:sum"])
        )
        places = max(self.company_ids.currency_id.mapped("decimal_places") or [2])
        quantum = Decimal(1).scaleb(-places)
        debit = sum((Decimal(repr(d)) for _c, d, _cr in groups), Decimal(0))
        credit = sum((Decimal(repr(cr)) for _c, _d, cr in groups), Decimal(0))
        return debit.quantize(quantum), credit.quantize(quantum)

    # ------------------------------------------------------------------
    # Push: deliveries
    # ------------------------------------------------------------------

    def _fc_deliver_scheduled(self):
        self.ensure_one()
        self._fc_check_scope()
        if self.kind == "journal_items":
            return self._fc_deliver_increment()
        today = fields.Date.context_today(self)
        first_this_month = today.replace(day=1)
        if self.period_status == "formal":
            date_to = first_this_month - timedelta(days=1)
            date_from = date_to.replace(day=1)
        else:
            date_from, date_to = first_this_month, today
        return self._fc_deliver_period(date_from, date_to)

    def _fc_deliver_period(self, date_from, date_to, reason=None):
        """Deliver one period; returns the delivery (existing one if unchanged).

        Formal feeds only deliver locked periods. An unmapped account blocks the
        period (mapping exception, nothing sent). A period delivered before is
        delivered again only when its rows changed, with the reason.
        """
        self.ensure_one()
        self._fc_check_scope()
        date_from, date_to = (fields.Date.to_date(date_from), fields.Date.to_date(date_to))
        Delivery = self.env["finance.connect.feed.delivery"].sudo()
        if self.period_status == "formal" and not self._fc_period_locked(date_to):
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
        missing, mapper = self._fc_check_mapping(
            date_to, date_from=date_from if with_dates else None, date_to=date_to
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
        content = lib_controls.ControlTotals.of(self._fc_rows(date_from, date_to, None, mapper))
        if previous and previous.content_sha256 == content.sha256:
            return previous
        delivery = Delivery.create(dict(vals, state="draft", content_sha256=content.sha256))
        rows = list(self._fc_rows(date_from, date_to, delivery.name, mapper))
        if previous:
            reason = reason or previous._fc_change_reason(rows)
            delivery.write({"previous_id": previous.id, "note": reason})
            previous.write({"state": "superseded"})
        return delivery._fc_send(rows, reason)

    def _fc_deliver_increment(self):
        """Push the journal items posted since the last increment (event and batch)."""
        self.ensure_one()
        self._fc_check_scope()
        low = int(self.last_watermark or 0)
        high = self._fc_snapshot_watermark()
        self.env["account.move.line"].flush_model()
        codes = self._fc_account_codes(low=low, high=high)
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
        missing, mapper = self._fc_check_mapping(fields.Date.context_today(self), codes)
        if missing:
            return Delivery.create(
                dict(
                    vals,
                    state="blocked",
                    note=self.env._("Unmapped accounts: %(codes)s", codes=", ".join(missing)),
                )
            )
        delivery = Delivery.create(dict(vals, state="draft"))
        rows = list(self._fc_journal_item_rows(delivery.name, mapper, low=low, high=high))
        delivery._fc_send(rows, None)
        self.sudo().last_watermark = str(high)
        return delivery

    @api.model
    def _fc_on_moves_posted(self, moves):
        """Queue one incremental delivery per event feed of the posted companies."""
        feeds = self.sudo().search(
            [
                ("mode", "=", "event"),
                ("connection_id", "!=", False),
                ("company_ids", "in", moves.company_id.ids),
            ]
        )
        for feed in feeds:
            feed.with_delay(
                channel=feed.connection_id._get_channel(),
                identity_key=f"finance_connect_reporting-increment-{feed.id}",
                description=f"Feed {feed.name}: incremental delivery",
            )._job_deliver_increment()

    def _job_deliver_increment(self):
        """Queued job body; idempotent (the watermark moves only after a delivery)."""
        delivery = self._fc_deliver_increment()
        return f"delivered {delivery.name}" if delivery else "nothing new"

    @api.model
    def _cron_deliver_feeds(self):
        for feed in self.search([("mode", "=", "batch")]):
            try:
                with self.env.cr.savepoint():
                    feed._fc_deliver_scheduled()
            except UserError as exc:
                _logger.info("finance_connect_reporting: feed %s not delivered: %s", feed.name, exc)

    # ------------------------------------------------------------------
    # Pull
    # ------------------------------------------------------------------

    @api.model
    def _fc_from_token(self, token):
        """The active feed of a pull token (looked up by its sha256), or empty."""
        if not token or len(token) > 128 or not token.isprintable():
            return self.browse()
        token_hash = hash_token(token)
        self.env.cr.execute(
            SQL(
                "SELECT id, pull_token_hash FROM finance_connect_feed"
                " WHERE active AND pull_token_hash = %s",
                token_hash,
            )
        )
        row = self.env.cr.fetchone()
        if not row or not hmac.compare_digest(row[1].encode(), token_hash.encode()):
            return self.browse()
        feed = self.sudo().browse(row[0])
        return feed if feed._fc_scope_ok() else self.browse()

    def _fc_pull_page(self, cursor_token=None, limit=1000, date_from=None, date_to=None):
        """One page of pulled rows: ``{"rows", "next_cursor", "has_more", "control"}``.

        The parsed :meth:`_fc_pull_page_json` (which the endpoint sends as is).
        """
        return json.loads(self._fc_pull_page_json(cursor_token, limit, date_from, date_to))

    def _fc_pull_run(self, cursor_token):
        """``(cursor, delivery)`` of the pull run a cursor belongs to.

        A cursor of a finished run (or none) starts the next run: its window
        ends at the snapshot watermark, its accounts must all be mapped, and a
        delivery records it. A cursor inside a run continues that run.
        """
        cur = lib_cursor.decode_cursor(cursor_token)
        Delivery = self.env["finance.connect.feed.delivery"].sudo()
        self.env.flush_all()
        if cur.high is None:
            high = self._fc_snapshot_watermark()
            missing, _mapper = self._fc_check_mapping(
                fields.Date.context_today(self), low=cur.low, high=high
            )
            if missing:
                raise MappingMissing("account", missing[0], "unmapped")
            delivery = Delivery.create(
                {
                    "feed_id": self.id,
                    "company_id": self.company_id.id,
                    "mode": "pull",
                    "watermark_from": str(cur.low),
                    "watermark_to": str(high),
                    "period_status": self.period_status,
                    "state": "delivered",
                }
            )
            cur = lib_cursor.Cursor(cur.low, high, 0, delivery.id)
        else:
            delivery = Delivery.browse(cur.delivery).exists()
            if not delivery or delivery.feed_id != self:
                raise lib_cursor.InvalidCursor("cursor of another feed")
        return cur, delivery

    def _fc_pull_page_json(self, cursor_token=None, limit=1000, date_from=None, date_to=None):
        """The JSON text of one page of pulled rows.

        Journal item feeds page by the cursor (exactly once per run, see
        readme/DEVELOP.md); their rows are the canonical texts PostgreSQL wrote,
        joined into the page without being parsed again. The other kinds answer
        the whole period at once. Raises :class:`~..lib.cursor.InvalidCursor`
        and :class:`MappingMissing`.
        """
        self.ensure_one()
        limit = max(1, min(int(limit or 1000), PAGE_MAX))
        if self.kind != "journal_items":
            return json.dumps(self._fc_pull_period(date_from, date_to), ensure_ascii=False)
        cur, delivery = self._fc_pull_run(cursor_token)
        records = []
        for batch in self._fc_journal_item_texts(
            delivery.name,
            self._fc_mapper(),
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
                "feed": self.name,
                "kind": self.kind,
                "delivery": delivery.name,
                "period_status": self.period_status,
                "currency": self.currency_id.name,
                "has_more": has_more,
                "next_cursor": lib_cursor.encode_cursor(nxt),
                "control": totals.as_dict(),
            },
            ensure_ascii=False,
        )
        return head[:-1] + ',"rows":[' + ",".join(lines) + "]}"

    def _fc_pull_run_jsonl(self, out, cursor_token=None):
        """Stream the rest of a pull run to ``out`` (binary) as JSON Lines.

        The rows the pages would serve from ``cursor_token`` to the end of its
        run (the whole run for a cursor between runs), one canonical row per
        line, written by ``COPY`` (lib/copystream.py: no Python object per
        row). Returns ``(delivery, totals, next_cursor)``: the totals are of
        the streamed rows (``sha256`` is the hash of what was written) and are
        the delivery's when the stream covered its whole run; ``next_cursor``
        starts the next run. Raises like :meth:`_fc_pull_page_json`.
        """
        self.ensure_one()
        if self.kind != "journal_items":
            raise UserError(
                self.env._("Only journal item feeds stream runs: ask for a page instead.")
            )
        cur, delivery = self._fc_pull_run(cursor_token)
        totals = self._fc_journal_item_export(
            out,
            "jsonl",
            delivery.name,
            self._fc_mapper(),
            low=cur.low,
            high=cur.high,
            after_id=cur.last_id,
        )
        if not cur.last_id:
            delivery._fc_store_totals(totals)
        return delivery, totals, lib_cursor.encode_cursor(cur.next_run())

    def _fc_pull_period(self, date_from, date_to):
        today = fields.Date.context_today(self)
        date_to = fields.Date.to_date(date_to) if date_to else today
        date_from = fields.Date.to_date(date_from) if date_from else date_to.replace(day=1)
        if self.period_status == "formal" and not self._fc_period_locked(date_to):
            raise UserError(self.env._("The period is not locked."))
        missing, mapper = self._fc_check_mapping(date_to, date_from=date_from, date_to=date_to)
        if missing:
            raise MappingMissing("account", missing[0], "unmapped")
        delivery = (
            self.env["finance.connect.feed.delivery"]
            .sudo()
            .create(
                {
                    "feed_id": self.id,
                    "company_id": self.company_id.id,
                    "mode": "pull",
                    "date_from": date_from,
                    "date_to": date_to,
                    "state": "delivered",
                    "period_status": self.period_status,
                }
            )
        )
        rows = list(self._fc_rows(date_from, date_to, delivery.name, mapper))
        totals = lib_controls.ControlTotals.of(rows)
        delivery._fc_store_totals(totals)
        return {
            "feed": self.name,
            "kind": self.kind,
            "delivery": delivery.name,
            "period_status": self.period_status,
            "currency": self.currency_id.name,
            "rows": rows,
            "has_more": False,
            "next_cursor": None,
            "control": totals.as_dict(),
        }

    # ------------------------------------------------------------------
    # Files
    # ------------------------------------------------------------------

    def _fc_export(self, out, file_format, date_from, date_to, delivery_ref=None):
        """Stream the period's rows to ``out`` (binary) as CSV or JSON Lines.

        Returns the file's :class:`~..lib.controls.ControlTotals`: row count,
        debit and credit totals, and the SHA-256 of the file as written (for
        JSON Lines, also the hash of the canonical rows).
        """
        self.ensure_one()
        missing, mapper = self._fc_check_mapping(date_to, date_from=date_from, date_to=date_to)
        if missing:
            raise UserError(
                self.env._("Unmapped accounts stop the export: %(codes)s", codes=", ".join(missing))
            )
        columns = lib_rows.COLUMNS[self.kind]
        if self.kind == "journal_items":
            self.env.flush_all()
            return self._fc_journal_item_export(
                out, file_format, delivery_ref, mapper, date_from=date_from, date_to=date_to
            )
        rows = self._fc_rows(date_from, date_to, delivery_ref, mapper)
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
        totals = self._fc_export(buf, file_format, date_from, date_to)
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
