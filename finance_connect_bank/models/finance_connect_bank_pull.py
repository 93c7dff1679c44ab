"""Scheduled pull of bank statement files: what a pull asks, stores and imports.

All the HTTP and the answer protocol of the statement pull, as OCA's
``account_statement_import_online_ponto`` keeps its interface apart from its
provider: the connection (``finance_connect_connection.py``) holds the
settings, the position, the schedule and the button, and calls this model.

One pull asks the connection for one page of files (the answer contract is
in ``lib/pull.py`` and ``readme/CONFIGURE.md``) through ``finance.connect.http``,
with the connection's own authentication, timeouts (connect and read), TLS
setting and circuit breaker. In one transaction it then:

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

from urllib.parse import urlencode

from odoo import api, fields, models
from odoo.addons.finance_connect.lib import retry as lib_retry
from odoo.exceptions import UserError

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
    _name = "finance.connect.bank.pull"
    _description = "Finance Connect bank statement pull"

    @api.model
    def _pull_page(self, connection):
        """Request one page of ``connection``, store its files, move its cursor,
        import the new files.

        Returns ``{"ok", "more", "text", "new_files", "known_files"}``; never
        raises for a remote problem (it opens an exception instead).
        """
        connection.ensure_one()
        conn = connection.with_company(connection.company_id)
        pull = self.with_env(conn.env)
        conn.sudo().fc_pull_last_at = fields.Datetime.now()
        try:
            answer = pull._pull_request(conn)
        except PullFailed as failure:
            text = pull._pull_failed(conn, failure)
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
        moved = pull._pull_advance(conn, answer)
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

    @api.model
    def _pull_url(self, connection):
        """The URL of the next pull: path, then cursor=... or since=...."""
        connection.ensure_one()
        url = connection._get_outbound_url(connection.fc_pull_path or "/statements")
        if connection.fc_pull_mode == "cursor" and connection.fc_pull_cursor:
            params = {"cursor": connection.fc_pull_cursor}
        elif connection.fc_pull_mode == "date" and connection.fc_pull_date:
            params = {"since": connection.fc_pull_date.isoformat()}
        else:
            return url
        return url + ("&" if "?" in url else "?") + urlencode(params)

    @api.model
    def _pull_request(self, connection):
        """GET the next page with the connection's authentication, TLS setting and
        timeouts; a PullAnswer.

        Raises :class:`PullFailed` when nothing usable came back.
        """
        connection.ensure_one()
        try:
            headers = {
                "Accept": ACCEPT,
                "User-Agent": "finance_connect/18.0",
                **self.env["finance.connect.http"]._get_auth_headers(connection),
            }
        except UserError as exc:  # OAuth2 token refused, secret unreadable
            raise PullFailed("auth", str(exc)) from exc
        limit = self.env["finance.connect.bank.import"]._max_bytes() * ANSWER_OVERHEAD
        result = self.env["finance.connect.http"]._request(
            "GET",
            self._pull_url(connection),
            headers=headers,
            timeout=(connection.timeout_connect, connection.timeout_read),
            verify=connection.verify_tls,
            max_bytes=int(limit),
        )
        if not result.status or lib_retry.classify_status(result.status) == "retry":
            self.env["finance.connect.delivery"]._circuit_record_failure(connection)
            raise PullFailed(
                "unavailable", result.error or f"HTTP {result.status}: {result.excerpt()[:300]}"
            )
        if not result.ok:
            kind = "auth" if result.status in (401, 403) else "rejected"
            raise PullFailed(kind, f"HTTP {result.status}: {result.excerpt()[:300]}")
        self.env["finance.connect.delivery"]._circuit_record_success(connection)
        if result.truncated or len(result.body) > limit:
            raise PullFailed("answer", f"the answer is over the limit of {int(limit)} bytes")
        default_name = (connection.fc_pull_path or "statements").split("?")[0].strip("/")
        try:
            return lib_pull.parse_answer(
                result.status, result.headers, result.body, default_name.split("/")[-1]
            )
        except lib_pull.PullAnswerError as exc:
            raise PullFailed("answer", str(exc)) from exc

    @api.model
    def _pull_advance(self, connection, answer):
        """Move the cursor (or date) of ``connection`` after the page's files are
        stored; whether it moved."""
        connection.ensure_one()
        if connection.fc_pull_mode == "cursor":
            if answer.next_cursor is None or answer.next_cursor == connection.fc_pull_cursor:
                return False
            connection.sudo().fc_pull_cursor = answer.next_cursor
            return True
        new_date = answer.next_date or fields.Date.context_today(connection)
        if new_date == connection.fc_pull_date:
            return False
        connection.sudo().fc_pull_date = new_date
        return True

    @api.model
    def _pull_failed(self, connection, failure):
        """Open (or count) the exception of a failed pull; returns the text shown."""
        connection.ensure_one()
        texts = {
            "unavailable": (
                "remote_unavailable",
                self.env._("Statement pull: %(conn)s unreachable", conn=connection.display_name),
                self.env._(
                    "%(conn)s could not be reached to pull bank statements (%(error)s). Nothing "
                    "was stored and the cursor did not move: the next pull asks again. Check "
                    "that the bank's system is up.",
                    conn=connection.display_name,
                    error=failure.error,
                ),
            ),
            "auth": (
                "remote_rejected",
                self.env._(
                    "Statement pull: %(conn)s refused the credentials", conn=connection.display_name
                ),
                self.env._(
                    "%(conn)s refused the statement pull (%(error)s): check the connection's "
                    "authentication (type, API key, token, OAuth2 client). Nothing was stored "
                    "and the cursor did not move: the next pull asks again.",
                    conn=connection.display_name,
                    error=failure.error,
                ),
            ),
            "rejected": (
                "remote_rejected",
                self.env._(
                    "Statement pull: %(conn)s refused the request", conn=connection.display_name
                ),
                self.env._(
                    "%(conn)s refused the statement pull at %(path)s (%(error)s): check the pull "
                    "path and mode of the connection. Nothing was stored and the cursor did not "
                    "move.",
                    conn=connection.display_name,
                    path=connection.fc_pull_path,
                    error=failure.error,
                ),
            ),
            "answer": (
                "schema",
                self.env._(
                    "Statement pull: malformed answer from %(conn)s", conn=connection.display_name
                ),
                self.env._(
                    "The answer of %(conn)s to the statement pull is not understood: "
                    "%(error)s. Nothing of it was stored and the cursor did not move. The "
                    "expected answer is described in the bank addon's configuration notes "
                    '(JSON {"files": [...], "next_cursor": ...} or one file).',
                    conn=connection.display_name,
                    error=failure.error,
                ),
            ),
        }
        category, summary, description = texts[failure.kind]
        self.env["finance.connect.exception"]._open(
            category,
            summary,
            description,
            connection=connection,
            company=connection.company_id,
            fingerprint=f"bankpull:{connection.id}:{failure.kind}",
        )
        return description
