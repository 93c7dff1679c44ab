"""Legal holds: messages that the retention cron must not archive.

A hold covers the messages of one company, narrowed to one connection and/or
a period (the day the message was recorded, in UTC). While a hold is active,
the retention cron (``finance.connect.message._cron_archive_old_messages``)
archives none of the messages it covers; releasing it lets archiving resume
at the next run. Holds are placed and released by Finance Connect managers
(and administrators) only, are never edited nor deleted, and each placement
and release is in the audit trail.
"""

from datetime import datetime, time, timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression

MANAGER_GROUP = "finance_connect.group_manager"


class FinanceConnectLegalHold(models.Model):
    _name = "finance.connect.legal.hold"
    _description = "Finance Connect legal hold"
    _order = "active desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reason",
        required=True,
        help="Why the messages must be kept (case, request, audit), for the auditors.",
    )
    active = fields.Boolean(default=True, readonly=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    connection_id = fields.Many2one(
        "finance.connect.connection",
        check_company=True,
        ondelete="restrict",
        help="Only this connection's messages. Empty: every connection of the company.",
    )
    date_from = fields.Date(
        string="Period from", help="First day (UTC) of the messages held. Empty: no start."
    )
    date_to = fields.Date(
        string="Period to", help="Last day (UTC) of the messages held. Empty: no end."
    )
    placed_by_id = fields.Many2one("res.users", string="Placed by", readonly=True)
    placed_at = fields.Datetime(string="Placed on", readonly=True)
    released_by_id = fields.Many2one("res.users", string="Released by", readonly=True)
    released_at = fields.Datetime(string="Released on", readonly=True)
    message_count = fields.Integer(
        string="Messages held", compute="_compute_message_count", help="Archived ones included."
    )

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for hold in self:
            if hold.date_from and hold.date_to and hold.date_from > hold.date_to:
                raise ValidationError(
                    self.env._("A legal hold's period ends after it starts: swap the dates.")
                )

    def _compute_message_count(self):
        Message = self.env["finance.connect.message"].with_context(active_test=False)
        for hold in self:
            hold.message_count = Message.search_count(hold._get_covered_domain())

    # ------------------------------------------------------------------
    # Who may place and release
    # ------------------------------------------------------------------

    def _check_hold_manager(self):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(
                self.env._(
                    "Only Finance Connect managers and administrators place or release "
                    "legal holds."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_hold_manager()
        now = fields.Datetime.now()
        for vals in vals_list:
            for name in ("active", "released_by_id", "released_at"):
                vals.pop(name, None)
            vals.update(placed_by_id=self.env.uid, placed_at=now)
        holds = super().create(vals_list)
        for hold in holds:
            self.env["finance.connect.audit"]._log(hold, "legal_hold_placed", hold._describe())
        return holds

    def write(self, vals):
        if not self.env.su:
            raise UserError(
                self.env._(
                    "A legal hold is not changed once placed: release it and place a "
                    "new one, so that the audit trail shows both."
                )
            )
        return super().write(vals)

    def action_release(self):
        """Release the holds: the retention cron may archive their messages again
        at its next run. Managers only, on holds of their companies; audited."""
        self._check_hold_manager()
        self.check_access("write")
        now = fields.Datetime.now()
        for hold in self.filtered("active"):
            hold.sudo().write({"active": False, "released_by_id": self.env.uid, "released_at": now})
            self.env["finance.connect.audit"]._log(hold, "legal_hold_released", hold._describe())
        return True

    # ------------------------------------------------------------------
    # What a hold covers
    # ------------------------------------------------------------------

    def _describe(self):
        """The scope in the audit trail (no payload, no secret)."""
        self.ensure_one()
        return (
            f"{self.name} | connection: {self.connection_id.display_name or 'all'}"
            f" | period: {self.date_from or '...'} to {self.date_to or '...'}"
        )

    def _get_covered_domain(self):
        """Domain of ``finance.connect.message`` of the messages this hold covers."""
        self.ensure_one()
        domain = [("company_id", "=", self.company_id.id)]
        if self.connection_id:
            domain.append(("connection_id", "=", self.connection_id.id))
        if self.date_from:
            domain.append(("create_date", ">=", datetime.combine(self.date_from, time.min)))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min)
            domain.append(("create_date", "<", end))
        return domain

    @api.model
    def _get_unheld_domain(self, company):
        """Domain of the messages of ``company`` that no active hold covers."""
        holds = self.sudo().search([("company_id", "=", company.id)])
        if not holds:
            return []
        return ["!", *expression.OR([hold._get_covered_domain() for hold in holds])]
