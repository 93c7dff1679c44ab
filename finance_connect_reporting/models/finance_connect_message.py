"""The reporting addon's JSON Schemas (feed.delivery)."""

from odoo import api, models
from odoo.modules.module import get_module_path


class FinanceConnectMessage(models.Model):
    _inherit = "finance.connect.message"

    @api.model
    def _get_schema_dirs(self):
        # EXTENDS finance_connect
        return super()._get_schema_dirs() + [
            get_module_path("finance_connect_reporting") + "/schemas"
        ]
