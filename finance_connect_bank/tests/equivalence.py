"""The equivalence harness: what two ways of doing the same thing wrote, row by row.

:class:`Harness` runs a callable inside a savepoint, finds every row of every
table that the callable inserted or updated (by PostgreSQL's ``xmin``, on the
tables ``pg_stat_xact_user_tables`` says this transaction wrote), gives each
inserted row a key that does not depend on its id, then rolls the savepoint
back. Two runs on the same starting state can then be compared column by
column: ids, creation and write dates and a few columns documented in
``VOLATILE`` aside; references to inserted rows are compared through their
keys, references to rows that existed before as they are.
"""

import json
import re
from collections import Counter
from decimal import Decimal

from odoo import SUPERUSER_ID
from odoo.tools import SQL

# Columns that differ between two runs by nature, per table ("*" for all).
VOLATILE = {
    # ids and moments; who wrote last is compared, see ``_write_uid``
    "*": {"id", "create_date", "write_date"},
    # the moment of the note and its random Message-Id header
    "mail_message": {"date", "message_id"},
    # attempts' timing and the random correlation id of a message
    # a message's random reference, correlation id and Standard Webhooks id, and
    # the hash of its payload (the payload is compared, normalised)
    # and the moment it ended (its state log is compared without its moments)
    "finance_connect_message": {
        "reference",
        "webhook_id",
        "correlation_id",
        "payload_sha256",
        "done_at",
    },
    # the tamper-evident log: an entry's digest covers its row's random
    # reference and moments, and its place in the chain (seq, links) depends
    # on what was sealed before; which rows got entries is compared
    "finance_connect_log_chain": {"digest", "seq", "prev_hash", "hash"},
    # a queued job's random uuid and the moment it was queued
    "queue_job": {"uuid", "date_created"},
    # the transaction that posted an entry (the reporting feed's watermark): the
    # same in two runs of one transaction, another in runs of their own
    # Odoo's "secure entries" hash covers its items' ids ("line_<id>_<field>"):
    # each run's chain is verified by Odoo's own integrity check instead, and
    # which entries were hashed in which order is compared (secure_sequence_number)
    "account_move": {"fc_post_xid", "inalterable_hash"},
}

# Tables of transient notifications, not records: never compared.
IGNORED = {"bus_bus", "fc_equivalence_marker"}

# Links to records in HTML texts (chatter notes).
DATA_OE_ID = re.compile(r'data-oe-model="([a-z0-9_.]+)" data-oe-id="(\d+)"')

# The moment that starts each line of a message's state log.
STATE_LOG_MOMENT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.MULTILINE)

# Polymorphic references: (model column, id column) pairs.
POLYMORPHIC = [("model", "res_id"), ("res_model", "res_id")]


class Snapshot:
    """The rows one run inserted ({table: {key: row}}) and updated ({table: {id: row}})."""

    def __init__(self, inserted, updated):
        self.inserted = inserted
        self.updated = updated

    def row_count(self):
        return sum(len(rows) for rows in self.inserted.values()) + sum(
            len(rows) for rows in self.updated.values()
        )


