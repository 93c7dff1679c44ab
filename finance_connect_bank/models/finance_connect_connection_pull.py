"""Scheduled pull of bank statement files from a bank connection's endpoint.

One pull asks the connection for one page of files (the answer contract is
in ``lib/pull.py`` and ``readme/CONFIGURE.md``), with the connection's own
authentication, timeouts, TLS setting and circuit breaker. In one
transaction it then:

1. stores every file of the page as an inbound message (idempotent: the
   bank's file id, else the ETag, else the SHA-256 is the key, so a file
   pulled twice is stored once);
2. moves the cursor (or date), only now that the files are stored: a pull
   that dies before its commit stores nothing and moves nothing, and the
   next pull asks for the same page again;
3. imports the new files through the statement handler, as webhooks and
   uploads are (``finance.connect.handler._dispatch``).

A failure (remote down, credentials refused, malformed answer) stores
nothing, leaves the cursor where it was and opens one exception per
connection and kind of failure (repeated failures count occurrences).
"""

from datetime import timedelta
from urllib.parse import urlencode

from odoo import api, fields, models
from odoo.addons.finance_connect.lib import retry as lib_retry
from odoo.exceptions import UserError, ValidationError

from ..lib import pull as lib_pull

ACCEPT = "application/json, application/xml, text/plain, */*"
# An answer carries its files in base64 at worst: 4/3 of the file size limit.
ANSWER_OVERHEAD = 1.4


class PullFailed(Exception):
    """A pull that stored nothing: ``kind`` names the exception it opens."""

    def __init__(self, kind, error):
        super().__init__(error)
        self.kind = kind
        self.error = error


