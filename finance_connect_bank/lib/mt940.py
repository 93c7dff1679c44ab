"""SWIFT MT940 (statement) and MT942 (intraday report) parser.

Tags read: ``:20: :21: :25: :28: :28C: :60F: :60M: :61: :86: :NS: :62F: :62M:
:64: :65:`` and, for MT942, ``:34F: :13D: :90D: :90C:``. Any other line is a
continuation of the tag above it (so ``:26:37`` inside a wrapped ``:86:`` is
text, not a tag). Lines before the first tag, SWIFT ``{1:..}{2:..}{4:`` headers
and ``-`` / ``-}`` trailers are skipped; a new ``:20:`` starts a new statement.
A line holding only ``-`` inside a transaction's ``:86:`` that more tags of the
same statement follow is wrapped text (``EUR 1.234,-``), not a trailer.

``:25:`` may carry the account's currency after the number
(``NL91ABNA0417164300EUR``, with or without a space): it is taken off the
account (see :func:`_split_account_currency`).

Outcomes are strict where money could go missing: a file without any ``:20:``
(a fragment), a ``:61:`` outside a statement, statement header tags after the
transactions, or a statement with neither balances nor transactions raise
:class:`~.model.ParseError` naming the file and line.

Dates: ``YYMMDD`` with years 80-99 in the 1900s. As upstream MT940 libraries
do, February days past the month end (banks book interest on "February 30")
are moved to the last day of February (noted in ``line.raw["date_fixups"]``);
any other impossible date is a ParseError.

``:86:`` details are read in three styles: German ``?NN`` subfields (``?20-?29``
and ``?60-?63`` remittance with ``EREF+/MREF+/SVWZ+`` keywords, ``?30`` BIC,
``?31`` account, ``?32/?33`` name, ``?38`` IBAN), ``/CODE/value`` fields
(``/EREF/ /REMI/ /NAME/ /IBAN/ /BIC/ /CNTP/ /MARF/``) and free text.
"""

import calendar
import re
from datetime import date, datetime
from decimal import Decimal

from .model import ParseError, Statement, StatementLine

