"""The exception inbox: one entry per problem a person must act on.

A missing mapping is one exception per connection and value: it is fixed by a
new mapping line ("Create mapping and replay", ``action_open_fix``), and
resolved once no message waits for the value any more (``_replay_mapping``).
"""

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .finance_connect_mapping_source import PARTNER_KEYS, TYPE_RECORDS

CATEGORIES = [
    ("signature", "Signature"),
    ("schema", "Schema"),
    ("mapping", "Mapping"),
    ("remote_rejected", "Remote rejected"),
    ("remote_unavailable", "Remote unavailable"),
    ("duplicate_conflict", "Duplicate conflict"),
    ("balance_mismatch", "Balance mismatch"),
    ("approval", "Approval needed"),
    ("log_integrity", "Log integrity"),
    ("sla", "SLA breached"),
    ("other", "Other"),
]
MANAGER_GROUP = "finance_connect.group_manager"
#: The bus notification that makes the systray count again.
SYSTRAY_PING = "finance_connect/exceptions_changed"
#: Fields a person may write directly (the form): who owns it, how urgent it is.
#: Everything else (state, texts, links) changes through the actions below,
#: which check the rights and write the audit trail, or through the engine.
USER_WRITABLE_FIELDS = frozenset({"user_id", "priority"})


class FinanceConnectException(models.Model):
    _name = "finance.connect.exception"
    _description = "Finance Connect exception"
    _inherit = ["mail.thread", "mail.activity.mixin", "finance.connect.record.link.mixin"]
    _order = "priority desc, id desc"
    #: Whoever can read an exception may write in its chatter (a User notes what
    #: they found); the exception itself changes only through its buttons.
    _mail_post_access = "read"

    name = fields.Char(string="Summary", required=True, tracking=True)
    description = fields.Text(string="What is wrong and what to do", required=True, readonly=True)
    category = fields.Selection(CATEGORIES, required=True, index=True, readonly=True)
    state = fields.Selection(
        [
            ("open", "Open"),
            ("in_progress", "In progress"),
            ("resolved", "Resolved"),
            ("ignored", "Ignored"),
        ],
        default="open",
        required=True,
        tracking=True,
        index=True,
    )
    priority = fields.Selection(
        [("0", "Normal"), ("1", "High"), ("2", "Urgent")], default="0", tracking=True
    )
    user_id = fields.Many2one("res.users", string="Owner", tracking=True, index=True)
    connection_id = fields.Many2one("finance.connect.connection", readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    message_id = fields.Many2one("finance.connect.message", readonly=True, index=True)
    res_model = fields.Char(string="Related model", readonly=True)
    res_id = fields.Many2oneReference(model_field="res_model", readonly=True)
    res_name = fields.Char(string="Related record", readonly=True)
    fingerprint = fields.Char(readonly=True, index=True, help="Same problem, same entry.")
    occurrences = fields.Integer(default=1, readonly=True)
    last_seen = fields.Datetime(default=fields.Datetime.now, readonly=True)
    age_days = fields.Integer(string="Age (days)", compute="_compute_age_days")
    ignore_reason = fields.Text(readonly=True, tracking=True)
    resolved_at = fields.Datetime(readonly=True)
    mapping_value = fields.Char(
        readonly=True, help="For mapping exceptions: the value that has no mapping."
    )
    mapping_type = fields.Char(readonly=True)
    fix_model = fields.Char(
        readonly=True, help="The model of the records that Fix opens (what a person changes)."
    )
    fix_res_ids = fields.Char(readonly=True, help="The ids of the records that Fix opens.")
    runbook = fields.Html(
        string="What to do",
        compute="_compute_runbook",
        sanitize=False,
        help="The runbook of this kind of problem: what it means, what to check, what to press.",
    )

    def _runbooks(self):
        """{category: (what it means, what to check, what to press)}, written for
        an accountant. EXTEND with the categories an addon adds."""
        return {
            "signature": (
                self.env._(
                    "A webhook arrived whose signature does not match: it may not come from "
                    "the connected system, or the shared secret changed on one side."
                ),
                self.env._(
                    "Whether the other system rotated its secret or key recently; the "
                    "connection's Webhook verification settings; the rejected calls listed "
                    "under Webhook rejections."
                ),
                self.env._(
                    "Ask an administrator to update the secret or key on the connection (the "
                    "previous one stays valid during the grace period). Nothing was stored: "
                    "the sender retries, or ask them to send again. Then Resolve."
                ),
            ),
            "schema": (
                self.env._(
                    "A message does not have the agreed shape (a field missing or of the wrong "
                    "type), so nothing of it was used."
                ),
                self.env._(
                    "The error names the field; compare with the payload on the message "
                    "(Message button)."
                ),
                self.env._(
                    "If our data was incomplete (e.g. a partner without country), correct the "
                    "record and press Retry; if the other system sent it wrong, ask them to send "
                    "it again. Then Resolve."
                ),
            ),
            "mapping": (
                self.env._(
                    "An Odoo value (account, journal, partner, tax...) has no code in the "
                    "connected system, so the messages that need it wait."
                ),
                self.env._(
                    "The value named in the summary, and whether it should be mapped or the "
                    "record should not have been sent."
                ),
                self.env._(
                    "Press Fix: it opens a new mapping line with the value filled in; save it "
                    "and the waiting messages are replayed, and this exception resolves itself."
                ),
            ),
            "remote_rejected": (
                self.env._(
                    "The other system received our message and refused it (an HTTP 4xx answer)."
                ),
                self.env._(
                    "Their answer on the message's Attempts tab says why (a closed period, an "
                    "unknown code, a duplicate)."
                ),
                self.env._(
                    "Correct what they name (a mapping, the record), then press Retry. If they "
                    "say it is a duplicate they already have, Resolve."
                ),
            ),
            "remote_unavailable": (
                self.env._(
                    "The other system could not be reached or kept failing (timeouts, 5xx) "
                    "after every retry; nothing is lost: the message waits."
                ),
                self.env._(
                    "The connection's Health (Paused after failures?) and Test connection; "
                    "whether the other system announced maintenance."
                ),
                self.env._(
                    "When it is back, press Retry (or Resume deliveries now on the connection); "
                    "the message goes out once. Then Resolve."
                ),
            ),
            "duplicate_conflict": (
                self.env._("The same business event arrived twice with different content."),
                self.env._("Both messages (same business event key) and which one is right."),
                self.env._(
                    "Ask the sender which version holds; Ignore with the reason, or Retry the "
                    "right one."
                ),
            ),
            "balance_mismatch": (
                self.env._(
                    "Amounts that must agree do not: a bank statement whose balances do not add "
                    "up or do not follow on from the previous one, or a report's control totals "
                    "acknowledged differently. Nothing of it was booked."
                ),
                self.env._(
                    "The figures in the description; the previous statement of the journal "
                    "(Fix opens it): a missing or doubled statement?"
                ),
                self.env._(
                    "Import the missing statement first, or ask the bank for a corrected file "
                    "and import it; for a report, deliver the period again. Then Retry or "
                    "Resolve."
                ),
            ),
            "approval": (
                self.env._(
                    "A change of what moves money or changes the ledger (a production "
                    "connection's endpoint or secrets, its account, journal or bank account "
                    "mappings, a bank CSV profile) waits for a second person's approval; the "
                    "values in force stay until then."
                ),
                self.env._(
                    "The change request (Fix opens it): old and new values side by side, who "
                    "asked, when and why; whether you expected this change."
                ),
                self.env._(
                    "If you are another administrator (connection fields) or manager "
                    "(mappings, profiles) of the company: Approve to put it in force, or "
                    "Reject with a note. The requester cannot approve their own change."
                ),
            ),
            "log_integrity": self.env["finance.connect.log.chain"]._runbook(),
            "sla": (
                self.env._(
                    "Something the team expects by a deadline has not happened: a statement "
                    "not arrived, a payment batch without the bank's answer, a report period "
                    "not acknowledged, an exception left open, or a connection failing too "
                    "often. The rule (Fix opens it) says which."
                ),
                self.env._(
                    "The sentence of the breach; the connection's health and messages; whether "
                    "the bank or the other system is late or Odoo did not receive it."
                ),
                self.env._(
                    "Chase what is late (ask the bank for the statement, pull now, take the "
                    "open exceptions); the breach resolves itself once the condition clears. "
                    "Adjust the rule if the deadline is wrong."
                ),
            ),
            "other": (
                self.env._("A problem of no other kind: the description says what happened."),
                self.env._("The description and the related message or record."),
                self.env._(
                    "Fix the cause the description names, then Retry (when there is a message) "
                    "or Resolve. If it keeps coming back, tell your administrator."
                ),
            ),
        }

    @api.depends("category")
    def _compute_runbook(self):
        books = self._runbooks()
        titles = (
            self.env._("What it means"),
            self.env._("What to check"),
            self.env._("What to press"),
        )
        for exc in self:
            parts = books.get(exc.category)
            exc.runbook = (
                "".join(
                    Markup("<p><strong>%s</strong><br/>%s</p>") % (title, text)
                    for title, text in zip(titles, parts, strict=True)
                )
                if parts
                else False
            )

    def _compute_age_days(self):
        now = fields.Datetime.now()
        for exc in self:
            exc.age_days = (now - exc.create_date).days if exc.create_date else 0

    # ------------------------------------------------------------------
    # Opening (engine side)
    # ------------------------------------------------------------------

    @api.model
    def _open(
        self,
        category,
        summary,
        description,
        connection=None,
        message=None,
        record=None,
        company=None,
        fingerprint=None,
        fix=None,
        **extra,
    ):
        """Open an exception, or count one more occurrence of the same open one.

        ``fix``: the records a person changes to fix the problem (the journal,
        the CSV profile...), opened by "Fix". Managers are notified once, when
        the exception is first opened.
        """
        fingerprint = fingerprint or ":".join(
            str(x)
            for x in (
                category,
                connection.id if connection else 0,
                message.id if message else 0,
                record._name if record else "",
                record.id if record else 0,
            )
        )
        Exc = self.sudo()
        existing = Exc.search(
            [("fingerprint", "=", fingerprint), ("state", "in", ("open", "in_progress"))],
            limit=1,
        )
        if existing:
            existing.write(
                {"occurrences": existing.occurrences + 1, "last_seen": fields.Datetime.now()}
            )
            return existing
        company = company or (connection.company_id if connection else self.env.company)
        vals = {
            "name": summary[:200],
            "description": description,
            "category": category,
            "connection_id": connection.id if connection else False,
            "company_id": company.id,
            "message_id": message.id if message else False,
            "res_model": record._name if record else False,
            "res_id": record.id if record else False,
            "res_name": record.display_name if record else False,
            "fingerprint": fingerprint,
            "fix_model": fix._name if fix else False,
            "fix_res_ids": ",".join(str(i) for i in fix.ids) if fix else False,
            **extra,
        }
        exc = Exc.with_context(mail_create_nolog=True).create(vals)
        exc._notify_managers()
        return exc

    @api.model
    def _open_for_message(self, message, category, description, fix=None, **extra):
        """Open (or count) the exception of one failed message (``fix``: see ``_open``)."""
        record = message._get_linked_record()
        labels = dict(self._fields["category"]._description_selection(self.env))
        summary = f"{labels.get(category, category)}: {message.event_type} {message.reference}"
        return self._open(
            category,
            summary,
            description,
            connection=message.connection_id,
            message=message,
            record=record,
            company=message.company_id,
            fingerprint=f"message:{message.id}",
            fix=fix,
            **extra,
        )

    @api.model
    def _open_for_mapping(self, connection, missing, company):
        """Open (or count) the exception of a value ``connection`` cannot map
        (``missing``: a ``MappingMissing``), for the messages that wait for it."""
        return self._open(
            "mapping",
            self.env._(
                "No mapping: %(type)s %(value)s", type=missing.mapping_type, value=missing.value
            ),
            self.env._(
                "%(type)s %(value)s has no mapping for %(conn)s (%(reason)s), so the "
                "messages that need it wait. Create the mapping: the waiting messages "
                "are replayed once it is saved.",
                type=missing.mapping_type,
                value=missing.value,
                conn=connection.display_name,
                reason=missing.reason,
            ),
            connection=connection,
            company=company,
            fingerprint=f"mapping:{connection.id}:{missing.mapping_type}:{missing.value}",
            mapping_type=missing.mapping_type,
            mapping_value=str(missing.value),
        )

    def _notify_managers(self):
        """Tell the managers of the company, once, that something needs them."""
        group = self.env.ref(MANAGER_GROUP, raise_if_not_found=False)
        for exc in self:
            users = (
                group.users.filtered(
                    lambda u, exc=exc: exc.company_id in u.company_ids and u.active and not u.share
                )
                if group
                else self.env["res.users"]
            )
            partners = users.partner_id
            if partners:
                exc.message_subscribe(partner_ids=partners.ids)
            exc.message_post(
                body=exc.description,
                subject=exc.name,
                partner_ids=partners.ids,
                message_type="notification",
                subtype_xmlid="mail.mt_comment",
            )

    # ------------------------------------------------------------------
    # Actions (managers)
    # ------------------------------------------------------------------

    def write(self, vals):
        engine = set(vals) - USER_WRITABLE_FIELDS
        engine = {f for f in engine if f in self._fields and not self._fields[f].automatic}
        engine -= set(self.env["mail.thread"]._fields) | set(
            self.env["mail.activity.mixin"]._fields
        )
        if engine and not self.env.su:
            raise AccessError(
                self.env._(
                    "%(fields)s of an exception change only through its buttons (retry, "
                    "resolve, ignore, reopen), which keep the audit trail.",
                    fields=", ".join(sorted(engine)),
                )
            )
        result = super().write(vals)
        if "state" in vals:
            self._ping_systray()
        return result

    @api.model_create_multi
    def create(self, vals_list):
        exceptions = super().create(vals_list)
        exceptions._ping_systray()
        return exceptions

    def _ping_systray(self):
        """Tell the Finance Connect users' browsers that open exceptions changed,
        once per transaction: a bare ping on the group's bus channel, no data;
        each browser then asks for its own count (its own companies)."""
        data = self.env.cr.precommit.data
        if data.get("finance_connect.systray_pinged"):
            return
        data["finance_connect.systray_pinged"] = True
        self.env["bus.bus"].sudo()._sendone(
            self.env.ref("finance_connect.group_user"), SYSTRAY_PING, {}
        )

    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._("Only Finance Connect managers may do this."))

    def _check_act(self):
        """A manager acting on these exceptions: group, then the company rules."""
        self._check_manager()
        self.check_access("write")

    def action_retry(self):
        """Replay the related messages (same idempotency key) and mark in progress.

        Says what happened: the replay runs in the background, and when it meets
        the same error the exception stays open and counts one more occurrence.
        """
        self._check_act()
        replayed = self.env["finance.connect.message"]
        for exc in self:
            if exc.message_id:
                exc.message_id.action_replay()
                replayed |= exc.message_id
            exc.sudo().write({"state": "in_progress"})
            self.env["finance.connect.audit"]._log(exc, "retry")
        if replayed:
            text = self.env._(
                "%(n)s message(s) replayed in the background (%(refs)s). If the same "
                "error happens again, this exception stays open and counts one more "
                "occurrence; if it goes through, resolve the exception.",
                n=len(replayed),
                refs=", ".join(replayed.sudo().mapped("reference")[:5]),
            )
        else:
            text = self.env._("No message to replay: fix the cause, then resolve the exception.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Retry"),
                "message": text,
                "type": "info" if replayed else "warning",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_assign_to_me(self):
        """Take the exceptions: any Finance Connect user, for the exceptions of
        their companies nobody else owns (a manager may take over any)."""
        if not (self.env.su or self.env.user.has_group("finance_connect.group_user")):
            raise AccessError(self.env._("Only Finance Connect users may take exceptions."))
        self.check_access("read")
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            taken = self.filtered(lambda exc: exc.user_id and exc.user_id != self.env.user)
            if taken:
                raise AccessError(
                    self.env._(
                        "%(name)s is already taken by %(user)s: ask them or a Finance Connect "
                        "manager to hand it over.",
                        name=taken[:1].name,
                        user=taken[:1].user_id.name,
                    )
                )
        closed = self.filtered(lambda exc: exc.state in ("resolved", "ignored"))
        if closed:
            raise UserError(
                self.env._("%(name)s is closed: reopen it first.", name=closed[:1].name)
            )
        self.sudo().write({"user_id": self.env.uid, "state": "in_progress"})
        for exc in self:
            self.env["finance.connect.audit"]._log(exc, "assign", self.env.user.login)
        self._sla_recheck()

    def action_resolve(self):
        self._check_act()
        self.sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
        for exc in self:
            self.env["finance.connect.audit"]._log(exc, "resolve")
        self._sla_recheck()

    def _resolve(self, note, detail):
        """Resolve what the system saw go away (no manager check: nobody clicked),
        with ``note`` posted on each exception and ``detail`` in the audit trail."""
        for exc in self:
            exc.sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
            exc.message_post(body=note, message_type="notification", subtype_xmlid="mail.mt_note")
            self.env["finance.connect.audit"]._log(exc, "resolve", detail)

    def action_reopen(self):
        self._check_act()
        self.sudo().write({"state": "open", "resolved_at": False})
        for exc in self:
            self.env["finance.connect.audit"]._log(exc, "reopen")

    def action_ignore(self):
        """Ask for the reason, then ignore (wizard)."""
        self._check_act()
        return {
            "type": "ir.actions.act_window",
            "res_model": "finance.connect.exception.ignore",
            "view_mode": "form",
            "target": "new",
            "context": {"default_exception_ids": self.ids},
        }

    def _ignore(self, reason):
        self._check_act()
        if not (reason or "").strip():
            raise UserError(self.env._("Say why the exception is ignored."))
        for exc in self:
            exc.sudo().write({"state": "ignored", "ignore_reason": reason})
            self.env["finance.connect.audit"]._log(exc, "ignore", reason)
        self._sla_recheck()

    def _sla_recheck(self):
        """A person took, resolved or ignored exceptions: the "exception open too
        long" SLA rules of their companies are checked now (a breach clears at
        once). SLA breaches themselves count for no such rule."""
        others = self.filtered(lambda exc: exc.category != "sla")
        if others:
            self.env["finance.connect.sla.rule"]._fc_on_exceptions_changed(others.company_id)

    def action_open_message(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "finance.connect.message",
            "res_id": self.message_id.id,
            "view_mode": "form",
        }

    def action_open_fix(self):
        """Open what fixes this problem. EXTEND per category.

        A missing mapping is fixed by a new mapping line (managers), whose
        saving replays the waiting messages."""
        self.ensure_one()
        if self.category == "mapping" and self.mapping_type in TYPE_RECORDS:
            self._check_manager()
            return {
                "type": "ir.actions.act_window",
                "name": self.env._("Create mapping and replay"),
                "res_model": "finance.connect.mapping.line",
                "view_mode": "form",
                "views": [
                    (
                        self.env.ref(
                            "finance_connect.finance_connect_mapping_line_view_form_fix"
                        ).id,
                        "form",
                    )
                ],
                "target": "new",
                "context": self._prepare_fix_context(),
            }
        if self.category == "approval":  # the change request to approve or reject
            return self.action_open_record()
        if self.fix_model:
            return self._open_fix_records()
        if self.connection_id:
            return {
                "type": "ir.actions.act_window",
                "res_model": "finance.connect.connection",
                "res_id": self.connection_id.id,
                "view_mode": "form",
            }
        return self.action_open_record()

    def _open_fix_records(self):
        """The window of the records that fix this exception (a form for one)."""
        if self.fix_model not in self.env:
            raise UserError(self.env._("What this exception pointed to no longer exists."))
        ids = [int(i) for i in (self.fix_res_ids or "").split(",") if i.isdigit()]
        records = self.env[self.fix_model].browse(ids).exists()
        if not records:
            raise UserError(self.env._("What this exception pointed to was deleted meanwhile."))
        action = {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": records._name,
        }
        if len(records) == 1:
            return dict(action, res_id=records.id, view_mode="form", views=[(False, "form")])
        return dict(
            action,
            domain=[("id", "in", records.ids)],
            view_mode="list,form",
            views=[(False, "list"), (False, "form")],
        )

    def _prepare_fix_context(self):
        """Defaults of the mapping line that fixes this exception."""
        self.ensure_one()
        value = self.mapping_value or ""
        context = {
            "default_mapping_type": self.mapping_type,
            "default_direction": "outbound",
            "default_source_value": value,
            "fc_mapping_exception_id": self.id,
            "fc_connection_id": self.connection_id.id,
        }
        if self.mapping_type == "partner":
            kind, _sep, rest = value.partition(":")
            if kind in dict(PARTNER_KEYS):
                context.update(default_partner_key=kind, default_source_value=rest)
            elif kind == "id" and rest.isdigit():
                context.update(
                    default_partner_id=int(rest), default_partner_key="ref", default_source_value=""
                )
        sets = self.connection_id._get_mapping_sets()
        if len(sets) == 1:
            context["default_mapping_id"] = sets.id
        return context

    def _check_fix(self, lines):
        """Mapping ``lines`` created from this exception ("create mapping and
        replay") must be in a set its connection uses, or nothing would be
        replayed (``UserError``)."""
        connection = self.connection_id
        if connection and any(
            connection not in line.mapping_id.sudo().connection_ids for line in lines
        ):
            raise UserError(
                self.env._(
                    "The mapping set %(set)s is not used by %(conn)s, so the waiting messages "
                    "would not be replayed: choose a set of %(conn)s, or add %(conn)s to the "
                    "set's connections first.",
                    set=lines.mapping_id[:1].name,
                    conn=connection.display_name,
                )
            )

    def _replay_mapping(self):
        """Replay the messages waiting for this exception's value; resolve it
        once none waits any more."""
        Message = self.env["finance.connect.message"]
        for exc in self.sudo():
            if exc.state not in ("open", "in_progress") or not exc.connection_id:
                continue
            waiting_for = f"{exc.mapping_type}:{exc.mapping_value}"
            replayed = Message._replay_waiting(
                exc.connection_id, exc.mapping_type, exc.mapping_value
            )
            still = Message.sudo().search_count(
                [
                    ("connection_id", "=", exc.connection_id.id),
                    ("state", "=", "new"),
                    ("waiting_for", "=", waiting_for),
                ]
            )
            if still:
                continue
            exc._resolve(
                self.env._(
                    "%(type)s %(value)s is mapped now (by %(user)s): %(n)s waiting message(s) "
                    "replayed.",
                    type=exc.mapping_type,
                    value=exc.mapping_value,
                    user=self.env.user.name,
                    n=len(replayed),
                ),
                f"mapping created; {len(replayed)} message(s) replayed",
            )

    @api.model
    def get_open_count(self):
        """Open exceptions of the user's companies (the systray badge)."""
        if not self.env.user.has_group("finance_connect.group_user"):
            return 0
        return self.search_count([("state", "in", ("open", "in_progress"))])
