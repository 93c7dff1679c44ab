"""Business SLAs: rules an accountant configures, checked against the clock.

Each rule has a kind; ``_evaluate(now)`` answers the breach sentence, or
``None`` when the rule is kept. A breach opens ONE exception of category
``sla`` per rule (fingerprint ``sla:<rule id>``), with a to-do activity for
the rule's owner; when the condition clears, that exception resolves itself.

The core knows two kinds (an exception open too long, a connection's failure
rate); the bank and reporting addons add theirs (``selection_add`` on ``kind``
and an ``_evaluate_<kind>`` method, EXTEND pattern). Kinds with a daily
deadline use the company's working calendar (``resource.calendar``).
"""

import logging
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "finance_connect.group_manager"
#: How far back a deadline is looked for (calendar days): a long holiday.
MAX_LOOKBACK_DAYS = 31


class FinanceConnectSlaRule(models.Model):
    _name = "finance.connect.sla.rule"
    _description = "Finance Connect SLA rule"
    _inherit = ["mail.thread"]
    _order = "company_id, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    kind = fields.Selection(
        [
            ("exception_open", "Exception open too long"),
            ("failure_rate", "Connection failure rate"),
        ],
        required=True,
        tracking=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        default=lambda self: self.env.user,
        tracking=True,
        help="Gets a to-do and a notification when the rule is breached.",
    )
    deadline = fields.Float(
        string="Deadline (time)",
        default=9.0,
        help="Time of day (company calendar time zone) by which it must have happened.",
    )
    hours = fields.Float(string="Hours (N)", default=4.0)
    day = fields.Integer(string="Day of the next month (D)", default=5)
    percentage = fields.Float(string="Failure rate (P %)", default=20.0)
    exception_scope = fields.Selection(
        [("unassigned", "Unassigned"), ("assigned", "Assigned"), ("any", "Any")],
        default="unassigned",
        help="Which open exceptions count: nobody took them yet, or taken but not resolved.",
    )
    connection_id = fields.Many2one(
        "finance.connect.connection", check_company=True, ondelete="cascade"
    )
    calendar_id = fields.Many2one(
        "resource.calendar",
        string="Working calendar",
        compute="_compute_calendar_id",
        help="The company's working time: deadlines fall on its working days only.",
    )
    breach_id = fields.Many2one(
        "finance.connect.exception",
        string="Open breach",
        compute="_compute_breach",
    )
    breach_count = fields.Integer(compute="_compute_breach")
    last_evaluated = fields.Datetime(readonly=True)
    in_breach = fields.Boolean(
        readonly=True,
        copy=False,
        help="The condition was breached at the last check. A breach episode opens one "
        "exception; if a person closes it while the condition still holds, no new one is "
        "opened until the condition clears and is breached again.",
    )

    _sql_constraints = [
        ("hours_positive", "CHECK(hours >= 0)", "The hours of an SLA rule cannot be negative."),
        (
            "percentage_range",
            "CHECK(percentage >= 0 AND percentage <= 100)",
            "The failure rate of an SLA rule is a percentage between 0 and 100.",
        ),
        ("day_range", "CHECK(day >= 1 AND day <= 28)", "The day D is between 1 and 28."),
        (
            "deadline_range",
            "CHECK(deadline >= 0 AND deadline < 24)",
            "The deadline is a time of day, between 00:00 and 23:59.",
        ),
    ]

    @api.depends("company_id")
    def _compute_calendar_id(self):
        for rule in self:
            rule.calendar_id = rule.company_id.resource_calendar_id

    def _compute_breach(self):
        Exc = self.env["finance.connect.exception"]
        for rule in self:
            breach = (
                Exc.search(
                    [
                        ("fingerprint", "=", f"sla:{rule.id}"),
                        ("state", "in", ("open", "in_progress")),
                    ],
                    limit=1,
                )
                if rule.id
                else Exc
            )
            rule.breach_id = breach
            rule.breach_count = len(breach)

    @api.constrains("kind", "connection_id")
    def _check_kind_fields(self):
        for rule in self:
            missing = rule._get_missing_fields()
            if missing:
                raise ValidationError(
                    self.env._(
                        "The SLA rule %(rule)s needs %(fields)s for its kind: fill it in.",
                        rule=rule.name,
                        fields=", ".join(missing),
                    )
                )

    @api.constrains("user_id", "company_id")
    def _check_owner(self):
        for rule in self:
            owner = rule.user_id
            if not owner.has_group("finance_connect.group_user") or (
                rule.company_id not in owner.company_ids
            ):
                raise ValidationError(
                    self.env._(
                        "The owner of the SLA rule %(rule)s must be a Finance Connect user of "
                        "%(company)s, or they could not see the breach: choose another owner "
                        "or give %(user)s the Finance Connect User group and the company.",
                        rule=rule.name,
                        company=rule.company_id.name,
                        user=owner.name,
                    )
                )

    def write(self, vals):
        result = super().write(vals)
        if vals.get("active") is False:
            # An archived rule is checked no more: its breach must not stay open forever.
            for rule in self:
                rule._clear_breach(self.env._("The SLA rule was archived."), "sla rule archived")
            # Unarchived later, the rule starts a new episode.
            super().write({"in_breach": False})
        return result

    def unlink(self):
        for rule in self:
            rule._clear_breach(self.env._("The SLA rule was deleted."), "sla rule deleted")
        return super().unlink()

    def _get_missing_fields(self):
        """Labels of the fields this rule's kind needs and lacks. EXTEND per kind."""
        self.ensure_one()
        if self.kind == "failure_rate" and not self.connection_id:
            return [self._fields["connection_id"].get_description(self.env)["string"]]
        return []

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def action_view_breach(self):
        """The open breach of this rule (the smart button)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("SLA breach"),
            "res_model": "finance.connect.exception",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("fingerprint", "=", f"sla:{self.id}")],
        }

    def action_evaluate_now(self):
        """Check the rules now (managers), as the cron would."""
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._("Only Finance Connect managers may check SLA rules."))
        self.check_access("write")
        self.sudo()._apply_evaluation()
        breached = self.filtered("breach_id")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("SLA check"),
                "message": self.env._(
                    "%(n)s rule(s) checked, %(b)s breached.", n=len(self), b=len(breached)
                ),
                "type": "warning" if breached else "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # Evaluation (engine)
    # ------------------------------------------------------------------

    @api.model
    def _cron_evaluate(self):
        """Every 15 minutes: check every active rule, one at a time (a rule that
        fails to evaluate is logged and does not stop the others)."""
        for rule in self.sudo().search([("active", "=", True)]):
            try:
                with self.env.cr.savepoint():
                    rule._apply_evaluation()
            except Exception:
                _logger.exception("SLA rule %s could not be evaluated", rule.id)

    def _evaluate(self, now=None):
        """The breach sentence of this rule at ``now`` (UTC, naive), or ``None``."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        method = getattr(self, f"_evaluate_{self.kind}", None)
        if method is None:
            return None
        return method(now)

    def _apply_evaluation(self, now=None):
        """Evaluate, then open/keep or resolve the rule's one breach."""
        now = now or fields.Datetime.now()
        for rule in self:
            sentence = rule._evaluate(now)
            if sentence:
                rule._open_breach(sentence, new_episode=not rule.in_breach)
            else:
                rule._clear_breach()
            rule.write({"last_evaluated": now, "in_breach": bool(sentence)})

    def _open_breach(self, sentence, new_episode=True):
        """Count one more occurrence of the open breach; open one only for a new
        episode (a breach a person closed while it held is not reopened)."""
        self.ensure_one()
        Exc = self.env["finance.connect.exception"].sudo()
        fingerprint = f"sla:{self.id}"
        existing = Exc.search(
            [("fingerprint", "=", fingerprint), ("state", "in", ("open", "in_progress"))],
            limit=1,
        )
        if existing:
            # Still breached: one more occurrence, never a second exception.
            existing.write(
                {"occurrences": existing.occurrences + 1, "last_seen": fields.Datetime.now()}
            )
            return existing
        if not new_episode:
            return Exc
        exc = Exc._open(
            "sla",
            self.env._("SLA breached: %(rule)s", rule=self.name),
            sentence,
            connection=self.connection_id or None,
            record=self,
            company=self.company_id,
            fingerprint=fingerprint,
            fix=self,
        )
        exc.write({"user_id": self.user_id.id})
        exc.activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=self.user_id.id,
            summary=self.env._("SLA breached: %(rule)s", rule=self.name)[:200],
            note=sentence,
        )
        exc.message_subscribe(partner_ids=self.user_id.partner_id.ids)
        exc.message_post(
            body=sentence,
            subject=exc.name,
            partner_ids=self.user_id.partner_id.ids,
            message_type="notification",
            subtype_xmlid="mail.mt_comment",
        )
        return exc

    def _clear_breach(self, note=None, detail="sla cleared"):
        self.ensure_one()
        open_breach = (
            self.env["finance.connect.exception"]
            .sudo()
            .search(
                [("fingerprint", "=", f"sla:{self.id}"), ("state", "in", ("open", "in_progress"))]
            )
        )
        if not open_breach:
            return
        note = note or self.env._(
            "The SLA %(rule)s is kept again: resolved by itself.", rule=self.name
        )
        open_breach.activity_ids.sudo().action_feedback(feedback=note)
        open_breach._resolve(note, detail)

    # ------------------------------------------------------------------
    # Calendar helpers (for the kinds with a daily deadline)
    # ------------------------------------------------------------------

    def _get_tz(self):
        self.ensure_one()
        return pytz.timezone(
            self.calendar_id.tz or self.company_id.partner_id.tz or self.env.user.tz or "UTC"
        )

    def _works_on(self, day):
        """Whether ``day`` (a date) is a working day of the company: a weekday of
        its calendar and not a company-wide leave (public holiday)."""
        self.ensure_one()
        calendar = self.calendar_id
        if not calendar:
            return day.weekday() < 5
        if not calendar._works_on_date(day):
            return False
        tz = self._get_tz()
        start = tz.localize(datetime.combine(day, time.min))
        end = tz.localize(datetime.combine(day, time.max))
        return bool(calendar._work_intervals_batch(start, end)[False])

    def _last_deadline(self, now):
        """The latest working day whose deadline (``deadline`` o'clock, local)
        is at or before ``now`` (UTC naive): ``(day, deadline UTC naive)``."""
        self.ensure_one()
        tz = self._get_tz()
        local_now = pytz.utc.localize(now).astimezone(tz)
        hours = int(self.deadline)
        minutes = round((self.deadline - hours) * 60)
        day = local_now.date()
        for _i in range(MAX_LOOKBACK_DAYS):
            local_deadline = tz.localize(datetime.combine(day, time(hours, min(minutes, 59))))
            if local_deadline <= local_now and self._works_on(day):
                return day, local_deadline.astimezone(pytz.utc).replace(tzinfo=None)
            day -= timedelta(days=1)
        return None, None

    def _previous_working_day(self, day):
        self.ensure_one()
        for _i in range(MAX_LOOKBACK_DAYS):
            day -= timedelta(days=1)
            if self._works_on(day):
                return day
        return day

    # ------------------------------------------------------------------
    # Core kinds
    # ------------------------------------------------------------------

    def _evaluate_exception_open(self, now):
        """Exceptions of the company (other than SLA breaches) open longer than
        N hours: unassigned, assigned (in progress with an owner) or any."""
        limit = now - timedelta(hours=self.hours)
        domain = [
            ("company_id", "=", self.company_id.id),
            ("category", "!=", "sla"),
            ("state", "in", ("open", "in_progress")),
            ("create_date", "<=", limit),
        ]
        if self.exception_scope == "unassigned":
            domain.append(("user_id", "=", False))
        elif self.exception_scope == "assigned":
            domain.append(("user_id", "!=", False))
        late = self.env["finance.connect.exception"].sudo().search(domain, order="create_date")
        if not late:
            return None
        scope = dict(self._fields["exception_scope"]._description_selection(self.env)).get(
            self.exception_scope, ""
        )
        return self.env._(
            "%(n)s exception(s) (%(scope)s) open for more than %(hours)s hours; the oldest is "
            "%(oldest)s, opened %(since)s (UTC). Take them in the exception inbox and act on "
            "them: this breach resolves itself once none is left.",
            n=len(late),
            scope=scope.lower(),
            hours=format(self.hours, "g"),
            oldest=late[0].name,
            since=fields.Datetime.to_string(late[0].create_date),
        )

    @api.model
    def _fc_on_exceptions_changed(self, companies):
        """Re-check the "exception open too long" rules of ``companies`` now."""
        rules = self.sudo().search(
            [("kind", "=", "exception_open"), ("company_id", "in", companies.ids)]
        )
        rules._apply_evaluation()

    def _evaluate_failure_rate(self, now):
        """The share of failed delivery attempts of the connection over the
        hour before ``now``, above P %."""
        Attempt = self.env["finance.connect.message.attempt"].sudo()
        domain = [
            ("message_id.connection_id", "=", self.connection_id.id),
            ("at", ">", now - timedelta(hours=1)),
            ("at", "<=", now),
        ]
        total = Attempt.search_count(domain)
        if not total:
            return None
        failed = Attempt.search_count(domain + [("outcome", "in", ("retry", "fail"))])
        rate = 100.0 * failed / total
        if rate <= self.percentage:
            return None
        return self.env._(
            "%(conn)s failed %(failed)s of its %(total)s delivery attempts over the last hour "
            "(%(rate)s %%, the SLA allows %(limit)s %%). Check the connection's message log "
            "and the counterparty's status; this breach resolves itself once the rate is "
            "back under the limit.",
            conn=self.connection_id.display_name,
            failed=failed,
            total=total,
            rate=format(rate, ".0f"),
            limit=format(self.percentage, "g"),
        )
