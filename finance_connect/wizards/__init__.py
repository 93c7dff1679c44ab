from . import finance_connect_exception_ignore
