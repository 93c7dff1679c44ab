from . import (
    test_batch_mapping,
    test_delivery,
    test_demo_sandbox_url,
    test_develop_api,
    test_engine_more,
    test_exception_inbox,
    test_http_statics,
    test_mapping,
    test_mapping_tour,
    test_payment_state,
    test_record_link,
    test_security,
    test_public_methods,
    test_trust_connection,
    test_trust_data,
    test_ui,
    test_webhook,
)

# ORM-free tests of lib/ (and of the sandbox counterparty)
from . import (
    test_i18n_extractable,
    test_mapping_lib,
    test_masking,
    test_outbound_guard,
    test_payloads,
    test_retry,
    test_sandbox,
    test_secretbox,
    test_signing,
    test_webhook_inbound,
    test_xmlsafe,
)
