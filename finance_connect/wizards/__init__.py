from . import finance_connect_exception_ignore
from . import finance_connect_send_confirm
