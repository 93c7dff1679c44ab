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

    def _runbooks(self):
        # EXTENDS finance_connect: the bank addon's categories.
        return {
            **super()._runbooks(),
            "bank_file": (
                self.env._(
                    "A bank file could not be read (damaged, not a bank statement format, off "
                    "its schema on a strict connection, entries without dates, or a CSV its "
                    "profile does not read). Nothing of it was imported."
                ),
                self.env._(
                    "The file and line the description names; for CSV/XLSX, the profile's "
                    "separator, columns, date and amount formats (Fix opens the profile)."
                ),
                self.env._(
                    "Correct the CSV profile and upload the file again, or ask the bank for a "
                    "correct file; for a file uploaded by hand, Fix opens the upload of a "
                    "corrected file. Then Resolve."
                ),
            ),
            "bank_account": (
                self.env._(
                    "A statement names a bank account that no bank journal of your companies "
                    "has (or that several have), so Odoo does not know where to book it."
                ),
                self.env._(
                    "The account number in the description, and your bank journals' accounts "
                    "(Fix opens them): a new account, a typo, or a journal not set up yet?"
                ),
                self.env._(
                    "Give the account to its bank journal (or keep it on one only), or map it "
                    "to a journal in a mapping set of the connection; then import the file "
                    "again (Retry for a file that came by itself). Then Resolve."
                ),
            ),
            "bank_currency": (
                self.env._(
                    "A statement is in another currency than the journal its account leads to."
                ),
                self.env._(
                    "Whether the bank keeps one account per currency (then you need one bank "
                    "journal per currency) or the journal's currency is wrong (Fix opens it)."
                ),
                self.env._(
                    "Create or correct the journal of that currency, then import the file again "
                    "(Retry for a file that came by itself). Then Resolve."
                ),
            ),
            "psp_dispute": (
                self.env._(
                    "A customer disputed a card or wallet payment at the payment provider: the "
                    "amount is held and may be taken back."
                ),
                self.env._(
                    "The order and invoice concerned, and the provider's deadline for evidence."
                ),
                self.env._(
                    "Send the evidence from the provider's dashboard; when the dispute is "
                    "decided the provider's event books the outcome. Then Resolve."
                ),
            ),
        }

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
