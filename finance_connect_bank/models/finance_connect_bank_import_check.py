"""What the statement import checks before it creates lines.

For each parsed statement, ``finance.connect.bank.import`` asks this model:
the bank journal it goes to (given, else by its account, else through the
connection's mapping sets: ``_find_journals``, EXTEND to find journals
another way), whether its currency is the journal's, which of its entries the
journal already has (by import id, the unique constraint being the truth) and
why each was skipped, and whether its balances add up and follow on from the
journal's previous statement.
"""

from decimal import Decimal

from odoo import api, models
from odoo.addons.finance_connect.lib import mapping as lib_mapping
from odoo.tools import SQL, float_compare

from ..lib.model import ParseError, sanitize_account
from .finance_connect_bank_import import MESSAGE_DUPLICATES


class FinanceConnectBankImportCheck(models.AbstractModel):
    _name = "finance.connect.bank.import.check"
    _description = "Finance Connect bank import checks"

    @api.model
    def _refusal(self, text, category, record=None):
        """The ``ParseError`` refusing a statement: ``category`` is the exception
        inbox's category, ``record`` what the person opens to fix it ("Fix")."""
        error = ParseError(text)
        error.category = category
        error.record = record
        return error

    @api.model
    def _get_statement_journal(self, statement, journal=None, connection=None):
        """The bank journal of ``statement``: given, or found by its account."""
        account = sanitize_account(statement.account_key)
        if journal:
            own = journal.bank_account_id.sanitized_acc_number
            if account and own and own != account:
                raise self._refusal(
                    self.env._(
                        "the statement is for account %(acc)s but journal %(journal)s has "
                        "account %(own)s: import it into the journal of account %(acc)s, or "
                        "correct the journal's bank account if it is wrong",
                        acc=statement.account_key,
                        journal=journal.display_name,
                        own=journal.bank_acc_number,
                    ),
                    "bank_account",
                    journal,
                )
            return journal
        if not account:
            raise self._refusal(
                self.env._(
                    "the statement names no bank account, so its journal cannot be found: "
                    "upload it again and choose the journal"
                ),
                "bank_file",
            )
        on_date = statement.closing_date or max(
            (line.date for line in statement.lines if line.date), default=None
        )
        journals = self._find_journals(account, connection=connection, on_date=on_date)
        if not journals:
            raise self._refusal(
                self.env._(
                    "no bank journal of your companies has account %(acc)s: set "
                    "%(acc)s as the bank account of its bank journal (Fix opens the bank "
                    "journals), or map it to a journal (journal line, inbound) in a mapping "
                    "set of the connection",
                    acc=statement.account_key,
                ),
                "bank_account",
            )
        if len(journals) > 1:
            raise self._refusal(
                self.env._(
                    "%(n)s bank journals (%(journals)s) have account %(acc)s, and one is "
                    "needed: keep the account on one of them (Fix opens them), or upload the "
                    "file again choosing the journal",
                    n=len(journals),
                    journals=", ".join(journals.mapped("display_name")),
                    acc=statement.account_key,
                ),
                "bank_account",
                journals,
            )
        return journals

    @api.model
    def _find_journals(self, account, connection=None, on_date=None):
        """Bank journals of the user's companies whose account is ``account``.

        When no journal has that account, the journal a mapping set of
        ``connection`` maps it to (see :meth:`_find_journals_by_mapping`).
        EXTEND to find journals another way.
        """
        domain = [("type", "=", "bank"), ("company_id", "in", self.env.companies.ids)]
        journals = self.env["account.journal"].search(
            domain + [("bank_account_id.sanitized_acc_number", "=", account)]
        )
        if not journals and "/" not in account:
            # Account numbers given without their bank code (MT940 "BLZ/number").
            journals = (
                self.env["account.journal"]
                .search(domain)
                .filtered(
                    lambda j: (j.bank_account_id.sanitized_acc_number or "").endswith(account)
                    and len(account) >= 6
                )
            )
        if not journals and connection:
            journals = self._find_journals_by_mapping(account, connection, on_date)
        return journals

    @api.model
    def _find_journals_by_mapping(self, account, connection, on_date=None):
        """The bank journal that ``connection``'s mapping sets map ``account`` to.

        Journal lines read inbound: the external code is the bank account
        (IBAN or account number, compared without spaces or punctuation, in
        capitals), the Odoo value the journal's code. An account two lines
        map to different journals is refused (never a guess).
        """
        empty = self.env["account.journal"]
        sets = connection._get_mapping_sets()
        if not sets:
            return empty
        lines = sets.line_ids.filtered(
            lambda line: line.mapping_type == "journal" and line.external_code
        )
        table = lib_mapping.MappingTable(
            line._replace(source=sanitize_account(line.source))
            for line in lines._to_table_lines()
            if line.direction == lib_mapping.INBOUND
        )
        try:
            code = table.resolve("journal", account, lib_mapping.INBOUND, on_date).target
        except lib_mapping.Ambiguous as exc:
            raise self._refusal(
                self.env._(
                    "the mapping sets of %(conn)s map account %(acc)s to different journals "
                    "(mapping lines %(lines)s): keep one line",
                    conn=connection.display_name,
                    acc=account,
                    lines=", ".join(str(i) for i in exc.line_ids),
                ),
                "bank_account",
                sets,
            ) from exc
        except lib_mapping.Unmapped:
            return empty
        return empty.search(
            [
                ("type", "=", "bank"),
                ("code", "=", code),
                ("company_id", "=", connection.company_id.id),
                ("company_id", "in", self.env.companies.ids),
            ]
        )

    @api.model
    def _check_currency(self, statement, journal):
        currency = journal.currency_id or journal.company_id.currency_id
        found = {statement.currency} | {line.currency for line in statement.lines}
        found.discard(None)
        if found - {currency.name}:
            raise self._refusal(
                self.env._(
                    "the statement is in %(found)s but journal %(journal)s keeps %(cur)s: "
                    "import it into the bank journal of that account in %(found)s (create "
                    "one with the account and currency %(found)s if there is none)",
                    found=", ".join(sorted(found)),
                    journal=journal.display_name,
                    cur=currency.name,
                ),
                "bank_currency",
                journal,
            )

    @api.model
    def _existing_import_ids(self, journal, import_ids):
        self.env["account.bank.statement.line"].flush_model(["fc_import_id", "journal_id"])
        self.env.cr.execute(
            SQL(
                """SELECT fc_import_id FROM account_bank_statement_line
                    WHERE journal_id = %s AND fc_import_id = ANY(%s)""",
                journal.id,
                list(import_ids),
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _explain_duplicates(self, journal, booked, import_ids, existing):
        """Why each skipped entry was skipped: one text per entry of ``booked``
        whose import id ``journal`` already has, naming the earlier statement
        line, its statement, the file and message it came from, and the id."""
        keys = [key for key in import_ids if key in existing]
        if not keys:
            return []
        Line = self.env["account.bank.statement.line"]
        Line.flush_model(["fc_import_id", "journal_id", "statement_id", "fc_message_id"])
        self.env["finance.connect.message"].flush_model(["fc_filename", "reference"])
        self.env["account.bank.statement"].flush_model(["name"])
        self.env.cr.execute(
            SQL(
                """SELECT line.fc_import_id, line.id, statement.name, message.fc_filename,
                          message.reference
                     FROM account_bank_statement_line line
                LEFT JOIN account_bank_statement statement ON statement.id = line.statement_id
                LEFT JOIN finance_connect_message message ON message.id = line.fc_message_id
                    WHERE line.journal_id = %s AND line.fc_import_id = ANY(%s)""",
                journal.id,
                keys,
            )
        )
        earlier = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        texts = []
        for line, key in zip(booked, import_ids, strict=True):
            if key not in earlier:
                continue
            line_id, statement, filename, reference = earlier[key]
            texts.append(
                self.env._(
                    "%(date)s %(amount)s %(label)s: already imported as statement line "
                    "%(line)s (statement %(statement)s) from file %(file)s, message %(ref)s; "
                    "import id %(key)s",
                    date=line.date,
                    amount=line.amount,
                    label=line.payment_ref or line.partner_name or "",
                    line=line_id,
                    statement=statement or "-",
                    file=filename or "?",
                    ref=reference or "?",
                    key=key,
                )
            )
        return texts

    @api.model
    def _check_balances(self, statement, journal, booked, existing, journal_key):
        """A text describing a balance problem, or None."""
        if statement.opening_balance is None or statement.closing_balance is None:
            return None
        currency = journal.currency_id or journal.company_id.currency_id
        total = sum((line.amount for line in booked), Decimal(0))
        if statement.opening_balance + total != statement.closing_balance:
            return self.env._(
                "opening balance %(opening)s + entries %(total)s = %(expected)s, but the "
                "closing balance is %(closing)s (difference %(diff)s)",
                opening=statement.opening_balance,
                total=total,
                expected=statement.opening_balance + total,
                closing=statement.closing_balance,
                diff=statement.opening_balance + total - statement.closing_balance,
            )
        already = sum(
            (line.amount for line in booked if line.import_id(journal_key) in existing),
            Decimal(0),
        )
        opening = statement.opening_balance + already
        previous = self._previous_statement(journal, statement)
        if previous and float_compare(
            previous.balance_end_real, float(opening), precision_rounding=currency.rounding
        ):
            return self.env._(
                "the opening balance %(opening)s does not follow on from the closing "
                "balance %(previous)s of the previous statement %(name)s (difference %(diff)s)",
                opening=opening,
                previous=currency.round(previous.balance_end_real),
                name=previous.name,
                diff=currency.round(float(opening) - previous.balance_end_real),
            )
        return None

    @api.model
    def _previous_statement(self, journal, statement):
        day = statement.closing_date or max(
            (line.date for line in statement.lines if line.date), default=None
        )
        domain = [("journal_id", "=", journal.id)]
        if day:
            domain.append(("date", "<=", day))
        return self.env["account.bank.statement"].search(
            domain, order="date desc, id desc", limit=1
        )

    @api.model
    def _explain_message_lines(self, message):
        """One text per statement line ``message`` created (see _explain_duplicates)."""
        lines = self.env["account.bank.statement.line"].search(
            [("fc_message_id", "=", message.id)], order="id", limit=MESSAGE_DUPLICATES
        )
        return [
            self.env._(
                "%(date)s %(amount)s %(label)s: already imported as statement line %(line)s "
                "(statement %(statement)s) from file %(file)s, message %(ref)s; import id "
                "%(key)s",
                date=line.date,
                amount=line.amount,
                label=line.payment_ref or "",
                line=line.id,
                statement=line.statement_id.name or "-",
                file=message.fc_filename or "?",
                ref=message.reference,
                key=line.fc_import_id,
            )
            for line in lines
        ]
