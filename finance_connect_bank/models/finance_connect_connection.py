"""Bank settings of a connection: its statement pull, PSP accounting, and the
per-company "Manual upload" connection.

The scheduled pull of statement files (what it asks, stores and imports) is
``finance.connect.bank.pull`` (finance_connect_bank_pull.py); the connection
holds its settings and position, the schedule, the job and the "Pull now"
button.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError


class FinanceConnectConnection(models.Model):
    _inherit = "finance.connect.connection"

    fc_bank_upload = fields.Boolean(
        string="Manual uploads",
        readonly=True,
        help="The connection that records the bank files users upload by hand.",
    )
    fc_pain001_version = fields.Selection(
        [("001.001.09", "pain.001.001.09"), ("001.001.03", "pain.001.001.03")],
        string="pain.001 version",
        default="001.001.09",
        help="The credit transfer version this bank accepts.",
    )
    fc_bank_xsd_strict = fields.Boolean(
        string="Refuse files off the schema",
        help="Refuse a camt file that does not match its ISO 20022 schema. Unticked (the "
        "default), such a file is imported when everything the import reads is correct, "
        "and its deviations from the schema are shown as a warning on the statement and "
        "on the message.",
    )
    fc_fee_account_id = fields.Many2one(
        "account.account",
        string="Fee account",
        check_company=True,
        help="PSP fees reported with a payout are booked on this account.",
    )
    fc_fee_journal_id = fields.Many2one(
        "account.journal",
        string="Fee journal",
        check_company=True,
        help="Journal of the PSP fee and dispute entries (its default account is the PSP "
        "balance).",
    )
    fc_dispute_account_id = fields.Many2one(
        "account.account",
        string="Disputes account",
        check_company=True,
        help="A disputed PSP payment (chargeback) is booked from the PSP balance to this "
        "account; a won dispute reverses the entry, a lost one leaves it there.",
    )
    fc_pull_enabled = fields.Boolean(
        string="Scheduled statement pull",
        tracking=True,
        help="Pull bank statement files from this connection's endpoint on a schedule.",
    )
    fc_pull_path = fields.Char(
        string="Pull path",
        default="/statements",
        help="Appended to the base URL (may carry fixed query parameters, e.g. "
        "/statements?account=main). Odoo adds cursor=... or since=YYYY-MM-DD.",
    )
    fc_pull_mode = fields.Selection(
        [("cursor", "Cursor"), ("date", "Date")],
        string="Pull mode",
        default="cursor",
        required=True,
        help="Cursor: Odoo sends back the next_cursor of the previous answer. Date: Odoo "
        "asks for the files since the date it last pulled up to.",
    )
    fc_pull_cursor = fields.Char(
        string="Pull cursor",
        copy=False,
        help="Where the next pull starts, as the bank gave it. Empty it to pull from the "
        "start again: files already received are not stored twice.",
    )
    fc_pull_date = fields.Date(
        string="Pulled up to",
        copy=False,
        help="Date mode: the next pull asks for the files since this day (included).",
    )
    fc_pull_interval = fields.Integer(string="Pull every (minutes)", default=60)
    fc_pull_last_at = fields.Datetime(string="Last pull", readonly=True, copy=False)
    fc_pull_last_result = fields.Text(string="Last pull result", readonly=True, copy=False)

    @api.constrains("fc_pull_enabled", "fc_pull_interval", "kind", "base_url")
    def _check_fc_pull(self):
        for conn in self.filtered("fc_pull_enabled"):
            if conn.kind != "bank":
                raise ValidationError(self.env._("Only bank connections pull statements."))
            if conn.fc_pull_interval < 1:
                raise ValidationError(self.env._("Pull at most once a minute (interval >= 1)."))
            if not conn.base_url:
                raise ValidationError(
                    self.env._("%(name)s needs a base URL to pull from.", name=conn.display_name)
                )

    # ------------------------------------------------------------------
    # Four-eyes control (finance.connect.four.eyes.mixin)
    # ------------------------------------------------------------------

    @api.model
    def _fc_four_eyes_fields(self):
        """EXTENDS finance_connect: where statements are pulled from (approved
        by another administrator) and the accounts and journal fees and
        disputes are booked to (another manager)."""
        return super()._fc_four_eyes_fields() | {
            "fc_pull_path",
            *self._fc_bank_ledger_fields(),
        }

    @api.model
    def _fc_four_eyes_manager_fields(self):
        return super()._fc_four_eyes_manager_fields() | self._fc_bank_ledger_fields()

    @api.model
    def _fc_bank_ledger_fields(self):
        return frozenset({"fc_fee_account_id", "fc_fee_journal_id", "fc_dispute_account_id"})

    @api.model
    def _bank_upload_connection(self, company=None):
        """The company's "Manual upload" bank connection, created when missing.

        Uploaded files are inbound messages like any other; the message log
        needs a connection, and uploads have none of their own.
        """
        company = company or self.env.company
        Connection = self.sudo().with_context(active_test=False)
        connection = Connection.search(
            [("fc_bank_upload", "=", True), ("company_id", "=", company.id)], limit=1
        )
        if not connection:
            connection = Connection.create(
                {
                    "name": self.env._("Manual upload"),
                    "kind": "bank",
                    "company_id": company.id,
                    "fc_bank_upload": True,
                }
            )
        return connection

    # ------------------------------------------------------------------
    # Statement pull: schedule, job, button
    # ------------------------------------------------------------------

    @api.model
    def _cron_fc_pull_statements(self):
        """Queue one pull job per bank connection whose pull is due.

        Each connection pulls in its own job (own transaction, own channel):
        one failing or slow bank stops no other.
        """
        now = fields.Datetime.now()
        connections = self.sudo().search(
            [
                ("fc_pull_enabled", "=", True),
                ("kind", "=", "bank"),
                ("paused", "=", False),
                ("base_url", "!=", False),
            ]
        )
        due = connections.filtered(
            lambda c: not c.fc_pull_last_at
            or c.fc_pull_last_at + timedelta(minutes=max(1, c.fc_pull_interval)) <= now
        )
        for conn in due:
            conn._schedule_pull()
        return f"{len(due)} statement pull(s) queued"

    def _schedule_pull(self, eta=None):
        """Queue the pull job (one pending per connection)."""
        for conn in self:
            conn.with_delay(
                channel=conn._get_channel(),
                eta=eta,
                identity_key=f"finance_connect_bank-pull-{conn.id}",
                description=f"Pull bank statements of {conn.name}",
            )._job_fc_pull_statements()

    def _job_fc_pull_statements(self):
        """Pull one page of statement files; idempotent (see finance.connect.bank.pull).

        Queues the next page when the bank says more files wait.
        """
        self.ensure_one()
        conn = self.sudo()
        if not conn.fc_pull_enabled or not conn.active or conn.paused:
            return "pull disabled or connection paused: nothing to do"
        Delivery = conn.env["finance.connect.delivery"]
        # A slot of the connection's service tier (critical for a bank); a
        # paused tier's pulls wait for the next due time (the cron queues them).
        seconds = conn.env["finance.connect.tier"]._gate_retry_seconds()
        wait = Delivery._gate_wait(conn, retry=lambda: conn._schedule_pull(eta=seconds))
        if wait:
            return wait
        if not Delivery._circuit_allows_send(conn):
            return f"circuit open: pull postponed ({Delivery._circuit_seconds_left(conn)}s left)"
        outcome = conn.env["finance.connect.bank.pull"]._pull_page(conn)
        if outcome["more"]:
            conn._schedule_pull()
        return outcome["text"]

    def action_pull_now(self):
        """Pull the statement files waiting at the bank now, and say what came in."""
        self.ensure_one()
        self.env["finance.connect.exception"]._check_manager()
        self.check_access("write")  # a connection of the manager's companies
        if self.kind != "bank":
            raise UserError(self.env._("Only bank connections pull statements."))
        if not self.base_url:
            raise UserError(self.env._("Set a base URL first."))
        if not self.active or self.paused:
            raise UserError(
                self.env._("%(name)s is paused: resume it first.", name=self.display_name)
            )
        Delivery = self.env["finance.connect.delivery"]
        if not Delivery._circuit_allows_send(self):
            return self._pull_notification(
                self.env._(
                    "The circuit of %(name)s is open after repeated failures: wait %(s)s "
                    "seconds or close the circuit, then pull again.",
                    name=self.display_name,
                    s=Delivery._circuit_seconds_left(self),
                ),
                "warning",
            )
        outcome = self.env["finance.connect.bank.pull"]._pull_page(self)
        text = outcome["text"]
        if outcome["more"]:
            self._schedule_pull()
            text += "\n" + self.env._("More files wait at the bank: they are pulled next.")
        return self._pull_notification(text, "success" if outcome["ok"] else "danger")

    def _pull_notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Pull bank statements"),
                "message": message,
                "type": kind,
                "sticky": kind != "success",
            },
        }
