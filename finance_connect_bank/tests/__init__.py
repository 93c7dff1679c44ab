from . import test_bank_import, test_bank_matching, test_bank_payments
