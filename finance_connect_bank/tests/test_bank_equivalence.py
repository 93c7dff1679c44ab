"""The bank import writes what Odoo writes: the equivalence harness.

Each scenario imports the same generated camt.053 files twice on the same
starting state (each run in a savepoint, rolled back): once with every
statement line made by one plain ``account.bank.statement.line.create`` (the
ORM), once through the product's path (``_fc_create_bulk``). Then it applies
the same later operation to a line the fast path copied (edit, reverse,
delete, undo, lock date) in both runs. Every row of every table each run
inserted or updated is compared, column by column (see ``equivalence.py``):
the differences must be none, and the fast path must really have copied rows.
"""

import logging
from datetime import date, timedelta
from decimal import Decimal
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import RedirectWarning, UserError
from odoo.tests import tagged

from ..models import account_bank_statement_line as line_module
from .common import BankCase
from .equivalence import IBAN, Harness, camt053

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install")
class TestBankEquivalence(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.bank_journal("EQV", IBAN)
        fiscal = cls.env["account.fiscal.position"].create(
            {"name": "Intra-EU", "company_id": cls.company.id}
        )
        cls.partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Counterparty {i:02d}",
                    "is_company": True,
                    "property_account_position_id": fiscal.id if i % 4 == 0 else False,
                    "bank_ids": [
                        Command.create(
                            {
                                "acc_number": f"NL{10 + i:02d}RABO{i:010d}",
                                "allow_out_payment": i % 2,
                            }
                        )
                    ]
                    if i % 3
                    else [],
                }
                for i in range(20)
            ]
        )
        # the company's "Manual upload" connection exists before the runs
        cls.env["finance.connect.connection"]._bank_upload_connection()
        cls.harness = Harness(cls.env)
        cls.files = 0
        cls.rows = 0

    # ------------------------------------------------------------------
    # Files

    def entries(self, start, days, per_day, seed=0):
        """Entries over ``days`` days from ``start``: many partners, 1.00 and -1.00."""
        out = []
        for d in range(days):
            day = start + timedelta(days=d)
            for k in range(per_day):
                i = (d * per_day + k + seed) % 23
                amount = Decimal((i * 37 + d * 11 + k) % 5000 + 100) / 100
                if (d + k) % 3 == 0:
                    amount = -amount
                if k == 0 and d % 5 == 0:
                    amount = Decimal("1.00") if d % 2 else Decimal("-1.00")
                if i < 20:
                    partner = self.partners[i]
                    iban = partner.bank_ids[:1].acc_number or f"NL{50 + i:02d}INGB{i:010d}"
                    name = partner.name if not partner.bank_ids else f"Other name {i}"
                else:
                    name, iban = f"Walk-in {i}", f"NL{60 + i:02d}ABNA{i:010d}"
                out.append((day, amount, name, iban))
        return out

    # ------------------------------------------------------------------
    # Runs

    def import_both(self, files, then=None, pick=None):
        """Import ``files`` through the ORM and through ours; compare; return the copies."""
        Line = type(self.env["account.bank.statement.line"])
        copy_writer = Line._fc_write_copies
        copied = []

        def spy(line_model, builders_vals, currency):
            ids = copy_writer(line_model, builders_vals, currency)
            copied.extend(ids)
            return ids

        def orm(line_model, vals_list):
            return line_model.create(vals_list)

        def do_import():
            for name, data in files:
                self.Import._import_file(data, name, journal=self.journal)

        def later():
            line = pick() if pick else None
            self.picked_copy = bool(line) and line.id in copied
            then(line)

        steps = [do_import] + ([later] if then else [])
        with patch.object(Line, "_fc_create_bulk", orm):
            theirs = self.harness.run(*steps)
        with patch.object(Line, "_fc_write_copies", spy):
            ours = self.harness.run(*steps)
        problems = []
        for step, (a, b) in enumerate(zip(theirs, ours, strict=True)):
            problems += [
                f"after {'the import' if step == 0 else 'the later operation'}: {d}"
                for d in Harness.differences(a, b)
            ]
            type(self).rows += a.row_count()
        type(self).files += len(files)
        self.assertFalse(problems, "\n".join(problems))
        self.assertTrue(copied, "the fast path copied no line: nothing was compared")
        _logger.info(
            "equivalence harness: %s files, %s rows compared, %s differences",
            type(self).files,
            type(self).rows,
            len(problems),
        )
        return copied

    def a_copied_line(self, credit=None):
        """The last line of the largest group (month, sign, partner): a copy in the fast path.

        ``credit``: True for a money-in line, False for a money-out one, None for either.

        Chosen by its values, not its id, so that both runs pick the same entry.
        """
        lines = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal.id)]
        )
        groups = {}
        for line in lines.sorted(lambda line: (line.date, line.fc_entry_ref)):
            if credit is not None and (line.amount > 0) != credit:
                continue
            key = (line.date.year, line.date.month, line.amount > 0, line.partner_id.id)
            groups.setdefault(key, []).append(line)
        largest = max(groups.values(), key=lambda group: (len(group), group[-1].fc_entry_ref))
        return largest[-1]

    # ------------------------------------------------------------------
    # Scenarios

    def test_many_partners_months_year_boundary(self):
        """Partners with and without bank accounts and fiscal positions, 4 months, 1.00/-1.00."""
        entries = self.entries(date(2023, 11, 20), 75, 4)
        # copies written 7 at a time: batch boundaries inside groups and months
        with patch.object(line_module, "COPY_CHUNK", 7):
            copied = self.import_both([("eqv-1.xml", camt053("EQV-1", entries))])
        self.assertGreater(len(copied), len(entries) // 3)

    def test_sub_cent_amounts(self):
        """Amounts the ORM rounds to the currency (what a CSV with 4 decimals hands over)."""
        entries = self.entries(date(2024, 1, 2), 20, 6)
        Import = type(self.Import)
        prepare = Import._prepare_line_vals

        def sub_cent(import_model, line, *args):
            vals = prepare(import_model, line, *args)
            vals["amount"] += 0.004 if vals["amount"] > 0 else -0.003
            return vals

        with patch.object(Import, "_prepare_line_vals", sub_cent):
            self.import_both([("eqv-cents.xml", camt053("EQV-C", entries))])

    def test_lock_date_in_the_middle(self):
        """Lines dated before the lock date are posted after it, as Odoo posts them."""
        entries = self.entries(date(2023, 12, 1), 40, 3, seed=5)
        self.company.sudo().fiscalyear_lock_date = date(2023, 12, 15)
        self.import_both([("eqv-lock.xml", camt053("EQV-L", entries))])

    def test_default_analytic_distribution(self):
        """A default analytic distribution on the suspense account: analytic lines per item."""
        plan = self.env["account.analytic.plan"].create({"name": "Departments"})
        analytic = self.env["account.analytic.account"].create(
            {"name": "Treasury", "plan_id": plan.id, "company_id": self.company.id}
        )
        suspense = self.journal.suspense_account_id
        self.env["account.analytic.distribution.model"].create(
            {
                "account_prefix": suspense.code,
                "analytic_distribution": {str(analytic.id): 100},
                "company_id": self.company.id,
            }
        )
        entries = self.entries(date(2024, 2, 1), 12, 3, seed=2)
        analytic_lines = []
        self.import_both(
            [("eqv-analytic.xml", camt053("EQV-A", entries))],
            then=lambda _line: analytic_lines.append(
                self.env["account.analytic.line"].search_count(
                    [(plan._column_name(), "=", analytic.id)]
                )
            ),
        )
        # one analytic line per suspense item, in both runs (compared above)
        self.assertEqual(analytic_lines, [len(entries)] * 2)

    def test_posted_events(self):
        """A connection subscribed to move.posted: one event per entry, copies included.

        Jobs are stored for real (and rolled back with the run): queue_job's
        trap_jobs() stores a second job of the same identity key, where a real
        enqueue finds the pending one, so it would show a difference Odoo does
        not make.
        """
        self.env["finance.connect.subscription"].create(
            {"connection_id": self.connection.id, "event_type": "move.posted"}
        )
        entries = self.entries(date(2024, 3, 1), 10, 4, seed=6)
        events = []
        self.import_both(
            [("eqv-events.xml", camt053("EQV-E", entries))],
            then=lambda _line: events.append(
                self.env["finance.connect.message"].search_count(
                    [("event_type", "=", "move.posted"), ("res_model", "=", "account.move")]
                )
            ),
        )
        self.assertEqual(events, [len(entries)] * 2)

    def test_two_files_one_journal(self):
        """Two files into one journal, the second continuing the first's numbers."""
        first = self.entries(date(2024, 1, 1), 20, 3, seed=1)
        second = self.entries(date(2024, 1, 21), 20, 3, seed=3)
        total = sum((a for _d, a, _n, _i in first), Decimal(0))
        self.import_both(
            [
                ("eqv-a.xml", camt053("EQV-A1", first)),
                ("eqv-b.xml", camt053("EQV-B1", second, opening=total)),
            ]
        )

    def test_later_operations(self):
        """Edit, reverse, delete, undo, lock, secure (refused, then after explaining
        every line: the hashes compared) and reconcile a copied line: same rows as
        for the ORM's line."""
        entries = self.entries(date(2024, 1, 8), 12, 4, seed=4)
        files = [("eqv-ops.xml", camt053("EQV-O", entries))]

        def edit(line):
            line.write({"payment_ref": "Edited label", "amount": 123.45})

        def reverse(line):
            line.move_id._reverse_moves(
                [{"date": date(2024, 2, 1), "ref": "Reversal"}], cancel=True
            )

        def delete(line):
            line.unlink()

        def undo(line):
            line.action_undo_reconciliation()

        def lock(line):
            # Odoo refuses a lock date over unreconciled statement lines, copied or not
            with self.assertRaises(RedirectWarning):
                self.company.sudo().fiscalyear_lock_date = line.date
                self.env.flush_all()

        def secure(line):
            # Odoo's "secure entries" refuses to hash a journal with unreconciled lines
            moves = self.env["account.move"].search(
                [("journal_id", "=", line.journal_id.id), ("state", "=", "posted")]
            )
            with self.assertRaisesRegex(UserError, "reconciled"):
                moves._hash_moves(force_hash=True, raise_if_gap=False)

        def secure_reconciled(line):
            # every line explained (its suspense item booked to an income or expense
            # account, as the accountant does), then the journal's entries hashed:
            # the hashes chain over every entry's content, in number order
            lines = self.env["account.bank.statement.line"].search(
                [("journal_id", "=", line.journal_id.id)], order="internal_index"
            )
            income = self.company_data["default_account_revenue"]
            expense = self.company_data["default_account_expense"]
            for each in lines:
                _liquidity, suspense, _other = each._seek_for_lines()
                each.move_id.button_draft()
                suspense.account_id = income if each.amount > 0 else expense
                each.move_id.action_post()
            self.assertTrue(all(lines.mapped("is_reconciled")))
            moves = lines.move_id.sorted(lambda move: move.sequence_number)
            moves._hash_moves(force_hash=True, raise_if_gap=False)
            self.assertTrue(all(moves.mapped("inalterable_hash")), "every entry is hashed")
            report = self.company._check_hash_integrity()
            ours = [
                result
                for result in report["results"]
                if result["journal_name"].startswith(line.journal_id.name)
            ]
            self.assertTrue(ours)
            self.assertEqual({result["status"] for result in ours}, {"verified"}, ours)

        def reconcile(line):
            invoice = self.post_invoice(amount=line.amount, partner=line.partner_id)
            receivable = invoice.line_ids.filtered(
                lambda item: item.account_id.account_type == "asset_receivable"
            )
            self.env["finance.connect.bank.matcher"]._reconcile(line, receivable)
            self.assertTrue(receivable.matched_credit_ids, "the invoice is matched with the line")

        for operation in (edit, reverse, delete, undo, lock, secure, secure_reconciled, reconcile):
            with self.subTest(operation=operation.__name__):
                pick = self.a_copied_line
                if operation is reconcile:
                    pick = lambda: self.a_copied_line(credit=True)  # noqa: E731
                self.import_both(files, then=operation, pick=pick)
                self.assertTrue(self.picked_copy, "the line operated on was not a copy")
