from . import (
    test_bank_equivalence,
    test_bank_import,
    test_bank_import_tour,
    test_bank_journal_turns,
    test_bank_matching,
    test_bank_payments,
    test_bank_psp,
    test_bank_pull,
    test_bank_real_files,
)
from . import test_trust_batches
