# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Finance Connect Bank",
    "summary": "Bank statements in (camt.053/054, MT940, CSV), payment status in "
    "(pain.002, PSP webhooks), payment batches out (pain.001), matching",
    "version": "18.0.1.1.0",
    "category": "Accounting/Accounting",
    "website": "https://github.com/finance-connect/finance_connect",
    "author": "finance_connect",
    "license": "LGPL-3",
    "depends": ["finance_connect", "account"],
    "external_dependencies": {
        "python": ["requests", "cryptography", "jsonschema", "lxml", "openpyxl"]
    },
    "demo": ["demo/finance_connect_bank_demo.xml"],
    "data": [
        "security/ir.model.access.csv",
        "security/finance_connect_bank_security.xml",
        "data/ir_sequence_data.xml",
        "data/finance_connect_bank_pull_data.xml",
        "views/finance_connect_connection_views.xml",
        "views/finance_connect_message_views.xml",
        "views/finance_connect_exception_views.xml",
        "views/account_bank_statement_views.xml",
        "views/finance_connect_bank_import_wizard_views.xml",
        "views/finance_connect_bank_csv_profile_views.xml",
        "views/account_bank_statement_line_views.xml",
        "views/account_payment_views.xml",
        "views/finance_connect_payment_batch_views.xml",
        "views/finance_connect_sla_rule_views.xml",
        "views/finance_connect_bank_menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "finance_connect_bank/static/tests/tours/*.js",
        ],
    },
}