class Harness:
    def __init__(self, env):
        self.env = env
        self.cr = env.cr
        self._foreign_keys = None
        self._last_ids = {}

    # ------------------------------------------------------------------
    # Running

    def run(self, *steps):
        """Run ``steps`` (callables) in a savepoint; a Snapshot after each; roll back."""
        env, cr = self.env, self.cr
        env.flush_all()
        # Rows written before the run (the test's set-up) get their log chain
        # entries now, not in the first run's savepoint (flushing savepoints run
        # the precommit callbacks that write them).
        env["finance.connect.log.chain"]._write_pending()
        cr.execute("SAVEPOINT fc_equivalence")
        try:
            marker = self._marker()
            written = self._tables_written()
            self.remember_ids()
            snapshots = []
            for step in steps:
                step()
                env.flush_all()
                snapshots.append(self._snapshot(marker, written))
            return snapshots
        finally:
            cr.execute("ROLLBACK TO SAVEPOINT fc_equivalence")
            env.invalidate_all()
            env.transaction.clear()

    def _marker(self):
        """A transaction id no row written from now on has below it."""
        self.cr.execute("CREATE TEMP TABLE IF NOT EXISTS fc_equivalence_marker (x int)")
        self.cr.execute("INSERT INTO fc_equivalence_marker VALUES (1) RETURNING xmin::text::bigint")
        return self.cr.fetchone()[0]

    def _tables_written(self):
        """{table: writes so far in this transaction}."""
        self.cr.execute(
            "SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'public'"
        )
        return dict(self.cr.fetchall())

    def _snapshot(self, marker, before):
        now = self._tables_written()
        tables = [table for table, count in now.items() if count != before.get(table, 0)]
        return self._snapshot_tables(marker, tables)

    def _snapshot_tables(self, marker, tables):
        """The Snapshot of the rows of ``tables`` written by transactions from ``marker`` on."""
        cr = self.cr
        raw = {}
        for table in sorted(set(tables) - IGNORED):
            cr.execute(
                SQL(
                    "SELECT * FROM %s WHERE xmin::text::bigint >= %s",
                    SQL.identifier(table),
                    marker,
                )
            )
            names = [d[0] for d in cr.description]
            rows = [dict(zip(names, row, strict=True)) for row in cr.fetchall()]
            if rows:
                raw[table] = rows
        return self._normalise(raw)

    # ------------------------------------------------------------------
    # Keys and normalisation

    def foreign_keys(self):
        """{(table, column): referenced table} of the database's foreign keys."""
        if self._foreign_keys is None:
            self.cr.execute(
                """SELECT cl.relname, att.attname, ref.relname
                     FROM pg_constraint con
                     JOIN pg_class cl ON cl.oid = con.conrelid
                     JOIN pg_class ref ON ref.oid = con.confrelid
                     JOIN pg_attribute att
                       ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
                    WHERE con.contype = 'f' AND array_length(con.conkey, 1) = 1"""
            )
            self._foreign_keys = {(t, c): r for t, c, r in self.cr.fetchall()}
        return self._foreign_keys

    def _normalise(self, raw):
        fks = self.foreign_keys()
        # Rows the run inserted, not older rows it updated (remember_ids).
        new_ids = {}
        for table, rows in raw.items():
            if rows and "id" in rows[0]:
                new_ids[table] = {row["id"] for row in rows if self._inserted(table, row["id"])}
        keys = {}  # (table, id) -> key

        def ref(table, value):
            if value is None or table not in new_ids or value not in new_ids[table]:
                return value
            return keys.get((table, value), ("unkeyed", table))

        def poly(row):
            for model_col, id_col in POLYMORPHIC:
                if row.get(model_col) and row.get(id_col):
                    table = self.env[row[model_col]]._table if row[model_col] in self.env else None
                    return ref(table, row[id_col])
            return None

        def links(text):
            """``text`` with the ids of its record links replaced by their keys."""
            if not text or "data-oe-id=" not in text:
                return text
            return DATA_OE_ID.sub(
                lambda m: f'data-oe-model="{m[1]}" data-oe-id="'
                f'{ref(self.env[m[1]]._table, int(m[2]))}"',
                text,
            )

        # Keys in dependency order: statement lines, moves, items, then the rest.
        def key_of(table, row):
            if table == "account_bank_statement_line":
                return ("line", row["fc_import_id"] or row["payment_ref"], row["amount"])
            if table == "account_move":
                if row["statement_line_id"]:
                    return ("move", ref("account_bank_statement_line", row["statement_line_id"]))
                return ("move", row["name"], row["ref"], row["date"])
            if table == "account_move_line":
                return (
                    "item",
                    ref("account_move", row["move_id"]),
                    row["account_id"],
                    row["display_type"],
                    row["balance"] > 0,
                )
            if table == "mail_followers":
                return ("follower", row["res_model"], poly(row), row["partner_id"])
            if table == "mail_message":
                return ("note", row["model"], poly(row), row["message_type"], links(row["body"]))
            return None

        order = ["account_bank_statement_line", "account_move", "account_move_line"]
        order += sorted(set(raw) - set(order))
        for table in order:
            for row in raw.get(table, ()):
                if table in new_ids and row["id"] in new_ids[table]:
                    key = key_of(table, row)
                    if key is not None:
                        keys[table, row["id"]] = key
        # Texts that carry an inserted line's id (its internal index).
        index_keys = {
            row["internal_index"]: keys.get(("account_bank_statement_line", row["id"]))
            for row in raw.get("account_bank_statement_line", ())
            if row["id"] in new_ids.get("account_bank_statement_line", ())
        }
        inserted, updated = {}, {}
        for table in order:
            volatile = VOLATILE["*"] | VOLATILE.get(table, set())
            for row in raw.get(table, ()):
                out = {}
                for column, value in row.items():
                    if column in volatile:
                        continue
                    if column == "write_uid":
                        value = self._write_uid(row)
                    target = fks.get((table, column))
                    if target:
                        value = ref(target, value)
                    elif column == "res_id":
                        value = poly(row)
                    elif table == "finance_connect_message" and column in (
                        "payload",
                        "idempotency_key",
                    ):
                        value = self._event_text(value, ref)
                    elif table == "finance_connect_message" and column == "state_log":
                        value = STATE_LOG_MOMENT.sub("", value or "")
                    elif column == "internal_index" and value in index_keys:
                        value = (value[:18], "own id")
                    elif isinstance(value, str) and value in index_keys:
                        value = ("internal index of", index_keys[value])
                    elif column == "matching_number" and value:
                        # the full reconcile's id, or P and the partial's id
                        table_ref = (
                            "account_partial_reconcile"
                            if value[0] == "P"
                            else ("account_full_reconcile")
                        )
                        value = (table_ref, ref(table_ref, int(value.lstrip("P"))))
                    elif isinstance(value, str) and "data-oe-id=" in value:
                        value = links(value)
                    elif isinstance(value, dict | list):
                        value = json.dumps(value, sort_keys=True, default=str)
                    out[column] = value
                if table in new_ids and row["id"] not in new_ids[table]:
                    updated.setdefault(table, {})[row["id"]] = out
                else:
                    key = keys.get((table, row.get("id"))) or ("row", _freeze(out))
                    inserted.setdefault(table, Counter())[_freeze({"key": key, **out})] += 1
        return Snapshot(inserted, updated)

    @staticmethod
    def _write_uid(row):
        """Who wrote the row last, the superuser counted as the row's creator.

        A stored field is recomputed by whichever environment flushes: the ORM
        path recomputes some of its new rows when a ``sudo()`` search of the
        same import flushes, and stamps them with the superuser; the fast path
        writes them computed, stamped with the user who imports. Any other
        user, on either side, is a difference.
        """
        if row.get("write_uid") == SUPERUSER_ID and "create_uid" in row:
            return row["create_uid"]
        return row.get("write_uid")

    def _event_text(self, value, ref):
        """An event's payload or key with its record's id and its moment replaced.

        ``event_id`` is "type:model:id:digest of the data": the data itself is
        compared, its id through the record's key.
        """

        def event_id(text):
            event_type, model, record_id, _digest = text.split(":")
            return f"{event_type}:{model}:{ref(self.env[model]._table, int(record_id))}"

        if not value:
            return value
        if not value.startswith("{"):
            return event_id(value) if value.count(":") == 3 else value
        payload = json.loads(value)
        if not isinstance(payload, dict) or "event_id" not in payload:
            return value
        model = payload["event_id"].split(":")[1]
        payload["event_id"] = event_id(payload["event_id"])
        payload.pop("occurred_at", None)
        data = payload.get("data")
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            data["id"] = repr(ref(self.env[model]._table, data["id"]))
        return json.dumps(payload, sort_keys=True)

    def _inserted(self, table, row_id):
        """Whether row ``row_id`` of ``table`` was inserted (not updated) by the run."""
        return table not in self._last_ids or row_id > self._last_ids[table]

    def remember_ids(self):
        """Note where each table's id sequence stands: rows above it are inserted
        by later runs (sequences are not rolled back, so they only go up)."""
        self.cr.execute(
            "SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences "
            "WHERE schemaname = 'public'"
        )
        self._last_ids = {
            name.removesuffix("_id_seq"): value
            for name, value in self.cr.fetchall()
            if name.endswith("_id_seq")
        }

    # ------------------------------------------------------------------
    # Comparing

    @staticmethod
    def differences(theirs, ours):
        """Human-readable differences between two snapshots ([] when equal)."""
        out = []
        for table in sorted(set(theirs.inserted) | set(ours.inserted)):
            a = theirs.inserted.get(table, Counter())
            b = ours.inserted.get(table, Counter())
            if a != b:
                only_a = list((a - b).elements())
                only_b = list((b - a).elements())
                out.append(
                    f"{table}: {sum(a.values())} rows by the ORM, {sum(b.values())} by ours; "
                    f"{len(only_a)} only by the ORM, e.g. {_diff_hint(only_a, only_b)}"
                )
        for table in sorted(set(theirs.updated) | set(ours.updated)):
            a = theirs.updated.get(table, {})
            b = ours.updated.get(table, {})
            if a != b:
                ids = sorted(set(a) | set(b))
                changed = [i for i in ids if a.get(i) != b.get(i)]
                detail = ""
                if changed:
                    ra, rb = a.get(changed[0]) or {}, b.get(changed[0]) or {}
                    cols = [c for c in set(ra) | set(rb) if ra.get(c) != rb.get(c)]
                    detail = ", ".join(f"{c}: {ra.get(c)!r} != {rb.get(c)!r}" for c in cols[:6])
                out.append(f"{table} (updated rows) {changed[:5]}: {detail}")
        return out


