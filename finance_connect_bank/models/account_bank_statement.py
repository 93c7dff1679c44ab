"""What the bank import noted about a statement (schema deviations)."""

from odoo import fields, models


class AccountBankStatement(models.Model):
    _inherit = "account.bank.statement"

    fc_import_warning = fields.Text(
        string="Import warning",
        readonly=True,
        copy=False,
        help="What was wrong with the bank file this statement came from, though it could "
        "be imported: e.g. where a camt file deviates from its ISO 20022 schema.",
    )
