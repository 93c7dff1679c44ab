"""Versions of a mapping set: every change of its lines, numbered, restorable.

A version is the full snapshot of a set's lines (canonical JSON, see
``lib/mapping_versions.py``), with who made it, when, and what changed since
the version before. Versions are written by the engine only (as superuser),
never by a user: nobody edits history.

One version per transaction and set, not one per line: a change of lines
(or a new set) only marks the set in ``cr.precommit.data``; just before the
commit (or a flushing savepoint: Odoo runs the precommit hooks there too)
``_precommit_versions`` snapshots every marked set once, so a form
saving 50 lines or an import of 10,000 lines makes one version. A message
mapped in the middle of such a transaction (a replay after a mapping fix)
asks ``_current_versions``, which snapshots the marked sets at that moment:
the version it records is the one it was mapped with. A snapshot equal to
the latest version makes no new version.

Sets that existed before versions were introduced get version 1 at upgrade
(``migrations/18.0.1.2.0``); any set still without a version gets its first
one the first time it is asked for (``_current_versions``).
"""

import logging

from markupsafe import Markup, escape

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import mapping_versions as lib_versions
from .finance_connect_mapping_source import MAPPING_TYPES, RECORD_FIELDS

_logger = logging.getLogger(__name__)

PENDING_KEY = "finance_connect.mapping.version.pending"
MADE_KEY = "finance_connect_mapping_versions_made"
#: The line fields a version keeps (what a line maps), besides its id.
SNAPSHOT_FIELDS = [
    "mapping_type",
    "partner_key",
    "source_value",
    "direction",
    "date_from",
    "date_to",
    "external_code",
    "external_name",
    "note",
    *RECORD_FIELDS,
]
#: Changes listed one by one in a version's summary at most.
MAX_LISTED = 50