def _freeze(row):
    return tuple(sorted((k, _hashable(v)) for k, v in row.items()))


def _hashable(value):
    if isinstance(value, dict):
        return _freeze(value)
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _diff_hint(only_a, only_b):
    """The columns in which the first unmatched rows of each side differ."""
    if not only_a:
        return f"{len(only_b)} only by ours, e.g. {_short(dict(only_b[0]) if only_b else None)}"
    a = dict(only_a[0])
    if not only_b:
        return _short(a)
    # the row of ours with the same key, else the first
    b = next((dict(r) for r in only_b if dict(r).get("key") == a.get("key")), dict(only_b[0]))
    cols = sorted(c for c in set(a) | set(b) if a.get(c) != b.get(c))
    return "; ".join(f"{c}: ORM {_short(a.get(c))} / ours {_short(b.get(c))}" for c in cols[:8])


def _short(value):
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


# ----------------------------------------------------------------------
# Files

IBAN = "DE89370400440532013000"
HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>MSG-{stmt}</MsgId><CreDtTm>2024-03-01T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{stmt}</Id><CreDtTm>2024-03-01T18:00:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{ccy}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{opening}</Amt><CdtDbtInd>{osign}</CdtDbtInd><Dt><Dt>{first}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{closing}</Amt><CdtDbtInd>{csign}</CdtDbtInd><Dt><Dt>{last}</Dt></Dt></Bal>
"""  # noqa: E501
ENTRY = """<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><RltdPties><{party}><Nm>{name}</Nm></{party}><{party}Acct><Id><IBAN>{party_iban}</IBAN></Id></{party}Acct></RltdPties><RmtInf><Ustrd>Payment {ref}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"""  # noqa: E501
FOOTER = "</Stmt></BkToCstmrStmt></Document>\n"


def camt053(stmt, entries, opening=Decimal("0.00"), ccy="USD"):
    """A balancing camt.053 of ``entries``: (day, Decimal amount, name, iban) tuples."""
    total = sum((amount for _d, amount, _n, _i in entries), Decimal(0))
    closing = opening + total
    days = [day for day, *_rest in entries]
    body = "".join(
        ENTRY.format(
            ref=f"{stmt}-{i:05d}",
            amount=f"{abs(amount):.2f}",
            sign="CRDT" if amount > 0 else "DBIT",
            day=day.isoformat(),
            party="Dbtr" if amount > 0 else "Cdtr",
            name=name,
            party_iban=iban,
            ccy=ccy,
        )
        for i, (day, amount, name, iban) in enumerate(entries)
    )
    head = HEADER.format(
        stmt=stmt,
        iban=IBAN,
        opening=f"{abs(opening):.2f}",
        osign="CRDT" if opening >= 0 else "DBIT",
        closing=f"{abs(closing):.2f}",
        csign="CRDT" if closing >= 0 else "DBIT",
        first=min(days).isoformat(),
        last=max(days).isoformat(),
        ccy=ccy,
    )
    return (head + body + FOOTER).encode()
