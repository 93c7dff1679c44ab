"""Currency conversion of feed rows with ``Decimal``.

Odoo's ``res.currency.rate.rate`` is "units of the currency per one unit of
the company currency"; the conversion rate from currency A to B on a date is
``rate(B) / rate(A)``. The feed converts company-currency amounts into its
own currency with:

- the *closing* rate (the rate of the period's last day) for balance-sheet
  accounts, and
- the *average* rate of the period for profit-and-loss accounts,

unless its policy says closing (or average) for all.
"""

from decimal import ROUND_HALF_UP, Decimal, localcontext

POLICIES = ("closing_average", "closing", "average")
PL_PREFIXES = ("income", "expense")


def is_profit_and_loss(account_type):
    """Income and expense accounts (Odoo ``account_type``) are P&L."""
    return bool(account_type) and account_type.startswith(PL_PREFIXES)


def rate_kind(account_type, policy="closing_average"):
    """``"closing"`` or ``"average"`` for an account under a policy."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rate policy {policy!r}")
    if policy == "closing_average":
        return "average" if is_profit_and_loss(account_type) else "closing"
    return policy


def conversion_rate(from_rate, to_rate):
    """Rate from currency A to B, given both Odoo rates (per company currency)."""
    from_rate, to_rate = Decimal(str(from_rate)), Decimal(str(to_rate))
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError("rates must be positive")
    return to_rate / from_rate


def average_rate(rates):
    """The arithmetic mean of a period's conversion rates (one per rate date)."""
    rates = [Decimal(str(r)) for r in rates]
    if not rates:
        raise ValueError("no rate in the period")
    return sum(rates, Decimal(0)) / len(rates)


def quantizer(decimal_places):
    return Decimal(1).scaleb(-int(decimal_places))


def convert(amount, rate, decimal_places=2):
    """``amount`` × ``rate`` rounded half-up to the target currency's places.

    The product is exact before the one rounding (as PostgreSQL's ``round(numeric)``
    of the journal item rows), and a zero is never negative.
    """
    with localcontext() as ctx:
        ctx.prec = 200
        value = Decimal(amount) * Decimal(rate)
        value = value.quantize(quantizer(decimal_places), rounding=ROUND_HALF_UP)
    return abs(value) if value.is_zero() else value


def format_rate(rate, places=10):
    """A rate as carried on rows: fixed places, trailing zeros removed."""
    text = format(Decimal(rate).quantize(quantizer(places), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
