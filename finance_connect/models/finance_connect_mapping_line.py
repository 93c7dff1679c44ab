"""Mapping lines: one Odoo value (or prefix rule) and the other system's code.

``source_value`` is always the Odoo side (an account code, ``6*`` for every
code starting with 6, ``*`` for everything else); ``external_code`` the code
of the other system. Outbound, Odoo values are looked up and replaced by the
external code; inbound, external codes are looked up and give the Odoo value.
A line without external code is a draft: it is listed, highlighted and
counted as unmapped, but decides nothing.

Every change is posted on the mapping set's chatter (who, when, old and new
values) and invalidates the compiled lookup table of the transaction.
"""

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import format_date

from ..lib import mapping as lib_mapping
from .finance_connect_mapping_source import (
    MAPPING_TYPES,
    NO_PREFIX_TYPES,
    PARTNER_KEYS,
    RECORD_FIELDS,
    TYPE_RECORDS,
)

#: Four-eyes control: lines of these types decide accounts, journals and bank
#: accounts, i.e. where money and entries go, on connections of MONEY_KINDS.
MONEY_MAPPING_TYPES = ("account", "journal", "bank_account")
MONEY_KINDS = ("bank", "psp", "treasury")
DIRECTIONS = [("outbound", "Outbound"), ("inbound", "Inbound"), ("both", "Both")]
# Fields whose changes are posted on the mapping set.
TRACKED_FIELDS = [
    "mapping_type",
    "direction",
    "source_value",
    "partner_key",
    "external_code",
    "external_name",
    "date_from",
    "date_to",
    "note",
    *RECORD_FIELDS,
]


def _odoo_record(comodel, **kwargs):
    """A line's Odoo record of one type (``TYPE_RECORDS``): found by the line's
    Odoo value, or picked to give it; kept while a line names it."""
    return fields.Many2one(
        comodel,
        compute="_compute_odoo_record",
        store=True,
        readonly=False,
        ondelete="restrict",
        **kwargs,
    )


