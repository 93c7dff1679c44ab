# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Finance Connect",
    "summary": "Governed integration layer between Odoo accounting and banks, "
    "PSPs, treasury, planning and reporting systems",
    "version": "18.0.1.2.0",
    "category": "Accounting/Accounting",
    "website": "https://github.com/finance-connect/finance_connect",
    "author": "finance_connect",
    "license": "LGPL-3",
    "depends": ["account", "mail", "queue_job", "base_automation"],
    "external_dependencies": {
        "python": ["requests", "cryptography", "jsonschema", "prometheus_client"]
    },
    "data": [
        "security/finance_connect_security.xml",
        "security/ir.model.access.csv",
        "security/finance_connect_webhook_security.xml",
        "security/finance_connect_metrics_security.xml",
        "data/finance_connect_secret_data.xml",
        "data/queue_job_data.xml",
        "data/finance_connect_tier_data.xml",
        "data/ir_cron_data.xml",
        "data/mail_data.xml",
        "data/ir_actions_server_data.xml",
        "data/finance_connect_webhook_data.xml",
        "data/finance_connect_metrics_data.xml",
        "views/finance_connect_connection_views.xml",
        "views/finance_connect_message_views.xml",
        "views/finance_connect_exception_views.xml",
        "views/finance_connect_subscription_views.xml",
        "views/finance_connect_audit_views.xml",
        "views/finance_connect_send_confirm_views.xml",
        "views/account_move_views.xml",
        "views/account_payment_views.xml",
        "views/finance_connect_mapping_views.xml",
        "views/finance_connect_mapping_version_views.xml",
        "views/finance_connect_webhook_rejection_views.xml",
        "views/finance_connect_metrics_views.xml",
        "views/finance_connect_tier_views.xml",
        "views/finance_connect_menus.xml",
    ],
    "demo": ["demo/finance_connect_demo.xml"],
    "assets": {
        "web.assets_backend": [
            "finance_connect/static/src/systray/*",
        ],
        "web.assets_tests": [
            "finance_connect/static/tests/tours/*.js",
        ],
    },
}
