from . import (
    account_move,
    finance_connect_feed,
    finance_connect_feed_delivery,
    finance_connect_handler,
    finance_connect_message,
    finance_connect_metrics,
)
