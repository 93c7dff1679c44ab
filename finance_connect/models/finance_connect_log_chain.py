"""The tamper-evident log: an append-only hash chain, per company, over the
message log, the attempts and the audit trail.

Messages change after they are stored (state, attempts, errors), so a row
cannot be a fixed link of a chain. Instead every insert or change of a
tracked row's canonical content appends one entry here: the row's model, id
and ``digest`` (SHA-256 of its canonical content at that moment). Entries
are written in two steps:

1. the writing transaction only INSERTs unsealed entries (no contention
   between concurrent webhooks): ``_write_pending``, a ``cr.precommit``
   callback, one ``INSERT ... SELECT`` per model computing the digests in SQL;
2. ``_seal`` gives them, in id order, their place in their company's chain
   (``seq`` contiguous from 1, ``prev_hash``, ``hash``) in a cursor of its
   own, serialised by a *session* advisory lock (a transaction lock would
   not help: the REPEATABLE READ snapshot predates it), from a cron every
   five minutes and before each verification.

``_verify`` seals, walks each chain (contiguity, links, hashes) and compares
every tracked row's current digest with its latest entry: a row altered,
deleted or inserted outside Finance Connect is named in one exception per
company (category ``log_integrity``). The canonical content and the chain
rule are documented in ``readme/DEVELOP.md``.
"""

import hashlib
import logging
import threading
import time

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.modules import module as odoo_module
from odoo.tools import SQL

from .finance_connect_log_chained_mixin import PENDING_KEY

_logger = logging.getLogger(__name__)

ADMIN_GROUP = "finance_connect.group_administrator"
#: The tracked models, in the order verification reports them.
CHAINED_MODELS = (
    "finance.connect.message",
    "finance.connect.message.attempt",
    "finance.connect.audit",
)
#: ``prev_hash`` of the first entry of every chain.
GENESIS = "0" * 64
#: Key of the session advisory lock that serialises sealing.
SEAL_LOCK = 7_315_020_915
BATCH = 20_000
#: Content types whose payload is base64 although ``payload_encoding`` says
#: text (the bank addon's files, ``finance_connect_bank.lib.payload``).
BASE64_MARK = "encoding=base64"
#: ``{(model, alias, fields): SQL}``: the digest expressions, built once.
_DIGEST_SQL = {}


