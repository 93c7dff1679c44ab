"""Upload wizard: several bank files at once, format recognised, result shown."""

import base64

from odoo import fields, models
from odoo.exceptions import UserError


class FinanceConnectBankImportWizard(models.TransientModel):
    _name = "finance.connect.bank.import.wizard"
    _description = "Import bank files"

    attachment_ids = fields.Many2many(
        "ir.attachment",
        "fc_bank_import_wizard_attachment_rel",
        "wizard_id",
        "attachment_id",
        string="Files",
    )
    journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', '=', 'bank')]",
        help="Leave empty: each statement goes to the journal of its bank account.",
    )
    csv_profile_id = fields.Many2one(
        "finance.connect.bank.csv.profile",
        string="CSV/XLSX profile",
        help="How to read CSV and XLSX exports.",
    )
    connection_id = fields.Many2one(
        "finance.connect.connection",
        domain="[('kind', '=', 'bank')]",
        help="Leave empty: the files are logged under the company's 'Manual upload' connection.",
    )
    state = fields.Selection([("upload", "Upload"), ("done", "Done")], default="upload")
    result = fields.Text(readonly=True)
    new_count = fields.Integer(readonly=True)
    duplicate_count = fields.Integer(readonly=True)
    error_count = fields.Integer(readonly=True)
    line_ids = fields.Many2many(
        "account.bank.statement.line",
        "fc_bank_import_wizard_line_rel",
        "wizard_id",
        "line_id",
        readonly=True,
    )

    def action_import(self):
        self.ensure_one()
        if not self.attachment_ids:
            raise UserError(self.env._("Add at least one bank file."))
        self._check_statement_rights()
        Import = self.env["finance.connect.bank.import"]
        journal = self.journal_id or self.csv_profile_id.journal_id
        texts, new, duplicates, errors, line_ids = [], 0, 0, 0, []
        for attachment in self.attachment_ids:
            data = base64.b64decode(attachment.datas or b"")
            result = Import._import_file(
                data,
                attachment.name,
                connection=self.connection_id or None,
                journal=journal or None,
                csv_profile=self.csv_profile_id or None,
            )
            texts.append(f"{attachment.name}:\n{result['summary']}")
            new += result["new"]
            duplicates += result["duplicates"]
            errors += len(result["errors"])
            line_ids += result["line_ids"]
        self.write(
            {
                "state": "done",
                "result": "\n\n".join(texts),
                "new_count": new,
                "duplicate_count": duplicates,
                "error_count": errors,
                "line_ids": [fields.Command.set(line_ids)],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Bank import"),
        }

    def _check_statement_rights(self):
        """Refuse before reading anything when the user may not create statement
        lines: Odoo's bank rights, not ours (community Odoo gives them with
        Accounting's "Show Full Accounting Features", which implies "Basic")."""
        if not self.env["account.bank.statement.line"].has_access("create"):
            raise UserError(
                self.env._(
                    "Importing bank files creates bank statement lines, which needs Odoo's"
                    ' bank rights. Ask an administrator to tick "Show Full Accounting'
                    ' Features" on your user: Settings > Users & Companies > Users, your'
                    ' user, tab "Access Rights", section "Technical" (shown in developer'
                    " mode only). Nothing was imported."
                )
            )

    def action_view_lines(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.bank.statement.line",
            "name": self.env._("Imported lines"),
            "view_mode": "list,form",
            "domain": [("id", "in", self.line_ids.ids)],
        }
