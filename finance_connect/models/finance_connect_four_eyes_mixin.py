"""Four-eyes control: a guarded change takes effect once a second person approves it.

A model that moves money or changes the ledger inherits this mixin and says
which of its fields are guarded (``_fc_four_eyes_fields``), which of its
records are under four-eyes now (``_fc_four_eyes_on``), whether a new record
is (``_fc_four_eyes_on_create``) and who approves (``_fc_four_eyes_approver``).
Its ``create``/``write``/``unlink`` call the gates below first, after their
own rights checks:

- a guarded change on a guarded record becomes a pending
  ``finance.connect.change.request`` (the reason comes from the form's
  "Reason for change" field or the context key ``fc_change_reason``); the
  values in force stay, the user is told a request was opened;
- without a reason it is refused with a UserError saying what to do;
- only ``finance.connect.change.request._apply`` writes a guarded change: it
  puts a :class:`FourEyesPass` in the context, a Python object that no JSON-RPC
  context can carry, and the gate checks again that the request it names is
  approved and is about these records.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError

PASS_KEY = "fc_four_eyes_pass"
REASON_KEY = "fc_change_reason"
REQUEST_MODEL = "finance.connect.change.request"


class FourEyesPass:
    """Proof, in the context, that an approved change request is being applied.

    Contexts coming over JSON-RPC hold JSON values only: an instance of this
    class can only be put there by server code (``_apply``)."""

    __slots__ = ("request_id",)

    def __init__(self, request_id):
        self.request_id = request_id


class FinanceConnectFourEyesMixin(models.AbstractModel):
    _name = "finance.connect.four.eyes.mixin"
    _description = "Finance Connect four-eyes control"

    fc_change_reason = fields.Char(
        string="Reason for change",
        compute="_compute_fc_change_reason",
        inverse="_inverse_fc_change_reason",
        help="Four-eyes control: a change of a guarded field opens a change request with "
        "this reason; it takes effect once a second person approves it.",
    )
    fc_four_eyes_active = fields.Boolean(
        string="Under four-eyes control",
        compute="_compute_fc_four_eyes_active",
        help="Changes of the guarded fields wait for a second person's approval.",
    )
    fc_pending_change_count = fields.Integer(
        string="Pending changes", compute="_compute_fc_pending_change_count"
    )

    # ------------------------------------------------------------------
    # Hooks (EXTEND in the guarded model)
    # ------------------------------------------------------------------

    @api.model
    def _fc_four_eyes_fields(self):
        """The fields whose changes need a second person's approval."""
        return frozenset()

    def _fc_four_eyes_on(self, vals=None):
        """The records of ``self`` under four-eyes now (``vals``: what is
        written, when the values decide)."""
        return self.browse()

    @api.model
    def _fc_four_eyes_on_create(self, vals):
        """Whether creating a record with ``vals`` needs approval."""
        return False

    @api.model
    def _fc_four_eyes_secret_fields(self):
        """Guarded fields holding a secret: kept encrypted in the request, shown masked."""
        return frozenset()

    def _fc_has_secret(self, name):
        """Whether this record has secret ``name`` set (shown masked)."""
        return False

    @api.model
    def _fc_four_eyes_approver(self, names=None):
        """Who approves a change of the fields ``names`` (all when ``None``):
        ``manager`` or ``administrator`` (the group of Finance Connect)."""
        return "administrator"

    def _fc_four_eyes_scope(self, vals=None):
        """``{"company_id", "connection_id", "mapping_id"}`` of a request about
        this record (or about creating one with ``vals``)."""
        record = self[:1]
        company = record.company_id if "company_id" in record._fields else self.env.company
        return {"company_id": (company or self.env.company).id}

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    def _compute_fc_change_reason(self):
        self.fc_change_reason = False

    def _inverse_fc_change_reason(self):
        """Read by the gates from the written values; nothing is stored."""

    def _compute_fc_four_eyes_active(self):
        on = self._fc_four_eyes_on()
        for record in self:
            record.fc_four_eyes_active = record in on

    def _compute_fc_pending_change_count(self):
        counts = self.env[REQUEST_MODEL]._pending_counts(self)
        for record in self:
            record.fc_pending_change_count = counts.get(record.id, 0)

    # ------------------------------------------------------------------
    # The gates
    # ------------------------------------------------------------------

    def _fc_four_eyes_passed(self, creating=False):
        """Whether an approved change request about these records is being applied."""
        token = self.env.context.get(PASS_KEY)
        if not isinstance(token, FourEyesPass):
            return False
        request = self.env[REQUEST_MODEL].sudo().browse(token.request_id).exists()
        if not request or request.state != "approved" or request.res_model != self._name:
            return False
        if creating:  # once: the request then names the record it created
            return request.operation == "create" and not request.res_id
        return set(self.ids) <= {request.res_id}

    @api.model
    def _fc_reason(self, vals=None):
        reason = (vals or {}).get("fc_change_reason") or self.env.context.get(REASON_KEY)
        return reason.strip() if isinstance(reason, str) else ""

    @api.model
    def _fc_where_to_give_reason(self):
        """What the refusal without a reason tells the user to do. EXTEND."""
        return self.env._("give a Reason for change and save again")

    def _fc_refuse_without_reason(self, names=None):
        raise UserError(
            self.env._(
                "This change of %(what)s needs a second person's approval (four-eyes "
                "control): %(todo)s. A change request is then opened; the values in force "
                "stay until another %(approver)s approves it.",
                what=self._description,
                todo=self._fc_where_to_give_reason(),
                approver=self.env[REQUEST_MODEL]._approver_label(
                    self._fc_four_eyes_approver(names)
                ),
            )
        )

    def _fc_four_eyes_write(self, vals):
        """Gate of ``write``: ``None`` when the write goes on as it is; else the
        guarded changes became change requests, the rest was written, and the
        caller returns the result."""
        guarded = self._fc_four_eyes_fields().intersection(vals)
        if not guarded or self._fc_four_eyes_passed():
            return None
        held = []
        for record in self._fc_four_eyes_on(vals):
            changes = {
                name: record._fc_request_value(name, vals[name])
                for name in guarded
                if record._fc_differs(name, vals[name])
            }
            if changes:
                held.append((record, changes))
        if not held:
            return None
        reason = self._fc_reason(vals)
        if not reason:
            self._fc_refuse_without_reason({name for _record, changes in held for name in changes})
        self.check_access("write")
        requests = self.env[REQUEST_MODEL]
        for record, changes in held:
            requests |= requests._open_request(record, "write", changes, reason)
        held_records = self.browse([record.id for record, _changes in held])
        rest = {name: value for name, value in vals.items() if name not in guarded}
        if self - held_records:
            (self - held_records).write(vals)
        if set(rest) - {"fc_change_reason"}:
            held_records.write(rest)
        requests._notify_opened()
        return True

    @api.model
    def _fc_four_eyes_create(self, vals_list):
        """Gate of ``create``: the values to create now; guarded creations
        became change requests."""
        if self._fc_four_eyes_passed(creating=True):
            return vals_list
        now, held = [], []
        for vals in vals_list:
            (held if self._fc_four_eyes_on_create(vals) else now).append(vals)
        if held:
            self.check_access("create")
            requests = self.env[REQUEST_MODEL]
            for vals in held:
                reason = self._fc_reason(vals)
                if not reason:
                    self._fc_refuse_without_reason()
                values = {k: v for k, v in vals.items() if k != "fc_change_reason"}
                requests |= requests._open_request(self.browse(), "create", values, reason)
            requests._notify_opened()
        return now

    def _fc_four_eyes_unlink(self):
        """Gate of ``unlink``: the records to delete now; the deletion of
        guarded ones became change requests."""
        if self._fc_four_eyes_passed():
            return self
        held = self._fc_four_eyes_on()
        if not held:
            return self
        reason = self._fc_reason()
        if not reason:
            self._fc_refuse_without_reason()
        self.check_access("unlink")
        requests = self.env[REQUEST_MODEL]
        for record in held:
            requests |= requests._open_request(record, "unlink", {}, reason)
        requests._notify_opened()
        return self - held

    # ------------------------------------------------------------------
    # Values
    # ------------------------------------------------------------------

    def _fc_differs(self, name, new):
        """Whether writing ``new`` into field ``name`` changes this record."""
        self.ensure_one()
        return self._fc_raw(name) != self._fc_normalize(name, self._fc_request_value(name, new))

    def _fc_request_value(self, name, value):
        """``value`` as a request keeps it: x2many commands become the
        resulting ids (``[(6, 0, ids)]``), applied as they were asked."""
        if self._fields[name].type in ("many2many", "one2many"):
            return [[6, 0, self._fc_x2many_ids(name, value)]]
        return value

    def _fc_x2many_ids(self, name, commands):
        """The sorted ids of x2many field ``name`` once ``commands`` are applied."""
        self.ensure_one()
        ids = list(self[name].ids)
        for command in commands or []:
            if isinstance(command, int):
                command = (4, command)
            code = command[0]
            if code == 6:
                ids = list(command[2] or [])
            elif code == 5:
                ids = []
            elif code == 4 and command[1] not in ids:
                ids.append(command[1])
            elif code in (2, 3) and command[1] in ids:
                ids.remove(command[1])
        return sorted(ids)

    def _fc_raw(self, name):
        """The value of field ``name`` as JSON (ids for relations, text for dates)."""
        field = self._fields[name]
        value = self[name]
        if field.type == "many2one":
            return value.id or False
        if field.type in ("many2many", "one2many"):
            return sorted(value.ids)
        if field.type in ("integer", "float", "monetary"):
            return value or 0
        if field.type in ("date", "datetime"):
            return field.to_string(value) if value else False
        return value or False

    @api.model
    def _fc_normalize(self, name, value):
        field = self._fields[name]
        if field.type in ("many2many", "one2many"):
            return sorted(value[0][2]) if value else []
        if field.type in ("integer", "float", "monetary"):
            return value or 0
        if field.type in ("date", "datetime"):
            return field.to_string(field.to_date(value) if field.type == "date" else value) or False
        if isinstance(value, models.BaseModel):
            return value.id or False
        return value or False

    def _fc_display(self, name, value):
        """A readable text of ``value`` of field ``name`` (for the side-by-side view)."""
        field = self._fields[name]
        if value in (False, None, "", 0) and field.type not in ("integer", "float", "boolean"):
            return ""
        if field.type == "many2one":
            return self.env[field.comodel_name].sudo().browse(value).exists().display_name or ""
        if field.type in ("many2many", "one2many"):
            records = self.env[field.comodel_name].sudo().browse(value).exists()
            return ", ".join(records.mapped("display_name"))
        if field.type == "selection":
            return dict(field._description_selection(self.env)).get(value, str(value))
        if field.type == "boolean":
            return self.env._("Yes") if value else self.env._("No")
        return str(value)
