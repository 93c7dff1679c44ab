# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Finance Connect Reporting",
    "summary": "Governed feeds of actuals, trial balances and journals to reporting, "
    "BI and planning tools",
    "version": "18.0.1.1.0",
    "category": "Accounting/Accounting",
    "website": "https://github.com/finance-connect/finance_connect",
    "author": "finance_connect",
    "license": "LGPL-3",
    "depends": ["finance_connect", "account", "queue_job"],
    "external_dependencies": {"python": ["requests", "cryptography", "jsonschema"]},
    "data": [
        "security/ir.model.access.csv",
        "security/finance_connect_reporting_security.xml",
        "data/ir_cron_data.xml",
        "views/finance_connect_feed_views.xml",
        "views/finance_connect_sla_rule_views.xml",
        "views/finance_connect_reporting_menus.xml",
    ],
    "demo": ["demo/finance_connect_reporting_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "finance_connect_reporting/static/tests/tours/*.js",
        ],
    },
}
