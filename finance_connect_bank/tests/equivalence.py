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

from odoo.tools import SQL

# Columns that differ between two runs by nature, per table ("*" for all).
VOLATILE = {
    # The write stamp (who and when) is set by whichever environment flushes
    # last, which Odoo itself leaves to chance (a sudo() search flushes as
    # the superuser); the creation stamp's user is compared.
    "*": {"id", "create_date", "write_date", "write_uid"},
    # the moment of the note and its random Message-Id header
    "mail_message": {"date", "message_id"},
    # attempts' timing and the random correlation id of a message
    # a message's random reference, correlation id and Standard Webhooks id, and
    # the hash of its payload (the payload is compared, normalised)
    "finance_connect_message": {"reference", "webhook_id", "correlation_id", "payload_sha256"},
    # a queued job's random uuid and the moment it was queued
    "queue_job": {"uuid", "date_created"},
}

# Tables of transient notifications, not records: never compared.
IGNORED = {"bus_bus", "fc_equivalence_marker"}

# Links to records in HTML texts (chatter notes).
DATA_OE_ID = re.compile(r'data-oe-model="([a-z0-9_.]+)" data-oe-id="(\d+)"')

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
        cr = self.cr
        now = self._tables_written()
        tables = sorted(
            table
            for table, count in now.items()
            if count != before.get(table, 0) and table not in IGNORED
        )
        raw = {}
        for table in tables:
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
