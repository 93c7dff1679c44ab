"""Parsed bank statements, shared by every bank-format parser (camt, MT940, CSV).

Money is always :class:`decimal.Decimal`; line amounts are signed (credit
positive, debit negative). Parsers fill a :class:`Statement` with
:class:`StatementLine` objects and call :meth:`Statement.finalize` so that
each line knows its account and can compute a stable :meth:`import_id`.
"""

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from ...finance_connect.lib import xmlsafe  # sibling core addon, ORM-free

BOOKED_STATUSES = (None, "", "BOOK")
_ISO_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$"
)


def sanitize_account(number):
    """An account number as Odoo stores it in ``sanitized_acc_number``."""
    return re.sub(r"\W+", "", number or "").upper()


def parse_iso_datetime(text):
    """Read an ISO 20022 date-time (any fraction digits, optional zone).

    Raise ``ValueError`` when ``text`` is not one.
    """
    match = _ISO_DATETIME.match(text.strip())
    if not match:
        raise ValueError(f"invalid date-time {text!r}")
    day, clock, fraction, zone = match.groups()
    value = f"{day}T{clock}"
    if fraction:
        value += "." + fraction[:6].ljust(6, "0")
    if zone:
        value += "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(value)


class ParseError(ValueError):
    """A bank file could not be parsed; the message names the file (and line)."""

    def __init__(self, message, filename="", line=None):
        self.message = message
        self.filename = filename or ""
        self.line = line
        where = self.filename or "<data>"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {message}")


def parse_iso20022(data, filename, namespace_re, label):
    """Parse an ISO 20022 XML file (bytes) safely and check its namespace.

    Return the root with namespaces stripped and the ``namespace_re.fullmatch``
    of the document namespace. Raise :class:`ParseError` for unsafe or malformed
    XML, and for a document that is not a ``label`` (another namespace).
    """
    try:
        root = xmlsafe.parse_xml(data)
    except ValueError as exc:
        raise ParseError(str(exc), filename) from exc
    namespace = etree.QName(root).namespace or ""
    match = namespace_re.fullmatch(namespace)
    if not match:
        raise ParseError(f"not a {label} document (namespace {namespace!r})", filename)
    return xmlsafe.strip_namespaces(root), match


@dataclass(kw_only=True)
class StatementLine:
    """One booked movement. ``raw`` keeps format-specific extras."""

    date: date | None
    value_date: date | None = None
    amount: Decimal
    currency: str | None = None
    payment_ref: str | None = None
    partner_name: str | None = None
    partner_iban: str | None = None
    partner_bic: str | None = None
    entry_reference: str | None = None
    account_servicer_reference: str | None = None
    end_to_end_id: str | None = None
    mandate_id: str | None = None
    creditor_reference: str | None = None
    bank_transaction_code: str | None = None
    transaction_type: str | None = None
    raw: dict = field(default_factory=dict)
    account_key: str = ""

    def is_booked(self):
        """True unless the bank marked the line pending or informational."""
        return self.raw.get("status") in BOOKED_STATUSES

    def bank_reference(self):
        """The bank's reference identifying this line, or None.

        AcctSvcrRef (MT940: the ``//`` bank reference) as given; NtryRef,
        which some banks number per day, prefixed with the booking date. None
        when the reference repeats within the statement.
        """
        if not self.raw.get("reference_unique", True):
            return None
        if self.account_servicer_reference:
            return self.account_servicer_reference
        if self.entry_reference:
            day = self.date.isoformat() if self.date else ""
            return f"{day}/{self.entry_reference}"
        return None

    def hash_parts(self):
        """The values hashed into :meth:`import_id` when there is no bank reference."""
        return [
            self.account_key,
            self.date.isoformat() if self.date else "",
            format(self.amount.normalize(), "f"),
            self.end_to_end_id or "",
            self.payment_ref or "",
            self.partner_iban or "",
        ]

    def import_id(self, journal_key):
        """Stable id for dedupe: bank reference, else hash.

        With a bank reference (see :meth:`bank_reference`) that is unique
        within its statement: ``"<journal_key>:<account>:<reference>"``.
        Otherwise ``"<journal_key>:<account>:<sha256>"``, the hash taken over
        account, date, amount, end-to-end id, payment reference, partner IBAN
        and the occurrence number among identical lines of the statement.
        """
        reference = self.bank_reference()
        if reference:
            return f"{journal_key}:{self.account_key}:{reference}"
        parts = self.hash_parts() + [str(self.raw.get("occurrence", 0))]
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        return f"{journal_key}:{self.account_key}:{digest}"


@dataclass(kw_only=True)
class Statement:
    """A statement, intraday report or notification with its lines."""

    format: str
    statement_id: str
    account_iban: str | None = None
    account_number: str | None = None
    currency: str | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    opening_date: date | None = None
    closing_date: date | None = None
    created_at: datetime | None = None
    sequence: str | None = None
    lines: list[StatementLine] = field(default_factory=list)
    kind: str = "statement"
    raw: dict = field(default_factory=dict)

    @property
    def account_key(self):
        """The account identifier used to scope line ids (IBAN first)."""
        return self.account_iban or self.account_number or ""

    def entries_total(self):
        """Sum of the booked line amounts (pending/information lines excluded)."""
        return sum((line.amount for line in self.lines if line.is_booked()), Decimal(0))

    def balance_difference(self):
        """opening + sum(lines) - closing; ``None`` if a balance is missing."""
        if self.opening_balance is None or self.closing_balance is None:
            return None
        return self.opening_balance + self.entries_total() - self.closing_balance

    def finalize(self):
        """Give each line its account and mark references that repeat.

        A bank reference used by several lines is not trusted as an id
        (``raw["reference_unique"] = False``), and identical lines get an
        occurrence number so their hashed ids differ.
        """
        refs = Counter()
        for line in self.lines:
            line.account_key = self.account_key
            refs[line.account_servicer_reference or line.entry_reference] += 1
        seen = Counter()
        for line in self.lines:
            ref = line.account_servicer_reference or line.entry_reference
            line.raw["reference_unique"] = bool(ref) and refs[ref] == 1
            key = tuple(line.hash_parts())
            line.raw["occurrence"] = seen[key]
            seen[key] += 1
        return self
