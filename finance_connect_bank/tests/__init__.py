from . import (
    test_bank_equivalence,
    test_bank_import,
    test_bank_batch_ux,
    test_bank_exception_tour,
    test_bank_import_tour,
    test_bank_journal_turns,
    test_bank_match_by_hand,
    test_bank_log_chain,
    test_bank_matching,
    test_bank_neutralize,
    test_bank_payments,
    test_bank_psp,
    test_bank_pull,
    test_bank_real_files,
    test_bank_refusal_fix,
    test_bank_retention,
    test_bank_sla,
)
from . import test_four_eyes_bank, test_trust_batches

# ORM-free tests of lib/ (the bank file formats)
from . import (
    test_bank_camt,
    test_bank_camt_quirks,
    test_bank_csv,
    test_bank_detect,
    test_bank_mt940,
    test_bank_mt940_quirks,
    test_bank_pain001,
    test_bank_pain002,
    test_bank_psp_reasons,
    test_bank_pull_answer,
)
