from . import finance_connect_bank_import_wizard
from . import finance_connect_bank_match_wizard
