"""The reporting addon's JSON Schemas (feed.delivery); feed messages' retention class."""

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

    @api.model
    def _get_retention_event_types(self):
        # EXTENDS finance_connect: feed deliveries sent and their acknowledgements
        classes = super()._get_retention_event_types()
        classes["feed"] = classes["feed"] | {"feed.delivery", "feed.ack"}
        return classes
