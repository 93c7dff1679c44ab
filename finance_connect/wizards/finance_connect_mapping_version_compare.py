"""Compare two versions of a mapping set: what was added, removed, changed."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib import mapping_versions as lib_versions


class FinanceConnectMappingVersionCompare(models.TransientModel):
    _name = "finance.connect.mapping.version.compare"
    _description = "Finance Connect: compare two mapping set versions"

    mapping_id = fields.Many2one("finance.connect.mapping", string="Mapping set", required=True)
    version_a_id = fields.Many2one(
        "finance.connect.mapping.version",
        string="Version",
        required=True,
        domain="[('mapping_id', '=', mapping_id)]",
        help="The version compared (the older one, usually).",
    )
    version_b_id = fields.Many2one(
        "finance.connect.mapping.version",
        string="Compared with",
        required=True,
        domain="[('mapping_id', '=', mapping_id)]",
        help="The version it is compared with (the newer one, usually).",
    )
    added_count = fields.Integer(string="Added", compute="_compute_diff")
    removed_count = fields.Integer(string="Removed", compute="_compute_diff")
    changed_count = fields.Integer(string="Changed", compute="_compute_diff")
    diff_html = fields.Html(string="Differences", compute="_compute_diff", sanitize=False)

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        wizards._check_versions()
        return wizards

    def write(self, vals):
        res = super().write(vals)
        if {"mapping_id", "version_a_id", "version_b_id"} & set(vals):
            self._check_versions()
        return res

    def _check_versions(self):
        """Only versions the user may read (their set's company rules), of one set."""
        for wizard in self:
            versions = wizard.version_a_id | wizard.version_b_id
            versions.check_access("read")
            wizard.mapping_id.check_access("read")
            if versions.mapping_id != wizard.mapping_id:
                raise ValidationError(self.env._("Compare two versions of the same mapping set."))

    @api.depends("version_a_id", "version_b_id")
    def _compute_diff(self):
        Version = self.env["finance.connect.mapping.version"]
        for wizard in self:
            old = lib_versions.loads(wizard.version_a_id.sudo().snapshot)
            new = lib_versions.loads(wizard.version_b_id.sudo().snapshot)
            diff = lib_versions.diff(old, new)
            wizard.added_count = len(diff.added)
            wizard.removed_count = len(diff.removed)
            wizard.changed_count = len(diff.changed)
            rows = Version._diff_rows(old, new) if wizard.version_a_id else []
            wizard.diff_html = Version._diff_html(rows)
