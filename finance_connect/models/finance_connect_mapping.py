"""Mapping sets: how Odoo values translate to the codes of external systems.

A set belongs to one company and serves one or several connections. Its
lines are compiled into a :class:`~..lib.mapping.MappingTable`, kept in the
cursor's cache (``cr.cache``) for the rest of the transaction and dropped on
every change of a set or a line. The cursor cache survives savepoint
rollbacks (see ``odoo.sql_db.BaseCursor``), so a cached table is also
checked against a cheap fingerprint of the rows (count and ``xmin``) before
it is reused: a table built from rows that a rollback removed is rebuilt.
"""

import copy

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.misc import clean_context

from ..exceptions import MappingMissing
from ..lib import mapping as lib_mapping
from .finance_connect_mapping_line import MONEY_KINDS
from .finance_connect_mapping_source import MAPPING_TYPES, TYPE_RECORDS

CACHE_KEY = "finance_connect_mapping_tables"
#: Mapping line changes listed in one chatter message at most.
MAX_LISTED = 20
TYPE_LABELS_PLURAL = {
    "account": "accounts",
    "journal": "journals",
    "partner": "partners",
    "tax": "taxes",
    "currency": "currencies",
    "company": "companies",
    "analytic": "analytic accounts",
    "payment_method": "payment methods",
    "bank_account": "bank accounts",
}


