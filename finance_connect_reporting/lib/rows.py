"""Row shaping: the columns of each feed kind and the rate book.

Rows are flat dicts of JSON scalars; amounts are decimal strings. Every row
carries its currency conversion (feed currency amounts, rate, rate kind,
rate date, rate source), its period status (``provisional``) and its lineage
(``delivery``; journal items also the journal item id and entry name).
"""

from decimal import Decimal

from .currency import convert, format_rate, rate_kind

# Every row ends with its amounts, conversion and lineage.
_LINEAGE_COLUMNS = ("rate", "rate_kind", "rate_date", "rate_source", "provisional", "delivery")
_MOVEMENT_COLUMNS = (
    "debit",
    "credit",
    "balance",
    "currency",
    "feed_currency",
    "feed_debit",
    "feed_credit",
    "feed_balance",
) + _LINEAGE_COLUMNS
_BALANCE_COLUMNS = (
    "debit",
    "credit",
    "balance",
    "currency",
    "feed_currency",
    "feed_balance",
) + _LINEAGE_COLUMNS

JOURNAL_ITEM_COLUMNS = (
    "line_id",
    "move_id",
    "move_name",
    "date",
    "period",
    "company_id",
    "company",
    "journal",
    "account_code",
    "account_type",
    "group_account",
    "partner_id",
    "intercompany",
) + _MOVEMENT_COLUMNS

AGGREGATE_COLUMNS = (
    "company_id",
    "company",
    "period",
    "account_code",
    "account_type",
    "group_account",
    "analytic",
    "line_count",
) + _MOVEMENT_COLUMNS

OPEN_ITEM_COLUMNS = (
    "line_id",
    "move_name",
    "company_id",
    "company",
    "account_code",
    "account_type",
    "group_account",
    "partner_id",
    "intercompany",
    "date",
    "expected_date",
) + _BALANCE_COLUMNS

BANK_BALANCE_COLUMNS = (
    "company_id",
    "company",
    "journal",
    "account_code",
    "group_account",
    "date",
) + _BALANCE_COLUMNS

COLUMNS = {
    "journal_items": JOURNAL_ITEM_COLUMNS,
    "trial_balance": AGGREGATE_COLUMNS,
    "actuals": AGGREGATE_COLUMNS,
    "open_items": OPEN_ITEM_COLUMNS,
    "bank_balances": BANK_BALANCE_COLUMNS,
}

# The columns of each kind in sorted order: rows built with their keys in this
# order encode to their canonical text without sorting (controls.presorted_row).
SORTED_COLUMNS = {kind: tuple(sorted(columns)) for kind, columns in COLUMNS.items()}


class Rate:
    """One conversion: a Decimal rate, its date and where it comes from."""

    __slots__ = ("rate", "text", "kind", "date", "source", "identity")

    def __init__(self, rate, kind, date, source):
        self.rate = Decimal(rate)
        self.text = format_rate(self.rate)
        self.kind = kind
        self.date = str(date)
        self.source = source
        self.identity = self.rate == 1


class RateBook:
    """Rates by (company, currency, kind, period), looked up once each.

    ``lookup(company_id, currency, kind, date_from, date_to)`` returns a
    :class:`Rate`; the book caches it for the rest of the export.
    """

    def __init__(self, lookup, policy="closing_average", decimal_places=2):
        self._lookup = lookup
        self.policy = policy
        self.places = decimal_places
        self._cache = {}

    def get(self, company_id, currency, account_type, date_from, date_to):
        kind = rate_kind(account_type, self.policy)
        key = (company_id, currency, kind, date_from, date_to)
        rate = self._cache.get(key)
        if rate is None:
            rate = self._cache[key] = self._lookup(company_id, currency, kind, date_from, date_to)
        return rate

    def apply(self, row, rate, fields=("debit", "credit", "balance")):
        """Fill ``feed_<field>`` and the rate columns of ``row`` in place."""
        places = self.places
        for name in fields:
            value = row[name]
            row["feed_" + name] = value if rate.identity else str(convert(value, rate.rate, places))
        row["rate"] = rate.text
        row["rate_kind"] = rate.kind
        row["rate_date"] = rate.date
        row["rate_source"] = rate.source
        return row


def month_bounds(day):
    """(first, last) ISO dates of the month of ``day`` (a date or ISO string)."""
    text = str(day)[:10]
    year, month = int(text[:4]), int(text[5:7])
    first = f"{year:04d}-{month:02d}-01"
    nxt_year, nxt_month = (year + 1, 1) if month == 12 else (year, month + 1)
    import datetime

    last = datetime.date(nxt_year, nxt_month, 1) - datetime.timedelta(days=1)
    return first, last.isoformat()
