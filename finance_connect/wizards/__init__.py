from . import finance_connect_exception_ignore
from . import finance_connect_mapping_version_compare
from . import finance_connect_send_confirm