_TAG = re.compile(r"^:(20|21|25|28C?|60[FM]|61|62[FM]|64|65|86|NS|34F|13D?|90[DC]):(.*)$")
_TERMINATOR = re.compile(r"^-(\}.*|[A-Z]{0,3})\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BALANCE = re.compile(r"^([CD])(\d{6})([A-Z]{3})?(\d[\d,]*)$")
_STATEMENT_LINE = re.compile(
    r"""^(?P<value_date>\d{6})
    (?P<entry_date>\d{4}|\s{4})?
    (?P<mark>RC|RD|C|D)
    (?P<funds>[A-Z])?
    \s?(?P<amount>\d[\d,]*)
    (?P<type>[NSF][A-Z0-9 ]{3})?
    (?P<customer>(?:(?!//).){0,16})
    (?://(?P<bank>.{0,23}))?
    (?P<rest>.*)$""",
    re.VERBOSE,
)
_DATETIME = re.compile(r"^(\d{6})(\d{2})(\d{2})([+-]\d{4})?$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_ACCOUNT_CURRENCY = re.compile(r"^(?P<account>.*\d)\s?(?P<currency>[A-Z]{3})$")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_RF_REFERENCE = re.compile(r"^RF\d{2}[A-Z0-9]{1,21}$")
HEADER_TAGS = {"20", "21", "25", "28", "28C", "60F", "60M"}
CLOSING_TAGS = {"62F", "62M", "64", "65"}
_SEPA_KEYWORD = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|COAM|OAMT)\+")
_SLASH_CODE = re.compile(
    r"/(EREF|REMI|NAME|IBAN|BIC|CNTP|BENM|ORDP|MARF|CSID|TRTP|PREF|RTRN|ISDT|ULTB|ULTD"
    r"|PURP|SVCL|ATOM|BUSP|ADDR|CHGS|OCMT|EXCH)/"
)
FREE_TEXT_WIDTH = 65


class _Tag:
    """One tag occurrence with its continuation lines."""

    def __init__(self, tag, first, line):
        self.tag = tag
        self.lines = [first]
        self.line = line

    @property
    def first(self):
        """The value on the tag's own line."""
        return self.lines[0].strip()

    @property
    def text(self):
        """The value with its continuation lines."""
        return "\n".join(self.lines).strip()


# ---------------------------------------------------------------- tokenizer


def _decode(data):
    if isinstance(data, str):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.lstrip("\ufeff")


def _dash_in_text(current, line, lines, number):
    """True when a ``-`` line is wrapped text of a ``:86:``/``:61:`` field.

    Banks wrap ``:86:`` at a fixed width, so a text such as ``EUR 1.234,-``
    can leave a line holding only ``-``. It is a terminator only when no
    further tag of the same statement follows: the next tag line after it is
    ``:20:``, a SWIFT header, or the end of the file; or when the statement
    already had its closing balance.
    """
    if line.strip() != "-" or not current or current[1][-1].tag not in ("86", "61"):
        return False
    if any(tag.tag in CLOSING_TAGS for tag in current[1]):
        return False  # after the closing balance: the statement is over
    for following in lines[number:]:
        if following.startswith("{") or _TERMINATOR.match(following):
            return False
        match = _TAG.match(following)
        if match:
            return match.group(1) != "20"
    return False


def _blocks(text):
    """Split the text into blocks: a list of (kind_hint, [tags]).

    ``kind_hint`` is "940"/"942" from a SWIFT ``{2:`` header, else None.
    """
    blocks, current, kind_hint = [], None, None
    lines = [_CONTROL.sub("", raw_line) for raw_line in text.splitlines()]
    for number, line in enumerate(lines, 1):
        if line.startswith(("{1:", "{2:")):
            kind_hint = "942" if re.search(r"\{2:[IO]942", line) else "940"
            line = line.split("{4:", 1)[1] if "{4:" in line else ""
        if _TERMINATOR.match(line) and not _dash_in_text(current, line, lines, number):
            current = None
            continue
        match = _TAG.match(line)
        if match:
            tag = match.group(1)
            starts_new = current is None or (tag == "20" and any(t.tag == "20" for t in current[1]))
            if starts_new:
                current = (kind_hint, [])
                blocks.append(current)
            current[1].append(_Tag(tag, match.group(2), number))
        elif current is not None and current[1]:
            current[1][-1].lines.append(line)
    return blocks


# ---------------------------------------------------------------- values


def _amount(text, tag, filename):
    if not re.fullmatch(r"\d+(,\d*)?", text or ""):
        raise ParseError(f"invalid amount {text!r} in :{tag.tag}:", filename, tag.line)
    return Decimal(text.replace(",", "."))


def _yymmdd(text, tag, filename, fixups):
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:6])
    return _make_date(
        year + (1900 if year >= 80 else 2000), month, day, tag, filename, fixups, text
    )


def _make_date(year, month, day, tag, filename, fixups, text):
    try:
        return date(year, month, day)
    except ValueError:
        if month == 2 and 29 <= day <= 31:
            last = calendar.monthrange(year, 2)[1]
            fixups.append(f"{text}: February {day} read as February {last}")
            return date(year, 2, last)
        raise ParseError(f"invalid date {text!r} in :{tag.tag}:", filename, tag.line) from None


def _entry_date(text, value_date, tag, filename, fixups):
    month, day = int(text[:2]), int(text[2:])
    year = value_date.year
    if value_date.month == 12 and month == 1:
        year += 1
    elif value_date.month == 1 and month == 12:
        year -= 1
    return _make_date(year, month, day, tag, filename, fixups, text)


def _balance(tag, filename):
    match = _BALANCE.match(tag.first.replace(" ", ""))
    if not match:
        raise ParseError(f"invalid balance {tag.first!r} in :{tag.tag}:", filename, tag.line)
    mark, day, currency, amount = match.groups()
    value = _amount(amount, tag, filename)
    fixups = []
    return {
        "amount": -value if mark == "D" else value,
        "date": _yymmdd(day, tag, filename, fixups),
        "currency": currency,
    }


def _created_at(tag):
    match = _DATETIME.match(tag.first)
    if not match:
        return None
    day, hour, minute, offset = match.groups()
    year = int(day[:2]) + 2000
    try:
        moment = datetime(year, int(day[2:4]), int(day[4:6]), int(hour), int(minute))
        if offset:
            moment = datetime.fromisoformat(f"{moment.isoformat()}{offset[:3]}:{offset[3:]}")
    except ValueError:
        return None
    return moment


# ---------------------------------------------------------------- :86: details


