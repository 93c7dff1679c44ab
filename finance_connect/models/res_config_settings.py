"""Settings: the company's four-eyes control (turning it off is a change request)
and the retention of the message log per class (Invoicing settings)."""

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    fc_retention_statement_days = fields.Integer(
        related="company_id.fc_retention_statement_days", readonly=False
    )
    fc_retention_payment_file_days = fields.Integer(
        related="company_id.fc_retention_payment_file_days", readonly=False
    )
    fc_retention_feed_days = fields.Integer(
        related="company_id.fc_retention_feed_days", readonly=False
    )
    fc_retention_webhook_days = fields.Integer(
        related="company_id.fc_retention_webhook_days", readonly=False
    )
    fc_retention_other_days = fields.Integer(
        related="company_id.fc_retention_other_days", readonly=False
    )
    fc_four_eyes = fields.Boolean(
        string="Four-eyes control",
        compute="_compute_fc_four_eyes",
        store=True,
        readonly=False,
        help="Guarded changes of production connections, their money mappings and bank CSV "
        "profiles wait for a second person's approval; turning this off does too.",
    )
    fc_four_eyes_reason = fields.Char(
        string="Reason for turning four-eyes off",
        help="Turning four-eyes off opens a change request with this reason; another "
        "Finance Connect administrator approves it.",
    )

    @api.depends("company_id")
    def _compute_fc_four_eyes(self):
        for settings in self:
            settings.fc_four_eyes = settings.company_id.fc_four_eyes

    def set_values(self):
        res = super().set_values()
        for settings in self:
            if settings.company_id.fc_four_eyes != settings.fc_four_eyes:
                settings.company_id.with_context(
                    fc_change_reason=settings.fc_four_eyes_reason
                ).write({"fc_four_eyes": settings.fc_four_eyes})
        return res

    fc_checklist = fields.Html(
        string="Finance Connect set-up",
        compute="_compute_fc_checklist",
        sanitize=False,
        help="What Finance Connect still needs in this company before it can be trusted.",
    )

    @api.depends("company_id")
    def _compute_fc_checklist(self):
        for settings in self:
            items = settings._fc_checklist_items()
            rows = Markup("").join(
                Markup('<li class="%s"><i class="fa %s me-1" role="img" aria-label="%s"/>%s</li>')
                % (
                    "text-success" if ok else "text-danger",
                    "fa-check" if ok else "fa-times",
                    "done" if ok else "missing",
                    escape(text),
                )
                for ok, text in items
            )
            settings.fc_checklist = Markup('<ul class="list-unstyled mb-0">%s</ul>') % rows

    def _fc_checklist_items(self):
        """[(done, sentence)] of the company's set-up, in the order to do it:
        the encryption key, a connection, a mapping set, no unmapped account."""
        self.ensure_one()
        company = self.company_id
        items = []
        try:
            self.env["finance.connect.secret"]._get_box()
            items.append(
                (True, self.env._("An encryption key is configured: secrets can be stored."))
            )
        except UserError as exc:
            items.append((False, str(exc)))
        Connection = self.env["finance.connect.connection"].sudo()
        connections = Connection.search(
            [("company_id", "=", company.id), ("fc_bank_upload", "=", False)]
            if "fc_bank_upload" in Connection._fields
            else [("company_id", "=", company.id)]
        )
        items.append(
            (True, self.env._("%(n)s connection(s).", n=len(connections)))
            if connections
            else (
                False,
                self.env._(
                    "No connection yet: add one in Finance Connect > Configuration > Connections."
                ),
            )
        )
        sets = connections.mapping_ids
        items.append(
            (True, self.env._("%(n)s mapping set(s) used by the connections.", n=len(sets)))
            if sets
            else (
                False,
                self.env._(
                    "No connection uses a mapping set: create one (Configuration > Mapping "
                    "sets) and add it to the connection."
                ),
            )
        )
        unmapped = sum(sets.mapped("coverage_account_unmapped"))
        if sets:
            items.append(
                (True, self.env._("Every account is mapped."))
                if not unmapped
                else (
                    False,
                    self.env._(
                        "%(n)s account(s) have no mapping: open the mapping sets and use "
                        "'List unmapped' to see them.",
                        n=unmapped,
                    ),
                )
            )
        return items
