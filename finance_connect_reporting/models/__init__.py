from . import (
    account_move,
    finance_connect_feed_reader,
    finance_connect_feed_conversion,
    finance_connect_feed_pull,
    finance_connect_feed,
    finance_connect_feed_delivery,
    finance_connect_handler,
    finance_connect_message,
    finance_connect_metrics,
    finance_connect_sla_rule,
)
