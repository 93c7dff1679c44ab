"""Bank settings of a connection, and the per-company "Manual upload" connection."""

from odoo import api, fields, models


class FinanceConnectConnection(models.Model):
    _name = "finance.connect.connection"
    _inherit = ["finance.connect.connection", "finance.connect.bank.pull.mixin"]

    fc_bank_upload = fields.Boolean(
        string="Manual uploads",
        readonly=True,
        help="The connection that records the bank files users upload by hand.",
    )
    fc_pain001_version = fields.Selection(
        [("001.001.09", "pain.001.001.09"), ("001.001.03", "pain.001.001.03")],
        string="pain.001 version",
        default="001.001.09",
        help="The credit transfer version this bank accepts.",
    )
    fc_bank_xsd_strict = fields.Boolean(
        string="Refuse files off the schema",
        help="Refuse a camt file that does not match its ISO 20022 schema. Unticked (the "
        "default), such a file is imported when everything the import reads is correct, "
        "and its deviations from the schema are shown as a warning on the statement and "
        "on the message.",
    )
    fc_fee_account_id = fields.Many2one(
        "account.account",
        string="Fee account",
        check_company=True,
        help="PSP fees reported with a payout are booked on this account.",
    )
    fc_fee_journal_id = fields.Many2one(
        "account.journal",
        string="Fee journal",
        check_company=True,
        help="Journal of the PSP fee and dispute entries (its default account is the PSP "
        "balance).",
    )
    fc_dispute_account_id = fields.Many2one(
        "account.account",
        string="Disputes account",
        check_company=True,
        help="A disputed PSP payment (chargeback) is booked from the PSP balance to this "
        "account; a won dispute reverses the entry, a lost one leaves it there.",
    )

    @api.model
    def _fc_bank_upload_connection(self, company=None):
        """The company's "Manual upload" bank connection, created when missing.

        Uploaded files are inbound messages like any other; the message log
        needs a connection, and uploads have none of their own.
        """
        company = company or self.env.company
        Connection = self.sudo().with_context(active_test=False)
        connection = Connection.search(
            [("fc_bank_upload", "=", True), ("company_id", "=", company.id)], limit=1
        )
        if not connection:
            connection = Connection.create(
                {
                    "name": self.env._("Manual upload"),
                    "kind": "bank",
                    "company_id": company.id,
                    "fc_bank_upload": True,
                }
            )
        return connection
