"""The rows of a statement line rebuilt for another line (pure Python, no ORM).

``account.bank.statement.line._fc_create_bulk`` creates the first line of a
group through the ORM, reads its rows (statement line, move, two journal
items) and writes the group's next lines as copies of them: a
:class:`RowBuilder` rebuilds those rows with another line's values and ids,
and tells when a template cannot be copied (a rebuilt row that differs from
the original, or a column copied as is that holds a value of that very line).
:func:`copy_value` writes one value in PostgreSQL's COPY text format.
"""

import json
from datetime import date, datetime
from xmlrpc.client import MAXINT

CONSTANT_COLUMNS = {
    "create_date",
    "write_date",
    "create_uid",
    "write_uid",
    "invoice_date_due",
    "journal_id",
    "company_id",
    "currency_id",
    "company_currency_id",
    "account_id",
}


class RowBuilder:
    """Builds the three kinds of rows of a statement line from a template line.

    ``st_row``, ``move_row`` and ``aml_rows`` are the template line's rows
    (statement line, move, journal items); ``partners`` is ``{partner id:
    (commercial partner id, display name)}`` for the partners of the lines
    built; ``sequence_format`` and ``sequence_values`` say how the template's
    move name is written (Odoo's ``_get_sequence_format_param``);
    ``many2one`` is ``{"st" | "move" | "aml": the many2one columns of that
    table}``; ``rounded`` is the template's amount rounded to its currency.
    """

    def __init__(
        self,
        st_row,
        move_row,
        aml_rows,
        partners,
        sequence_format,
        sequence_values,
        many2one,
        rounded,
    ):
        self.sequence_format, self.sequence_values = sequence_format, sequence_values
        self.many2one = many2one
        self.st_row = st_row
        self.move_row = move_row
        self.aml_rows = aml_rows
        self.partners = partners
        amount = rounded
        self.residual_ratio = (st_row["amount_residual"] or 0.0) / amount
        self.aml_factors = [(row["balance"] or 0.0) / amount for row in aml_rows]

    def build(self, values, ids):
        """(statement line row, move row, [journal item rows]) for ``values``."""
        amount = values["rounded"]
        partner_id = values["partner_id"]
        commercial_id, display_name = self.partners.get(
            partner_id, (None, self.move_row["invoice_partner_display_name"])
        )
        if not partner_id:
            display_name = self.move_row["invoice_partner_display_name"]
        date = values["date"]
        st = dict(self.st_row)
        st.update(values["columns"])
        st.update(
            id=ids["st"],
            move_id=ids["move"],
            statement_id=values["statement_id"],
            partner_id=partner_id,
            payment_ref=values["payment_ref"],
            amount=values["amount"],
            sequence=values["sequence"],
            amount_residual=amount * self.residual_ratio,
            internal_index=f"{date:%Y%m%d}{MAXINT - values['sequence']:0>10}{ids['st']:0>10}",
        )
        move = dict(self.move_row)
        move.update(
            id=ids["move"],
            name=ids["name"],
            sequence_number=ids["seq"],
            date=date,
            partner_id=partner_id,
            commercial_partner_id=commercial_id,
            invoice_partner_display_name=display_name,
            statement_line_id=ids["st"],
            amount_total=abs(amount),
            amount_total_signed=abs(amount),
            amount_total_in_currency_signed=abs(amount),
        )
        amls = []
        for row, factor, aml_id in zip(self.aml_rows, self.aml_factors, ids["amls"], strict=True):
            balance = amount * factor
            aml = dict(row)
            aml.update(
                id=aml_id,
                move_id=ids["move"],
                move_name=ids["name"],
                date=date,
                partner_id=partner_id,
                name=values["payment_ref"],
                statement_line_id=ids["st"],
                statement_id=values["statement_id"],
                balance=balance,
                amount_currency=balance,
                debit=balance if balance > 0 else 0.0,
                credit=-balance if balance < 0 else 0.0,
                price_subtotal=balance,
                price_total=balance,
                amount_residual=balance if row["amount_residual"] else row["amount_residual"],
                amount_residual_currency=(
                    balance if row["amount_residual_currency"] else row["amount_residual_currency"]
                ),
            )
            amls.append(aml)
        return st, move, amls

    def check(self, rebuilt, template):
        """Why the rows cannot be cloned, or None when they can."""
        st, move, amls = rebuilt
        for kind, ours, theirs in (
            ("statement line", st, self.st_row),
            ("move", move, self.move_row),
            *(("journal item", a, b) for a, b in zip(amls, self.aml_rows, strict=True)),
        ):
            for column, value in theirs.items():
                if ours.get(column) != value:
                    return f"{kind} column {column}: {ours.get(column)!r} != {value!r}"
        # A column copied as is must not hold a value of this very line.
        # Ids of this line's records (compared with many2one columns only: a
        # small id equals many a constant) and its texts and date.
        own_ids = {
            self.st_row["id"],
            self.move_row["id"],
            *(r["id"] for r in self.aml_rows),
            template["partner_id"],
            template["statement_id"],
        } - {None, False}
        own = {template["date"], template["payment_ref"], self.move_row["name"]} - {None, ""}
        numbers = {
            template["amount"],
            -template["amount"],
            template["rounded"],
            -template["rounded"],
        }
        handled = {
            "st": {
                "id",
                "move_id",
                "statement_id",
                "partner_id",
                "payment_ref",
                "amount",
                "sequence",
                "amount_residual",
                "internal_index",
                *template["columns"],
            },
            "move": {
                "id",
                "name",
                "sequence_number",
                "date",
                "partner_id",
                "commercial_partner_id",
                "invoice_partner_display_name",
                "statement_line_id",
                "amount_total",
                "amount_total_signed",
                "amount_total_in_currency_signed",
            },
            "aml": {
                "id",
                "move_id",
                "move_name",
                "date",
                "partner_id",
                "name",
                "statement_line_id",
                "statement_id",
                "balance",
                "amount_currency",
                "debit",
                "credit",
                "price_subtotal",
                "price_total",
                "amount_residual",
                "amount_residual_currency",
            },
        }
        for kind, row in (
            ("st", self.st_row),
            ("move", self.move_row),
            *(("aml", r) for r in self.aml_rows),
        ):
            for column, value in row.items():
                if column in handled[kind] or column in CONSTANT_COLUMNS:
                    continue
                if isinstance(value, bool) or value is None:
                    continue
                many2one = column in self.many2one[kind]
                if (
                    (many2one and value in own_ids)
                    or (isinstance(value, str | date) and value in own)
                    or (isinstance(value, float) and value in numbers)
                ):
                    return f"{kind} column {column} holds a per-line value {value!r}"
        return None


def copy_value(value):
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    elif isinstance(value, date | datetime):
        return value.isoformat()
    elif isinstance(value, float):
        return repr(value)
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text
