from . import (
    test_bank_import,
    test_bank_import_tour,
    test_bank_matching,
    test_bank_payments,
    test_bank_psp,
    test_bank_pull,
)
from . import test_trust_batches
