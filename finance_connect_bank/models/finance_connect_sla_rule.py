"""Business SLAs of the bank addon: a statement that has not arrived by its
deadline, a payment batch sent without a bank status after N hours.

EXTENDS finance_connect: ``selection_add`` on ``kind``, one ``_evaluate_<kind>``
each; evaluated by the core's cron and, at once, when a statement is imported
or a pain.002 is applied (``_fc_on_statement_arrived``, ``_fc_on_bank_status``).
"""

from datetime import datetime, time, timedelta

from odoo import api, fields, models


class FinanceConnectSlaRule(models.Model):
    _inherit = "finance.connect.sla.rule"

    kind = fields.Selection(
        selection_add=[
            ("statement", "Bank statement not arrived by a time"),
            ("payment_status", "Payment batch without bank status"),
        ],
        ondelete={"statement": "cascade", "payment_status": "cascade"},
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Bank journal",
        check_company=True,
        domain="[('type', '=', 'bank')]",
        ondelete="cascade",
        help="Statement: the journal whose statement must arrive. Payment status: only the "
        "batches leaving from this journal (all bank journals when empty).",
    )

    def _get_missing_fields(self):
        # EXTENDS finance_connect
        missing = super()._get_missing_fields()
        if self.kind == "statement" and not self.journal_id:
            missing.append(self._fields["journal_id"].get_description(self.env)["string"])
        return missing

    # ------------------------------------------------------------------
    # Statement arrived by HH:MM on working days
    # ------------------------------------------------------------------

    def _evaluate_statement(self, now):
        """By the deadline of each working day, the statement of the previous
        working day (or a later one) must be in the journal.

        The deadline looked at is the latest one passed: on a Saturday it is
        Friday's, so a weekend or a holiday never opens a breach by itself, and
        a breach of Friday stays open until the statement arrives.
        """
        due_day, deadline_utc = self._last_deadline(now)
        if not due_day:
            return None
        expected = self._previous_working_day(due_day)
        if self._fc_statement_arrived(expected, now):
            return None
        tz = self._get_tz()
        local_deadline = datetime.combine(due_day, time(int(self.deadline), 0)) + timedelta(
            minutes=round((self.deadline - int(self.deadline)) * 60)
        )
        return self.env._(
            "The statement of %(journal)s for %(day)s has not arrived by %(deadline)s "
            "(%(tz)s). Check the bank connection or download the statement from the bank "
            "and import it: this breach resolves itself when it arrives.",
            journal=self.journal_id.display_name,
            day=fields.Date.to_string(expected),
            deadline=local_deadline.strftime("%Y-%m-%d %H:%M"),
            tz=tz.zone,
        )

    def _fc_statement_arrived(self, expected, now):
        """A statement line (or a statement) of the journal dated ``expected``
        or later (a statement without lines has no date: a quiet day's empty
        statement does not count)."""
        domain = [("journal_id", "=", self.journal_id.id), ("date", ">=", expected)]
        return bool(
            self.env["account.bank.statement.line"].sudo().search_count(domain, limit=1)
            or self.env["account.bank.statement"].sudo().search_count(domain, limit=1)
        )

    @api.model
    def _fc_on_statement_arrived(self, journals):
        """Re-check the statement rules of ``journals`` now (after an import):
        a breach clears at once instead of at the next cron."""
        rules = self.sudo().search([("kind", "=", "statement"), ("journal_id", "in", journals.ids)])
        rules._apply_evaluation()

    # ------------------------------------------------------------------
    # Payment batch without pain.002 status after N hours
    # ------------------------------------------------------------------

    def _evaluate_payment_status(self, now):
        """Batches sent more than N hours ago that got no status from the bank."""
        domain = [
            ("company_id", "=", self.company_id.id),
            ("state", "=", "sent"),
            ("status_ids", "=", False),
            ("message_out_id.create_date", "<=", now - timedelta(hours=self.hours)),
        ]
        if self.journal_id:
            domain.append(("journal_id", "=", self.journal_id.id))
        late = self.env["finance.connect.payment.batch"].sudo().search(domain, order="id")
        if not late:
            return None
        return self.env._(
            "%(n)s payment batch(es) sent more than %(hours)s hours ago have no status from "
            "the bank (pain.002): %(names)s. Ask the bank whether the file arrived, or send it "
            "again; this breach resolves itself when a status arrives.",
            n=len(late),
            hours=format(self.hours, "g"),
            names=", ".join(late[:10].mapped("name")),
        )

    @api.model
    def _fc_on_bank_status(self, batches):
        """Re-check the payment status rules of the batches' companies now."""
        if not batches:
            return
        rules = self.sudo().search(
            [("kind", "=", "payment_status"), ("company_id", "in", batches.company_id.ids)]
        )
        rules._apply_evaluation()
