"""Bank references, import id and match state of statement lines; bulk creation.

Every imported line keeps the bank's references and a stable import id, unique
per journal in the database (``fc_import_id_uniq``): the constraint, not a
search, is what keeps a line from being imported twice.

Creating a statement line through the ORM costs tens of milliseconds (an
``account.move`` with two journal items, posted one by one), far too slow for
bank files of 10,000 entries. :meth:`_fc_create_bulk` creates the first line of
each group (same month, sign and partner) through the ORM and writes the next
ones as copies of its rows with their own values, numbered in Odoo's order;
followers, the creation note, analytic lines, events and the statement's
totals are then made by Odoo's own methods. Whatever it cannot reproduce goes
through the ORM: slower, never different. The equivalence harness
(``finance_connect_bank/tests/test_bank_equivalence.py``) compares both paths
row by row in every table they write.
"""

import io
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.modules.registry import TriggerTree
from odoo.tools import SQL

from ..lib import row_copy

_logger = logging.getLogger(__name__)

# Lines written per copy batch (memory stays flat, whatever the file's size).
COPY_CHUNK = 1000

# Set by the import and the matcher only (refused to a plain write).
ENGINE_FIELDS = {
    "fc_import_id",
    "fc_entry_ref",
    "fc_servicer_ref",
    "fc_end_to_end_id",
    "fc_mandate_id",
    "fc_creditor_ref",
    "fc_bank_tx_code",
    "fc_message_id",
    "fc_match_state",
    "fc_match_candidate_id",
    "fc_match_reason",
}

MATCH_STATES = [
    ("none", "Not matched yet"),
    ("reconciled", "Reconciled"),
    ("proposed", "Match proposed"),
    ("unmatched", "Unmatched"),
]