class FinanceConnectMappingVersion(models.Model):
    _name = "finance.connect.mapping.version"
    _description = "Finance Connect mapping set version"
    _order = "mapping_id, number desc"
    _rec_name = "number"

    mapping_id = fields.Many2one(
        "finance.connect.mapping",
        string="Mapping set",
        readonly=True,
        index=True,
        # History outlives the set: messages keep the version they were mapped with.
        ondelete="set null",
    )
    mapping_name = fields.Char(
        string="Mapping set name", readonly=True, help="The set's name when the version was made."
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    number = fields.Integer(required=True, readonly=True, help="1, 2, 3... per mapping set.")
    user_id = fields.Many2one(
        "res.users", string="Changed by", readonly=True, help="Who made the change."
    )
    create_date = fields.Datetime(string="Changed on", readonly=True)
    note = fields.Char(readonly=True, help="Why the version exists (first version, restore).")
    summary = fields.Text(string="What changed", readonly=True)
    added_count = fields.Integer(string="Added", readonly=True)
    changed_count = fields.Integer(string="Changed", readonly=True)
    removed_count = fields.Integer(string="Removed", readonly=True)
    line_count = fields.Integer(string="Lines", readonly=True)
    snapshot = fields.Text(
        readonly=True, help="Every line of the set in this version (canonical JSON)."
    )
    snapshot_sha256 = fields.Char(string="Snapshot SHA-256", readonly=True)
    is_current = fields.Boolean(string="Current", compute="_compute_is_current")

    _sql_constraints = [
        (
            "number_uniq",
            "unique(mapping_id, number)",
            "A mapping set has one version of each number.",
        ),
    ]

    @api.depends("mapping_id.name", "mapping_name", "number")
    def _compute_display_name(self):
        for version in self:
            version.display_name = self.env._(
                "%(set)s v%(number)s",
                set=version.mapping_id.name or version.mapping_name or "",
                number=version.number,
            )

    @api.depends("mapping_id", "number")
    def _compute_is_current(self):
        latest = self._latest_ids(self.mapping_id)
        for version in self:
            version.is_current = latest.get(version.mapping_id.id) == version.id

    # ------------------------------------------------------------------
    # Snapshots
    # ------------------------------------------------------------------

    @api.model
    def _read_snapshot(self, mapping):
        """The lines of ``mapping`` as a snapshot (list of dicts), read in one
        query from our own table (after flushing pending writes)."""
        self.env["finance.connect.mapping.line"].flush_model(SNAPSHOT_FIELDS + ["mapping_id"])
        self.env.cr.execute(
            SQL(
                "SELECT id, %s FROM finance_connect_mapping_line WHERE mapping_id = %s ORDER BY id",
                SQL(", ").join(SQL.identifier(f) for f in SNAPSHOT_FIELDS),
                mapping.id,
            )
        )
        lines = []
        for row in self.env.cr.fetchall():
            line = {"id": row[0]}
            for fname, value in zip(SNAPSHOT_FIELDS, row[1:], strict=True):
                if hasattr(value, "isoformat"):
                    value = value.isoformat()
                line[fname] = value if value not in ("", False) else None
            lines.append(line)
        return lib_versions.canonical(lines)

    @api.model
    def _latest_ids(self, mappings):
        """``{mapping id: id of its latest version}`` in one query."""
        if not mappings.ids:
            return {}
        self.flush_model(["mapping_id", "number"])
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT ON (mapping_id) mapping_id, id"
                " FROM finance_connect_mapping_version WHERE mapping_id IN %s"
                " ORDER BY mapping_id, number DESC",
                tuple(mappings.ids),
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _snapshot_version(self, mapping, user_id=None, note=None):
        """Make a new version of ``mapping`` unless its lines equal the latest
        version. Returns the latest version (new or not), as superuser."""
        Version = self.sudo()
        # One writer numbers a set's versions at a time; a concurrent one waits,
        # then retries (Odoo's serialization-failure retry).
        self.env.cr.execute(
            SQL(
                "SELECT id FROM finance_connect_mapping WHERE id = %s FOR NO KEY UPDATE",
                mapping.id,
            )
        )
        if not self.env.cr.fetchone():
            return Version
        lines = self._read_snapshot(mapping)
        digest = lib_versions.digest(lines)
        latest = Version.browse(self._latest_ids(mapping).get(mapping.id))
        if latest and latest.snapshot_sha256 == digest:
            return latest
        previous = lib_versions.loads(latest.snapshot) if latest else []
        diff = lib_versions.diff(previous, lines)
        if not latest and not note:
            note = self.env._("First version")
        version = Version.create(
            {
                "mapping_id": mapping.id,
                "mapping_name": mapping.name,
                "company_id": mapping.company_id.id,
                "number": (latest.number or 0) + 1,
                "user_id": user_id or self.env.uid,
                "note": note or False,
                "summary": self._summary_text(diff) if latest else False,
                "added_count": len(diff.added),
                "changed_count": len(diff.changed),
                "removed_count": len(diff.removed),
                "line_count": len(lines),
                "snapshot": lib_versions.dumps(lines),
                "snapshot_sha256": digest,
            }
        )
        version.flush_recordset()
        return version

    # ------------------------------------------------------------------
    # One version per transaction: mark, then snapshot before commit
    # ------------------------------------------------------------------

    @api.model
    def _mark_changed(self, mappings):
        """Remember that the lines of ``mappings`` changed in this transaction
        (and who changed them first); ``_precommit_versions`` snapshots them."""
        if not mappings:
            return
        data = self.env.cr.precommit.data
        pending = data.get(PENDING_KEY)
        if pending is None:
            pending = data[PENDING_KEY] = {}
            self.env.cr.precommit.add(self.sudo()._precommit_versions)
        made = self.env.cr.cache.get(MADE_KEY) or {}
        for mapping in mappings:
            if mapping.id:
                pending.setdefault(mapping.id, self.env.uid)
                made.pop(mapping.id, None)

    def _precommit_versions(self):
        """Just before commit: one version of every set whose lines changed."""
        pending = self.env.cr.precommit.data.pop(PENDING_KEY, None) or {}
        sets = self.env["finance.connect.mapping"].sudo().browse(sorted(pending)).exists()
        for mapping in sets:
            self._snapshot_version(mapping, user_id=pending[mapping.id])
        # After the main flush of the commit: store what was created.
        self.env.flush_all()

    @api.model
    def _create_first_versions(self):
        """Version 1 of every set (archived ones too) that has none yet: its
        lines as they are now (the upgrade that introduced versions)."""
        sets = (
            self.env["finance.connect.mapping"]
            .sudo()
            .with_context(active_test=False)
            .search([("version_ids", "=", False)])
        )
        note = self.env._("First version: the set as it was when versions were introduced")
        for mapping in sets:
            self._snapshot_version(mapping, user_id=SUPERUSER_ID, note=note)
        return len(sets)

    @api.model
    def _current_versions(self, mappings):
        """``{mapping id: version}``: the version of each set in force now (its
        lines as they are in this transaction), made now when its lines changed
        in this transaction or when it has none yet. As superuser."""
        if not mappings:
            return {}
        pending = self.env.cr.precommit.data.get(PENDING_KEY) or {}
        latest = self._latest_ids(mappings)
        made = self.env.cr.cache.setdefault(MADE_KEY, {})
        Version = self.sudo()
        result = {}
        for mapping in mappings:
            version = Version.browse(latest.get(mapping.id))
            # Unchanged in this transaction, or unchanged since the version made
            # for it in this transaction (a version rolled back is not latest).
            if version and (mapping.id not in pending or made.get(mapping.id) == version.id):
                result[mapping.id] = version
                continue
            version = self._snapshot_version(mapping, user_id=pending.get(mapping.id))
            made[mapping.id] = version.id
            result[mapping.id] = version
        return result

    # ------------------------------------------------------------------
    # Human-readable differences
    # ------------------------------------------------------------------

    @api.model
    def _line_label(self, line):
        """'Account 600000 → OPEX' of a snapshot line."""
        types = dict(MAPPING_TYPES)
        label = f"{types.get(line.get('mapping_type'), line.get('mapping_type') or '')}"
        if line.get("partner_key"):
            label += f" ({line['partner_key']})"
        return f"{label} {line.get('source_value') or ''} → {line.get('external_code') or '?'}"

    @api.model
    def _field_label(self, fname):
        field = self.env["finance.connect.mapping.line"]._fields.get(fname)
        return field.string if field else fname

    @api.model
    def _value_label(self, fname, value):
        """A snapshot value as a person reads it (records by name)."""
        if value in (None, False, ""):
            return "∅"
        Line = self.env["finance.connect.mapping.line"]
        field = Line._fields.get(fname)
        if field is not None and field.type == "many2one":
            record = self.env[field.comodel_name].sudo().browse(value).exists()
            return record.display_name if record else f"#{value} (deleted)"
        if field is not None and field.type == "selection":
            return dict(field._description_selection(self.env)).get(value, value)
        return str(value)

    @api.model
    def _diff_rows(self, old_lines, new_lines):
        """The differences as rows ``{"change", "line", "field", "old", "new"}``
        (``change``: added, removed, changed), one per changed field."""
        diff = lib_versions.diff(old_lines, new_lines)
        rows = []
        for line in diff.added:
            rows.append(
                {
                    "change": "added",
                    "line": self._line_label(line),
                    "field": "",
                    "old": "",
                    "new": self._line_details(line),
                }
            )
        for line in diff.removed:
            rows.append(
                {
                    "change": "removed",
                    "line": self._line_label(line),
                    "field": "",
                    "old": self._line_details(line),
                    "new": "",
                }
            )
        for old, new, changed in diff.changed:
            for fname in changed:
                rows.append(
                    {
                        "change": "changed",
                        "line": self._line_label(old),
                        "field": self._field_label(fname),
                        "old": self._value_label(fname, old.get(fname)),
                        "new": self._value_label(fname, new.get(fname)),
                    }
                )
        return rows

    @api.model
    def _line_details(self, line):
        """The filled values of a snapshot line: 'Direction: Both; Valid from: …'."""
        skip = {"mapping_type", "source_value", "external_code", "partner_key", *RECORD_FIELDS}
        return "; ".join(
            f"{self._field_label(f)}: {self._value_label(f, line.get(f))}"
            for f in SNAPSHOT_FIELDS
            if f not in skip and line.get(f) not in (None, "")
        )

    @api.model
    def _summary_text(self, diff):
        """A version's 'what changed': counts, then the first changes one by one."""
        items = []
        for old, new, changed in diff.changed:
            what = ", ".join(
                f"{self._field_label(f)} {self._value_label(f, old.get(f))} → "
                f"{self._value_label(f, new.get(f))}"
                for f in changed
            )
            items.append(
                self.env._("Changed: %(line)s: %(what)s", line=self._line_label(old), what=what)
            )
        items += [self.env._("Removed: %(line)s", line=self._line_label(ln)) for ln in diff.removed]
        items += [self.env._("Added: %(line)s", line=self._line_label(ln)) for ln in diff.added]
        head = self.env._(
            "%(added)s added, %(changed)s changed, %(removed)s removed.",
            added=len(diff.added),
            changed=len(diff.changed),
            removed=len(diff.removed),
        )
        more = len(items) - MAX_LISTED
        text = "\n".join([head, *items[:MAX_LISTED]])
        if more > 0:
            text += "\n" + self.env._("… and %(n)s more.", n=more)
        return text

    @api.model
    def _diff_html(self, rows):
        """The rows of ``_diff_rows`` as an HTML table."""
        if not rows:
            return Markup("<p>%s</p>") % self.env._("The two versions map the same.")
        labels = {
            "added": self.env._("Added"),
            "removed": self.env._("Removed"),
            "changed": self.env._("Changed"),
        }
        classes = {"added": "text-success", "removed": "text-danger", "changed": "text-warning"}
        head = Markup("").join(
            Markup("<th>%s</th>") % h
            for h in (
                self.env._("Change"),
                self.env._("Line"),
                self.env._("Field"),
                self.env._("Old value"),
                self.env._("New value"),
            )
        )
        body = Markup("").join(
            Markup('<tr><td class="%s">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>')
            % (
                classes[row["change"]],
                labels[row["change"]],
                escape(row["line"]),
                escape(row["field"]),
                escape(row["old"]),
                escape(row["new"]),
            )
            for row in rows
        )
        return Markup(
            '<table class="table table-sm o_fc_version_diff"><thead><tr>%s</tr></thead>'
            "<tbody>%s</tbody></table>"
        ) % (head, body)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_compare(self):
        """Open "Compare with…" from this version: against the current version,
        or, for the current one, against the version before."""
        self.ensure_one()
        self.check_access("read")
        self._check_set_exists()
        others = self.search([("mapping_id", "=", self.mapping_id.id), ("id", "!=", self.id)])
        newer = others.filtered(lambda v: v.number > self.number)
        older = others.filtered(lambda v: v.number < self.number)
        other = newer[:1] if newer else older[:1]  # newest first (_order)
        first, second = sorted(self | other, key=lambda v: v.number) if other else (self, self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Compare versions of %(set)s", set=self.mapping_id.name),
            "res_model": "finance.connect.mapping.version.compare",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_mapping_id": self.mapping_id.id,
                "default_version_a_id": first.id,
                "default_version_b_id": second.id,
            },
        }

    def action_restore(self):
        """Make the set's lines equal this version: managers who may change the
        set. The lines are deleted, written and created as the user, through
        the ordinary create / write / unlink of the lines (their checks and
        approvals apply); the result is a new version."""
        self.ensure_one()
        self.env["finance.connect.exception"]._check_manager()
        self.check_access("read")
        self._check_set_exists()
        mapping = self.mapping_id
        mapping.check_access("write")
        Line = self.env["finance.connect.mapping.line"]
        current = self._read_snapshot(mapping)
        target = lib_versions.loads(self.sudo().snapshot)
        plan = lib_versions.restore_plan(current, target)
        Line.browse(plan.unlink).unlink()
        for line_id, vals in plan.write:
            Line.browse(line_id).write(self._restorable_vals(vals))
        Line.create(
            [dict(self._restorable_vals(vals), mapping_id=mapping.id) for vals in plan.create]
        )
        version = self._snapshot_version(
            mapping, note=self.env._("Restored version %(number)s", number=self.number)
        )
        changed = bool(plan.unlink or plan.write or plan.create)
        if not changed:
            message = self.env._(
                "%(set)s already maps as in version %(old)s: nothing to restore.",
                set=mapping.name,
                old=self.number,
            )
        elif version.snapshot_sha256 != self.snapshot_sha256:
            message = self.env._(
                "The changes back to version %(old)s of %(set)s were submitted; the set "
                "does not map as in that version yet (they may wait for an approval).",
                set=mapping.name,
                old=self.number,
            )
        else:
            message = self.env._(
                "%(set)s now maps as in version %(old)s: version %(new)s "
                "(%(removed)s line(s) removed, %(changed)s changed, %(added)s added).",
                set=mapping.name,
                old=self.number,
                new=version.number,
                removed=len(plan.unlink),
                changed=len(plan.write),
                added=len(plan.create),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Version %(number)s restored", number=self.number),
                "message": message,
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _check_set_exists(self):
        if not self.mapping_id:
            raise UserError(
                self.env._(
                    "The mapping set %(set)s was deleted: its versions are kept as history, "
                    "there is nothing to compare them with or restore them into.",
                    set=self.mapping_name or "",
                )
            )

    @api.model
    def _restorable_vals(self, vals):
        """Snapshot values as line values: an Odoo record deleted since is left
        out (the line finds its record by its Odoo value again)."""
        Line = self.env["finance.connect.mapping.line"]
        result = {}
        for fname, value in vals.items():
            field = Line._fields.get(fname)
            if field is None:
                continue
            if field.type == "many2one" and value:
                if not self.env[field.comodel_name].sudo().browse(value).exists():
                    continue
            result[fname] = value if value is not None else False
        return result
