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


def _add_amounts(row, amounts, currency, feed_currency, provisional, delivery):
    """Append to ``row`` its ``(debit, credit, balance)``, currencies, period
    status and lineage (in this order: the order of the row's keys)."""
    row["debit"], row["credit"], row["balance"] = amounts
    row.update(
        currency=currency, feed_currency=feed_currency, provisional=provisional, delivery=delivery
    )


def aggregate_rows(records, book, date_from, date_to, feed_currency, delivery, mapper=None):
    """Rows of the aggregated kinds (trial balance, actuals), converted with ``book``.

    ``records``: tuples ``(company_id, company, period, code, account_type,
    analytic, count, debit, credit, balance, currency, provisional)``; a record
    with a period (a month) is converted at the rate of its month within
    ``[date_from, date_to]``, one without at the rate of the whole range.
    ``mapper``: ``(account code, on date) -> group code``, or None.
    """
    d_from, d_to = str(date_from), str(date_to)
    for record in records:
        company_id, company, period, code, account_type, analytic, count = record[:7]
        *amounts, currency, provisional = record[7:]
        if period:
            first, last = month_bounds(period + "-01")
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
        }
        _add_amounts(row, amounts, currency, feed_currency, provisional, delivery)
        yield book.apply(row, book.get(company_id, currency, account_type, r_from, r_to))


def open_item_rows(records, book, date_to, feed_currency, delivery, intercompany, mapper=None):
    """Open receivable and payable rows (their residual), converted at the
    closing rate of ``date_to``.

    ``records``: tuples ``(line_id, move_name, company_id, company, code,
    account_type, partner_id, date, expected_date, residual, currency,
    provisional)``; ``intercompany``: the partner ids of the companies.
    """
    on_date = str(date_to)
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
    ) in records:
        amount = Decimal(residual)
        row = {
            "line_id": line_id,
            "move_name": move_name,
            "company_id": company_id,
            "company": company,
            "account_code": code,
            "account_type": account_type,
            "group_account": mapper(code, on_date) if mapper else None,
            "partner_id": partner_id,
            "intercompany": partner_id in intercompany,
            "date": day,
            "expected_date": expected,
        }
        amounts = (
            residual if amount > 0 else "0.00",
            str(-amount) if amount < 0 else "0.00",
            residual,
        )
        _add_amounts(row, amounts, currency, feed_currency, provisional, delivery)
        rate = book.get(company_id, currency, "asset", on_date, on_date)
        yield book.apply(row, rate, fields=("balance",))


def bank_balance_rows(records, book, date_to, feed_currency, delivery, mapper=None):
    """Bank balance rows per journal, converted at the closing rate of ``date_to``.

    ``records``: tuples ``(company_id, company, journal code, account code,
    debit, credit, balance, currency, provisional)``.
    """
    on_date = str(date_to)
    for company_id, company, journal, code, *amounts, currency, provisional in records:
        row = {
            "company_id": company_id,
            "company": company,
            "journal": journal,
            "account_code": code,
            "group_account": mapper(code, on_date) if mapper else None,
            "date": on_date,
        }
        _add_amounts(row, amounts, currency, feed_currency, provisional, delivery)
        rate = book.get(company_id, currency, "asset_cash", on_date, on_date)
        yield book.apply(row, rate, fields=("balance",))


def month_bounds(day):
    """(first, last) ISO dates of the month of ``day`` (a date or ISO string)."""
    text = str(day)[:10]
    year, month = int(text[:4]), int(text[5:7])
    first = f"{year:04d}-{month:02d}-01"
    nxt_year, nxt_month = (year + 1, 1) if month == 12 else (year, month + 1)
    import datetime

    last = datetime.date(nxt_year, nxt_month, 1) - datetime.timedelta(days=1)
    return first, last.isoformat()
