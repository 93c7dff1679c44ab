"""Bank exports in CSV or XLSX, read through a :class:`ColumnProfile`.

A profile says how one bank writes its export: delimiter, encoding, header
rows to skip, date and number formats, and which column holds what (by
header name or by 0-based index). The amount is either one signed ``amount``
column or a ``debit`` and a ``credit`` column (a debit value is always taken
as money out, whatever its sign). Only lines are read: balances stay ``None``.
Errors name the row number (1-based, as a spreadsheet shows it) and column.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import openpyxl

from .model import ParseError, Statement, StatementLine

MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024
_TEXT_FIELDS = ("currency", "payment_ref", "partner_name", "partner_iban", "reference")


@dataclass(kw_only=True)
class ColumnProfile:
    """How to read one bank's CSV/XLSX export. Columns: header name or index."""

    delimiter: str = ";"
    encoding: str = "utf-8"
    quotechar: str = '"'
    header_rows: int = 1
    date_format: str = "%d.%m.%Y"
    decimal_separator: str = ","
    thousands_separator: str = "."
    date: str | int = 0
    value_date: str | int | None = None
    amount: str | int | None = None
    debit: str | int | None = None
    credit: str | int | None = None
    currency: str | int | None = None
    payment_ref: str | int | None = None
    partner_name: str | int | None = None
    partner_iban: str | int | None = None
    reference: str | int | None = None
    default_currency: str | None = None
    sheet: str | None = None

    def __post_init__(self):
        if self.amount is None and (self.debit is None or self.credit is None):
            raise ValueError("a column profile needs 'amount' or both 'debit' and 'credit'")


class _Reader:
    """Turns rows into statement lines following a profile."""

    def __init__(self, profile, filename):
        self.profile = profile
        self.filename = filename
        self.indexes = {}
        self.header_seen = False

    def set_header(self, header):
        """Resolve the profile's columns against the header row."""
        self.header_seen = True
        names = [str(cell or "").strip().lower() for cell in header]
        fields = ("date", "value_date", "amount", "debit", "credit") + _TEXT_FIELDS
        for name in fields:
            column = getattr(self.profile, name)
            if column is None:
                continue
            if isinstance(column, int):
                self.indexes[name] = column
            elif column.strip().lower() in names:
                self.indexes[name] = names.index(column.strip().lower())
            else:
                raise ParseError(
                    f"column {column!r} ({name}) not found in the header "
                    f"{[str(c) for c in header]}",
                    self.filename,
                )

    def _cell(self, row, name):
        index = self.indexes.get(name)
        if index is None or index >= len(row):
            return None
        value = row[index]
        return value.strip() if isinstance(value, str) else value

    def _error(self, number, name, message):
        column = getattr(self.profile, name)
        return ParseError(f"row {number}, column {column!r}: {message}", self.filename)

    def _date(self, row, number, name):
        value = self._cell(row, name)
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(str(value), self.profile.date_format).date()
        except ValueError:
            raise self._error(
                number,
                name,
                f"invalid date {value!r} (expected {self.profile.date_format})",
            ) from None

    def _amount(self, row, number, name):
        value = self._cell(row, name)
        if value in (None, ""):
            return None
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            amount = Decimal(str(value))  # str(): the shortest form, not binary noise
            if not amount.is_finite():
                raise self._error(number, name, f"invalid amount {value!r}")
            return amount
        return self._number(str(value), number, name)

    def _number(self, text, number, name):
        cleaned = re.sub(r"[^\d,.\-+()]", "", text.replace("\u2212", "-"))
        negative = (
            cleaned.startswith("-")
            or cleaned.endswith("-")
            or (cleaned.startswith("(") and cleaned.endswith(")"))
        )
        cleaned = cleaned.strip("-+()")
        if self.profile.thousands_separator:
            cleaned = cleaned.replace(self.profile.thousands_separator, "")
        cleaned = cleaned.replace(self.profile.decimal_separator, ".")
        if not re.fullmatch(r"\d+(\.\d+)?", cleaned):
            raise self._error(number, name, f"invalid amount {text!r}")
        amount = Decimal(cleaned)
        return -amount if negative else amount

    def line(self, row, number):
        """The StatementLine for data row ``row`` (1-based ``number``)."""
        if self.profile.amount is not None:
            amount = self._amount(row, number, "amount")
            missing = "amount"
        else:
            debit = self._amount(row, number, "debit")
            credit = self._amount(row, number, "credit")
            amount = (
                None
                if debit is None and credit is None
                else ((credit or Decimal(0)) - abs(debit or Decimal(0)))
            )
            missing = "credit"
        if amount is None:
            raise self._error(number, missing, "no amount")
        booking = self._date(row, number, "date")
        if booking is None:
            raise self._error(number, "date", "no date")
        texts = {name: self._cell(row, name) for name in _TEXT_FIELDS}
        texts = {k: str(v) if v not in (None, "") else None for k, v in texts.items()}
        return StatementLine(
            date=booking,
            value_date=self._date(row, number, "value_date"),
            amount=amount,
            currency=texts["currency"] or self.profile.default_currency,
            payment_ref=texts["payment_ref"],
            partner_name=texts["partner_name"],
            partner_iban=(texts["partner_iban"] or "").replace(" ", "") or None,
            account_servicer_reference=texts["reference"],
            raw={"row": number},
        )


def _read_rows(rows, profile, filename, format_name):
    reader = _Reader(profile, filename)
    statement = Statement(
        format=format_name,
        statement_id=filename or format_name,
        currency=profile.default_currency,
    )
    if profile.header_rows == 0:
        reader.set_header([])
    for number, row in enumerate(rows, 1):
        if number < profile.header_rows:
            continue
        if number == profile.header_rows:
            reader.set_header(row)
            continue
        if not any(str(cell).strip() for cell in row if cell is not None):
            continue
        statement.lines.append(reader.line(list(row), number))
    if not reader.header_seen:
        raise ParseError(f"fewer than {profile.header_rows} header rows", filename)
    return statement.finalize()


def parse_csv(data, profile, filename=""):
    """Parse CSV bytes with ``profile`` into one statement (lines only)."""
    encoding = "utf-8-sig" if profile.encoding.lower() in ("utf-8", "utf8") else profile.encoding
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParseError(f"cannot decode as {profile.encoding}: {exc}", filename) from exc
    rows = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=profile.delimiter,
        quotechar=profile.quotechar,
    )
    try:
        return _read_rows(rows, profile, filename, "csv")
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", filename) from exc


def _check_xlsx(data, filename):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ParseError(f"not an XLSX file: {exc}", filename) from exc
    if size > MAX_XLSX_UNCOMPRESSED:
        raise ParseError(f"XLSX unpacks to {size} bytes, over the limit", filename)


def parse_xlsx(data, profile, filename=""):
    """Parse an XLSX workbook (first sheet, or ``profile.sheet``) like a CSV."""
    _check_xlsx(data, filename)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types on bad files
        raise ParseError(f"cannot open XLSX: {exc}", filename) from exc
    try:
        sheet = workbook[profile.sheet] if profile.sheet else workbook.worksheets[0]
        profile_rows = sheet.iter_rows(values_only=True)
        return _read_rows(profile_rows, profile, filename, "xlsx")
    except KeyError as exc:
        raise ParseError(f"no sheet {profile.sheet!r}", filename) from exc
    finally:
        workbook.close()