# Values of a line that are not plain statement line columns.
_INPUT_KEYS = {
    "date",
    "amount",
    "partner_id",
    "payment_ref",
    "statement_id",
    "journal_id",
    "company_id",
    "sequence",
}


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    fc_import_id = fields.Char(
        string="Import id",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Stable id of the bank entry (bank reference, else a hash): a line is "
        "imported once per journal.",
    )
    fc_entry_ref = fields.Char(string="Entry reference", readonly=True)
    fc_servicer_ref = fields.Char(string="Account servicer reference", readonly=True)
    fc_end_to_end_id = fields.Char(string="End-to-end id", readonly=True, index="btree_not_null")
    fc_mandate_id = fields.Char(string="Mandate id", readonly=True)
    fc_creditor_ref = fields.Char(
        string="Creditor reference", readonly=True, index="btree_not_null"
    )
    fc_bank_tx_code = fields.Char(string="Bank transaction code", readonly=True)
    fc_detail_difference = fields.Monetary(
        string="Difference to details",
        currency_field="currency_id",
        readonly=True,
        help="The entry's amount minus the sum of its transaction details, when they do "
        "not add up (typically bank charges deducted). The line keeps the booked amount.",
    )
    fc_detail_mismatch = fields.Boolean(
        string="Details differ",
        readonly=True,
        help="The bank's transaction details do not add up to this entry's amount: see "
        "'Difference to details'.",
    )
    fc_message_id = fields.Many2one(
        "finance.connect.message",
        string="Imported from",
        readonly=True,
        index="btree_not_null",
    )
    fc_match_state = fields.Selection(
        MATCH_STATES,
        string="Bank match",
        default="none",
        readonly=True,
        index=True,
        copy=False,
    )
    fc_match_candidate_id = fields.Many2one(
        "account.move.line",
        string="Proposed counterpart",
        readonly=True,
        copy=False,
        help="An open journal item this line probably settles; the accountant confirms it.",
    )
    fc_match_reason = fields.Char(string="Match reason", readonly=True, copy=False)

    _sql_constraints = [
        (
            "fc_import_id_uniq",
            "unique(journal_id, fc_import_id)",
            "This bank entry was already imported into this journal.",
        ),
    ]

    def write(self, vals):
        # EXTENDS account: the bank's references, the import id (what keeps
        # an entry from being imported twice) and the match state are the
        # import's and the matcher's, never a person's.
        engine = ENGINE_FIELDS.intersection(vals)
        if engine and not self.env.su:
            raise AccessError(
                self.env._(
                    "%(fields)s of a bank statement line are set by the bank import and "
                    "the matcher only: use Match again or Confirm match.",
                    fields=", ".join(sorted(self._fields[name].string for name in engine)),
                )
            )
        return super().write(vals)

    def action_fc_confirm_match(self):
        """Reconcile the lines with their proposed counterpart (whoever may edit them)."""
        self.check_access("write")
        proposed = self.filtered(lambda line: line.fc_match_candidate_id and not line.is_reconciled)
        done = self.env["finance.connect.bank.matcher"]._confirm(proposed)
        left = len(proposed) - len(done)
        text = self.env._("%(n)s line(s) reconciled with their proposed counterpart.", n=len(done))
        if left:
            text += " " + self.env._(
                "%(n)s could not be (the counterpart is no longer open): use Match again.", n=left
            )
        if len(self) > len(proposed):
            text += " " + self.env._("%(n)s had no proposed match.", n=len(self) - len(proposed))
        return _notify(self.env._("Confirm proposed match"), text, "success" if done else "warning")

    def action_fc_match_again(self):
        """Look for counterparts again (after invoices or payments changed)."""
        self.check_access("write")
        self.filtered(lambda line: not line.is_reconciled).sudo().write(
            {"fc_match_state": "none", "fc_match_candidate_id": False, "fc_match_reason": False}
        )
        counts = self.env["finance.connect.bank.matcher"]._match_lines(self)
        return _notify(
            self.env._("Match again"),
            self.env._(
                "%(reconciled)s reconciled, %(proposed)s with a proposed match to confirm, "
                "%(unmatched)s still unmatched (open one to match it by hand).",
                **counts,
            ),
            "success" if counts["reconciled"] or counts["proposed"] else "warning",
        )

    def action_fc_match_by_hand(self):
        """Open the matching of this line with a counterpart the accountant picks."""
        self.ensure_one()
        self.check_access("write")
        if self.is_reconciled:
            raise UserError(self.env._("This bank line is reconciled already."))
        wizard = self.env["finance.connect.bank.match.wizard"].create({"line_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Match by hand"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    # ------------------------------------------------------------------
    # Bulk creation
    # ------------------------------------------------------------------

    @api.model
    def _fc_create_bulk(self, vals_list):
        """Create statement lines exactly as ``create`` does, much faster for many lines.

        ``vals_list`` items need ``journal_id``, ``date`` and ``amount`` and may
        hold ``statement_id``, ``partner_id``, ``payment_ref`` and any other
        plain column of the statement line (references, import id...). All
        lines must belong to one journal and one statement (or none).
        Returns the lines in the order of ``vals_list``.

        The lines are walked in the order Odoo numbers a batch (accounting
        date, then file order). The first line of each group (same month,
        sign and partner) goes through the ORM; the next lines of the group
        are written as copies of its rows with their own values, numbered
        after whatever the journal holds at that moment. What Odoo does
        around the rows (followers, creation note, analytic lines, the
        ``move.posted`` event, the statement's totals) is done by Odoo's own
        methods for the copies too. Lines the copy cannot reproduce (a locked
        period, a foreign currency, a secured journal, a group whose first
        line's rows cannot be rebuilt from its values) go through the ORM, in
        batches, in their place. ``tests/test_bank_equivalence.py`` proves
        the result equal, table by table, to one plain ``create``.
        """
        if not vals_list:
            return self.browse()
        journal = self.env["account.journal"].browse(vals_list[0]["journal_id"])
        company = journal.company_id
        currency = journal.currency_id or company.currency_id
        # Same keys on every line: a value one line lacks is empty, never copied.
        keys = set().union(*vals_list)
        vals_list = [{key: vals.get(key, False) for key in keys} for vals in vals_list]
        bulk_ok = (
            currency == company.currency_id
            and not journal.restrict_mode_hash_table
            and not any(v.get("foreign_currency_id") for v in vals_list)
        )
        walk, forced = self._fc_walk_order(vals_list, journal)
        ids = [None] * len(vals_list)
        groups = {}  # group key -> row_copy.RowBuilder, or None: through the ORM
        orm_pending, clone_pending, copied = [], [], []

        def flush_orm():
            if orm_pending:
                lines = self.create([vals_list[i] for i in orm_pending])
                for index, line in zip(orm_pending, lines, strict=True):
                    ids[index] = line.id
                orm_pending.clear()

        def flush_clones():
            # In chunks, the ORM's caches emptied in between: memory stays flat.
            for start in range(0, len(clone_pending), COPY_CHUNK):
                chunk = clone_pending[start : start + COPY_CHUNK]
                created = self._fc_write_copies(
                    [(groups[key], vals_list[i]) for i, key in chunk], currency
                )
                for (index, _key), line_id in zip(chunk, created, strict=True):
                    ids[index] = line_id
                copied.extend(created)
                self.env.invalidate_all()
            clone_pending.clear()

        for index in walk:
            vals = vals_list[index]
            amount = currency.round(vals.get("amount") or 0.0)
            day = fields.Date.to_date(vals["date"])
            key = (
                day.year,
                day.month,
                (amount > 0) - (amount < 0),
                vals.get("partner_id") or False,
            )
            if not bulk_ok or index in forced or not amount:
                flush_clones()
                orm_pending.append(index)
                continue
            if key not in groups:
                # The group's first line: through the ORM, its rows the template.
                flush_clones()
                orm_pending.append(index)
                groups[key] = index
                continue
            if isinstance(groups[key], int):
                flush_orm()
                first = groups[key]
                groups[key] = self.browse(ids[first])._fc_row_builder(vals_list[first], currency)
            if groups[key] is None:
                flush_clones()
                orm_pending.append(index)
                continue
            flush_orm()
            clone_pending.append((index, key))
        flush_orm()
        flush_clones()
        if copied:
            self.browse(copied)._fc_mark_copies_dependents()
            self.env.flush_all()
        return self.browse(ids)

    @api.model
    def _fc_walk_order(self, vals_list, journal):
        """(indexes in the order Odoo numbers them, indexes to create through the ORM).

        Odoo numbers a batch by accounting date, then creation order. A line
        dated in a locked period is posted on the first open date Odoo finds
        for it (``_get_accounting_date``): it goes through the ORM, in the
        place of that date.
        """
        company = journal.company_id
        dates, forced = [], set()
        probe = None
        for index, vals in enumerate(vals_list):
            day = fields.Date.to_date(vals["date"])
            if company._get_violated_lock_dates(day, False, journal):
                if probe is None:
                    probe = self.env["account.move"].new(
                        {"move_type": "entry", "journal_id": journal.id, "date": day}
                    )
                day = probe._get_accounting_date(day, False)
                forced.add(index)
            dates.append(day)
        return sorted(range(len(vals_list)), key=lambda i: (dates[i], i)), forced

    def _fc_row_builder(self, vals, currency):
        """A row builder copying this line, or None when its rows cannot be rebuilt.

        ``vals`` are the values this line was created with.
        """
        self.ensure_one()
        st_row, move_row, aml_rows = self._fc_read_rows()
        if len(aml_rows) != 2 or not st_row["amount"]:
            return None
        keys = self._fc_row_inputs(vals, currency)["columns"]
        template = {
            "date": move_row["date"],
            "amount": st_row["amount"],
            "rounded": currency.round(st_row["amount"]),
            "partner_id": st_row["partner_id"],
            "payment_ref": st_row["payment_ref"],
            "statement_id": st_row["statement_id"],
            "sequence": st_row["sequence"],
            "columns": {key: st_row[key] for key in keys},
        }
        builder = row_copy.RowBuilder(
            st_row,
            move_row,
            aml_rows,
            self._fc_partner_info(template),
            *self.move_id._get_sequence_format_param(move_row["name"]),
            many2one=self._fc_many2one_columns(),
            rounded=self.currency_id.round(st_row["amount"]),
        )
        rebuilt = builder.build(
            template,
            {
                "st": st_row["id"],
                "move": move_row["id"],
                "amls": [r["id"] for r in aml_rows],
                "seq": move_row["sequence_number"],
                "name": move_row["name"],
            },
        )
        reason = builder.check(rebuilt, template)
        if reason:
            _logger.info("finance_connect_bank: bulk creation not used (%s)", reason)
            return None
        return builder

    @api.model
    def _fc_write_copies(self, builders_vals, currency):
        """Write statement lines as copies of their group's first line; their ids.

        ``builders_vals`` is a list of (row builder, creation values), in the
        order Odoo numbers them. Numbers follow the highest number the
        journal holds now, per sequence prefix. A copy has its group's partner,
        so the partner values its builder read for the first line are its own.
        """
        cr = self.env.cr
        self.env.flush_all()
        count = len(builders_vals)
        cr.execute(
            SQL(
                """SELECT nextval('account_bank_statement_line_id_seq'),
                          nextval('account_move_id_seq'),
                          nextval('account_move_line_id_seq'),
                          nextval('account_move_line_id_seq')
                     FROM generate_series(1, %s)""",
                count,
            )
        )
        allocated = cr.fetchall()
        counters = {}
        inputs = [self._fc_row_inputs(vals, currency) for _builder, vals in builders_vals]
        st_rows, move_rows, aml_rows = [], [], []
        for (builder, _vals), values, (st_id, move_id, aml1, aml2) in zip(
            builders_vals, inputs, allocated, strict=True
        ):
            prefix = builder.move_row["sequence_prefix"]
            journal_id = builder.move_row["journal_id"]
            if (journal_id, prefix) not in counters:
                cr.execute(
                    SQL(
                        """SELECT max(sequence_number) FROM account_move
                            WHERE journal_id = %s AND sequence_prefix = %s""",
                        journal_id,
                        prefix,
                    )
                )
                counters[journal_id, prefix] = cr.fetchone()[0] or 0
            counters[journal_id, prefix] += 1
            seq = counters[journal_id, prefix]
            st, move, amls = builder.build(
                values,
                {
                    "st": st_id,
                    "move": move_id,
                    "amls": [aml1, aml2],
                    "seq": seq,
                    "name": builder.sequence_format.format(
                        **dict(builder.sequence_values, seq=seq)
                    ),
                },
            )
            move["statement_line_id"] = None  # set once the statement lines exist
            st_rows.append(st)
            move_rows.append(move)
            aml_rows.extend(amls)
        # Moves first, then the lines pointing at them; moves point back last.
        _insert(cr, "account_move", move_rows)
        _insert(cr, "account_bank_statement_line", st_rows)
        _insert(cr, "account_move_line", aml_rows)
        cr.execute(
            SQL(
                """UPDATE account_move m SET statement_line_id = l.id
                     FROM account_bank_statement_line l
                    WHERE l.move_id = m.id AND l.id = ANY(%s)""",
                [row["id"] for row in st_rows],
            )
        )
        self.env.invalidate_all()
        lines = self.browse([row["id"] for row in st_rows])
        lines._fc_after_copy()
        return lines.ids

    def _fc_after_copy(self):
        """What Odoo does around the rows of a created and posted statement line.

        The same calls, on the copied lines, as ``mail.thread.create`` (the
        creator follows, the creation note) and ``account.move._post`` (the
        partner follows, analytic lines, the posted event) make.
        """
        moves = self.move_id
        user = self.env.user
        if not self.env.context.get("mail_create_nosubscribe") and user.active:
            self.env["mail.followers"]._insert_followers(
                moves._name,
                moves.ids,
                user.partner_id.ids,
                subtypes=None,
                customer_ids=[],
                check_existing=False,
            )
        if not self.env.context.get("mail_create_nolog"):
            # account.move's creation note depends on its type only
            by_type = {}
            moves._message_log_batch(
                bodies={
                    move.id: by_type.get(move.move_type)
                    or by_type.setdefault(move.move_type, move._creation_message())
                    for move in moves
                }
            )
        for partner, partner_moves in moves.grouped("partner_id").items():
            if partner:
                partner_moves.message_subscribe(partner.ids)
        moves.line_ids.filtered("analytic_distribution")._create_analytic_lines()
        # EXTENDS finance_connect: the event account.move._post emits.
        moves._fc_emit("move.posted")
        self.env.flush_all()

    def _fc_mark_copies_dependents(self):
        """Mark what the ORM marks to recompute on other records when it creates
        these copied lines (the statement's totals, dates and completeness...);
        their own computed columns are in their rows already. Once for all the
        copies of an import: the statement is then recomputed once."""
        moves = self.move_id
        new = {self._name: set(self.ids), moves._name: set(moves.ids)}
        new["account.move.line"] = set(moves.line_ids.ids)
        for records in (self, moves, moves.line_ids):
            _mark_dependents_elsewhere(records, new)

    def _fc_read_rows(self):
        """The database rows of this line: statement line, move, journal items."""
        self.ensure_one()
        self.env.flush_all()
        cr = self.env.cr

        def rows(query):
            cr.execute(query)
            names = [d[0] for d in cr.description]
            return [dict(zip(names, row, strict=True)) for row in cr.fetchall()]

        st_row = rows(SQL("SELECT * FROM account_bank_statement_line WHERE id = %s", self.id))[0]
        move_row = rows(SQL("SELECT * FROM account_move WHERE id = %s", self.move_id.id))[0]
        aml_rows = rows(
            SQL("SELECT * FROM account_move_line WHERE move_id = %s ORDER BY id", self.move_id.id)
        )
        return st_row, move_row, aml_rows

    @api.model
    def _fc_row_inputs(self, vals, currency):
        """Normalise creation values: the per-line inputs of a row build.

        The statement line keeps the amount as given (so does the ORM); the
        move and its items get it rounded to the currency.
        """
        columns = {}
        for key, value in vals.items():
            field = self._fields.get(key)
            if (
                key in _INPUT_KEYS
                or not field
                or not field.store
                or not field.column_type
                or field.inherited
            ):
                continue
            columns[key] = None if value is False and field.type != "boolean" else value
        return {
            "date": fields.Date.to_date(vals["date"]),
            "amount": float(vals["amount"]),
            "rounded": currency.round(float(vals["amount"])),
            "partner_id": vals.get("partner_id") or None,
            "payment_ref": vals.get("payment_ref") or None,
            "statement_id": vals.get("statement_id") or None,
            "sequence": vals.get("sequence") or 1,
            "columns": columns,
        }

    @api.model
    def _fc_many2one_columns(self):
        """The many2one columns of the rows a copy writes: ``{"st" | "move" | "aml": names}``."""
        return {
            kind: {
                name for name, field in self.env[model]._fields.items() if field.type == "many2one"
            }
            for kind, model in (
                ("st", "account.bank.statement.line"),
                ("move", "account.move"),
                ("aml", "account.move.line"),
            )
        }

    @api.model
    def _fc_partner_info(self, *inputs):
        """{partner id: (commercial partner id, display name)} for the inputs."""
        partner_ids = {values["partner_id"] for values in inputs if values["partner_id"]}
        partners = self.env["res.partner"].browse(partner_ids)
        return {p.id: (p.commercial_partner_id.id, p.display_name) for p in partners}


def _mark_dependents_elsewhere(records, new):
    """Mark for recomputation what depends on new ``records`` in other, older
    records, as ``create`` marks it (``modified(..., create=True)``), without
    recomputing the new records themselves (``new``: {model: ids})."""
    env = records.env

    def stored(field):
        return field.compute and field.store

    tree = records.pool.get_trigger_tree(list(records._fields.values()), select=stored)
    # The root holds the records' own fields: skipped.
    for field, dependents, _create in (
        records.sudo()
        .with_context(active_test=False)
        ._modified_triggers(TriggerTree((), tree), create=True)
    ):
        dependents -= env.protected(field)
        older = dependents.browse(
            [id_ for id_ in dependents._ids if id_ not in new.get(dependents._name, ())]
        )
        if older and stored(field):
            env.add_to_compute(field, older)


def _insert(cr, table, rows):
    """Write ``rows`` (dicts with the same keys) into ``table`` with COPY."""
    if not rows:
        return
    columns = list(rows[0])
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(row_copy.copy_value(row[c]) for c in columns))
        buffer.write("\n")
    buffer.seek(0)
    query = SQL(
        "COPY %s (%s) FROM STDIN",
        SQL.identifier(table),
        SQL(", ").join(SQL.identifier(column) for column in columns),
    )
    cr._obj.copy_expert(query.code, buffer)


def _notify(title, message, kind):
    """A notification that also reloads the list (the match states changed)."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "title": title,
            "message": message,
            "type": kind,
            "sticky": False,
            "next": {"type": "ir.actions.client", "tag": "soft_reload"},
        },
    }
