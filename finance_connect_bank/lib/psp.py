"""PSP webhook events: event types, reason codes in words, amounts (pure Python, no ORM).

Card schemes and PSPs report why a payment failed or was disputed with short
codes (``card_declined``, ``fraudulent``, scheme reason codes such as ``4853``);
the exception inbox quotes them in words. ISO 20022 codes (``AM04``) are
described by :func:`..pain002.describe_reason`.
"""

from decimal import Decimal, InvalidOperation

from .pain002 import REASON_CODES

#: The PSP event types and the bank status each gives a payment (``None``: the
#: event is not about one payment).
PSP_EVENTS = {
    "payment.succeeded": "settled",
    "payment.failed": "rejected",
    "payment.refunded": "refunded",
    "payment.disputed": "disputed",
    "payment.dispute_won": "dispute_won",
    "payment.dispute_lost": "dispute_lost",
    "payout.settled": None,
}

PSP_REASON_CODES = {
    # Failed payments (decline codes)
    "authentication_required": "The card issuer requires the customer to authenticate",
    "card_declined": "The card was declined",
    "card_not_supported": "The card does not support this kind of purchase",
    "currency_not_supported": "The card does not support this currency",
    "do_not_honor": "The card issuer declined the payment without saying why",
    "expired_card": "The card has expired",
    "fraudulent": "Fraud: the cardholder did not authorise the payment",
    "generic_decline": "The card was declined",
    "incorrect_cvc": "The card's security code is incorrect",
    "incorrect_number": "The card number is incorrect",
    "insufficient_funds": "The card has insufficient funds",
    "invalid_account": "The card or its account is invalid",
    "lost_card": "The card was reported lost",
    "processing_error": "An error occurred while processing the card",
    "stolen_card": "The card was reported stolen",
    "debit_not_authorized": "The customer did not authorise the direct debit",
    # Refunds
    "requested_by_customer": "The customer asked for the refund",
    # Disputes (chargeback reasons)
    "bank_cannot_process": "The customer's bank cannot process the payment",
    "check_returned": "The cheque was returned",
    "credit_not_processed": "The customer says a promised refund or credit was not processed",
    "customer_initiated": "The customer asked their bank to reverse the payment",
    "duplicate": "The customer says they were charged twice",
    "general": "The customer disputes the payment without a specific reason",
    "incorrect_account_details": "The account details were incorrect",
    "product_not_received": "The customer says the goods or service were not received",
    "product_unacceptable": "The customer says the goods or service were defective or not "
    "as described",
    "subscription_canceled": "The customer says the subscription had been cancelled",
    "unrecognized": "The customer does not recognise the payment",
    # Card scheme chargeback codes
    "10.4": "Fraud, card-absent environment (Visa)",
    "13.1": "Merchandise or services not received (Visa)",
    "13.3": "Not as described or defective merchandise (Visa)",
    "4837": "No cardholder authorisation (Mastercard)",
    "4853": "Cardholder dispute: not as described or defective (Mastercard)",
    "4855": "Goods or services not provided (Mastercard)",
}


def describe_psp_reason(code):
    """English words for a PSP, card scheme or ISO reason code ("" without a code)."""
    if not code:
        return ""
    key = str(code).strip()
    words = PSP_REASON_CODES.get(key.lower()) or REASON_CODES.get(key.upper())
    return words or f"Unknown reason code {key}"


def reason_in_words(code, text=None):
    """``code: words (text)`` as quoted in exceptions and on payments."""
    reason = ": ".join(x for x in (code, describe_psp_reason(code)) if x)
    if text:
        reason = f"{reason} ({text})" if reason else str(text)
    return reason


def parse_amount(value, field="amount"):
    """A strictly positive :class:`Decimal` from a JSON number or string; ``None`` when absent.

    Raises ``ValueError`` naming ``field`` for anything else (booleans, NaN,
    zero, negative amounts, garbage).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{field} must be a number, not {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{field} {value!r} is not a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"{field} must be a positive amount, not {value!r}")
    return amount


def short_text(value):
    """A short text from a JSON value (``False`` when empty)."""
    if value is None or value == "" or isinstance(value, dict | list):
        return False
    return str(value)[:200]
