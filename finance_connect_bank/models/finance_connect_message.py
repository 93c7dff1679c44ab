"""Bank files on inbound messages; the bank addon's JSON Schemas."""

from odoo import api, fields, models
from odoo.modules.module import get_module_path


class FinanceConnectMessage(models.Model):
    _inherit = "finance.connect.message"

    fc_filename = fields.Char(string="File name", readonly=True)
    fc_import_complete = fields.Boolean(
        string="Completely imported",
        readonly=True,
        help="Every statement of this bank file was imported or already there.",
    )
    fc_import_new = fields.Integer(string="Lines created", readonly=True)
    fc_import_lines = fields.Integer(string="Lines of the file", readonly=True)
    fc_import_warnings = fields.Text(
        string="Import warnings",
        readonly=True,
        help="What was wrong with the file though it was imported (deviations from its "
        "ISO 20022 schema).",
    )
    fc_import_duplicates = fields.Text(
        string="Entries already imported",
        readonly=True,
        help="Each entry of the file skipped as already imported: the earlier statement "
        "line, the file and message it came from, and the import id they share.",
    )

    @api.model
    def _get_schema_dirs(self):
        # EXTENDS finance_connect
        return super()._get_schema_dirs() + [get_module_path("finance_connect_bank") + "/schemas"]
