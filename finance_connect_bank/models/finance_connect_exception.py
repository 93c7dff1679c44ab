"""Exception inbox: the bank addon's own category, and refused uploads."""

from odoo import api, fields, models


class FinanceConnectException(models.Model):
    _inherit = "finance.connect.exception"

    category = fields.Selection(
        selection_add=[("psp_dispute", "PSP dispute")],
        ondelete={"psp_dispute": lambda records: records.write({"category": "other"})},
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
