"""What a feed's rows are converted with: IAS 21 rates and the group chart.

``finance.connect.feed.conversion`` is mixed into ``finance.connect.feed``
(which inherits it) and reads the feed's ``currency_id``, ``rate_policy``,
``mapping_id`` and ``connection_id``. The arithmetic is pure
(:mod:`..lib.currency`, :class:`..lib.rows.RateBook`); here are the lookups
that need Odoo: the rates of ``res.currency`` and the mapping set, and the
mapping exceptions a feed opens and resolves.
"""

from decimal import Decimal

from odoo import fields, models
from odoo.addons.finance_connect.lib import mapping as lib_mapping
from odoo.addons.finance_connect.models.finance_connect_message import MappingMissing

from ..lib import currency as lib_currency
from ..lib import rows as lib_rows


class FinanceConnectFeedConversion(models.AbstractModel):
    _name = "finance.connect.feed.conversion"
    _description = "Finance Connect feed conversion (rates, group chart mapping)"

    # ------------------------------------------------------------------
    # Rates (IAS 21: closing rate for the balance sheet, average for P&L)
    # ------------------------------------------------------------------

    def _fc_rate_book(self):
        places = self.currency_id.decimal_places
        return lib_rows.RateBook(self._fc_rate_lookup, self.rate_policy, places)

    def _fc_rate_lookup(self, company_id, currency_code, kind, date_from, date_to):
        """The :class:`..lib.rows.Rate` from a company's currency to the feed's:
        Odoo's rate on ``date_to`` (closing), or the mean of Odoo's rates on
        ``date_from`` and on each rate date of the period (average)."""
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
