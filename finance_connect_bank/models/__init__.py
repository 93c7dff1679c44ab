from . import (
    account_bank_statement,
    account_bank_statement_line,
    account_journal,
    account_payment,
    finance_connect_bank_csv_profile,
    finance_connect_bank_import,
    finance_connect_bank_matcher,
    finance_connect_bank_status,
    finance_connect_connection_pull,  # the mixin before the model inheriting it
    finance_connect_connection,
    finance_connect_exception,
    finance_connect_handler,
    finance_connect_message,
    finance_connect_payment_batch,
    finance_connect_payment_batch_line,
)
