"""PSP events: reason codes in words and amounts (finance_connect_bank/lib/psp.py)."""

from decimal import Decimal

from odoo.addons.finance_connect_bank.lib.psp import (
    describe_psp_reason,
    parse_amount,
    reason_in_words,
)
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestPspReasons(BaseCase):
    def test_reason_codes_in_words(self):
        for code, words in [
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
        ]:
            with self.subTest(code=code, words=words):
                assert describe_psp_reason(code) == words

    def test_reason_in_words_quotes_code_words_and_text(self):
        assert reason_in_words("fraudulent", "stolen card") == (
            "fraudulent: Fraud: the cardholder did not authorise the payment (stolen card)"
        )
        assert reason_in_words(None, "free text") == "free text"
        assert reason_in_words(None, None) == ""

    def test_amounts(self):
        for value, amount in [
            ("30", Decimal("30")),
            (" 12.50 ", Decimal("12.50")),
            (70, Decimal("70")),
            (None, None),
        ]:
            with self.subTest(value=value, amount=amount):
                assert parse_amount(value) == amount

    def test_bad_amounts_are_refused(self):
        for value in ["0", "-5", "abc", "NaN", "Infinity", True, [1], {"v": 1}]:
            with self.subTest(value=value):
                with self.assertRaisesRegex(ValueError, "amount"):
                    parse_amount(value)
