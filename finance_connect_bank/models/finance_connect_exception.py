"""Exception inbox: the bank addon's own category."""

from odoo import fields, models


class FinanceConnectException(models.Model):
    _inherit = "finance.connect.exception"

    category = fields.Selection(
        selection_add=[("psp_dispute", "PSP dispute")],
        ondelete={"psp_dispute": lambda records: records.write({"category": "other"})},
    )
