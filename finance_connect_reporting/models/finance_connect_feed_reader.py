"""The ledger reader of reporting feeds: read-only SQL over posted entries.

``finance.connect.feed.reader`` reads the ledger for a feed it is called
with (``feed``, the first argument of its methods): the feed's companies,
period status, currency, rate policy and kind decide the rows. Every query is
composed with ``odoo.tools.SQL``: values are parameters, the fragments below
are constants.

- journal items: PostgreSQL writes each row's canonical JSON text and CSV line
  (:mod:`..lib.sqltext`), paged by keyset (pull), read through a server-side
  cursor (push) or streamed with ``COPY ... TO STDOUT`` (files);
- trial balance, actuals, open items, bank balances: records shaped into rows
  by :mod:`..lib.rows`;
- the ledger totals of the comparison screen, read through the ORM.
"""

import contextlib
import itertools
import json
from decimal import Decimal

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import copystream as lib_copystream
from ..lib import rows as lib_rows
from ..lib import sqltext as lib_sqltext

_CURSOR_SEQ = itertools.count(1)


class FinanceConnectFeedReader(models.AbstractModel):
    _name = "finance.connect.feed.reader"
    _description = "Finance Connect feed ledger reader"

    # Fragments of the queries, over the table aliases of _base_sql.
    _PROVISIONAL = SQL(
        "(aml.date > COALESCE(GREATEST(c.fiscalyear_lock_date, c.hard_lock_date),"
        " DATE '0001-01-01'))"
    )
    _CODE = SQL("acc.code_store->>split_part(c.parent_path, '/', 1)")
    _PERIOD = SQL("left(aml.date::text, 7)")
    _MONTH_END = SQL(
        "(date_trunc('month', aml.date::timestamp) + interval '1 month - 1 day')::date"
    )

    @api.model
    def _company_partner_ids(self):
        companies = self.env["res.company"].sudo().with_context(active_test=False)
        return set(companies.search([("partner_id", "!=", False)]).partner_id.ids)

    @api.model
    def _base_sql(self, feed, joins=None):
        """FROM/WHERE shared by every kind: posted lines of the feed's companies;
        formal feeds only see dates up to each company's lock date."""
        formal = feed.period_status == "formal"
        return SQL(
            """
              FROM account_move_line aml
              JOIN account_move m ON m.id = aml.move_id
              JOIN account_account acc ON acc.id = aml.account_id
              JOIN res_company c ON c.id = aml.company_id
              JOIN res_currency cur ON cur.id = c.currency_id
              %(joins)s
             WHERE aml.company_id = ANY(%(companies)s)
               AND m.state = 'posted'
               AND aml.display_type NOT IN ('line_section', 'line_note')
               %(formal)s
            """,
            joins=joins or SQL(),
            companies=feed.company_ids.ids,
            formal=SQL("AND NOT %s", self._PROVISIONAL) if formal else SQL(),
        )

    @api.model
    def _window_sql(self, low=None, high=None, date_from=None, date_to=None, after_id=None):
        """The conditions (each after ``AND``) selecting the journal items of a
        pull window or period, and of a keyset page after ``after_id``."""
        marker = SQL("COALESCE(m.fc_post_xid, 0)")
        conditions = [
            SQL("%s >= %s", marker, low) if low is not None else None,
            SQL("%s < %s", marker, high) if high is not None else None,
            SQL("aml.date >= %s", date_from) if date_from else None,
            SQL("aml.date <= %s", date_to) if date_to else None,
            SQL("aml.id > %s", after_id) if after_id is not None else None,
        ]
        return SQL().join(SQL(" AND %s", c) for c in conditions if c is not None)

    @api.model
    def _rate_kind_sql(self, feed):
        """SQL of :func:`..lib.currency.rate_kind` for the feed's policy."""
        if feed.rate_policy == "closing_average":
            return SQL(
                "CASE WHEN acc.account_type LIKE %s OR acc.account_type LIKE %s"
                " THEN 'average' ELSE 'closing' END",
                "income%",
                "expense%",
            )
        return SQL("%s::text", feed.rate_policy)

    # ------------------------------------------------------------------
    # Journal items (see readme/DEVELOP.md, hot path)
    # ------------------------------------------------------------------

    @api.model
    def _journal_item_fields(self, feed, delivery_ref, fx, gm):
        """The fields ``(key, kind, sql)`` of a journal item row (see lib/sqltext.py).

        ``fx``: the rates join is present (companies in another currency than
        the feed's); ``gm``: the mapped group codes join is present. Account
        types, currency codes and dates never need escaping ("plain").
        """
        places = feed.currency_id.decimal_places

        def feed_amount(column):
            amount = SQL.identifier("aml", column)
            if fx:
                amount = SQL(
                    "CASE WHEN fx.rate IS NULL THEN %(a)s ELSE round(%(a)s * fx.rate, %(p)s) END",
                    a=amount,
                    p=places,
                )
            return ("feed_" + column, "plain", amount)

        if fx:
            rate = ("rate", "plain", SQL("COALESCE(fx.rate_text, '1')"))
            rate_date = SQL("COALESCE(fx.rate_date, %s::text)", self._MONTH_END)
            rate_source = ("rate_source", "text", SQL("COALESCE(fx.source, 'same currency')"))
        else:
            rate = ("rate", "const", "1")
            rate_date = self._MONTH_END
            rate_source = ("rate_source", "const", "same currency")
        intercompany = SQL(
            "COALESCE(aml.partner_id = ANY(%s), FALSE)", list(self._company_partner_ids())
        )
        return [
            ("account_code", "text", self._CODE),
            ("account_type", "plain", SQL("acc.account_type")),
            ("balance", "plain", SQL("aml.balance")),
            ("company", "text", SQL("c.name")),
            ("company_id", "int", SQL("aml.company_id")),
            ("credit", "plain", SQL("aml.credit")),
            ("currency", "plain", SQL("cur.name")),
            ("date", "plain", SQL("aml.date")),
            ("debit", "plain", SQL("aml.debit")),
            ("delivery", "const", delivery_ref),
            feed_amount("balance"),
            feed_amount("credit"),
            feed_amount("debit"),
            ("feed_currency", "const", feed.currency_id.name),
            ("group_account", "text", SQL("gm.target")) if gm else ("group_account", "const", None),
            ("intercompany", "bool", intercompany),
            ("journal", "int", SQL("aml.journal_id")),
            ("line_id", "int", SQL("aml.id")),
            ("move_id", "int", SQL("aml.move_id")),
            ("move_name", "text", SQL("m.name")),
            ("partner_id", "int", SQL("aml.partner_id")),
            ("period", "plain", self._PERIOD),
            ("provisional", "bool", self._PROVISIONAL),
            rate,
            ("rate_date", "plain", rate_date),
            ("rate_kind", "plain", self._rate_kind_sql(feed)),
            rate_source,
        ]

    @api.model
    def _journal_item_plan(self, feed, where, mapper, limit=None):
        """Joins carrying the rates and group codes of the rows.

        Rates are looked up (the conversion's rate book) for the (company, month,
        rate kind) of the rows of companies kept in another currency than the
        feed's; group codes (``mapper``) for their (account code, month end).
        They join the query as arrays. Raises :class:`MappingMissing` for an
        unmapped code. Returns ``(joins, fx, gm)``.
        """
        foreign = feed.company_ids.filtered(lambda c: c.currency_id != feed.currency_id)
        if not foreign and not mapper:
            return SQL(), False, False
        code = SQL("COALESCE(%s, '')", self._CODE)
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT company_id, period, month_end::text, code, account_type
                  FROM (SELECT aml.company_id, %(period)s AS period,
                               %(month_end)s AS month_end, %(code)s AS code, acc.account_type
                        %(base)s %(where)s %(page)s) rows
                """,
                period=self._PERIOD,
                month_end=self._MONTH_END,
                code=code,
                base=self._base_sql(feed),
                where=where,
                page=SQL(" ORDER BY aml.id LIMIT %s", limit) if limit else SQL(),
            )
        )
        found = self.env.cr.fetchall()
        book = self.env["finance.connect.feed.conversion"]._rate_book(feed)
        currencies = {c.id: c.currency_id.name for c in foreign}
        rates, codes = {}, {}
        for company_id, period, month_end, account_code, account_type in found:
            if company_id in currencies:
                rate = book.get(
                    company_id, currencies[company_id], account_type, period + "-01", month_end
                )
                rates[company_id, period, rate.kind] = rate
            if mapper:
                codes[account_code, month_end] = mapper(account_code, month_end)
        joins = []
        if foreign:
            keys = list(rates)
            joins.append(
                SQL(
                    """
                    LEFT JOIN unnest(%(company)s::int[], %(period)s::text[], %(kind)s::text[],
                                     %(rate)s::numeric[], %(text)s::text[], %(date)s::text[],
                                     %(source)s::text[])
                           AS fx(company_id, period, kind, rate, rate_text, rate_date, source)
                           ON fx.company_id = aml.company_id AND fx.period = %(row_period)s
                          AND fx.kind = %(row_kind)s""",
                    company=[k[0] for k in keys],
                    period=[k[1] for k in keys],
                    kind=[k[2] for k in keys],
                    rate=[str(rates[k].rate) for k in keys],
                    text=[rates[k].text for k in keys],
                    date=[rates[k].date for k in keys],
                    source=[rates[k].source for k in keys],
                    row_period=self._PERIOD,
                    row_kind=self._rate_kind_sql(feed),
                )
            )
        if mapper:
            keys = list(codes)
            joins.append(
                SQL(
                    """
                    LEFT JOIN unnest(%(code)s::text[], %(date)s::date[], %(target)s::text[])
                           AS gm(code, month_end, target)
                           ON gm.code = %(row_code)s AND gm.month_end = %(row_month_end)s""",
                    code=[k[0] for k in keys],
                    date=[k[1] for k in keys],
                    target=[None if codes[k] is None else str(codes[k]) for k in keys],
                    row_code=code,
                    row_month_end=self._MONTH_END,
                )
            )
        return SQL().join(joins), bool(foreign), bool(mapper)

    @api.model
    def _journal_item_query(
        self,
        feed,
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
        """The ``SQL`` query of the journal items of a window or period in id
        order, selecting ``columns`` among ``id``, ``debit``, ``credit`` (texts),
        ``json`` (the canonical row) and ``csv`` (its CSV line).

        ``limit``: a keyset page of that many rows after ``after_id``.
        """
        where = self._window_sql(low, high, date_from, date_to, after_id)
        joins, fx, gm = self._journal_item_plan(feed, where, mapper, limit)
        fields_ = self._journal_item_fields(feed, delivery_ref, fx, gm)
        selected = {
            "id": lambda: SQL("aml.id"),
            "debit": lambda: SQL("aml.debit::text"),
            "credit": lambda: SQL("aml.credit::text"),
            "json": lambda: lib_sqltext.json_object_sql(fields_),
            "csv": lambda: lib_sqltext.csv_line_sql(fields_, lib_rows.JOURNAL_ITEM_COLUMNS),
        }
        return SQL(
            "SELECT %s %s %s ORDER BY aml.id %s",
            SQL(", ").join(selected[c]() for c in columns),
            self._base_sql(feed, joins),
            where,
            SQL("LIMIT %s", limit) if limit else SQL(),
        )

    @api.model
    def _journal_item_texts(self, feed, delivery_ref, mapper=None, batch=5000, **window):
        """Journal items in id order, written by PostgreSQL, in batches of tuples
        ``(line_id, debit, credit, canonical JSON text[, CSV line])``.

        ``window``: see :meth:`_journal_item_query` (and ``with_csv``).
        With ``limit``, one keyset query (a pull page); without it, the whole
        window or period through a server-side cursor.
        """
        cr = self.env.cr
        columns = ("id", "debit", "credit", "json") + (
            ("csv",) if window.pop("with_csv", False) else ()
        )
        query = self._journal_item_query(feed, delivery_ref, mapper, columns=columns, **window)
        if window.get("limit"):
            cr.execute(query)
            records = cr.fetchall()
            if records:
                yield records
            return
        name = SQL.identifier(f"fc_feed_rows_{next(_CURSOR_SEQ)}")
        cr.execute(SQL("DECLARE %s NO SCROLL CURSOR FOR %s", name, query))
        try:
            while True:
                cr.execute(SQL("FETCH %s FROM %s", int(batch), name))
                records = cr.fetchall()
                if records:
                    yield records
                if len(records) < batch:
                    return
        finally:
            with contextlib.suppress(Exception):
                cr.execute(SQL("CLOSE %s", name))

    @api.model
    def _journal_item_rows(self, feed, delivery_ref, mapper=None, **window):
        """The journal item rows (dicts) of a window or period: the texts, parsed."""
        loads = json.loads
        for records in self._journal_item_texts(feed, delivery_ref, mapper, **window):
            for record in records:
                yield loads(record[3])

    @api.model
    def _journal_item_export(
        self, feed, out, file_format, delivery_ref, mapper, after_id=0, **window
    ):
        """Stream the journal items of a period or pull run to ``out`` with
        ``COPY ... TO STDOUT``; ``window``: see :meth:`_journal_item_query`.

        PostgreSQL writes the rows (lib/sqltext.py: the canonical JSON text, or
        the CSV line) and sends them while this process hashes and writes them
        (lib/copystream.py): no Python object per row. The debit and credit
        totals are summed by PostgreSQL over the same rows in the same snapshot
        (the cursor is REPEATABLE READ), and the row counts of both must agree.
        """
        cr = self.env.cr
        columns = ("csv",) if file_format == "csv" else ("json",)
        query = self._journal_item_query(
            feed, delivery_ref, mapper, after_id=after_id, columns=columns, **window
        )
        if file_format == "csv":
            sink = lib_copystream.CsvSink(out, lib_rows.JOURNAL_ITEM_COLUMNS)
        else:
            sink = lib_copystream.JsonLinesSink(out)
        # copy_expert takes no parameters: they are bound by mogrify.
        copy = cr.mogrify(SQL("COPY (%s) TO STDOUT", query)).decode()
        cr._obj.copy_expert(copy, sink)
        totals = sink.close()
        cr.execute(
            SQL(
                "SELECT count(*), COALESCE(sum(aml.debit), 0)::text,"
                " COALESCE(sum(aml.credit), 0)::text %s %s",
                self._base_sql(feed),
                self._window_sql(after_id=after_id, **window),
            )
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

    # ------------------------------------------------------------------
    # Trial balance, actuals, open items, bank balances
    # ------------------------------------------------------------------

    @api.model
    def _aggregate_records(self, feed, date_from, date_to):
        """Tuples (company_id, company, period, code, type, analytic, count, debit,
        credit, balance, currency, provisional) of the aggregated kinds."""
        in_range = SQL("AND aml.date BETWEEN %s AND %s", date_from, date_to)
        if feed.kind == "trial_balance":
            query = SQL(
                """
                SELECT aml.company_id, c.name, NULL, %(code)s, acc.account_type, NULL,
                       count(*), sum(aml.debit)::text, sum(aml.credit)::text,
                       sum(aml.balance)::text, cur.name, bool_or(%(provisional)s)
                %(base)s %(in_range)s
                 GROUP BY aml.company_id, c.name, %(code)s, acc.account_type, cur.name
                 ORDER BY aml.company_id, %(code)s
                """,
                code=self._CODE,
                provisional=self._PROVISIONAL,
                base=self._base_sql(feed),
                in_range=in_range,
            )
        elif feed.kind == "actuals":
            # Analytic distribution split by its percentages, rounded per group.
            query = SQL(
                """
                SELECT aml.company_id, c.name, to_char(aml.date, 'YYYY-MM'), %(code)s,
                       acc.account_type, ad.key, count(*),
                       round(sum(aml.debit * COALESCE(ad.value::numeric, 100) / 100),
                             cur.decimal_places)::text,
                       round(sum(aml.credit * COALESCE(ad.value::numeric, 100) / 100),
                             cur.decimal_places)::text,
                       round(sum(aml.balance * COALESCE(ad.value::numeric, 100) / 100),
                             cur.decimal_places)::text,
                       cur.name, bool_or(%(provisional)s)
                %(base)s %(in_range)s
                 GROUP BY aml.company_id, c.name, to_char(aml.date, 'YYYY-MM'), %(code)s,
                          acc.account_type, ad.key, cur.name, cur.decimal_places
                 ORDER BY 1, 3, 4, 6
                """,
                code=self._CODE,
                provisional=self._PROVISIONAL,
                base=self._base_sql(
                    feed,
                    SQL("LEFT JOIN LATERAL jsonb_each_text(aml.analytic_distribution) ad ON TRUE"),
                ),
                in_range=in_range,
            )
        else:
            raise UserError(self.env._("Feed kind %(kind)s has no aggregates.", kind=feed.kind))
        self.env.cr.execute(query)
        return self.env.cr.fetchall()

    @api.model
    def _open_item_records(self, feed, date_to):
        """Tuples (line_id, move_name, company_id, company, code, type, partner_id,
        date, expected date, residual, currency, provisional) of the open
        receivables and payables (residual today) dated up to ``date_to``."""
        self.env.cr.execute(
            SQL(
                """
                SELECT aml.id, m.name, aml.company_id, c.name, %(code)s, acc.account_type,
                       aml.partner_id, aml.date::text,
                       COALESCE(aml.date_maturity, aml.date)::text,
                       aml.amount_residual::text, cur.name, %(provisional)s
                %(base)s
                   AND acc.account_type IN ('asset_receivable', 'liability_payable')
                   AND NOT aml.reconciled AND aml.amount_residual <> 0
                   AND aml.date <= %(date_to)s
                 ORDER BY aml.id
                """,
                code=self._CODE,
                provisional=self._PROVISIONAL,
                base=self._base_sql(feed),
                date_to=date_to,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _bank_balance_records(self, feed, date_to):
        """Tuples (company_id, company, journal code, account code, debit, credit,
        balance, currency, provisional) of the bank journals' accounts up to
        ``date_to``."""
        journals = SQL(
            "JOIN account_journal j ON j.default_account_id = aml.account_id"
            " AND j.type = 'bank' AND j.company_id = aml.company_id"
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT aml.company_id, c.name, j.code, %(code)s, sum(aml.debit)::text,
                       sum(aml.credit)::text, sum(aml.balance)::text, cur.name,
                       bool_or(%(provisional)s)
                %(base)s
                   AND aml.date <= %(date_to)s
                 GROUP BY aml.company_id, c.name, j.code, %(code)s, cur.name
                 ORDER BY 1, 3
                """,
                code=self._CODE,
                provisional=self._PROVISIONAL,
                base=self._base_sql(feed, journals),
                date_to=date_to,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _aggregate_rows(self, feed, date_from, date_to, delivery_ref, book, mapper=None):
        records = self._aggregate_records(feed, date_from, date_to)
        yield from lib_rows.aggregate_rows(
            records, book, date_from, date_to, feed.currency_id.name, delivery_ref, mapper
        )

    @api.model
    def _open_item_rows(self, feed, date_to, delivery_ref, book, mapper=None):
        """Open receivables and payables (residual today) with their expected date."""
        intercompany = self._company_partner_ids()
        records = self._open_item_records(feed, date_to)
        yield from lib_rows.open_item_rows(
            records, book, date_to, feed.currency_id.name, delivery_ref, intercompany, mapper
        )

    @api.model
    def _bank_balance_rows(self, feed, date_to, delivery_ref, book, mapper=None):
        records = self._bank_balance_records(feed, date_to)
        yield from lib_rows.bank_balance_rows(
            records, book, date_to, feed.currency_id.name, delivery_ref, mapper
        )

    @api.model
    def _rows(self, feed, date_from, date_to, delivery_ref, mapper=None):
        """Every row of ``feed`` for a period, streamed."""
        feed.ensure_one()
        self.env.flush_all()
        book = self.env["finance.connect.feed.conversion"]._rate_book(feed)
        if feed.kind == "journal_items":
            yield from self._journal_item_rows(
                feed, delivery_ref, mapper, date_from=date_from, date_to=date_to
            )
        elif feed.kind in ("trial_balance", "actuals"):
            yield from self._aggregate_rows(feed, date_from, date_to, delivery_ref, book, mapper)
        elif feed.kind == "open_items":
            yield from self._open_item_rows(feed, date_to, delivery_ref, book, mapper)
        else:
            yield from self._bank_balance_rows(feed, date_to, delivery_ref, book, mapper)

    @api.model
    def _account_codes(self, feed, date_from=None, date_to=None, low=None, high=None):
        """The distinct account codes a delivery would carry (for the mapping check)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT %s %s %s",
                self._CODE,
                self._base_sql(feed),
                self._window_sql(low, high, date_from, date_to),
            )
        )
        return sorted(r[0] or "" for r in self.env.cr.fetchall())

    # ------------------------------------------------------------------
    # Ledger totals (the comparison screen)
    # ------------------------------------------------------------------

    @api.model
    def _ledger_totals(self, feed, date_from, date_to):
        """Debit and credit of the posted lines of the feed's companies in a period,
        read through the ORM (Odoo's own figures, independent of the feed's SQL)."""
        domain = [
            ("company_id", "in", feed.company_ids.ids),
            ("parent_state", "=", "posted"),
            ("date", "<=", date_to),
            ("display_type", "not in", ("line_section", "line_note")),
        ]
        if feed.kind in ("journal_items", "trial_balance", "actuals"):
            domain.append(("date", ">=", date_from))
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(domain, ["company_id"], ["debit:sum", "credit:sum"])
        )
        places = max(feed.company_ids.currency_id.mapped("decimal_places") or [2])
        quantum = Decimal(1).scaleb(-places)
        debit = sum((Decimal(repr(d)) for _c, d, _cr in groups), Decimal(0))
        credit = sum((Decimal(repr(cr)) for _c, _d, cr in groups), Decimal(0))
        return debit.quantize(quantum), credit.quantize(quantum)