def _german_details(text):
    """``?NN`` subfields (DFÜ / ZKA): code, subfields, joined values."""
    code, separator = text[:3], text[3]
    body = text[3:].replace("\n", "")
    fields = {}
    parts = re.split(re.escape(separator) + r"(\d{2})", body)
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        fields[key] = fields.get(key, "") + value
    remittance = "".join(fields.get(f"{n}", "") for n in range(20, 30))
    remittance += "".join(fields.get(f"{n}", "") for n in range(60, 64))
    bank = fields.get("30")  # a BIC, or a national bank code (BLZ)
    bank_is_bic = bool(_BIC.match(bank or ""))
    result = {
        "gvc": code,
        "posting_text": fields.get("00"),
        "prima_nota": fields.get("10"),
        "partner_bic": bank if bank_is_bic else None,
        "partner_bank_code": None if bank_is_bic else bank,
        "partner_account": fields.get("31"),
        "partner_name": (fields.get("32", "") + fields.get("33", "")) or None,
        "return_code": fields.get("34"),
        "partner_iban": fields.get("38"),
    }
    keywords = _SEPA_KEYWORD.split(remittance)
    if len(keywords) > 1:
        values = dict(zip(keywords[1::2], keywords[2::2], strict=True))
        result.update(
            end_to_end_id=values.get("EREF"),
            mandate_id=values.get("MREF"),
            creditor_id=values.get("CRED"),
            payment_ref=values.get("SVWZ") or remittance,
        )
        result["partner_iban"] = result["partner_iban"] or values.get("IBAN")
        result["partner_bic"] = result["partner_bic"] or values.get("BIC")
    else:
        result["payment_ref"] = remittance or fields.get("00")
    account = (result["partner_account"] or "").replace(" ", "")
    if not result["partner_iban"] and _IBAN.match(account):
        result["partner_iban"] = account
    return result


def _slash_details(text):
    """``/CODE/value`` fields (SWIFT / Dutch banks)."""
    body = text.replace("\n", "")
    matches = list(_SLASH_CODE.finditer(body))
    fields = {}
    for match, following in zip(matches, matches[1:] + [None], strict=True):
        end = following.start() if following else len(body)
        fields.setdefault(match.group(1), body[match.end() : end].rstrip("/"))
    result = {
        "end_to_end_id": fields.get("EREF"),
        "mandate_id": fields.get("MARF"),
        "creditor_id": fields.get("CSID"),
        "partner_name": fields.get("NAME"),
        "partner_iban": fields.get("IBAN"),
        "partner_bic": fields.get("BIC"),
        "payment_ref": fields.get("REMI"),
    }
    if fields.get("CNTP"):
        iban, bic, name = (fields["CNTP"].split("/") + ["", "", ""])[:3]
        result.update(
            partner_iban=result["partner_iban"] or iban,
            partner_bic=result["partner_bic"] or bic,
            partner_name=result["partner_name"] or name,
        )
    remittance = result["payment_ref"] or ""
    if remittance.startswith("USTD//"):
        result["payment_ref"] = remittance[6:]
    elif remittance.startswith("STRD/CUR/"):
        result["payment_ref"] = result["creditor_reference"] = remittance[9:]
    return result


def _wrap_width(lines):
    """The width the bank wrapped these ``:86:`` lines at, counted with the tag.

    SWIFT allows 65 characters per line; banks count them either after the
    ``:86:`` tag or with it. A field of three or more lines whose lines but the
    last are all as long as each other was wrapped at that width.
    """
    widths = [len(lines[0]) + len(":86:")] + [len(line) for line in lines[1:]]
    inner = set(widths[:-1])
    if len(widths) >= 3 and len(inner) == 1 and min(inner) >= 20:
        return inner.pop()
    return FREE_TEXT_WIDTH


def _free_text(lines):
    """Join lines; a line filling the wrap width continues unbroken.

    A line is full at the width found by :func:`_wrap_width`, or at 65
    characters with or without the ``:86:`` tag of the first line.
    """
    width = _wrap_width(lines) if lines else FREE_TEXT_WIDTH
    text = ""
    for position, line in enumerate(lines):
        if position:
            previous = lines[position - 1]
            physical = len(previous) + (len(":86:") if position == 1 else 0)
            full = physical >= width or len(previous) >= FREE_TEXT_WIDTH
            text += "" if full else " "
        text += line
    return " ".join(text.split()) or None