class FinanceConnectBankPull(models.AbstractModel):
    """The statement pull of a bank connection (inherited by
    ``finance.connect.connection``, see finance_connect_connection.py)."""

    _name = "finance.connect.bank.pull.mixin"
    _description = "Finance Connect scheduled statement pull"

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
    # Schedule
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
            conn._fc_schedule_pull()
        return f"{len(due)} statement pull(s) queued"

    def _fc_schedule_pull(self):
        """Queue the pull job (one pending per connection)."""
        for conn in self:
            conn.with_delay(
                channel=conn._get_channel(),
                identity_key=f"finance_connect_bank-pull-{conn.id}",
                description=f"Pull bank statements of {conn.name}",
            )._job_fc_pull_statements()

    def _job_fc_pull_statements(self):
        """Pull one page of statement files; idempotent (see module doc).

        Queues the next page when the bank says more files wait.
        """
        self.ensure_one()
        conn = self.sudo()
        if not conn.fc_pull_enabled or not conn.active or conn.paused:
            return "pull disabled or connection paused: nothing to do"
        Delivery = self.env["finance.connect.delivery"]
        if not Delivery._circuit_allows_send(conn):
            return f"circuit open: pull postponed ({Delivery._circuit_seconds_left(conn)}s left)"
        outcome = conn._fc_pull_page()
        if outcome["more"]:
            conn._fc_schedule_pull()
        return outcome["text"]

    def action_fc_pull_now(self):
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
            return self._fc_notify(
                self.env._(
                    "The circuit of %(name)s is open after repeated failures: wait %(s)s "
                    "seconds or close the circuit, then pull again.",
                    name=self.display_name,
                    s=Delivery._circuit_seconds_left(self),
                ),
                "warning",
            )
        outcome = self._fc_pull_page()
        text = outcome["text"]
        if outcome["more"]:
            self._fc_schedule_pull()
            text += "\n" + self.env._("More files wait at the bank: they are pulled next.")
        return self._fc_notify(text, "success" if outcome["ok"] else "danger")

    def _fc_notify(self, message, kind):
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

    # ------------------------------------------------------------------
    # One page
    # ------------------------------------------------------------------

    def _fc_pull_page(self):
        """Request one page, store its files, move the cursor, import the new files.

        Returns ``{"ok", "more", "text", "new_files", "known_files"}``; never
        raises for a remote problem (it opens an exception instead).
        """
        self.ensure_one()
        conn = self.with_company(self.company_id)
        conn.sudo().fc_pull_last_at = fields.Datetime.now()
        try:
            answer = conn._fc_pull_request()
        except PullFailed as failure:
            text = conn._fc_pull_failed(failure)
            conn.sudo().fc_pull_last_result = text
            return {"ok": False, "more": False, "text": text, "new_files": 0, "known_files": 0}
        Import = conn.env["finance.connect.bank.import"]
        stored = []
        for pulled in answer.files:
            message, created = Import._record_file(
                pulled.content,
                pulled.name,
                connection=conn,
                idempotency_key=pulled.key,
                external_id=pulled.file_id or False,
                state="queued",
            )
            stored.append((pulled, message, created))
        moved = conn._fc_pull_advance(answer)
        lines = []
        for pulled, message, created in stored:
            if created:
                # Imported as the scheduled pull would (the message is the
                # engine's): "Pull now" only checks that a manager asked.
                result = message._job_process() or ""
                lines.append(f"{pulled.name}: {result.splitlines()[0] if result else ''}")
            else:
                lines.append(
                    self.env._(
                        "%(file)s: already received (message %(ref)s), not stored again",
                        file=pulled.name,
                        ref=message.reference,
                    )
                )
        new_files = sum(1 for _p, _m, created in stored if created)
        head = self.env._(
            "%(conn)s: %(n)s file(s) pulled, %(new)s new, %(known)s already received.",
            conn=conn.display_name,
            n=len(stored),
            new=new_files,
            known=len(stored) - new_files,
        )
        more = answer.has_more and moved
        if answer.has_more and not moved:
            lines.append(
                self.env._("The bank says more files wait but gave no new position: stopped.")
            )
        text = "\n".join([head, *lines])
        conn.sudo().fc_pull_last_result = text
        return {
            "ok": True,
            "more": more,
            "text": text,
            "new_files": new_files,
            "known_files": len(stored) - new_files,
        }

    def _fc_pull_url(self):
        """The URL of the next pull: path, then cursor=... or since=...."""
        self.ensure_one()
        url = self._get_outbound_url(self.fc_pull_path or "/statements")
        if self.fc_pull_mode == "cursor" and self.fc_pull_cursor:
            params = {"cursor": self.fc_pull_cursor}
        elif self.fc_pull_mode == "date" and self.fc_pull_date:
            params = {"since": self.fc_pull_date.isoformat()}
        else:
            return url
        return url + ("&" if "?" in url else "?") + urlencode(params)

    def _fc_pull_request(self):
        """GET the next page with the connection's authentication; a PullAnswer.

        Raises :class:`PullFailed` when nothing usable came back.
        """
        self.ensure_one()
        try:
            headers = {
                "Accept": ACCEPT,
                "User-Agent": "finance_connect/18.0",
                **self.env["finance.connect.http"]._get_auth_headers(self),
            }
        except UserError as exc:  # OAuth2 token refused, secret unreadable
            raise PullFailed("auth", str(exc)) from exc
        limit = self.env["finance.connect.bank.import"]._max_bytes() * ANSWER_OVERHEAD
        result = self.env["finance.connect.http"]._request(
            "GET",
            self._fc_pull_url(),
            headers=headers,
            timeout=(self.timeout_connect, self.timeout_read),
            verify=self.verify_tls,
            max_bytes=int(limit),
        )
        if not result.status or lib_retry.classify_status(result.status) == "retry":
            self.env["finance.connect.delivery"]._circuit_record_failure(self)
            raise PullFailed(
                "unavailable", result.error or f"HTTP {result.status}: {result.excerpt()[:300]}"
            )
        if not result.ok:
            kind = "auth" if result.status in (401, 403) else "rejected"
            raise PullFailed(kind, f"HTTP {result.status}: {result.excerpt()[:300]}")
        self.env["finance.connect.delivery"]._circuit_record_success(self)
        if result.truncated or len(result.body) > limit:
            raise PullFailed("answer", f"the answer is over the limit of {int(limit)} bytes")
        default_name = (self.fc_pull_path or "statements").split("?")[0].strip("/")
        try:
            return lib_pull.parse_answer(
                result.status, result.headers, result.body, default_name.split("/")[-1]
            )
        except lib_pull.PullAnswerError as exc:
            raise PullFailed("answer", str(exc)) from exc

    def _fc_pull_advance(self, answer):
        """Move the cursor (or date) after the page's files are stored; whether it moved."""
        self.ensure_one()
        if self.fc_pull_mode == "cursor":
            if answer.next_cursor is None or answer.next_cursor == self.fc_pull_cursor:
                return False
            self.sudo().fc_pull_cursor = answer.next_cursor
            return True
        new_date = answer.next_date or fields.Date.context_today(self)
        if new_date == self.fc_pull_date:
            return False
        self.sudo().fc_pull_date = new_date
        return True

    def _fc_pull_failed(self, failure):
        """Open (or count) the exception of a failed pull; returns the text shown."""
        self.ensure_one()
        texts = {
            "unavailable": (
                "remote_unavailable",
                self.env._("Statement pull: %(conn)s unreachable", conn=self.display_name),
                self.env._(
                    "%(conn)s could not be reached to pull bank statements (%(error)s). Nothing "
                    "was stored and the cursor did not move: the next pull asks again. Check "
                    "that the bank's system is up.",
                    conn=self.display_name,
                    error=failure.error,
                ),
            ),
            "auth": (
                "remote_rejected",
                self.env._(
                    "Statement pull: %(conn)s refused the credentials", conn=self.display_name
                ),
                self.env._(
                    "%(conn)s refused the statement pull (%(error)s): check the connection's "
                    "authentication (type, API key, token, OAuth2 client). Nothing was stored "
                    "and the cursor did not move: the next pull asks again.",
                    conn=self.display_name,
                    error=failure.error,
                ),
            ),
            "rejected": (
                "remote_rejected",
                self.env._("Statement pull: %(conn)s refused the request", conn=self.display_name),
                self.env._(
                    "%(conn)s refused the statement pull at %(path)s (%(error)s): check the pull "
                    "path and mode of the connection. Nothing was stored and the cursor did not "
                    "move.",
                    conn=self.display_name,
                    path=self.fc_pull_path,
                    error=failure.error,
                ),
            ),
            "answer": (
                "schema",
                self.env._(
                    "Statement pull: malformed answer from %(conn)s", conn=self.display_name
                ),
                self.env._(
                    "The answer of %(conn)s to the statement pull is not understood: "
                    "%(error)s. Nothing of it was stored and the cursor did not move. The "
                    "expected answer is described in the bank addon's configuration notes "
                    '(JSON {"files": [...], "next_cursor": ...} or one file).',
                    conn=self.display_name,
                    error=failure.error,
                ),
            ),
        }
        category, summary, description = texts[failure.kind]
        self.env["finance.connect.exception"]._open(
            category,
            summary,
            description,
            connection=self,
            company=self.company_id,
            fingerprint=f"bankpull:{self.id}:{failure.kind}",
        )
        return description
