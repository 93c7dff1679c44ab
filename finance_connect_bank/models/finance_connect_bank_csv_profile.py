"""Column profiles of CSV / XLSX bank exports, configured by the accountant."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib.csv_profile import ColumnProfile

COLUMN_FIELDS = (
    "date_column",
    "value_date_column",
    "amount_column",
    "debit_column",
    "credit_column",
    "currency_column",
    "payment_ref_column",
    "partner_name_column",
    "partner_iban_column",
    "reference_column",
)


#: Four-eyes control: everything that decides how a file's rows become
#: statement lines (and of which journal); the name and archiving are free.
FOUR_EYES_FIELDS = frozenset(
    {
        "company_id",
        "journal_id",
        "delimiter",
        "encoding",
        "quotechar",
        "header_rows",
        "date_format",
        "decimal_separator",
        "thousands_separator",
        "default_currency",
        "sheet",
        *COLUMN_FIELDS,
    }
)


class FinanceConnectBankCsvProfile(models.Model):
    _name = "finance.connect.bank.csv.profile"
    _description = "Finance Connect CSV/XLSX column profile"
    _inherit = ["finance.connect.four.eyes.mixin"]
    _order = "name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', '=', 'bank')]",
        help="The journal the lines of these files go to (CSV files name no account).",
    )
    delimiter = fields.Char(default=";", required=True, size=1)
    encoding = fields.Char(default="utf-8", required=True)
    quotechar = fields.Char(default='"', required=True, size=1)
    header_rows = fields.Integer(default=1, help="The header is the last of these rows.")
    date_format = fields.Char(default="%d.%m.%Y", required=True)
    decimal_separator = fields.Char(default=",", required=True, size=1)
    thousands_separator = fields.Char(default=".", size=1)
    default_currency = fields.Char(help="Currency when the file has no currency column.")
    sheet = fields.Char(help="XLSX sheet name (default: the first sheet).")
    date_column = fields.Char(
        required=True, default="0", help="Header name, or 0-based column number."
    )
    value_date_column = fields.Char()
    amount_column = fields.Char(help="One signed amount column ...")
    debit_column = fields.Char(help="... or a debit and a credit column.")
    credit_column = fields.Char()
    currency_column = fields.Char()
    payment_ref_column = fields.Char(string="Label column")
    partner_name_column = fields.Char()
    partner_iban_column = fields.Char(string="Counterparty IBAN column")
    reference_column = fields.Char(string="Bank reference column")

    # ------------------------------------------------------------------
    # Four-eyes control (finance.connect.four.eyes.mixin): a new profile is
    # created at once; changing or deleting one in use is approved by
    # another manager when its company has four-eyes on.
    # ------------------------------------------------------------------

    @api.model
    def _fc_four_eyes_fields(self):
        return FOUR_EYES_FIELDS

    @api.model
    def _fc_four_eyes_approver(self, names=None):
        return "manager"

    def _fc_four_eyes_on(self, vals=None):
        return self.filtered(
            lambda p: p._origin.id and (p.company_id or self.env.company).fc_four_eyes
        )

    def _fc_four_eyes_scope(self, vals=None):
        return {"company_id": (self.company_id or self.env.company).id}

    def write(self, vals):
        held = self._fc_four_eyes_write(vals)
        if held is not None:
            return held
        return super().write(vals)

    def unlink(self):
        self = self._fc_four_eyes_unlink()  # pylint: disable=self-cls-assignment
        return super().unlink() if self else True

    def action_view_change_requests(self):
        """The change requests of this profile (a window action; the list is
        read with the user's own rights)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_change_request_action"
        )
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {"search_default_pending": 1}
        return action

    @api.constrains("amount_column", "debit_column", "credit_column")
    def _check_amount_columns(self):
        for profile in self:
            if not profile.amount_column and not (profile.debit_column and profile.credit_column):
                raise ValidationError(
                    self.env._(
                        "A column profile needs an amount column, or a debit and a credit column."
                    )
                )

    def _to_lib_profile(self):
        """The pure :class:`ColumnProfile` of this profile."""
        self.ensure_one()

        def column(value):
            if not value:
                return None
            return int(value) if value.strip().isdigit() else value.strip()

        return ColumnProfile(
            delimiter=self.delimiter,
            encoding=self.encoding,
            quotechar=self.quotechar,
            header_rows=self.header_rows,
            date_format=self.date_format,
            decimal_separator=self.decimal_separator,
            thousands_separator=self.thousands_separator or "",
            default_currency=self.default_currency or None,
            sheet=self.sheet or None,
            **{name[: -len("_column")]: column(self[name]) for name in COLUMN_FIELDS},
        )