def parse_details(lines):
    """Read ``:86:`` lines into a dict of StatementLine fields and extras."""
    text = "\n".join(lines).strip()
    if re.match(r"^\d{3}[?>]\d{2}", text):
        result = _german_details(text)
    elif _SLASH_CODE.match(text):
        result = _slash_details(text)
    else:
        result = {"payment_ref": _free_text(lines)}
    for key, value in list(result.items()):
        if isinstance(value, str):
            value = " ".join(value.split())
            result[key] = None if value in ("", "NOTPROVIDED", "NONREF") else value
    return result


# ---------------------------------------------------------------- :61: lines


def _match_statement_line(tag):
    match = _STATEMENT_LINE.match(tag.lines[0].strip())
    if match is None and len(tag.lines) > 1:
        # Some banks (Sparkassen) break the line between the mark and the amount.
        match = _STATEMENT_LINE.match(tag.lines[0].strip() + tag.lines[1].strip())
        if match:
            return match, tag.lines[2:]
    return match, tag.lines[1:]


def _statement_line(tag, currency, filename):
    match, more = _match_statement_line(tag)
    if match is None:
        raise ParseError(f"invalid :61: statement line {tag.first!r}", filename, tag.line)
    fixups = []
    value_date = _yymmdd(match["value_date"], tag, filename, fixups)
    entry = (match["entry_date"] or "").strip()
    entry_date = _entry_date(entry, value_date, tag, filename, fixups) if entry else None
    amount = _amount(match["amount"], tag, filename)
    if match["mark"] in ("D", "RC"):  # debit, or reversal of a credit
        amount = -amount
    kind = (match["type"] or "").strip() or None
    supplementary = " ".join(" ".join([match["rest"] or ""] + [m.strip() for m in more]).split())
    customer = (match["customer"] or "").strip()
    bank = (match["bank"] or "").strip()
    line = StatementLine(
        date=entry_date or value_date,
        value_date=value_date,
        amount=amount,
        currency=currency,
        account_servicer_reference=bank if bank not in ("", "NONREF") else None,
        bank_transaction_code=kind,
        transaction_type=kind[1:] if kind else None,
        raw={
            "mark": match["mark"],
            "funds_code": match["funds"],
            "customer_reference": customer or None,
            "bank_reference": bank or None,
            "supplementary_details": supplementary or None,
            "entry_date": entry_date,
            "date_fixups": fixups,
            "source_line": tag.line,
        },
    )
    if _IBAN.match(supplementary.replace(" ", "")):
        line.partner_iban = supplementary.replace(" ", "")
    return line


def _apply_details(line, lines):
    details = parse_details(lines)
    line.raw["details"] = "\n".join(lines).strip()
    for field_name in (
        "payment_ref",
        "partner_name",
        "partner_bic",
        "end_to_end_id",
        "mandate_id",
        "creditor_reference",
    ):
        if details.get(field_name):
            setattr(line, field_name, details[field_name])
    line.partner_iban = details.get("partner_iban") or line.partner_iban
    if details.get("gvc"):
        line.bank_transaction_code = details["gvc"]
    for extra in (
        "gvc",
        "posting_text",
        "prima_nota",
        "partner_account",
        "partner_bank_code",
        "return_code",
        "creditor_id",
    ):
        if details.get(extra):
            line.raw[extra] = details[extra]
    ref = (line.payment_ref or "").replace(" ", "")
    if not line.creditor_reference and _RF_REFERENCE.match(ref):
        line.creditor_reference = ref


def _fallback_payment_ref(line):
    """Without ``:86:`` text: the :61: supplementary details or customer reference."""
    supplementary = line.raw.get("supplementary_details")
    if supplementary and supplementary.replace(" ", "") != line.partner_iban:
        return supplementary
    customer = line.raw.get("customer_reference")
    return customer if customer and customer != "NONREF" else None


# ---------------------------------------------------------------- statements


def _account(statement, value):
    statement.account_number = value
    compact = value.replace(" ", "")
    if _IBAN.match(compact):
        statement.account_iban = compact


def iban_checksum_ok(value):
    """True when ``value`` (no spaces) passes the IBAN mod-97 check."""
    if not _IBAN.match(value or ""):
        return False
    digits = "".join(str(int(char, 36)) for char in value[4:] + value[:4])
    return int(digits) % 97 == 1


