from . import finance_connect_bank_import_wizard
from . import finance_connect_bank_match_wizard
from . import finance_connect_payment_batch_add
