"""What a feed's rows are converted with: IAS 21 rates and the group chart.

``finance.connect.feed.conversion`` is called with the feed (``feed``, the
first argument of its methods): its currency, rate policy and mapping set.
The arithmetic is pure (:mod:`..lib.currency`, :class:`..lib.rows.RateBook`);
here are the lookups that need Odoo: the rates of ``res.currency`` and the
mapping set, and the mapping exceptions a feed opens and resolves.
"""

from decimal import Decimal
from functools import partial

from odoo import api, fields, models
from odoo.addons.finance_connect.exceptions import MappingMissing
from odoo.addons.finance_connect.lib import mapping as lib_mapping

from ..lib import currency as lib_currency
from ..lib import rows as lib_rows


class FinanceConnectFeedConversion(models.AbstractModel):
    _name = "finance.connect.feed.conversion"
    _description = "Finance Connect feed conversion (rates, group chart mapping)"

    # ------------------------------------------------------------------
    # Rates (IAS 21: closing rate for the balance sheet, average for P&L)
    # ------------------------------------------------------------------

    @api.model
    def _rate_book(self, feed):
        places = feed.currency_id.decimal_places
        return lib_rows.RateBook(partial(self._rate_lookup, feed), feed.rate_policy, places)

    @api.model
    def _rate_lookup(self, feed, company_id, currency_code, kind, date_from, date_to):
        """The :class:`..lib.rows.Rate` from a company's currency to ``feed``'s:
        Odoo's rate on ``date_to`` (closing), or the mean of Odoo's rates on
        ``date_from`` and on each rate date of the period (average)."""
        company = self.env["res.company"].browse(company_id)
        source_cur, target = company.currency_id, feed.currency_id
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
        rate_dates = (
            self.env["res.currency.rate"]
            .sudo()
            .search_fetch(
                [
                    ("currency_id", "in", (source_cur | target).ids),
                    ("name", ">=", d_from),
                    ("name", "<=", d_to),
                    ("company_id", "in", (False, company.root_id.id)),
                ],
                ["name"],
            )
        )
        days = sorted({d_from} | set(rate_dates.mapped("name")))
        rates = [
            Decimal(repr(Currency._get_conversion_rate(source_cur, target, company, d)))
            for d in days
        ]
        return lib_rows.Rate(
            lib_currency.average_rate(rates),
            kind,
            date_to,
            f"res.currency.rate average {date_from}..{date_to} ({len(days)} rate dates)",
        )

    # ------------------------------------------------------------------
    # Mapping to the group chart, and its exceptions
    # ------------------------------------------------------------------

    @api.model
    def _mapper(self, feed):
        """A function (account code, on date) -> group code, or None when ``feed``
        has no mapping set.

        Raises the core's :class:`MappingMissing` for an unmapped code.
        """
        table = feed.mapping_id.sudo()._get_table() if feed.mapping_id else None
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

    @api.model
    def _check_mapping(self, feed, on_date, codes=None, **window):
        """Open one mapping exception per unmapped code, resolve the feed's open
        ones whose code maps now; return ``(unmapped codes, mapper)``.

        ``codes``: the account codes to check; by default those of the rows of
        ``window`` (the reader's ``_account_codes``), read only when the feed
        maps accounts at all.
        """
        mapper = self._mapper(feed)
        if mapper is None:
            return [], None
        if codes is None:
            codes = self.env["finance.connect.feed.reader"]._account_codes(feed, **window)
        missing, mapped = [], []
        for code in codes:
            try:
                mapper(code, str(on_date))
            except MappingMissing as exc:
                missing.append(exc.value)
                self._open_mapping_exception(feed, exc)
            else:
                mapped.append(code)
        self._resolve_mapping_exceptions(feed, mapped)
        return missing, mapper

    @api.model
    def _resolve_mapping_exceptions(self, feed, codes):
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
                    ("res_model", "=", feed._name),
                    ("res_id", "=", feed.id),
                    ("mapping_value", "in", [str(c) for c in codes]),
                ]
            )
        )
        for exc in found:
            exc._resolve(
                self.env._(
                    "Account %(code)s is mapped now: the feed %(feed)s used it without a gap.",
                    code=exc.mapping_value,
                    feed=feed.name,
                ),
                "account mapped; feed used it",
            )

    @api.model
    def _open_mapping_exception(self, feed, exc):
        return self.env["finance.connect.exception"]._open(
            "mapping",
            self.env._(
                "No mapping: account %(code)s (feed %(feed)s)", code=exc.value, feed=feed.name
            ),
            self.env._(
                "Account %(code)s has no line in the mapping set %(set)s, so the feed "
                "%(feed)s delivers nothing of the periods that use it (nothing is sent "
                "half-mapped). Map the account, then deliver the period again.",
                code=exc.value,
                set=feed.mapping_id.display_name,
                feed=feed.name,
            ),
            connection=feed.connection_id or None,
            record=feed,
            company=feed.company_id,
            fingerprint=f"feed-mapping:{feed.id}:account:{exc.value}",
            mapping_type="account",
            mapping_value=str(exc.value),
        )