def _split_account_currency(statement):
    """Read ``:25:NL91ABNA0417164300EUR`` (or ``... EUR``) as account + currency.

    Some banks (Rabobank, ING) put the account's currency after the number.
    The three letters are taken off when they are the statement's currency
    (from its balances), when a space sets them apart, or when the number
    without them passes the IBAN check and with them does not. A valid IBAN
    is never cut (Mauritian IBANs end in ``MUR``).
    """
    value = (statement.account_number or "").strip()
    match = _ACCOUNT_CURRENCY.match(value)
    if not match or iban_checksum_ok(value.replace(" ", "")):
        return
    account, currency = match["account"].strip(), match["currency"]
    compact = account.replace(" ", "")
    if not (
        currency == statement.currency
        or value[len(account) :].startswith(" ")
        or iban_checksum_ok(compact)
    ):
        return
    statement.account_number = account
    statement.account_iban = compact if _IBAN.match(compact) else None
    statement.raw["account_currency"] = currency
    statement.currency = statement.currency or currency


def _header_tag(statement, tag, filename):
    if tag.tag == "20":
        statement.statement_id = tag.first
    elif tag.tag == "21":
        statement.raw["related_reference"] = tag.first
    elif tag.tag == "25":
        _account(statement, tag.first)
    elif tag.tag in ("28", "28C"):
        statement.sequence = tag.first
    elif statement.opening_balance is not None:
        raise ParseError(f"second opening balance :{tag.tag}:", filename, tag.line)
    else:
        balance = _balance(tag, filename)
        statement.opening_balance = balance["amount"]
        statement.opening_date = balance["date"]
        statement.currency = statement.currency or balance["currency"]
        statement.raw["opening_tag"] = tag.tag


def _trailer_tag(statement, tag, filename):
    if tag.tag in ("62F", "62M"):
        balance = _balance(tag, filename)
        statement.closing_balance = balance["amount"]
        statement.closing_date = balance["date"]
        statement.currency = statement.currency or balance["currency"]
        statement.raw["closing_tag"] = tag.tag
    elif tag.tag in ("64", "65"):
        statement.raw.setdefault(f"balance_{tag.tag}", []).append(_balance(tag, filename))
    elif tag.tag in ("13", "13D"):
        statement.created_at = _created_at(tag)
    else:  # 34F, 90D, 90C
        statement.raw[tag.tag] = tag.text


def _statement(kind_hint, tags, filename):
    if tags[0].tag != "20":
        raise ParseError(
            f":{tags[0].tag}: outside a statement (no :20: before it)",
            filename,
            tags[0].line,
        )
    intraday = kind_hint == "942" or (
        any(t.tag in ("34F", "13D", "13") for t in tags)
        and not any(t.tag.startswith("60") for t in tags)
    )
    statement = Statement(
        format="mt942" if intraday else "mt940",
        statement_id="",
        kind="intraday" if intraday else "statement",
        raw={"source_line": tags[0].line},
    )
    line = None
    for tag in tags:
        if tag.tag in HEADER_TAGS:
            if statement.lines:
                raise ParseError(
                    f":{tag.tag}: after the transactions of statement "
                    f"{statement.statement_id!r}",
                    filename,
                    tag.line,
                )
            _header_tag(statement, tag, filename)
        elif tag.tag == "61":
            line = _statement_line(tag, statement.currency, filename)
            statement.lines.append(line)
        elif tag.tag in ("86", "NS"):
            target = line.raw if line is not None else statement.raw
            key = "details_lines" if tag.tag == "86" else "non_swift"
            target.setdefault(key, []).extend(tag.lines)
        else:
            line = None
            _trailer_tag(statement, tag, filename)
    if (
        not statement.lines
        and statement.opening_balance is None
        and (statement.closing_balance is None and "34F" not in statement.raw)
    ):
        raise ParseError(
            f"statement {statement.statement_id!r} has neither balances " "nor transactions",
            filename,
            tags[0].line,
        )
    for line in statement.lines:
        line.currency = line.currency or statement.currency
        if line.raw.get("details_lines"):
            _apply_details(line, line.raw.pop("details_lines"))
        line.payment_ref = line.payment_ref or _fallback_payment_ref(line)
    if statement.raw.get("details_lines"):
        statement.raw["information"] = _free_text(statement.raw.pop("details_lines"))
    _split_account_currency(statement)
    return statement.finalize()


def parse_mt940(data, filename=""):
    """Parse MT940/MT942 bytes into a list of statements (see module doc)."""
    blocks = _blocks(_decode(data))
    if not any(tag.tag == "20" for _hint, tags in blocks for tag in tags):
        raise ParseError("no MT940/MT942 statement found (no :20: tag)", filename)
    return [_statement(hint, tags, filename) for hint, tags in blocks]
