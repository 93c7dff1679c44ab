"""Exception inbox: the bank addon's own categories (refused files and statements,
PSP disputes), what "Fix" opens for them, and refused uploads."""

from odoo import api, fields, models

#: Refusals of a bank file or of one of its statements.
BANK_FILE_CATEGORIES = ("bank_file", "bank_account", "bank_currency", "balance_mismatch")


class FinanceConnectException(models.Model):
    _inherit = "finance.connect.exception"

    category = fields.Selection(
        selection_add=[
            ("psp_dispute", "PSP dispute"),
            ("bank_file", "Bank file refused"),
            ("bank_account", "Unknown bank account"),
            ("bank_currency", "Currency mismatch"),
        ],
        ondelete={
            key: lambda records: records.write({"category": "other"})
            for key in ("psp_dispute", "bank_file", "bank_account", "bank_currency")
        },
    )
    fc_bank_upload = fields.Boolean(
        string="Refused upload",
        compute="_compute_fc_bank_upload",
        help="The exception is about a file uploaded by hand: replaying the same bytes "
        "meets the same error, a corrected file is what helps.",
    )

    @api.depends("message_id")
    def _compute_fc_bank_upload(self):
        for exc in self:
            exc.fc_bank_upload = bool(exc.message_id.sudo().connection_id.fc_bank_upload)

    def action_open_fix(self):
        # EXTENDS finance_connect: a statement whose account no journal has is
        # fixed on the bank journals (give one the account); a refused upload
        # with nothing else to change, by a corrected file.
        self.ensure_one()
        if self.category == "bank_account" and not self.fix_model:
            return {
                "type": "ir.actions.act_window",
                "name": self.env._("Bank journals"),
                "res_model": "account.journal",
                "domain": [("type", "=", "bank"), ("company_id", "=", self.company_id.id)],
                "context": {"default_type": "bank", "default_company_id": self.company_id.id},
                "view_mode": "list,form",
                "views": [(False, "list"), (False, "form")],
            }
        if self.fc_bank_upload and not self.fix_model and self.category in BANK_FILE_CATEGORIES:
            # Not the "Manual upload" pseudo-connection: a corrected file.
            return self.action_import_corrected_file()
        return super().action_open_fix()

    def action_retry(self):
        # EXTENDS finance_connect: a refused upload is not replayed (the same file
        # would be refused again); the person imports a corrected file instead.
        self._check_act()
        uploads = self.filtered("fc_bank_upload")
        if uploads:
            return uploads[:1].action_import_corrected_file()
        return super().action_retry()

    def action_import_corrected_file(self):
        """Open the upload wizard for a corrected file of this refused upload."""
        self._check_act()
        self.ensure_one()
        self.sudo().write({"state": "in_progress"})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Import a corrected file"),
            "res_model": "finance.connect.bank.import.wizard",
            "view_mode": "form",
            "target": "new",
        }
