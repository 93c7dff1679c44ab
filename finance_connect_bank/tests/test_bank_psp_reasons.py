"""PSP events: reason codes in words and amounts (finance_connect_bank/lib/psp.py)."""

from decimal import Decimal

import pytest

from odoo.addons.finance_connect_bank.lib.psp import (
    describe_psp_reason,
    parse_amount,
    reason_in_words,
)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("card_declined", "The card was declined"),
        ("INSUFFICIENT_FUNDS", "The card has insufficient funds"),
        ("product_not_received", "The customer says the goods or service were not received"),
        ("4853", "Cardholder dispute: not as described or defective (Mastercard)"),
        # ISO 20022 codes (SEPA direct debits through a PSP) are known too.
        ("AM04", "Insufficient funds"),
        ("am04", "Insufficient funds"),
        ("xyz_new", "Unknown reason code xyz_new"),
        (None, ""),
        ("", ""),
    ],
)
def test_reason_codes_in_words(code, words):
    assert describe_psp_reason(code) == words


def test_reason_in_words_quotes_code_words_and_text():
    assert reason_in_words("fraudulent", "stolen card") == (
        "fraudulent: Fraud: the cardholder did not authorise the payment (stolen card)"
    )
    assert reason_in_words(None, "free text") == "free text"
    assert reason_in_words(None, None) == ""


@pytest.mark.parametrize(
    ("value", "amount"),
    [("30", Decimal("30")), (" 12.50 ", Decimal("12.50")), (70, Decimal("70")), (None, None)],
)
def test_amounts(value, amount):
    assert parse_amount(value) == amount


@pytest.mark.parametrize("value", ["0", "-5", "abc", "NaN", "Infinity", True, [1], {"v": 1}])
def test_bad_amounts_are_refused(value):
    with pytest.raises(ValueError, match="amount"):
        parse_amount(value)
