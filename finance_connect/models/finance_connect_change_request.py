"""Change requests of the four-eyes control (``finance.connect.four.eyes.mixin``).

One request is one guarded change of one record (write, create or delete):
the values asked for, the values in force when it was asked, who asked,
when and why. Another person approves it (an administrator for connection
fields and the company switch, a manager for mapping lines and CSV
profiles, of the request's company), which applies it through the ordinary
ORM ``create``/``write``/``unlink`` of the record; or rejects it; the
requester may cancel it. Requests are never deleted and their content never
changes after creation: only their own action methods move their state, and
every step is in the audit trail.

Secrets asked for are kept encrypted (``finance.connect.secret``'s key, bound
to the request's slot), shown masked to everyone, and decrypted only when
the approved request is applied.
"""

import json

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib.secretbox import MASK, SecretBoxError, slot
from .finance_connect_four_eyes_mixin import PASS_KEY, FourEyesPass

GROUPS = {
    "manager": "finance_connect.group_manager",
    "administrator": "finance_connect.group_administrator",
}
STATES = [
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("applied", "Applied"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled"),
]
SECRET_MARK = "__secret__"
MODEL = "finance.connect.change.request"


class FinanceConnectChangeRequest(models.Model):
    _name = MODEL
    _description = "Finance Connect change request (four-eyes)"
    _inherit = ["finance.connect.record.link.mixin"]
    _order = "id desc"

    res_model = fields.Char(string="Model", required=True, readonly=True, index=True)
    res_id = fields.Many2oneReference(
        string="Record", model_field="res_model", readonly=True, index=True
    )
    res_name = fields.Char(string="Record name", readonly=True)
    operation = fields.Selection(
        [("write", "Change"), ("create", "Create"), ("unlink", "Delete")],
        required=True,
        readonly=True,
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    connection_id = fields.Many2one(
        "finance.connect.connection", readonly=True, index=True, ondelete="set null"
    )
    mapping_id = fields.Many2one(
        "finance.connect.mapping",
        string="Mapping set",
        readonly=True,
        index=True,
        ondelete="set null",
    )
    approval_group = fields.Selection(
        [("manager", "Another manager"), ("administrator", "Another administrator")],
        string="Approved by",
        required=True,
        readonly=True,
    )
    reason = fields.Text(required=True, readonly=True)
    state = fields.Selection(STATES, default="pending", required=True, readonly=True, index=True)
    requested_by_id = fields.Many2one("res.users", string="Requested by", readonly=True)
    requested_at = fields.Datetime(readonly=True)
    decided_by_id = fields.Many2one("res.users", string="Decided by", readonly=True)
    decided_at = fields.Datetime(readonly=True)
    decision_note = fields.Text(
        help="Why the request was approved, rejected or cancelled (written before deciding)."
    )
    applied_at = fields.Datetime(readonly=True)
    field_names = fields.Char(string="Fields", readonly=True)
    # What is applied (secrets replaced by a mark) and what was in force, as JSON.
    new_values = fields.Text(readonly=True)
    old_values = fields.Text(readonly=True)
    # [[label, old text, new text], ...] as shown side by side (secrets masked).
    change_lines = fields.Text(readonly=True)
    # Secrets asked for, encrypted and bound to this request: {field: ciphertext}.
    secret_values = fields.Text(readonly=True, groups="finance_connect.group_administrator")
    comparison_html = fields.Html(
        string="Old and new values", compute="_compute_comparison_html", sanitize=False
    )
    can_decide = fields.Boolean(compute="_compute_can_decide")
    can_cancel = fields.Boolean(compute="_compute_can_decide")

    # ------------------------------------------------------------------
    # Display
    # ------------------------------------------------------------------

    @api.depends("res_name", "operation")
    def _compute_display_name(self):
        for request in self:
            request.display_name = self.env._(
                "Change request %(number)s: %(record)s",
                number=request.id or "",
                record=request.res_name or "",
            )

    @api.depends("change_lines")
    def _compute_comparison_html(self):
        head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th></tr>") % (
            self.env._("Field"),
            self.env._("In force when asked"),
            self.env._("Requested"),
        )
        for request in self:
            rows = [
                Markup("<tr><td>%s</td><td>%s</td><td><b>%s</b></td></tr>")
                % (escape(label), escape(old or "∅"), escape(new or "∅"))
                for label, old, new in json.loads(request.change_lines or "[]")
            ]
            request.comparison_html = (
                Markup('<table class="table table-sm o_fc_change_table">%s%s</table>')
                % (head, Markup("").join(rows))
                if rows
                else False
            )

    def _compute_can_decide(self):
        for request in self:
            group = GROUPS.get(request.approval_group)
            request.can_decide = bool(
                request.state == "pending"
                and group
                and self.env.user.has_group(group)
                and request.requested_by_id != self.env.user
                and request.company_id in self.env.user.company_ids
            )
            request.can_cancel = (
                request.state == "pending" and request.requested_by_id == self.env.user
            )

    @api.model
    def _approver_label(self, approver):
        if approver == "manager":
            return self.env._("Finance Connect manager")
        return self.env._("Finance Connect administrator")

    @api.model
    def _pending_counts(self, records):
        """``{record id: pending requests}`` about ``records`` (read as superuser:
        the number is shown on the record's form)."""
        if not records.ids:
            return {}
        groups = self.sudo()._read_group(
            [
                ("res_model", "=", records._name),
                ("res_id", "in", records.ids),
                ("state", "=", "pending"),
            ],
            ["res_id"],
            ["__count"],
        )
        return dict(groups)

    # ------------------------------------------------------------------
    # Opening (by the gates of the guarded models, after their rights checks)
    # ------------------------------------------------------------------

    @api.model
    def _open_request(self, record, operation, values, reason):
        """Open a pending request for ``operation`` (write, create, unlink) of
        ``record`` (empty for create) with ``values``. The caller checked that
        the user may make the change; the request is stored as superuser."""
        model = record
        secret_fields = set(model._fc_four_eyes_secret_fields())
        secrets = {name: values[name] for name in secret_fields.intersection(values)}
        plain = {name: value for name, value in values.items() if name not in secrets}
        stored_new = dict(plain, **{name: SECRET_MARK for name in secrets})
        old, lines = {}, []
        if operation == "write":
            for name in sorted(values):
                label = model._fields[name].string
                if name in secrets:
                    had = model._fc_has_secret(name)
                    lines.append(
                        [label, MASK * 2 if had else "", MASK * 2 if secrets[name] else ""]
                    )
                    continue
                old[name] = record._fc_raw(name)
                lines.append(
                    [
                        label,
                        record._fc_display(name, old[name]),
                        record._fc_display(name, record._fc_normalize(name, values[name])),
                    ]
                )
        elif operation == "create":
            for name in sorted(plain):
                if name in model._fields and not model._fields[name].automatic:
                    lines.append(
                        [
                            model._fields[name].string,
                            "",
                            model._fc_display(name, model._fc_normalize(name, plain[name])),
                        ]
                    )
        else:
            for name in sorted(model._fc_four_eyes_fields()):
                if name in secret_fields or name not in model._fields:
                    continue
                old[name] = record._fc_raw(name)
                lines.append([model._fields[name].string, record._fc_display(name, old[name]), ""])
        scope = model._fc_four_eyes_scope(values if operation == "create" else None)
        request = self.sudo().create(
            {
                "res_model": model._name,
                "res_id": record.id if record else 0,
                "res_name": record.display_name if record else self._create_name(model, plain),
                "operation": operation,
                "approval_group": model._fc_four_eyes_approver(set(values)),
                "reason": reason,
                "requested_by_id": self.env.uid,
                "requested_at": fields.Datetime.now(),
                "field_names": ", ".join(sorted(values)),
                "new_values": json.dumps(stored_new, default=str, sort_keys=True),
                "old_values": json.dumps(old, default=str, sort_keys=True),
                "change_lines": json.dumps(lines, ensure_ascii=False),
                **scope,
            }
        )
        if secrets:
            box = self.env["finance.connect.secret"]._get_box()
            sealed = {
                name: box.encrypt(value, slot(MODEL, request.id, name)) if value else ""
                for name, value in secrets.items()
            }
            request.sudo().secret_values = json.dumps(sealed)
        request._open_inbox_entry()
        request._audit(
            "change_requested",
            self.env._(
                "%(operation)s of %(record)s asked (%(fields)s): %(reason)s",
                operation=dict(request._fields["operation"].selection)[operation],
                record=request.res_name,
                fields=request.field_names or "-",
                reason=reason,
            ),
        )
        return request.sudo(False)

    @api.model
    def _create_name(self, model, values):
        for name in ("name", "source_value"):
            if values.get(name):
                return self.env._(
                    "New %(what)s: %(name)s", what=model._description, name=values[name]
                )
        return self.env._("New %(what)s", what=model._description)

    def _open_inbox_entry(self):
        """An "Approval needed" entry in the exception inbox: another person
        must act. Resolved when the request is decided."""
        self.ensure_one()
        self.env["finance.connect.exception"]._open(
            "approval",
            self.env._("Approval needed: %(request)s", request=self.display_name),
            self.env._(
                "%(user)s asks to %(operation)s %(record)s (%(fields)s) because: %(reason)s. "
                "Another %(approver)s of %(company)s approves or rejects it (Fix opens the "
                "request); until then the values in force stay.",
                user=self.requested_by_id.name,
                operation=dict(self._fields["operation"]._description_selection(self.env))[
                    self.operation
                ].lower(),
                record=self.res_name,
                fields=self.field_names or "-",
                reason=self.reason,
                approver=self._approver_label(self.approval_group),
                company=self.company_id.name,
            ),
            connection=self.connection_id or None,
            record=self,
            company=self.company_id,
            fingerprint=self._inbox_fingerprint(),
        )

    def _inbox_fingerprint(self):
        return f"change_request:{self.id}"

    def _resolve_inbox_entry(self):
        """Resolve the request's inbox entry once it is decided."""
        for request in self:
            entries = (
                self.env["finance.connect.exception"]
                .sudo()
                .search(
                    [
                        ("fingerprint", "=", request._inbox_fingerprint()),
                        ("state", "in", ("open", "in_progress")),
                    ]
                )
            )
            state = dict(request._fields["state"]._description_selection(self.env))[request.state]
            entries._resolve(
                self.env._(
                    "%(request)s: %(state)s by %(user)s.",
                    request=request.display_name,
                    state=state,
                    user=self.env.user.name,
                ),
                state,
            )

    def _notify_opened(self):
        """Tell the user who saved that the change waits for approval."""
        if not self:
            return
        approvers = sorted({self._approver_label(r.approval_group) for r in self})
        self.env.user._bus_send(
            "simple_notification",
            {
                "type": "warning",
                "sticky": True,
                "title": self.env._("Change request opened"),
                "message": self.env._(
                    "%(requests)s: the change takes effect once another %(approver)s "
                    "approves it. Until then the values in force stay.",
                    requests=", ".join(self.mapped("display_name")),
                    approver=" / ".join(approvers),
                ),
            },
        )

    def _audit(self, action, detail):
        for request in self:
            self.env["finance.connect.audit"]._log(
                request, action, detail, company=request.company_id
            )

    # ------------------------------------------------------------------
    # Decisions (public: each checks who may take it)
    # ------------------------------------------------------------------

    def _check_decider(self):
        """Another user than the requester, of the approving group and of the
        request's company, who may read the request."""
        self.check_access("read")
        user = self.env.user
        for request in self:
            if not user.has_group(GROUPS[request.approval_group]):
                raise AccessError(
                    self.env._(
                        "%(request)s must be decided by a %(approver)s.",
                        request=request.display_name,
                        approver=self._approver_label(request.approval_group),
                    )
                )
            if request.requested_by_id == user:
                raise UserError(
                    self.env._(
                        "You asked for %(request)s: another %(approver)s must approve or "
                        "reject it (four-eyes control). You may cancel it.",
                        request=request.display_name,
                        approver=self._approver_label(request.approval_group),
                    )
                )
            if request.company_id not in user.company_ids:
                raise AccessError(
                    self.env._(
                        "%(request)s belongs to %(company)s: it is decided by someone of "
                        "that company.",
                        request=request.display_name,
                        company=request.company_id.name,
                    )
                )
            request._check_pending()

    def _check_pending(self):
        for request in self:
            if request.state != "pending":
                raise UserError(
                    self.env._(
                        "%(request)s is %(state)s: only a pending request can be decided.",
                        request=request.display_name,
                        state=dict(request._fields["state"]._description_selection(self.env))[
                            request.state
                        ],
                    )
                )

    def action_approve(self, note=None):
        """Approve and apply: another user of the approving group and company.

        The change is applied with the approver's rights through the record's
        ordinary ``create``/``write``/``unlink``; if it fails (the record
        changed, a constraint), nothing is approved."""
        self._check_decider()
        for request in self:
            request._check_still_applicable()
            request.sudo().write(
                {
                    "state": "approved",
                    "decided_by_id": self.env.uid,
                    "decided_at": fields.Datetime.now(),
                    **({"decision_note": note} if note else {}),
                }
            )
            request._audit(
                "change_approved",
                self.env._("Approved: %(note)s", note=request.decision_note or "-"),
            )
            request._apply()
        return True

    def action_reject(self, note=None):
        """Reject: another user of the approving group and company. The
        values in force stay; the request stays, rejected."""
        self._check_decider()
        for request in self:
            request.sudo().write(
                {
                    "state": "rejected",
                    "decided_by_id": self.env.uid,
                    "decided_at": fields.Datetime.now(),
                    **({"decision_note": note} if note else {}),
                }
            )
            request._audit(
                "change_rejected",
                self.env._("Rejected: %(note)s", note=request.decision_note or "-"),
            )
            request._resolve_inbox_entry()
        return True

    def action_cancel(self):
        """Cancel: the requester only, while it is pending."""
        self.check_access("read")
        for request in self:
            if request.requested_by_id != self.env.user:
                raise AccessError(
                    self.env._(
                        "Only %(user)s, who asked for %(request)s, may cancel it; others "
                        "approve or reject it.",
                        user=request.requested_by_id.name,
                        request=request.display_name,
                    )
                )
            request._check_pending()
            request.sudo().write(
                {
                    "state": "cancelled",
                    "decided_by_id": self.env.uid,
                    "decided_at": fields.Datetime.now(),
                }
            )
            request._audit("change_cancelled", self.env._("Cancelled by the requester"))
            request._resolve_inbox_entry()
        return True

    def write(self, vals):
        """Only the decision note, by someone who may decide, while pending;
        everything else is written by the action methods (as superuser)."""
        if not self.env.su:
            if set(vals) - {"decision_note"}:
                raise AccessError(
                    self.env._("A change request cannot be edited: approve, reject or cancel it.")
                )
            for request in self:
                group = GROUPS.get(request.approval_group)
                if not (group and self.env.user.has_group(group)):
                    raise AccessError(
                        self.env._(
                            "Only a %(approver)s may note a decision on %(request)s.",
                            approver=self._approver_label(request.approval_group),
                            request=request.display_name,
                        )
                    )
            self._check_pending()
        return super().write(vals)

    def unlink(self):  # pylint: disable=method-required-super,no-raise-unlink
        # Kept by design: rejected and approved requests are the audit trail.
        raise UserError(  # pylint: disable=no-raise-unlink
            self.env._("Change requests are kept: cancel or reject one instead.")
        )

    # ------------------------------------------------------------------
    # Applying
    # ------------------------------------------------------------------

    def _check_still_applicable(self):
        """The record is still as it was when the change was asked."""
        self.ensure_one()
        if self.operation == "create":
            return
        record = self._get_linked_record()
        if record is None:
            raise UserError(
                self.env._(
                    "%(request)s: the record no longer exists. Reject the request.",
                    request=self.display_name,
                )
            )
        old = json.loads(self.old_values or "{}")
        changed = sorted(
            record._fields[name].string
            for name, value in old.items()
            if name in record._fields and record.sudo()._fc_raw(name) != value
        )
        if changed:
            raise UserError(
                self.env._(
                    "%(request)s: %(fields)s changed since the request was made. Reject it "
                    "and ask for the change again on the record as it is now.",
                    request=self.display_name,
                    fields=", ".join(changed),
                )
            )

    def _values_to_apply(self):
        """The requested values, secrets decrypted (only here, to apply them)."""
        self.ensure_one()
        values = json.loads(self.new_values or "{}")
        sealed = json.loads(self.sudo().secret_values or "{}")
        box = self.env["finance.connect.secret"]._get_box() if sealed else None
        for name, value in values.items():
            if value == SECRET_MARK:
                try:
                    values[name] = (
                        box.decrypt(sealed[name], slot(MODEL, self.id, name))
                        if sealed.get(name)
                        else False
                    )
                except (KeyError, SecretBoxError) as exc:
                    raise UserError(
                        self.env._(
                            "%(request)s: the requested secret cannot be decrypted (%(e)s). "
                            "Reject the request and ask again.",
                            request=self.display_name,
                            e=exc,
                        )
                    ) from exc
        return values

    def _apply(self):
        """Apply this approved request through the ORM (the only way a guarded
        change is written), then mark it applied."""
        self.ensure_one()
        if self.state != "approved":
            raise UserError(self.env._("Only an approved request is applied."))
        target = self.env[self.res_model].with_company(self.company_id)
        if getattr(type(target), "_fc_four_eyes_apply_sudo", False):
            target = target.sudo()
        target = target.with_context(**{PASS_KEY: FourEyesPass(self.id)})
        values = self._values_to_apply()
        if self.operation == "write":
            target.browse(self.res_id).write(values)
        elif self.operation == "create":
            record = target.create(values)
            self.sudo().res_id = record.id
        else:
            target.browse(self.res_id).unlink()
        self.sudo().write({"state": "applied", "applied_at": fields.Datetime.now()})
        self._audit("change_applied", self.env._("Applied"))
        self._resolve_inbox_entry()
