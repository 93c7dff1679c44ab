"""ISO 20022 camt.052 / camt.053 / camt.054 parser (any 001.NN version).

The message is recognised by its namespace
(``urn:iso:std:iso:20022:tech:xsd:camt.05X.001.NN``); one file may hold
several reports (``Rpt``), statements (``Stmt``) or notifications
(``Ntfctn``), each giving one :class:`~.model.Statement`.

Mapping:

- opening balance = ``OPBD`` (else ``PRCD``), closing balance = ``CLBD``;
  every balance is also kept in ``statement.raw["balances"]``;
- amounts are signed by ``CdtDbtInd`` (credit +, debit -);
- one line per ``Ntry``, with references and counterparty from its first
  ``TxDtls`` and the unstructured remittance of all of them; except batch
  entries whose several ``TxDtls`` each carry an amount in the entry currency
  adding up to the entry amount: those give one line per ``TxDtls``;
- an entry whose ``TxDtls`` amounts (entry currency) do not add up to it
  (bank charges deducted) stays one line of the booked amount, the difference
  kept in ``raw["detail_difference"]`` (see :func:`_note_detail_difference`);
- the counterparty is the debtor for a credit and the creditor for a debit,
  unless that side is missing or is the statement's own account.
"""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from ...finance_connect.lib import xmlsafe  # sibling core addon, ORM-free
from .model import ParseError, Statement, StatementLine, parse_iso20022, parse_iso_datetime

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d{2})")
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")
KINDS = {"052": "intraday", "053": "statement", "054": "notification"}
RECORD_TAGS = {"052": "Rpt", "053": "Stmt", "054": "Ntfctn"}


# ---------------------------------------------------------------- detection


def detect_camt(data):
    """Return ``("camt.05X", "NN")`` from the document namespace, else None."""
    head = data[:65536].decode("latin-1") if isinstance(data, bytes) else data[:65536]
    match = _NAMESPACE.search(head)
    if not match:
        return None
    return f"camt.{match.group(1)}", match.group(2)


def validate(data, xsd_dir):
    """Validate against ``camt.05X.001.NN.xsd`` from ``xsd_dir`` when present.

    Return error strings ("line N: ..."); an empty list when valid or when the
    directory holds no schema for this message version.
    """
    found = detect_camt(data)
    if not found:
        return ["not a camt.052/053/054 document (no camt namespace)"]
    xsd_path = Path(xsd_dir) / f"{found[0]}.001.{found[1]}.xsd"
    if not xsd_path.is_file():
        return []
    try:
        root = xmlsafe.parse_xml(data)
    except ValueError as exc:
        return [str(exc)]
    return xmlsafe.validate_xsd(root, xsd_path)


# ---------------------------------------------------------------- small readers


def _text(element, *paths):
    """First non-empty stripped text among ``paths`` below ``element``."""
    if element is None:
        return None
    for path in paths:
        found = element.find(path)
        if found is not None and found.text and found.text.strip():
            return found.text.strip()
    return None


def _texts(element, path):
    if element is None:
        return []
    return [e.text.strip() for e in element.findall(path) if e.text and e.text.strip()]


def _amount(element, filename, parent=None):
    """Read an ``Amt``-like element: (Decimal, currency)."""
    if element is None:
        where = parent.sourceline if parent is not None else None
        raise ParseError("missing <Amt>", filename, where)
    text = (element.text or "").strip()
    if not _AMOUNT.match(text):
        raise ParseError(
            f"invalid amount {text!r} in <{element.tag}>", filename, element.sourceline
        )
    return Decimal(text), element.get("Ccy")


def _sign(element, filename):
    indicator = _text(element, "CdtDbtInd")
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise ParseError(f"invalid or missing <CdtDbtInd> {indicator!r}", filename, element.sourceline)


def _datetime(element, filename):
    if element is None or not (element.text or "").strip():
        return None
    try:
        return parse_iso_datetime(element.text)
    except ValueError:
        raise ParseError(
            f"invalid date-time {element.text.strip()!r}", filename, element.sourceline
        ) from None


def _date(container, filename):
    """Read a Dt/DtTm choice: (date, datetime or None)."""
    if container is None:
        return None, None
    moment = _datetime(container.find("DtTm"), filename)
    if moment is not None:
        return moment.date(), moment
    day = container.find("Dt")
    if day is None or not (day.text or "").strip():
        return None, None
    try:
        return date.fromisoformat(day.text.strip()[:10]), None
    except ValueError:
        raise ParseError(f"invalid date {day.text.strip()!r}", filename, day.sourceline) from None


def _bank_transaction_code(element):
    domain = _text(element, "Domn/Cd")
    if domain:
        family = _text(element, "Domn/Fmly/Cd")
        sub_family = _text(element, "Domn/Fmly/SubFmlyCd")
        return "/".join(code for code in (domain, family, sub_family) if code)
    return _text(element, "Prtry/Cd")


# ---------------------------------------------------------------- parties