class FinanceConnectMappingLine(models.Model):
    _name = "finance.connect.mapping.line"
    _description = "Finance Connect mapping line"
    _inherit = ["finance.connect.four.eyes.mixin"]
    _order = "mapping_id, mapping_type, source_kind, source_value, date_from, id"
    _rec_names_search = ["source_value", "external_code", "external_name"]

    mapping_id = fields.Many2one(
        "finance.connect.mapping",
        string="Mapping set",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="mapping_id.company_id", store=True, index=True)
    mapping_type = fields.Selection(
        MAPPING_TYPES,
        string="Type",
        required=True,
        index=True,
        default=lambda self: self.env.context.get("fc_mapping_type") or "account",
    )
    direction = fields.Selection(
        DIRECTIONS,
        required=True,
        default="both",
        help="Outbound: Odoo value -> external code, for what Odoo sends. Inbound: external "
        "code -> Odoo value, for what Odoo receives. Both: the two.",
    )
    source_value = fields.Char(
        string="Odoo value",
        required=True,
        index=True,
        help="The Odoo side: account code, journal code, partner VAT / reference / external "
        "ID, tax name, currency ISO code, company name, analytic account code, payment method "
        "code or bank account number. End it with * for a rule: 6* maps every code starting "
        "with 6 (the longest prefix wins, an exact value always beats a rule); * alone maps "
        "everything else.",
    )
    source_kind = fields.Selection(
        [("exact", "Exact value"), ("prefix", "Prefix rule")],
        string="Match",
        compute="_compute_source_kind",
        store=True,
        index=True,
    )
    partner_key = fields.Selection(
        PARTNER_KEYS,
        string="Partner key",
        help="For partner lines: what the Odoo value is (VAT number, partner reference or "
        "Odoo external ID such as base.res_partner_1).",
    )
    external_code = fields.Char(
        string="External code",
        index=True,
        help="The code of the other system. Empty: the line is a draft, the "
        "value counts as unmapped.",
    )
    external_name = fields.Char(
        string="External name", help="The name of the code in the other system (information)."
    )
    date_from = fields.Date(string="Valid from")
    date_to = fields.Date(string="Valid to")
    note = fields.Char()
    is_draft = fields.Boolean(
        string="To complete",
        compute="_compute_is_draft",
        store=True,
        help="No external code yet: the value counts as unmapped.",
    )
    # The Odoo record behind an exact line: filled from the Odoo value, or fills it.
    account_id = _odoo_record("account.account", check_company=True)
    account_group_id = fields.Many2one(
        "account.group",
        string="Account group",
        ondelete="restrict",
        check_company=True,
        help="Map every account of an account group: the line becomes the rule of the "
        "group's code prefix.",
    )
    journal_id = _odoo_record("account.journal", check_company=True)
    partner_id = _odoo_record("res.partner", check_company=True)
    tax_id = _odoo_record("account.tax", check_company=True)
    currency_id = _odoo_record("res.currency")
    mapped_company_id = _odoo_record(
        "res.company",
        string="Legal entity",
        help="For company lines: the Odoo company (or branch) whose legal entity id (e.g. LEI) "
        "is the external code.",
    )
    analytic_account_id = _odoo_record(
        "account.analytic.account", string="Analytic account", check_company=True
    )
    payment_method_line_id = _odoo_record(
        "account.payment.method.line", string="Payment method line", check_company=True
    )
    bank_account_id = _odoo_record("res.partner.bank", string="Bank account", check_company=True)

    _sql_constraints = [
        (
            "date_range",
            "CHECK(date_from IS NULL OR date_to IS NULL OR date_from <= date_to)",
            "A mapping line cannot end before it starts (Valid to is before Valid from).",
        ),
    ]

    # ------------------------------------------------------------------
    # Display and computes
    # ------------------------------------------------------------------

    @api.depends("mapping_type", "source_value", "external_code")
    def _compute_display_name(self):
        labels = dict(self._fields["mapping_type"]._description_selection(self.env))
        for line in self:
            line.display_name = (
                f"{labels.get(line.mapping_type, '')} {line.source_value or ''} → "
                f"{line.external_code or '?'}"
            )

    @api.depends("source_value")
    def _compute_source_kind(self):
        for line in self:
            try:
                line.source_kind = lib_mapping.parse_source(line.source_value)[1]
            except ValueError:
                line.source_kind = "exact"  # refused by _check_source

    @api.depends("external_code")
    def _compute_is_draft(self):
        for line in self:
            line.is_draft = not line.external_code

    @api.depends("mapping_type", "source_value", "partner_key", "mapping_id.company_id")
    def _compute_odoo_record(self):
        """The Odoo record of an exact line, found by its Odoo value."""
        found = self.env["finance.connect.mapping.source"]._find_line_records(self)
        for line in self:
            records = found.get(line)
            for mapping_type, (_model, fname) in TYPE_RECORDS.items():
                if mapping_type != line.mapping_type:
                    line[fname] = False
                else:
                    line[fname] = records[:1] if records and len(records) == 1 else False

    def _source_key(self):
        """The Odoo value as looked up (VAT numbers without spaces or dots)."""
        self.ensure_one()
        value = (self.source_value or "").strip()
        if self.mapping_type == "partner" and (self.partner_key or "vat") == "vat":
            return lib_mapping.normalize_vat(value)
        return value

    # ------------------------------------------------------------------
    # Onchanges: picking an Odoo record fills the Odoo value
    # ------------------------------------------------------------------

    @api.onchange(*[f for f in RECORD_FIELDS if f != "account_group_id"])
    def _onchange_odoo_record(self):
        for line in self:
            fname = TYPE_RECORDS.get(line.mapping_type, (None, None))[1]
            record = line[fname] if fname else None
            if record:
                key = self.env["finance.connect.mapping.source"]._record_key(
                    line.mapping_type, record, line.partner_key or "vat", line.mapping_id.company_id
                )
                if key and key != line._source_key():
                    line.source_value = key

    @api.onchange("account_group_id")
    def _onchange_account_group_id(self):
        Source = self.env["finance.connect.mapping.source"]
        for line in self.filtered("account_group_id"):
            line.mapping_type = "account"
            line.source_value = Source._group_source(line.account_group_id)
            if line.direction != "outbound":
                line.direction = "outbound"

    @api.onchange("source_value")
    def _onchange_source_value(self):
        for line in self:
            if (line.source_value or "").strip().endswith("*") and line.direction != "outbound":
                line.direction = "outbound"

    # ------------------------------------------------------------------
    # Lines as the lookup table sees them
    # ------------------------------------------------------------------

    def _to_table_lines(self, include_inbound=True):
        """The :class:`~..lib.mapping.MappingLine` tuples of these lines
        (``lib.mapping.line_tuples``); account group lines give one rule per
        prefix."""
        result = []
        for line in self:
            group = line.account_group_id
            try:
                result += lib_mapping.line_tuples(
                    line.mapping_type,
                    line.source_value,
                    line.direction,
                    line.external_code or None,
                    partner_key=line.partner_key,
                    date_from=line.date_from or None,
                    date_to=line.date_to or None,
                    line_id=line.id or line._origin.id or None,
                    group=(group.code_prefix_start, group.code_prefix_end) if group else None,
                    include_inbound=include_inbound,
                )
            except ValueError:
                continue  # refused by _check_source
        return result

    # ------------------------------------------------------------------
    # Validation on save
    # ------------------------------------------------------------------

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for line in self:
            if line.date_from and line.date_to and line.date_from > line.date_to:
                raise ValidationError(
                    self.env._(
                        "The line %(line)s ends (%(to)s) before it starts (%(from)s).",
                        line=line.display_name,
                        to=line.date_to,
                        **{"from": line.date_from},
                    )
                )

    @api.constrains("source_value", "mapping_type", "direction", "partner_key", "account_group_id")
    def _check_source(self):
        labels = dict(MAPPING_TYPES)
        for line in self:
            try:
                lib_mapping.parse_source(line.source_value)
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "The Odoo value %(value)r of a %(type)s line is not valid: a * may only "
                        "end a prefix rule (6* or *), %(error)s.",
                        value=line.source_value,
                        type=labels.get(line.mapping_type),
                        error=exc,
                    )
                ) from exc
            if line.source_kind == "prefix":
                if line.mapping_type in NO_PREFIX_TYPES:
                    raise ValidationError(
                        self.env._(
                            "%(type)s lines map exact values only: %(value)s is a prefix rule.",
                            type=labels.get(line.mapping_type),
                            value=line.source_value,
                        )
                    )
                if line.direction != "outbound":
                    raise ValidationError(
                        self.env._(
                            "The rule %(value)s (%(type)s) maps many Odoo values to one external "
                            "code, so it cannot be read backwards: set its direction to Outbound "
                            "and add exact Inbound lines for what comes in.",
                            value=line.source_value,
                            type=labels.get(line.mapping_type),
                        )
                    )
            if line.partner_key and line.mapping_type != "partner":
                raise ValidationError(
                    self.env._(
                        "Only partner lines have a partner key (line %(line)s is a %(type)s line).",
                        line=line.source_value,
                        type=labels.get(line.mapping_type),
                    )
                )
            if line.mapping_type == "partner" and not line.partner_key:
                raise ValidationError(
                    self.env._(
                        "Say whether the partner value %(value)s is a VAT number, a reference or "
                        "an external ID (Partner key).",
                        value=line.source_value,
                    )
                )

    @api.constrains(*RECORD_FIELDS, "mapping_type", "mapping_id")
    def _check_record_type(self):
        """The Odoo record of a line is of the line's type, and of the set's company."""
        self.env["finance.connect.mapping.source"]._check_line_records(self)

    @api.constrains("source_value", "mapping_type", "partner_key", "mapping_id", *RECORD_FIELDS)
    def _check_targets_exist(self):
        """An exact line names an Odoo value that exists in the set's company."""
        self.env["finance.connect.mapping.source"]._check_line_targets(self)

    @api.constrains(
        "source_value",
        "mapping_type",
        "direction",
        "date_from",
        "date_to",
        "partner_key",
        "external_code",
        "mapping_id",
        "account_group_id",
    )
    def _check_conflicts(self):
        """No two lines of a set decide the same value in the same direction and period.

        Only the lines that could collide with these are read, so importing
        thousands of lines stays linear.
        """
        if not self:
            return
        # Dates first: the search below would flush them into the database's CHECK.
        self._check_dates()
        labels = dict(MAPPING_TYPES)
        mine = self._to_table_lines()
        keys = {(ln.direction, ln.mapping_type, ln.source) for ln in mine}
        external = [line.external_code for line in self if line.external_code]
        candidates = self.search(
            [
                ("mapping_id", "in", self.mapping_id.ids),
                ("mapping_type", "in", list(set(self.mapped("mapping_type")))),
                "|",
                "|",
                ("source_value", "in", list(set(self.mapped("source_value")))),
                ("external_code", "in", external or [""]),
                ("account_group_id", "!=", False),
            ]
        )
        own_ids = set(self.ids)
        for mapping in self.mapping_id:
            lines = (candidates | self).filtered(lambda ln, m=mapping: ln.mapping_id == m)
            table_lines = [
                ln
                for ln in lines._to_table_lines()
                if (ln.direction, ln.mapping_type, ln.source) in keys
            ]
            for first, second in lib_mapping.find_conflicts(table_lines):
                if first.line_id not in own_ids and second.line_id not in own_ids:
                    continue
                a, b = self.browse(first.line_id), self.browse(second.line_id)
                if first.direction == "inbound":
                    what = self.env._(
                        "the external code %(code)s back to Odoo (inbound)", code=first.source
                    )
                else:
                    what = self.env._("%(value)s (outbound)", value=a.source_value)
                raise ValidationError(
                    self.env._(
                        "Two %(type)s lines of %(set)s map %(what)s in overlapping periods: "
                        "%(a)s [%(a_period)s] and %(b)s [%(b_period)s]. Keep one, give them "
                        "separate validity dates, or change the direction of one.",
                        type=labels[a.mapping_type].lower(),
                        set=mapping.name,
                        what=what,
                        a=a.display_name,
                        b=b.display_name,
                        a_period=a._period_label(),
                        b_period=b._period_label(),
                    )
                )

    def _period_label(self):
        self.ensure_one()
        start = format_date(self.env, self.date_from) if self.date_from else "…"
        end = format_date(self.env, self.date_to) if self.date_to else "…"
        return f"{start} – {end}"

    # ------------------------------------------------------------------
    # CRUD: normalise, track on the set, invalidate, replay
    # ------------------------------------------------------------------

    @api.model
    def _prepare_vals(self, vals, line=None):
        """Normalise what is written: trimmed codes, VAT numbers without spaces,
        the Odoo value of a picked record, rules outbound by default."""
        vals = dict(vals)
        Source = self.env["finance.connect.mapping.source"]
        for fname in ("source_value", "external_code"):
            if isinstance(vals.get(fname), str):
                vals[fname] = vals[fname].strip()
        mapping_type = vals.get("mapping_type") or (line.mapping_type if line else None)
        partner_key = vals.get("partner_key") or (line.partner_key if line else None)
        if mapping_type == "partner" and not partner_key:
            partner_key = vals["partner_key"] = "vat"
        if vals.get("account_group_id"):
            group = self.env["account.group"].browse(vals["account_group_id"])
            mapping_type = vals.setdefault("mapping_type", "account")
            vals["source_value"] = Source._group_source(group)
        if (vals.get("source_value") or "").endswith("*") and "direction" not in vals:
            vals["direction"] = "outbound"
        if (
            mapping_type in TYPE_RECORDS
            and not vals.get("source_value")
            and (line is None or "source_value" in vals)
        ):
            fname = TYPE_RECORDS[mapping_type][1]
            if vals.get(fname):  # a picked record without Odoo value gives its value
                record = self.env[TYPE_RECORDS[mapping_type][0]].browse(vals[fname])
                company = (
                    self.env["finance.connect.mapping"].browse(vals["mapping_id"])
                    if vals.get("mapping_id")
                    else line.mapping_id
                    if line
                    else None
                )
                vals["source_value"] = Source._record_key(
                    mapping_type,
                    record,
                    partner_key or "vat",
                    company.company_id if company else None,
                )
        if mapping_type == "partner" and partner_key == "vat" and vals.get("source_value"):
            vals["source_value"] = lib_mapping.normalize_vat(vals["source_value"])
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._prepare_vals(vals) for vals in vals_list]
        self._check_target_sets(vals_list)
        vals_list = self._fc_four_eyes_create(vals_list)
        if not vals_list:
            return self.browse()
        lines = super().create(vals_list)
        self.env["finance.connect.mapping"]._invalidate_table_cache()
        self.env["finance.connect.mapping.version"]._mark_changed(lines.mapping_id)
        lines._post_on_sets("created")
        if self.env.context.get("fc_mapping_exception_id"):  # "create mapping and replay"
            exc = self.env["finance.connect.exception"].sudo()
            exc.browse(self.env.context["fc_mapping_exception_id"]).exists()._check_fix(lines)
        lines.mapping_id._after_lines_change(lines._touched())
        return lines

    def _check_target_sets(self, vals_list):
        """A line goes only into a mapping set the user may change: the set's
        company rules decide (a line never moves into another company's set)."""
        ids = {vals["mapping_id"] for vals in vals_list if vals.get("mapping_id")}
        if ids and not self.env.su:
            self.env["finance.connect.mapping"].browse(ids).check_access("write")

    def write(self, vals):
        vals = self._prepare_vals(vals, line=self[:1] if len(self) == 1 else None)
        self._check_target_sets([vals])
        held = self._fc_four_eyes_write(vals)
        if held is not None:
            return held
        if not any(f in vals for f in TRACKED_FIELDS + ["mapping_id"]):
            return super().write(vals)
        before = {line.id: line._snapshot() for line in self}
        touched = self._touched()
        old_sets = self.mapping_id
        res = super().write(vals)
        self.env["finance.connect.mapping"]._invalidate_table_cache()
        self.env["finance.connect.mapping.version"]._mark_changed(old_sets | self.mapping_id)
        self._post_on_sets("updated", before=before)
        (old_sets | self.mapping_id)._after_lines_change(touched + self._touched())
        return res

    def unlink(self):
        self = self._fc_four_eyes_unlink()  # pylint: disable=self-cls-assignment
        if not self:
            return True
        sets = self.mapping_id
        touched = self._touched()
        self._post_on_sets("deleted")
        res = super().unlink()
        self.env["finance.connect.mapping"]._invalidate_table_cache()
        self.env["finance.connect.mapping.version"]._mark_changed(sets.exists())
        sets.exists()._after_lines_change(touched)
        return res

    # ------------------------------------------------------------------
    # Four-eyes control (finance.connect.four.eyes.mixin)
    # ------------------------------------------------------------------

    @api.model
    def _fc_four_eyes_fields(self):
        return frozenset(TRACKED_FIELDS + ["mapping_id"]) - {"note", "external_name"}

    @api.model
    def _fc_four_eyes_approver(self, names=None):
        return "manager"

    @api.model
    def _fc_guarded_connections(self, mapping_ids):
        """``{set id: connections}`` of these sets used by a guarded connection:
        bank, PSP or treasury, production, of a company with four-eyes on."""
        sets = self.env["finance.connect.mapping"].sudo().browse(list(mapping_ids)).exists()
        result = {}
        for mapping in sets:
            connections = mapping.connection_ids.filtered(
                lambda c: c.kind in MONEY_KINDS and c._fc_four_eyes_on()
            )
            if connections:
                result[mapping.id] = connections
        return result

    @api.model
    def _fc_money_lines_of(self, mapping_ids):
        """Whether these sets hold account, journal or bank account lines."""
        return bool(
            self.sudo().search_count(
                [
                    ("mapping_id", "in", list(mapping_ids)),
                    ("mapping_type", "in", MONEY_MAPPING_TYPES),
                ],
                limit=1,
            )
        )

    @api.model
    def _fc_guarded_sets(self, mapping_ids):
        """The ids of these sets used by a guarded connection."""
        return set(self._fc_guarded_connections(mapping_ids))

    def _fc_four_eyes_on(self, vals=None):
        """Account, journal and bank account lines of sets used by a guarded
        bank, PSP or treasury connection, before or after the change."""
        vals = vals or {}
        sets = set(self.mapping_id.ids)
        if vals.get("mapping_id"):
            sets.add(vals["mapping_id"])
        guarded = self._fc_guarded_sets(sets)
        if not guarded:
            return self.browse()
        new_type = vals.get("mapping_type")
        return self.filtered(
            lambda ln: ln._origin.id
            and (ln.mapping_type in MONEY_MAPPING_TYPES or new_type in MONEY_MAPPING_TYPES)
            and (ln.mapping_id.id in guarded or vals.get("mapping_id") in guarded)
        )

    @api.model
    def _fc_where_to_give_reason(self):
        return self.env._(
            "add, change or remove the line on its mapping set's form and give the Reason "
            "for change there"
        )

    @api.model
    def _fc_four_eyes_on_create(self, vals):
        """A new line with an external code (a draft decides nothing)."""
        if not vals.get("external_code"):
            return False
        mapping_type = (
            vals.get("mapping_type") or self.env.context.get("fc_mapping_type") or "account"
        )
        return bool(
            mapping_type in MONEY_MAPPING_TYPES
            and vals.get("mapping_id")
            and self._fc_guarded_sets({vals["mapping_id"]})
        )

    def _fc_four_eyes_scope(self, vals=None):
        mapping = (
            self.env["finance.connect.mapping"].browse(vals["mapping_id"])
            if vals
            else self.mapping_id
        )
        connections = self._fc_guarded_connections({mapping.id}).get(mapping.id)
        return {
            "company_id": mapping.sudo().company_id.id,
            "mapping_id": mapping.id,
            "connection_id": connections[:1].id if connections else False,
        }

    def _touched(self):
        """``(type, source, kind)`` of these lines, for the exceptions they may fix."""
        Source = self.env["finance.connect.mapping.source"]
        result = []
        for line in self:
            try:
                source, kind = lib_mapping.line_source(
                    line.mapping_type, line.source_value, line.partner_key
                )
            except ValueError:
                continue
            if line.account_group_id:
                prefixes = Source._group_prefixes(line.account_group_id) or []
                result += [(line.mapping_type, p, "prefix") for p in prefixes]
            else:
                result.append((line.mapping_type, source, kind))
        return result

    def _snapshot(self):
        self.ensure_one()
        return {fname: self._display_value(fname) for fname in TRACKED_FIELDS}

    def _display_value(self, fname):
        value = self[fname]
        field = self._fields[fname]
        if field.type == "many2one":
            return value.display_name or ""
        if field.type == "selection":
            return dict(field._description_selection(self.env)).get(value, "") if value else ""
        if field.type == "date":
            return format_date(self.env, value) if value else ""
        return value or ""

    def _summary(self):
        """One readable line: 'Account 600000 → OPEX (outbound, 01/01/2026 – …)'."""
        self.ensure_one()
        parts = [self._display_value("direction")]
        if self.date_from or self.date_to:
            parts.append(self._period_label())
        return f"{self.display_name} ({', '.join(parts)})"

    def _post_on_sets(self, event, before=None):
        """Post what changed on each mapping set's chatter: who and when are the
        message's author and date; old and new values are in the body."""
        if self.env.context.get("fc_mapping_no_track"):
            return
        for mapping in self.mapping_id:
            lines = self.filtered(lambda ln, m=mapping: ln.mapping_id == m)
            items = []
            if event == "updated":
                for line in lines:
                    old = before.get(line.id, {})
                    new = line._snapshot()
                    changes = [
                        Markup("%s: %s → %s")
                        % (line._fields[f].string, old.get(f) or "∅", new[f] or "∅")
                        for f in TRACKED_FIELDS
                        if old.get(f, "") != new[f]
                    ]
                    if changes:
                        items.append(
                            Markup("<b>%s</b>: %s")
                            % (line.display_name, Markup("; ").join(changes))
                        )
                title = self.env._("Mapping lines changed")
            else:
                items = [escape(line._summary()) for line in lines]
                title = (
                    self.env._("Mapping lines added")
                    if event == "created"
                    else self.env._("Mapping lines removed")
                )
            if items:
                mapping._post_line_changes(title, items)

    # ------------------------------------------------------------------
    # Import
    # ------------------------------------------------------------------

    @api.model
    def get_import_templates(self):
        return [
            {
                "label": self.env._("Import template for mapping lines"),
                "template": "/finance_connect/static/xls/finance_connect_mapping_lines.csv",
            }
        ]