def chain_hash(prev_hash, company_key, seq, res_model, res_id, digest):
    """The hash of one sealed entry (documented in ``readme/DEVELOP.md``)."""
    text = f"{prev_hash}|{company_key}|{seq}|{res_model}|{res_id}|{digest}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FinanceConnectLogChain(models.Model):
    _name = "finance.connect.log.chain"
    _description = "Finance Connect tamper-evident log entry"
    _order = "id"
    _log_access = False

    # An id, not a Many2one: a foreign key check on res_company, inside the
    # savepoint of every webhook, more than doubled the cost of an entry (see
    # setup/bench-log-chain); entries are never joined to their company.
    company_id = fields.Integer(readonly=True)
    res_model = fields.Char(readonly=True, required=True)
    res_id = fields.Integer(readonly=True, required=True)
    digest = fields.Char(readonly=True, required=True, help="SHA-256 of the row's content.")
    seq = fields.Integer(readonly=True, help="Place in the company's chain, from 1 (sealed).")
    prev_hash = fields.Char(readonly=True)
    hash = fields.Char(readonly=True)

    def init(self):
        cr = self.env.cr
        cr.execute(
            SQL(
                "ALTER TABLE finance_connect_log_chain"
                " DROP CONSTRAINT IF EXISTS finance_connect_log_chain_company_id_fkey"
            )
        )
        cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS finance_connect_log_chain_seq_uniq"
                " ON finance_connect_log_chain (coalesce(company_id, 0), seq)"
                " WHERE seq IS NOT NULL"
            )
        )
        cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS finance_connect_log_chain_unsealed_idx"
                " ON finance_connect_log_chain (id) WHERE seq IS NULL"
            )
        )
        cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS finance_connect_log_chain_row_idx"
                " ON finance_connect_log_chain (res_model, res_id, id)"
            )
        )
        # Genesis: the rows stored before the chain existed get their first
        # entry once, when the table is still empty.
        cr.execute(SQL("SELECT 1 FROM finance_connect_log_chain LIMIT 1"))
        if not cr.fetchone():
            for model in CHAINED_MODELS:
                if model in self.env:
                    self._insert_entries(model)

    # ------------------------------------------------------------------
    # Digests (writing transaction)
    # ------------------------------------------------------------------

    @api.model
    def _digest_sql(self, model, alias):
        """The SQL expression of the digest of a row of ``model`` (alias ``alias``)."""
        key = (model, alias, self.env[model]._log_chain_fields)
        if key not in _DIGEST_SQL:
            _DIGEST_SQL[key] = self._build_digest_sql(model, alias)
        return _DIGEST_SQL[key]

    @api.model
    def _build_digest_sql(self, model, alias):
        Model = self.env[model]
        parts = []
        for name in Model._log_chain_fields:
            column = SQL.identifier(alias, name)
            kind = Model._fields[name].type
            if kind == "datetime":
                value = SQL("""to_char(%s, 'YYYY-MM-DD"T"HH24:MI:SS.US')""", column)
            elif kind == "date":
                value = SQL("to_char(%s, 'YYYY-MM-DD')", column)
            elif kind in ("float", "monetary"):
                value = SQL("%s::numeric::text", column)
            else:
                value = SQL("%s::text", column)
            parts.append(SQL("quote_nullable(%s)", value))
        return SQL(
            "encode(sha256(convert_to(concat_ws(',', %s), 'UTF8')), 'hex')",
            SQL(", ").join(parts),
        )

    @api.model
    def _insert_entries(self, model, ids=None):
        """Append one unsealed entry per row of ``model`` (those of ``ids``, or
        every row) with its current digest."""
        Model = self.env[model]
        where = SQL("t.id = ANY(%s)", sorted(ids)) if ids is not None else SQL("TRUE")
        self.env.cr.execute(
            SQL(
                "INSERT INTO finance_connect_log_chain (company_id, res_model, res_id, digest)"
                " SELECT t.company_id, %s, t.id, %s FROM %s t WHERE %s ORDER BY t.id",
                model,
                self._digest_sql(model, "t"),
                SQL.identifier(Model._table),
                where,
            )
        )

    @api.model
    def _write_pending(self):
        """The ``cr.precommit`` callback: digest the rows written in this
        transaction (registered by ``_log_chain_register``)."""
        self.env.flush_all()
        pending = self.env.cr.precommit.data.pop(PENDING_KEY, None)
        for model, ids in (pending or {}).items():
            self._insert_entries(model, ids)

    # ------------------------------------------------------------------
    # Sealing (own cursor, one sealer at a time)
    # ------------------------------------------------------------------

    @api.model
    def _in_test(self):
        """Whether this runs in a test, whose transaction is never committed:
        sealing and verification then use the test's own cursor."""
        return bool(
            odoo_module.current_test
            or getattr(threading.current_thread(), "testing", False)
            or self.pool.in_test_mode()
        )

    @api.model
    def _cron_seal_log(self):
        return self._seal()

    @api.model
    def _seal(self):
        """Seal every committed unsealed entry; returns how many were sealed."""
        self._write_pending()
        if self._in_test():
            # Tests: everything happens in the test's own transaction.
            return self._seal_locked(self.env.cr)
        with self.pool.cursor() as cr:
            cr.execute(SQL("SELECT pg_advisory_lock(%s)", SEAL_LOCK))
            try:
                # A snapshot taken after the lock: its own cursor, so committing
                # it commits nothing of the caller's.
                cr.commit()  # pylint: disable=invalid-commit
                sealed = self._seal_locked(cr)
                cr.commit()  # pylint: disable=invalid-commit
            finally:
                cr.rollback()
                cr.execute(SQL("SELECT pg_advisory_unlock(%s)", SEAL_LOCK))
                cr.commit()  # pylint: disable=invalid-commit
        return sealed

    @api.model
    def _seal_locked(self, cr):
        heads = {}
        sealed = 0
        last_id = 0
        while True:
            cr.execute(
                SQL(
                    "SELECT id, coalesce(company_id, 0), res_model, res_id, digest"
                    "  FROM finance_connect_log_chain"
                    " WHERE seq IS NULL AND id > %s ORDER BY id LIMIT %s",
                    last_id,
                    BATCH,
                )
            )
            rows = cr.fetchall()
            if not rows:
                return sealed
            ids, seqs, prevs, hashes = [], [], [], []
            for id_, company_key, res_model, res_id, digest in rows:
                if company_key not in heads:
                    cr.execute(
                        SQL(
                            "SELECT seq, hash FROM finance_connect_log_chain"
                            " WHERE coalesce(company_id, 0) = %s AND seq IS NOT NULL"
                            " ORDER BY seq DESC LIMIT 1",
                            company_key,
                        )
                    )
                    heads[company_key] = cr.fetchone() or (0, GENESIS)
                seq, prev = heads[company_key]
                seq += 1
                new_hash = chain_hash(prev, company_key, seq, res_model, res_id, digest)
                heads[company_key] = (seq, new_hash)
                ids.append(id_)
                seqs.append(seq)
                prevs.append(prev)
                hashes.append(new_hash)
            cr.execute(
                SQL(
                    "UPDATE finance_connect_log_chain c"
                    "   SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash"
                    "  FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::int[]) AS seq,"
                    "               unnest(%s::varchar[]) AS prev_hash,"
                    "               unnest(%s::varchar[]) AS hash) v"
                    " WHERE c.id = v.id",
                    ids,
                    seqs,
                    prevs,
                    hashes,
                )
            )
            sealed += len(rows)
            last_id = rows[-1][0]

    # ------------------------------------------------------------------
    # Verification
    # ------------------------------------------------------------------

    @api.model
    def action_verify_log(self):
        """The "Verify log" menu: administrators only; verifies the chains of
        the companies the user may work in and answers with a notification."""
        if not self.env.su and not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(
                self.env._("Only Finance Connect administrators may verify the message log.")
            )
        companies = self.env.user.company_ids
        result = self._verify(company_ids=companies.ids)
        # One audit line for the whole verification (several companies).
        self.env["finance.connect.audit"].sudo()._log(
            self.browse(), "verify_log", result["summary"], company=False
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Verify log"),
                "message": result["summary"],
                "type": "success" if not result["findings"] else "danger",
                "sticky": bool(result["findings"]),
            },
        }

    @api.model
    def _cron_verify_log(self):
        return self._verify()

    @api.model
    def _verify(self, company_ids=None):
        """Seal, then check the chains and the tracked rows (of ``company_ids``
        and the entries without a company; all companies when ``None``).
        Opens one ``log_integrity`` exception per company with a finding
        (naming its first) unless one is open. Returns ``{"rows": checked
        entries, "findings": {company id: finding}, "summary": text, "timings":
        seconds per phase}``.

        Runs in a cursor of its own (committed: the exceptions it opens),
        whose snapshot follows the sealing; tests run it in theirs."""
        self._seal()
        if self._in_test():
            return self._verify_now(company_ids)
        with self.pool.cursor() as cr:
            return self.with_env(self.env(cr=cr))._verify_now(company_ids)

    @api.model
    def _verify_now(self, company_ids=None):
        started = time.monotonic()
        # Sorts and hashes of a few hundred thousand rows stay in memory.
        self.env.cr.execute(SQL("SET LOCAL work_mem = '64MB'"))
        keys = None if company_ids is None else [0, *company_ids]
        findings = {}
        timings = {}
        rows = self._verify_chains(keys, findings)
        timings["chain"] = time.monotonic() - started
        for model in CHAINED_MODELS:
            self._verify_rows(model, keys, findings)
        timings["rows"] = time.monotonic() - started - timings["chain"]
        self._verify_payloads(keys, findings)
        timings["payloads"] = time.monotonic() - started - timings["chain"] - timings["rows"]
        Exc = self.env["finance.connect.exception"].sudo()
        for company_key, finding in sorted(findings.items()):
            company = self.env["res.company"].browse(company_key) if company_key else None
            Exc._open(
                "log_integrity",
                self.env._("Log integrity: %(what)s", what=finding["short"]),
                finding["text"]
                + "\n\n"
                + self.env._(
                    "Find out who changed the database directly, restore the row from a "
                    "backup if it was tampered with, then resolve this exception."
                ),
                company=company or self.env.company,
                fingerprint=f"log_integrity:{company_key}",
            )
        _logger.info(
            "Log verified: %s entries, %s finding(s) in %.2f s",
            rows,
            len(findings),
            time.monotonic() - started,
        )
        if findings:
            first = findings[min(findings)]
            summary = self.env._(
                "Log verified: %(rows)s rows, the log does NOT match: %(finding)s",
                rows=rows,
                finding=first["text"],
            )
        else:
            summary = self.env._("Log verified: %(rows)s rows, chain intact", rows=rows)
        return {"rows": rows, "findings": findings, "summary": summary, "timings": timings}

    def _company_filter(self, column, keys):
        if keys is None:
            return SQL("TRUE")
        return SQL("coalesce(%s, 0) = ANY(%s)", column, keys)

    @api.model
    def _verify_chains(self, keys, findings):
        """Walk each company's sealed entries by seq, in one query that returns
        only the first entry per company whose seq does not follow the one
        before, whose ``prev_hash`` is not the hash before it, or whose hash is
        not ``chain_hash`` of its content (the same rule, in SQL); returns how
        many entries were walked."""
        cr = self.env.cr
        company = self._company_filter(SQL.identifier("company_id"), keys)
        cr.execute(
            SQL(
                "SELECT count(*) FROM finance_connect_log_chain WHERE seq IS NOT NULL AND %s",
                company,
            )
        )
        total = cr.fetchone()[0]
        cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (ck) ck, seq, coalesce(before_seq, 0) + 1, id,
                       res_model, res_id,
                       CASE WHEN seq <> coalesce(before_seq, 0) + 1 THEN 'chain_gap'
                            WHEN prev_hash IS DISTINCT FROM coalesce(before_hash, %(genesis)s)
                            THEN 'chain_link'
                            ELSE 'chain_hash' END
                  FROM (
                    SELECT coalesce(company_id, 0) AS ck, seq, id, res_model, res_id,
                           digest, prev_hash, hash,
                           lag(seq) OVER w AS before_seq, lag(hash) OVER w AS before_hash
                      FROM finance_connect_log_chain
                     WHERE seq IS NOT NULL AND %(company)s
                    WINDOW w AS (PARTITION BY coalesce(company_id, 0) ORDER BY seq)
                  ) walk
                 WHERE seq <> coalesce(before_seq, 0) + 1
                    OR prev_hash IS DISTINCT FROM coalesce(before_hash, %(genesis)s)
                    OR hash IS DISTINCT FROM encode(sha256(convert_to(concat_ws('|',
                           prev_hash, ck, seq, res_model, res_id, digest), 'UTF8')), 'hex')
                 ORDER BY ck, seq
                """,
                genesis=GENESIS,
                company=company,
            )
        )
        for company_key, seq, expected, id_, res_model, res_id, kind in cr.fetchall():
            findings.setdefault(
                company_key,
                self._finding(
                    kind,
                    res_model,
                    res_id,
                    seq=expected if kind == "chain_gap" else seq,
                    entry=id_,
                ),
            )
        return total

    @api.model
    def _verify_rows(self, model, keys, findings):
        """Compare each row's current digest with its latest entry: the first
        row altered, deleted or inserted outside Finance Connect per company."""
        Model = self.env[model]
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                WITH latest AS (
                    SELECT DISTINCT ON (res_id) res_id, digest, company_id
                      FROM finance_connect_log_chain
                     WHERE res_model = %(model)s
                     ORDER BY res_id, id DESC
                ), current AS (
                    SELECT t.id, t.company_id, %(digest)s AS digest FROM %(table)s t
                )
                SELECT DISTINCT ON (coalesce(c.company_id, l.company_id, 0))
                       coalesce(c.company_id, l.company_id, 0),
                       coalesce(c.id, l.res_id),
                       CASE WHEN l.res_id IS NULL THEN 'inserted'
                            WHEN c.id IS NULL THEN 'deleted'
                            ELSE 'altered' END
                  FROM current c
                  FULL JOIN latest l ON l.res_id = c.id
                 WHERE (c.id IS NULL OR l.res_id IS NULL OR c.digest <> l.digest)
                   AND %(company)s
                 ORDER BY coalesce(c.company_id, l.company_id, 0), coalesce(c.id, l.res_id)
                """,
                model=model,
                digest=self._digest_sql(model, "t"),
                table=SQL.identifier(Model._table),
                company=self._company_filter(SQL("coalesce(c.company_id, l.company_id)"), keys),
            )
        )
        for company_key, res_id, kind in cr.fetchall():
            if company_key not in findings:
                findings[company_key] = self._finding(kind, model, res_id)

    @api.model
    def _verify_payloads(self, keys, findings):
        """A stored payload must still hash to its ``payload_sha256`` (which the
        digest covers): a payload altered in place is found here."""
        cr = self.env.cr
        company = self._company_filter(SQL.identifier("m", "company_id"), keys)
        body = SQL(
            "CASE WHEN m.payload_encoding = 'base64' OR m.content_type LIKE %s"
            " THEN decode(m.payload, 'base64') ELSE convert_to(m.payload, 'UTF8') END",
            f"%{BASE64_MARK}%",
        )
        query = SQL(
            "SELECT DISTINCT ON (coalesce(m.company_id, 0)) coalesce(m.company_id, 0), m.id"
            "  FROM finance_connect_message m"
            " WHERE m.payload IS NOT NULL AND m.payload_sha256 IS NOT NULL AND %s"
            "   AND m.payload_sha256 <> encode(sha256(%s), 'hex')"
            " ORDER BY coalesce(m.company_id, 0), m.id",
            company,
            body,
        )
        try:
            with cr.savepoint(flush=False):
                cr.execute(query)
                rows = cr.fetchall()
        except psycopg2.DataError:
            # A base64 payload altered into something that is not base64.
            rows = self._verify_payloads_slow(keys)
        for company_key, res_id in rows:
            if company_key not in findings:
                findings[company_key] = self._finding("payload", "finance.connect.message", res_id)

    @api.model
    def _verify_payloads_slow(self, keys):
        """The first payload per company that does not match its hash, in Python."""
        from ..lib import webhook_inbound as inbound

        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT coalesce(m.company_id, 0), m.id, m.payload, m.payload_encoding,"
                " m.content_type, m.payload_sha256 FROM finance_connect_message m"
                " WHERE m.payload IS NOT NULL AND m.payload_sha256 IS NOT NULL AND %s"
                " ORDER BY m.id",
                self._company_filter(SQL.identifier("m", "company_id"), keys),
            )
        )
        first = {}
        for company_key, id_, payload, encoding, content_type, digest in cr.fetchall():
            if company_key in first:
                continue
            if BASE64_MARK in (content_type or ""):
                encoding = inbound.BASE64
            try:
                data = inbound.payload_bytes(payload, encoding)
            except ValueError:
                data = None
            if data is None or hashlib.sha256(data).hexdigest() != digest:
                first[company_key] = id_
        return sorted(first.items())

    @api.model
    def _runbook(self):
        """(what it means, what to check, what to press) of a ``log_integrity``
        exception, written for an accountant: the entry of this category in the
        exception inbox's runbooks (``finance.connect.exception._runbooks`` on
        main)."""
        return (
            self.env._(
                "Verify log found a row of the message log, its attempts or the audit trail "
                "that was changed, deleted or inserted directly in the database, not by Finance "
                "Connect: what the log shows may not be what happened."
            ),
            self.env._(
                "The row named in the description (model, id, reference) and what kind of "
                "change it is; who has direct database access; the database's own logs and "
                "the last backup that still verifies."
            ),
            self.env._(
                "Do not replay or resolve the messages involved until you know what happened. "
                "Ask the administrator to restore the row from a backup (or explain the "
                "change), run Verify log again until it answers chain intact, then Resolve."
            ),
        )

    @api.model
    def _finding(self, kind, res_model, res_id, seq=None, entry=None):
        """``{"kind", "res_model", "res_id", "short", "text"}`` of one finding."""
        name = self._describe_row(res_model, res_id)
        texts = {
            "altered": self.env._(
                "%(row)s was changed outside Finance Connect: its content no longer "
                "matches its last log entry.",
                row=name,
            ),
            "deleted": self.env._("%(row)s was deleted from the database.", row=name),
            "inserted": self.env._(
                "%(row)s was inserted outside Finance Connect: it has no log entry.", row=name
            ),
            "payload": self.env._(
                "The payload of %(row)s was changed: it no longer matches its SHA-256.",
                row=name,
            ),
            "chain_gap": self.env._(
                "Entry %(seq)s of the log chain is missing (deleted); the entry after the "
                "gap is about %(row)s.",
                seq=seq,
                row=name,
            ),
            "chain_link": self.env._(
                "Entry %(seq)s of the log chain (about %(row)s) does not link to the entry "
                "before it: an entry before it was changed or removed.",
                seq=seq,
                row=name,
            ),
            "chain_hash": self.env._(
                "Entry %(seq)s of the log chain (about %(row)s) was changed: its hash does "
                "not match its content.",
                seq=seq,
                row=name,
            ),
        }
        short = {
            "altered": self.env._("%(row)s altered", row=name),
            "deleted": self.env._("%(row)s deleted", row=name),
            "inserted": self.env._("%(row)s inserted outside Finance Connect", row=name),
            "payload": self.env._("payload of %(row)s altered", row=name),
            "chain_gap": self.env._("chain entry %(seq)s missing", seq=seq),
            "chain_link": self.env._("chain entry %(seq)s unlinked", seq=seq),
            "chain_hash": self.env._("chain entry %(seq)s altered", seq=seq),
        }
        return {
            "kind": kind,
            "res_model": res_model,
            "res_id": res_id,
            "seq": seq,
            "entry": entry,
            "short": short[kind],
            "text": texts[kind],
        }

    @api.model
    def _describe_row(self, res_model, res_id):
        """``<model description> <id> (<reference>)`` of a tracked row, read by SQL
        (the row may be gone, or not readable through the ORM any more)."""
        cr = self.env.cr
        reference = None
        if res_model == "finance.connect.message":
            cr.execute(SQL("SELECT reference FROM finance_connect_message WHERE id = %s", res_id))
            reference = (cr.fetchone() or [None])[0]
        elif res_model == "finance.connect.message.attempt":
            cr.execute(
                SQL(
                    "SELECT m.reference FROM finance_connect_message_attempt a"
                    " JOIN finance_connect_message m ON m.id = a.message_id WHERE a.id = %s",
                    res_id,
                )
            )
            row = cr.fetchone()
            reference = self.env._("attempt of %(ref)s", ref=row[0]) if row else None
        elif res_model == "finance.connect.audit":
            cr.execute(SQL("SELECT action FROM finance_connect_audit WHERE id = %s", res_id))
            row = cr.fetchone()
            reference = self.env._("action %(action)s", action=row[0]) if row else None
        description = (
            self.env["ir.model"]._get(res_model).name if res_model in self.env else res_model
        )
        text = f"{description} {res_model},{res_id}"
        return f"{text} ({reference})" if reference else text