def _party(details, role):
    """(name, iban, other account id, bic) of the Dbtr or Cdtr side."""
    parties = details.find("RltdPties") if details is not None else None
    name = _text(parties, f"{role}/Nm", f"{role}/Pty/Nm", f"{role}/Agt/FinInstnId/Nm")
    account = parties.find(f"{role}Acct") if parties is not None else None
    iban = _text(account, "Id/IBAN")
    other = _text(account, "Id/Othr/Id", "Id/PrtryAcct/Id", "Id/BBAN")
    agent = f"RltdAgts/{role}Agt/FinInstnId"
    bic = _text(details, f"{agent}/BICFI", f"{agent}/BIC") if details is not None else None
    return name, iban, other, bic


def _counterparty(details, sign, own_accounts):
    """Debtor for a credit, creditor for a debit; the other side if that is us.

    A side is usable when it has a name or account that is not the statement's
    own account; with no usable side, no counterparty is given.
    """
    first, second = ("Dbtr", "Cdtr") if sign > 0 else ("Cdtr", "Dbtr")
    for role in (first, second):
        party = _party(details, role)
        if any(party[:3]) and (party[1] or party[2]) not in own_accounts:
            return party
    return None, None, None, None


# ---------------------------------------------------------------- entries


def _remittance(details_list, entry):
    """Unstructured text of all TxDtls, else structured, else additional info."""
    for path in ("RmtInf/Ustrd", "RmtInf/Strd/AddtlRmtInf"):
        texts = [t for details in details_list for t in _texts(details, path)]
        if texts:
            return " ".join(texts)
    for details in details_list:
        text = _creditor_reference(details) or _text(details, "AddtlTxInf")
        if text:
            return text
    return _text(entry, "AddtlNtryInf")


def _creditor_reference(details):
    return _text(details, "RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Strd/CdtrRefInf/CdtrRef")


def _detail_amount(details, currency, entry_sign, filename):
    element = details.find("Amt")
    if element is None:
        element = details.find("AmtDtls/TxAmt/Amt")
    if element is None or element.get("Ccy") != currency:
        return None
    amount, _currency = _amount(element, filename)
    indicator = _text(details, "CdtDbtInd")
    sign = {"CRDT": 1, "DBIT": -1}.get(indicator, entry_sign)
    return sign * amount


def _split_amounts(details_list, currency, sign, total, filename):
    """Signed amount per TxDtls when a batch entry can be split, else None."""
    if len(details_list) < 2:
        return None
    amounts = [_detail_amount(d, currency, sign, filename) for d in details_list]
    if any(a is None for a in amounts) or sum(amounts) != total:
        return None
    return amounts


def _note_detail_difference(line, details_list, currency, sign, filename):
    """Flag an entry whose transaction details do not add up to its amount.

    Typically bank charges deducted from a transfer: the entry books 98.50,
    its TxDtls says 100.00. The line keeps the booked amount (the balances
    hold it) and ``raw["details_total"]`` / ``raw["detail_difference"]``
    (entry amount minus the details' sum, signed like the line) say by how
    much they differ, so the difference is shown, never silently dropped.
    Details in another currency, or without amounts, are not compared; nor
    are their directions (a return's TxDtls may keep the original one).
    """
    amounts = [_detail_amount(d, currency, sign, filename) for d in details_list]
    if not amounts or any(a is None for a in amounts):
        return
    # A return may give its TxDtls the original direction: compare sizes.
    total = abs(sum(amounts, Decimal(0))).copy_sign(line.amount)
    if total != line.amount:
        line.raw["details_total"] = total
        line.raw["detail_difference"] = line.amount - total


def _line(entry_values, details_list, amount, sign, own_accounts, entry):
    """One StatementLine from entry-level values and the TxDtls it covers."""
    first = details_list[0] if details_list else None
    refs = first.find("Refs") if first is not None else None
    end_to_end = _text(refs, "EndToEndId")
    name, iban, other, bic = _counterparty(first, sign, own_accounts)
    values = {key: value for key, value in entry_values.items() if key != "raw"}
    raw = dict(entry_values["raw"])
    raw.update(
        partner_account=other,
        instruction_id=_text(refs, "InstrId"),
        transaction_id=_text(refs, "TxId"),
        uetr=_text(refs, "UETR"),
        ultimate_debtor=_text(first, "RltdPties/UltmtDbtr/Nm", "RltdPties/UltmtDbtr/Pty/Nm"),
        ultimate_creditor=_text(first, "RltdPties/UltmtCdtr/Nm", "RltdPties/UltmtCdtr/Pty/Nm"),
    )
    if not values["account_servicer_reference"]:
        values["account_servicer_reference"] = _text(refs, "AcctSvcrRef")
    if not values["bank_transaction_code"]:
        values["bank_transaction_code"] = _bank_transaction_code(
            first.find("BkTxCd") if first is not None else None
        )
    return StatementLine(
        amount=amount,
        payment_ref=_remittance(details_list, entry),
        partner_name=name,
        partner_iban=iban,
        partner_bic=bic,
        end_to_end_id=None if end_to_end == "NOTPROVIDED" else end_to_end,
        mandate_id=_text(refs, "MndtId"),
        creditor_reference=next(
            (ref for ref in map(_creditor_reference, details_list) if ref), None
        ),
        raw=raw,
        **values,
    )


