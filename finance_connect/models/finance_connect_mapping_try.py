"""Try a value: what does a code map to, and which line decided it."""

from odoo import api, fields, models

from ..lib import mapping as lib_mapping
from .finance_connect_mapping_source import MAPPING_TYPES, PARTNER_KEYS


class FinanceConnectMappingTry(models.TransientModel):  # pylint: disable=no-wizard-in-models
    _name = "finance.connect.mapping.try"
    _description = "Finance Connect: try a mapping value"

    mapping_id = fields.Many2one("finance.connect.mapping", string="Mapping set", required=True)
    connection_id = fields.Many2one(
        "finance.connect.connection",
        string="As connection",
        help="Try with every mapping set of this connection together, as the sync does.",
    )
    mapping_type = fields.Selection(MAPPING_TYPES, string="Type", required=True, default="account")
    partner_key = fields.Selection(PARTNER_KEYS, string="Partner key", default="vat")
    value = fields.Char(
        help="Outbound: an Odoo value (e.g. an account code). Inbound: a code "
        "of the other system."
    )
    direction = fields.Selection(
        [("outbound", "Outbound (Odoo → external)"), ("inbound", "Inbound (external → Odoo)")],
        required=True,
        default="outbound",
    )
    on_date = fields.Date(string="On", required=True, default=fields.Date.context_today)
    result_state = fields.Selection(
        [("mapped", "Mapped"), ("unmapped", "Unmapped"), ("ambiguous", "Ambiguous")],
        string="Result",
        compute="_compute_result",
    )
    result_target = fields.Char(string="Maps to", compute="_compute_result")
    result_rule = fields.Char(string="Decided by rule", compute="_compute_result")
    result_line_id = fields.Many2one(
        "finance.connect.mapping.line", string="Deciding line", compute="_compute_result"
    )
    result_message = fields.Char(string="Explanation", compute="_compute_result")

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        wizards._check_targets()
        return wizards

    def write(self, vals):
        res = super().write(vals)
        if {"mapping_id", "connection_id"} & set(vals):
            self._check_targets()
        return res

    def _check_targets(self):
        """The set and the connection tried must be readable by the user (their
        company rules): nobody tries another company's connection or set."""
        for wizard in self:
            wizard.mapping_id.check_access("read")
            wizard.connection_id.check_access("read")

    @api.depends(
        "mapping_id",
        "connection_id",
        "mapping_type",
        "partner_key",
        "value",
        "direction",
        "on_date",
    )
    def _compute_result(self):
        Line = self.env["finance.connect.mapping.line"]
        for wizard in self:
            wizard.update(
                {
                    "result_state": False,
                    "result_target": False,
                    "result_rule": False,
                    "result_line_id": False,
                    "result_message": False,
                }
            )
            value = (wizard.value or "").strip()
            if not value or not wizard.mapping_id:
                continue
            sets = (
                wizard.connection_id._get_mapping_sets()
                if wizard.connection_id
                else wizard.mapping_id
            )
            table = sets._get_table()
            key = value
            if wizard.mapping_type == "partner" and wizard.direction == "outbound":
                kind = wizard.partner_key or "vat"
                key = f"{kind}:{lib_mapping.normalize_vat(value) if kind == 'vat' else value}"
            try:
                found = table.resolve(wizard.mapping_type, key, wizard.direction, wizard.on_date)
            except lib_mapping.Ambiguous as exc:
                wizard.result_state = "ambiguous"
                lines = Line.browse([i for i in exc.line_ids if i]).exists()
                wizard.result_message = self.env._(
                    "Ambiguous: %(lines)s decide it differently; the sync would wait.",
                    lines=", ".join(lines.mapped("display_name")),
                )
            except lib_mapping.Unmapped:
                wizard.result_state = "unmapped"
                wizard.result_message = self.env._(
                    "No line maps %(value)s on %(date)s; the sync would wait for a mapping.",
                    value=value,
                    date=wizard.on_date,
                )
            else:
                line = Line.browse(found.line_id).exists() if found.line_id else Line
                wizard.update(
                    {
                        "result_state": "mapped",
                        "result_target": str(found.target),
                        "result_rule": found.rule,
                        "result_line_id": line.id,
                        "result_message": self.env._(
                            "%(value)s → %(target)s, decided by %(rule)s line %(line)s.",
                            value=value,
                            target=found.target,
                            rule=found.rule,
                            line=line.display_name or found.line_id,
                        ),
                    }
                )