class FinanceConnectMapping(models.Model):
    _name = "finance.connect.mapping"
    _description = "Finance Connect mapping set"
    _inherit = ["mail.thread", "finance.connect.four.eyes.mixin"]
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        tracking=True,
        default=lambda self: self.env.company,
    )
    connection_ids = fields.Many2many(
        "finance.connect.connection",
        "finance_connect_mapping_connection_rel",
        "mapping_id",
        "connection_id",
        string="Connections",
        tracking=True,
        check_company=True,
        help="The connections whose messages this set maps. A connection with several sets "
        "uses them together; two sets deciding the same value differently make it ambiguous.",
    )
    external_chart = fields.Char(
        string="External chart of accounts",
        tracking=True,
        help="The chart of accounts of the other system (e.g. SKR04, PCG 2025, group chart).",
    )
    description = fields.Text()
    line_ids = fields.One2many("finance.connect.mapping.line", "mapping_id", string="Lines")
    line_count = fields.Integer(compute="_compute_line_count")
    version_ids = fields.One2many(
        "finance.connect.mapping.version", "mapping_id", string="Version history", readonly=True
    )
    version_count = fields.Integer(string="Versions", compute="_compute_version_count")
    version_number = fields.Integer(
        string="Current version",
        compute="_compute_version_count",
        help="The number of the latest version of the set (one per saved change).",
    )
    draft_count = fields.Integer(string="Lines to complete", compute="_compute_line_count")

    # One editable list per type (the notebook pages of the form).
    account_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "account")]
    )
    journal_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "journal")]
    )
    partner_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "partner")]
    )
    tax_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "tax")]
    )
    currency_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "currency")]
    )
    company_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "company")]
    )
    analytic_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "analytic")]
    )
    payment_method_line_ids = fields.One2many(
        "finance.connect.mapping.line",
        "mapping_id",
        domain=[("mapping_type", "=", "payment_method")],
    )
    bank_account_line_ids = fields.One2many(
        "finance.connect.mapping.line", "mapping_id", domain=[("mapping_type", "=", "bank_account")]
    )

    # Coverage (outbound, today): how many Odoo values exist, how many do not map.
    coverage_account_total = fields.Integer(compute="_compute_coverage")
    coverage_account_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_journal_total = fields.Integer(compute="_compute_coverage")
    coverage_journal_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_partner_total = fields.Integer(compute="_compute_coverage")
    coverage_partner_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_tax_total = fields.Integer(compute="_compute_coverage")
    coverage_tax_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_currency_total = fields.Integer(compute="_compute_coverage")
    coverage_currency_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_company_total = fields.Integer(compute="_compute_coverage")
    coverage_company_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_analytic_total = fields.Integer(compute="_compute_coverage")
    coverage_analytic_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_payment_method_total = fields.Integer(compute="_compute_coverage")
    coverage_payment_method_unmapped = fields.Integer(compute="_compute_coverage")
    coverage_bank_account_total = fields.Integer(compute="_compute_coverage")
    coverage_bank_account_unmapped = fields.Integer(compute="_compute_coverage")

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends("line_ids")
    def _compute_line_count(self):
        counts = {}
        drafts = {}
        if self.ids:
            Line = self.env["finance.connect.mapping.line"]
            for mapping, is_draft, count in Line._read_group(
                [("mapping_id", "in", self.ids)], ["mapping_id", "is_draft"], ["__count"]
            ):
                counts[mapping.id] = counts.get(mapping.id, 0) + count
                if is_draft:
                    drafts[mapping.id] = count
        for mapping in self:
            mapping.line_count = counts.get(mapping.id, 0)
            mapping.draft_count = drafts.get(mapping.id, 0)

    @api.depends("version_ids")
    def _compute_version_count(self):
        counts = {}
        numbers = {}
        if self.ids:
            Version = self.env["finance.connect.mapping.version"]
            for mapping, count, number in Version._read_group(
                [("mapping_id", "in", self.ids)], ["mapping_id"], ["__count", "number:max"]
            ):
                counts[mapping.id] = count
                numbers[mapping.id] = number
        for mapping in self:
            mapping.version_count = counts.get(mapping.id, 0)
            mapping.version_number = numbers.get(mapping.id, 0)

    @api.depends(
        "company_id",
        *[
            f"{t}_line_ids.{f}"
            for t, _label in MAPPING_TYPES
            for f in (
                "source_value",
                "external_code",
                "direction",
                "date_from",
                "date_to",
                "partner_key",
                "account_group_id",
            )
        ],
    )
    def _compute_coverage(self):
        """Coverage from the lines as they are on screen (saved or not)."""
        for mapping in self:
            for mapping_type, _label in MAPPING_TYPES:
                lines = mapping[f"{mapping_type}_line_ids"]
                universe, unmapped = mapping._coverage(mapping_type, lines=lines)
                mapping[f"coverage_{mapping_type}_total"] = len(universe)
                mapping[f"coverage_{mapping_type}_unmapped"] = len(unmapped)

    # ------------------------------------------------------------------
    # Compiled lookup table (cached per transaction)
    # ------------------------------------------------------------------

    @api.model
    def _invalidate_table_cache(self):
        self.env.cr.cache.pop(CACHE_KEY, None)

    def _cache_stamp(self):
        """A fingerprint of the rows a table is built from; changes on every
        write and on every rollback of one."""
        self.env["finance.connect.mapping.line"].flush_model()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT (SELECT count(*) FROM finance_connect_mapping_line
                         WHERE mapping_id IN %(ids)s),
                       (SELECT coalesce(sum(xmin::text::bigint), 0)
                          FROM finance_connect_mapping_line WHERE mapping_id IN %(ids)s),
                       (SELECT coalesce(sum(xmin::text::bigint), 0) FROM finance_connect_mapping
                         WHERE id IN %(ids)s)
                """,
                ids=tuple(self.ids) or (0,),
            )
        )
        return self.env.cr.fetchone()

    def _get_table(self):
        """The compiled table of these (active) sets, built once per transaction."""
        sets = self.filtered("active")
        key = tuple(sorted(sets.ids))
        cache = self.env.cr.cache.setdefault(CACHE_KEY, {})
        stamp = sets._cache_stamp() if key else None
        hit = cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        lines = (
            self.env["finance.connect.mapping.line"]
            .sudo()
            .search([("mapping_id", "in", list(key))])
        )
        table = lib_mapping.MappingTable(lines._to_table_lines())
        cache[key] = (stamp, table)
        return table

    def _map_payload(self, payload):
        """``payload`` mapped with these sets (a connection's): ``external_account``
        of invoice and journal entry lines, ``external_code`` of partners.

        A type the sets have no line for is not mapped (its values go out as
        they are); as soon as a set has a line of a type, every value of that
        type must map: an unmapped or ambiguous value raises ``MappingMissing``.
        """
        table = self._get_table() if self else None
        if table is None or not any(
            table.has_type(t, lib_mapping.OUTBOUND) for t in ("account", "partner")
        ):
            return payload
        payload = copy.deepcopy(payload)
        try:
            lib_mapping.map_payload(
                payload, table, lib_mapping.payload_date(payload), self._payload_partner_keys
            )
        except lib_mapping.MappingError as exc:
            raise MappingMissing(exc.mapping_type, exc.value, lib_mapping.describe(exc)) from exc
        return payload

    def _map_value(self, mapping_type, value, direction="outbound", on_date=None):
        """Map one value with these sets (a connection's), for format addons.

        Outbound: an Odoo value (account code, journal code, ``vat:<VAT>`` /
        ``ref:<ref>`` / ``xmlid:<external id>`` for partners, tax name,
        currency ISO code, company name, analytic code, payment method code,
        bank account number) gives the external code. Inbound: an external
        code gives the Odoo value. Returns ``None`` when the sets map nothing
        of ``mapping_type``; raises ``MappingMissing`` for an unmapped or
        ambiguous value.
        """
        table = self._get_table() if self else None
        if table is None or not table.has_type(mapping_type, direction):
            return None
        try:
            return table.resolve(mapping_type, value, direction, on_date).target
        except lib_mapping.MappingError as exc:
            raise MappingMissing(mapping_type, value, lib_mapping.describe(exc)) from exc

    @api.model
    def _payload_partner_keys(self, partner):
        """The keys a payload's partner is mapped by: ``vat:``, ``ref:``, ``xmlid:``."""
        keys = []
        if partner.get("vat"):
            keys.append(f"vat:{lib_mapping.normalize_vat(partner['vat'])}")
        if partner.get("ref"):
            keys.append(f"ref:{partner['ref']}")
        if partner.get("id"):
            xmlid = self.env["res.partner"].browse(partner["id"]).sudo().get_external_id()
            if xmlid.get(partner["id"]):
                keys.append(f"xmlid:{xmlid[partner['id']]}")
        return keys

    def _post_line_changes(self, title, items):
        """Post ``items`` (one HTML line each) under ``title`` on this set's
        chatter, as the user who changed the lines (the first ones only)."""
        self.ensure_one()
        more = len(items) - MAX_LISTED
        body = Markup("<p>%s</p><ul>%s</ul>") % (
            title,
            Markup("").join(Markup("<li>%s</li>") % i for i in items[:MAX_LISTED]),
        )
        if more > 0:
            body += Markup("<p>%s</p>") % self.env._("… and %(n)s more.", n=more)
        self.sudo().message_post(
            body=body,
            message_type="notification",
            subtype_xmlid="mail.mt_note",
            author_id=self.env.user.partner_id.id,
        )

    # ------------------------------------------------------------------
    # Coverage
    # ------------------------------------------------------------------

    def _universe(self, mapping_type):
        """The Odoo records of the company a type should map (for coverage).

        Read as superuser, within the set's company: a user who may read the
        mapping sees its coverage without needing access to every model.
        """
        self.ensure_one()
        company = self.company_id
        Source = self.env["finance.connect.mapping.source"]
        model = self.env[TYPE_RECORDS[mapping_type][0]].sudo().with_company(company)
        domain = Source._company_domain(mapping_type, company)
        if mapping_type == "account":
            domain += [("deprecated", "=", False)]
        elif mapping_type == "partner":
            partners = (
                self.env["account.move"]
                .sudo()
                ._read_group(
                    [
                        ("company_id", "child_of", company.id),
                        ("state", "=", "posted"),
                        ("commercial_partner_id", "!=", False),
                    ],
                    ["commercial_partner_id"],
                )
            )
            return self.env["res.partner"].sudo().union(*[p for (p,) in partners])
        elif mapping_type == "bank_account":
            domain = [("partner_id", "=", company.partner_id.id)]
        return model.search(domain)

    def _partner_keys(self, partner, kinds=("vat", "ref", "xmlid")):
        """The keys a partner is known by, as the lookup table spells them."""
        Source = self.env["finance.connect.mapping.source"]
        keys = []
        for kind in kinds:
            value = Source._record_key("partner", partner, kind)
            if value:
                keys.append(f"{kind}:{value}")
        return keys

    def _coverage(self, mapping_type, lines=None, on_date=None):
        """``(universe, unmapped)`` records of ``mapping_type`` for this set.

        ``lines`` are the set's lines of that type as on screen; by default the
        saved ones. Drafts (no external code) and ambiguous values count as
        unmapped.
        """
        self.ensure_one()
        if not self.company_id:
            empty = self.env[TYPE_RECORDS[mapping_type][0]]
            return empty, empty
        if lines is None:
            lines = self.line_ids.filtered(lambda ln: ln.mapping_type == mapping_type)
        table = lib_mapping.MappingTable(lines._to_table_lines(include_inbound=False))
        universe = self._universe(mapping_type)
        on_date = on_date or fields.Date.context_today(self)
        Source = self.env["finance.connect.mapping.source"]
        unmapped_ids = []
        for record in universe:
            try:
                if mapping_type == "partner":
                    table.resolve_any("partner", self._partner_keys(record), on_date=on_date)
                else:
                    key = Source._record_key(mapping_type, record, company=self.company_id)
                    table.resolve(mapping_type, key, on_date=on_date)
            except lib_mapping.MappingError:
                unmapped_ids.append(record.id)
        return universe, universe.browse(unmapped_ids)

    def _context_type(self):
        mapping_type = self.env.context.get("fc_mapping_type")
        if mapping_type not in TYPE_RECORDS:
            raise UserError(self.env._("Say which type of mapping (fc_mapping_type)."))
        return mapping_type

    def action_list_unmapped(self):
        """Open the Odoo records of one type that this set does not map."""
        self.ensure_one()
        self.check_access("read")
        mapping_type = self._context_type()
        _universe, unmapped = self._coverage(mapping_type)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._(
                "Unmapped %(what)s of %(set)s", what=TYPE_LABELS_PLURAL[mapping_type], set=self.name
            ),
            "res_model": unmapped._name,
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", unmapped.ids)],
            "context": {"create": False, "allowed_company_ids": self.company_id.ids},
            "target": "current",
        }

    def action_create_unmapped_lines(self):
        """Add a draft line (no external code yet) for every unmapped value."""
        self.ensure_one()
        self.check_access("write")
        mapping_type = self._context_type()
        _universe, unmapped = self._coverage(mapping_type)
        Line = self.env["finance.connect.mapping.line"]
        Source = self.env["finance.connect.mapping.source"]
        fname = TYPE_RECORDS[mapping_type][1]
        existing = {
            (ln.partner_key or "", ln.source_value)
            for ln in self.line_ids
            if ln.mapping_type == mapping_type
        }
        vals_list = []
        for record in unmapped:
            partner_key = False
            if mapping_type == "partner":
                partner_key = next(
                    (
                        k
                        for k in ("vat", "ref", "xmlid")
                        if Source._record_key("partner", record, k)
                    ),
                    False,
                )
                if not partner_key:
                    continue  # nothing to map it by: give it a reference first
            key = Source._record_key(mapping_type, record, partner_key or "vat", self.company_id)
            if not key or (partner_key or "", key) in existing:
                continue
            existing.add((partner_key or "", key))
            vals_list.append(
                {
                    "mapping_id": self.id,
                    "mapping_type": mapping_type,
                    "source_value": key,
                    "partner_key": partner_key,
                    "direction": "both" if mapping_type != "account" else "outbound",
                    fname: record.id,
                }
            )
        lines = Line.create(vals_list)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Mapping lines to complete"),
                "message": self.env._(
                    "%(n)s draft line(s) added: fill in their external codes.", n=len(lines)
                ),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_view_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_mapping_line_action"
        )
        action["domain"] = [("mapping_id", "=", self.id)]
        action["context"] = {"default_mapping_id": self.id}
        return action

    def action_view_versions(self):
        """The versions of this set, newest first ("Compare with…", "Restore")."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_mapping_version_action"
        )
        action["domain"] = [("mapping_id", "=", self.id)]
        action["context"] = {"default_mapping_id": self.id}
        action["name"] = self.env._("Versions of %(set)s", set=self.name)
        return action

    def action_import_lines(self):
        """Odoo's standard import of mapping lines (CSV / XLSX), into this set."""
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "import",
            "params": {
                "model": "finance.connect.mapping.line",
                "context": {"default_mapping_id": self.id},
            },
        }

    def action_try_value(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Try a value"),
            "res_model": "finance.connect.mapping.try",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mapping_id": self.id},
        }

    # ------------------------------------------------------------------
    # CRUD: invalidate, and replay what the change fixed
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # A new set attached at once to a guarded connection with account, journal
        # or bank account lines: attached afterwards, through the four-eyes gate of write.
        attach = {}
        if not self._fc_four_eyes_passed(creating=True):
            Connection = self.env["finance.connect.connection"].sudo()
            for index, vals in enumerate(vals_list):
                if not vals.get("connection_ids"):
                    continue
                ids = self.new({})._fc_x2many_ids("connection_ids", vals["connection_ids"])
                if Connection.browse(ids).filtered(
                    lambda c: c.kind in MONEY_KINDS and c._fc_four_eyes_on()
                ):
                    vals_list[index] = dict(vals)
                    attach[index] = vals_list[index].pop("connection_ids")
        sets = super().create(vals_list)
        for index, commands in attach.items():
            reason = vals_list[index].get("fc_change_reason")
            sets[index].with_context(
                fc_change_reason=reason or self.env.context.get("fc_change_reason")
            ).write({"connection_ids": commands})
        self._invalidate_table_cache()
        self.env["finance.connect.mapping.version"]._mark_changed(sets)
        sets._after_lines_change()
        return sets

    def write(self, vals):
        reason = vals.get("fc_change_reason")
        if reason:  # for the lines' four-eyes control (finance.connect.mapping.line)
            self = self.with_context(fc_change_reason=reason)  # pylint: disable=self-cls-assignment
        held = self._fc_four_eyes_write(vals)
        if held is not None:
            return held
        res = super().write(vals)
        self._invalidate_table_cache()
        if {"connection_ids", "active", "company_id"} & set(vals):
            self._after_lines_change()
        return res

    def unlink(self):
        self = self._fc_four_eyes_unlink()  # pylint: disable=self-cls-assignment
        if not self:
            return True
        res = super().unlink()
        self._invalidate_table_cache()
        return res

    # ------------------------------------------------------------------
    # Four-eyes control of the lines (finance.connect.mapping.line)
    # ------------------------------------------------------------------

    # A set holding account, journal or bank account lines that is used by a
    # guarded bank, PSP or treasury connection (or would be) is itself
    # guarded: detaching, attaching, archiving, moving or deleting it would
    # change those lines' effect at once.

    @api.model
    def _fc_four_eyes_fields(self):
        return frozenset({"connection_ids", "active", "company_id"})

    @api.model
    def _fc_four_eyes_approver(self, names=None):
        return "manager"

    def _compute_fc_four_eyes_active(self):
        guarded = self.env["finance.connect.mapping.line"]._fc_guarded_sets(self.ids)
        for mapping in self:
            mapping.fc_four_eyes_active = mapping.id in guarded

    def _fc_four_eyes_on(self, vals=None):
        Line = self.env["finance.connect.mapping.line"]
        guarded = Line._fc_guarded_sets(self.ids)
        result = self.browse()
        for mapping in self.filtered("id"):
            if not Line._fc_money_lines_of({mapping.id}):
                continue
            if mapping.id in guarded:
                result |= mapping
            elif vals and "connection_ids" in vals:
                after = mapping._fc_x2many_ids("connection_ids", vals["connection_ids"])
                connections = self.env["finance.connect.connection"].sudo().browse(after)
                if connections.filtered(lambda c: c.kind in MONEY_KINDS and c._fc_four_eyes_on()):
                    result |= mapping
        return result

    def _fc_four_eyes_scope(self, vals=None):
        connections = self.sudo().connection_ids.filtered(
            lambda c: c.kind in MONEY_KINDS and c._fc_four_eyes_on()
        )
        return {
            "company_id": self.company_id.id,
            "mapping_id": self.id,
            "connection_id": connections[:1].id,
        }

    def _compute_fc_pending_change_count(self):
        requests = self.env["finance.connect.change.request"].sudo()
        counts = dict(
            requests._read_group(
                [("mapping_id", "in", self.ids), ("state", "=", "pending")],
                ["mapping_id"],
                ["__count"],
            )
        )
        for mapping in self:
            mapping.fc_pending_change_count = counts.get(mapping._origin, 0)

    def action_view_change_requests(self):
        """The change requests of this set's lines (a window action; the list
        is read with the user's own rights)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_change_request_action"
        )
        action["domain"] = [("mapping_id", "=", self.id)]
        action["context"] = {"search_default_pending": 1}
        return action

    def _after_lines_change(self, touched=None):
        """Replay the messages waiting for a value these sets now map.

        ``touched`` lists ``(type, source, kind)`` of changed lines: only the
        open mapping exceptions whose value they could decide are looked at.
        Without it, every open mapping exception of the sets' connections is.
        """
        connections = self.sudo().connection_ids
        if not connections:
            return
        # The defaults of a "create mapping" form must not leak into the replay.
        env = self.with_context(clean_context(self.env.context)).env  # pylint: disable=context-overridden
        Exc = env["finance.connect.exception"].sudo()
        domain = [
            ("category", "=", "mapping"),
            ("state", "in", ("open", "in_progress")),
            ("connection_id", "in", connections.ids),
        ]
        if touched is not None:
            types = {t for t, _s, _k in touched}
            if not types:
                return
            domain.append(("mapping_type", "in", list(types)))
        for exc in Exc.search(domain):
            if touched is not None:
                if not any(
                    t == exc.mapping_type and _matches(exc.mapping_value or "", source, kind)
                    for t, source, kind in touched
                ):
                    continue
            elif not _resolves_today(exc):
                continue  # a set-level change: only what now maps is worth a replay
            exc._replay_mapping()


def _resolves_today(exc):
    table = exc.connection_id._get_mapping_table()
    if table is None:
        return False
    try:
        table.resolve(exc.mapping_type, exc.mapping_value or "")
    except lib_mapping.MappingError:
        return False
    return True


def _matches(value, source, kind):
    """Whether a line's source could decide ``value`` (partner keys carry their kind)."""
    return value.startswith(source) if kind == "prefix" else value == source