def _entry_lines(entry, index, statement, fallback_date, filename):
    amount, currency = _amount(entry.find("Amt"), filename, entry)
    sign = _sign(entry, filename)
    booking_date, booking_moment = _date(entry.find("BookgDt"), filename)
    value_date, _moment = _date(entry.find("ValDt"), filename)
    details_list = entry.findall("NtryDtls/TxDtls")
    own_accounts = {statement.account_iban, statement.account_number} - {None}
    entry_values = {
        "date": booking_date or value_date or fallback_date,
        "value_date": value_date,
        "currency": currency,
        "entry_reference": _text(entry, "NtryRef"),
        "account_servicer_reference": _text(entry, "AcctSvcrRef"),
        "bank_transaction_code": _bank_transaction_code(entry.find("BkTxCd")),
        "transaction_type": _text(entry, "BkTxCd/Prtry/Cd"),
        "raw": {
            "entry_index": index,
            "entry_amount": sign * amount,
            "status": _text(entry, "Sts/Cd", "Sts/Prtry", "Sts"),
            "reversal": _text(entry, "RvslInd") == "true",
            "booking_date": booking_date,
            "booking_datetime": booking_moment,
            "additional_info": _text(entry, "AddtlNtryInf"),
            "source_line": entry.sourceline,
        },
    }
    split = _split_amounts(details_list, currency, sign, sign * amount, filename)
    if split is None:
        whole = sign * amount
        line = _line(entry_values, details_list, whole, sign, own_accounts, entry)
        _note_detail_difference(line, details_list, currency, sign, filename)
        return [line]
    lines = []
    for position, (details, part) in enumerate(zip(details_list, split, strict=True)):
        values = dict(entry_values, raw=dict(entry_values["raw"], tx_index=position))
        # Each transaction's own bank reference first, the batch's otherwise.
        batch_reference = entry_values["account_servicer_reference"]
        values["account_servicer_reference"] = _text(details, "Refs/AcctSvcrRef") or batch_reference
        part_sign = (part > 0) - (part < 0) or sign
        lines.append(_line(values, [details], part, part_sign, own_accounts, entry))
    return lines


# ---------------------------------------------------------------- statements


def _balance(element, filename):
    amount, currency = _amount(element.find("Amt"), filename, element)
    day, _moment = _date(element.find("Dt"), filename)
    return {
        "code": _text(element, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry", "Tp/Cd", "Tp/Prtry"),
        "amount": _sign(element, filename) * amount,
        "currency": currency,
        "date": day,
    }


def _pick(balances, *codes):
    for code in codes:
        for balance in balances:
            if balance["code"] == code:
                return balance
    return None


def _statement(record, message, version, header, filename):
    account = record.find("Acct")
    balances = [_balance(b, filename) for b in record.findall("Bal")]
    opening = _pick(balances, "OPBD", "PRCD") or {}
    closing = _pick(balances, "CLBD") or {}
    created = _datetime(record.find("CreDtTm"), filename) or header["created_at"]
    period_end = _datetime(record.find("FrToDt/ToDtTm"), filename)
    first_entry_amount = record.find("Ntry/Amt")
    statement = Statement(
        format=message,
        statement_id=_text(record, "Id") or "",
        account_iban=_text(account, "Id/IBAN"),
        account_number=_text(account, "Id/Othr/Id", "Id/PrtryAcct/Id", "Id/BBAN"),
        currency=_text(account, "Ccy")
        or opening.get("currency")
        or (first_entry_amount.get("Ccy") if first_entry_amount is not None else None),
        opening_balance=opening.get("amount"),
        closing_balance=closing.get("amount"),
        opening_date=opening.get("date"),
        closing_date=closing.get("date"),
        created_at=created,
        sequence=_text(record, "LglSeqNb", "ElctrncSeqNb"),
        kind=KINDS[message[-3:]],
        raw={
            "version": version,
            "balances": balances,
            "source_line": record.sourceline,
            **header,
        },
    )
    moment = period_end or created
    fallback_date = closing.get("date") or (moment.date() if moment else None)
    for index, entry in enumerate(record.findall("Ntry")):
        statement.lines.extend(_entry_lines(entry, index, statement, fallback_date, filename))
    return statement.finalize()


def _root(data, filename):
    root, match = parse_iso20022(data, filename, _NAMESPACE, "camt.052/053/054")
    return root, match.group(1), match.group(2)


def parse_camt(data, filename=""):
    """Parse a camt.052/053/054 file (bytes) into a list of statements."""
    root, message_type, version = _root(data, filename)
    container = root[0] if len(root) else None
    tag = RECORD_TAGS[message_type]
    records = container.findall(tag) if container is not None else []
    if not records:
        raise ParseError(f"camt.{message_type} message contains no <{tag}>", filename)
    header = {
        "message_id": _text(container, "GrpHdr/MsgId"),
        "created_at": _datetime(container.find("GrpHdr/CreDtTm"), filename),
    }
    message = f"camt.{message_type}"
    return [_statement(r, message, version, dict(header), filename) for r in records]
