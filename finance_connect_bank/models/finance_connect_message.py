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

    fc_statement_ids = fields.Many2many(
        "account.bank.statement",
        string="Statements",
        compute="_compute_fc_statement_ids",
        groups="account.group_account_invoice,account.group_account_readonly",
        help="The bank statements this file's lines were imported into.",
    )

    @api.depends("fc_filename")
    def _compute_fc_statement_ids(self):
        # one grouped query: a file's lines can be thousands, its statements few
        pairs = self.env["account.bank.statement.line"]._read_group(
            [("fc_message_id", "in", self.ids)], ["fc_message_id", "statement_id"]
        )
        by_message = {}
        for message, statement in pairs:
            if statement:
                by_message.setdefault(message.id, []).append(statement.id)
        for message in self:
            message.fc_statement_ids = [fields.Command.set(by_message.get(message.id, []))]

    @api.model
    def _get_schema_dirs(self):
        # EXTENDS finance_connect
        return super()._get_schema_dirs() + [get_module_path("finance_connect_bank") + "/schemas"]

    @api.model
    def _get_retention_event_types(self):
        # EXTENDS finance_connect: bank files received and payment files sent
        classes = super()._get_retention_event_types()
        classes["statement"] = classes["statement"] | {"statement"}
        classes["payment_file"] = classes["payment_file"] | {
            "payment_batch.created",
            "payment_status",
        }
        return classes
