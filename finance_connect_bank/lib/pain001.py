"""Build ISO 20022 pain.001 credit transfer initiations (001.001.09 or .03).

:func:`build_pain001` turns a :class:`PaymentBatch` into XML bytes. Every XML
part is written by its own small ``_build_*`` function. Text is transliterated
to the SEPA character set (``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and space) and
cut to its maximum length (names 70, unstructured remittance 140, ids 35).
Amounts must be positive with at most 2 decimals; ``NbOfTxs`` and ``CtrlSum``
are computed. A structured creditor reference (e.g. ``RF18...``) is sent
instead of unstructured remittance, as SEPA allows only one of the two.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

VERSIONS = ("001.001.09", "001.001.03")
NAME_LENGTH = 70
REMITTANCE_LENGTH = 140
ID_LENGTH = 35
MAX_AMOUNT = Decimal("999999999.99")
CENT = Decimal("0.01")

_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
_REPLACEMENTS = {
    "ß": "ss",
    "ä": "ae",
    "ö": "oe",
    "ü": "ue",
    "Ä": "Ae",
    "Ö": "Oe",
    "Ü": "Ue",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "&": "+",
    "_": "-",
}
_BIC = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$")
_ADDRESS_FIELDS = (
    ("street", "StrtNm", 70),
    ("building_number", "BldgNb", 16),
    ("postal_code", "PstCd", 16),
    ("town", "TwnNm", 35),
    ("country", "Ctry", 2),
)


@dataclass(kw_only=True)
class CreditTransfer:
    """One payment to a creditor."""

    end_to_end_id: str
    amount: Decimal
    currency: str = "EUR"
    creditor_name: str
    creditor_iban: str
    creditor_bic: str | None = None
    remittance: str | None = None
    structured_reference: str | None = None
    creditor_address: dict | None = None


@dataclass(kw_only=True)
class PaymentBatch:
    """One message with one payment information block."""

    message_id: str
    created_at: datetime
    initiating_party_name: str
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None = None
    requested_date: date
    payments: list[CreditTransfer] = field(default_factory=list)
    batch_booking: bool = True
    payment_information_id: str | None = None


# ---------------------------------------------------------------- values


def sepa_text(text, max_length):
    """Transliterate ``text`` to the SEPA character set and cut it to length."""
    chars = []
    for char in text or "":
        char = _REPLACEMENTS.get(char, char)
        if all(c in _ALLOWED for c in char):
            chars.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char)
        plain = "".join(c for c in plain if c in _ALLOWED)
        chars.append(plain or " ")
    return " ".join("".join(chars).split())[:max_length].strip()


def _required_text(text, max_length, what):
    value = sepa_text(text, max_length)
    if not value:
        raise ValueError(f"{what} is empty after transliteration: {text!r}")
    return value


def iban_is_valid(iban):
    """True for a well-formed IBAN with a correct mod-97 check."""
    compact = (iban or "").replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _iban(iban, what):
    if not iban_is_valid(iban):
        raise ValueError(f"invalid {what} IBAN {iban!r}")
    return iban.replace(" ", "").upper()


def _bic(bic, what):
    compact = (bic or "").replace(" ", "").upper()
    if compact and not _BIC.match(compact):
        raise ValueError(f"invalid {what} BIC {bic!r}")
    return compact or None


def _amount(payment):
    amount = Decimal(payment.amount)
    if amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        raise ValueError(
            f"invalid amount {payment.amount!r} for {payment.end_to_end_id!r}: "
            "must be positive with at most 2 decimals"
        )
    return amount.quantize(CENT)


def _sub(parent, tag, text=None, **attributes):
    """Add a child element in its parent's namespace."""
    namespace = etree.QName(parent).namespace
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


# ---------------------------------------------------------------- XML parts


def _build_group_header(parent, batch, total):
    header = _sub(parent, "GrpHdr")
    _sub(header, "MsgId", _required_text(batch.message_id, ID_LENGTH, "message id"))
    _sub(header, "CreDtTm", batch.created_at.replace(microsecond=0).isoformat())
    _sub(header, "NbOfTxs", str(len(batch.payments)))
    _sub(header, "CtrlSum", f"{total:.2f}")
    initiating = _sub(header, "InitgPty")
    _sub(
        initiating,
        "Nm",
        _required_text(batch.initiating_party_name, NAME_LENGTH, "initiating party name"),
    )


def _build_payment_type(parent, sepa):
    if sepa:
        kind = _sub(parent, "PmtTpInf")
        _sub(_sub(kind, "SvcLvl"), "Cd", "SEPA")


def _build_requested_date(parent, batch, version):
    if version == "001.001.03":
        _sub(parent, "ReqdExctnDt", batch.requested_date.isoformat())
    else:
        _sub(_sub(parent, "ReqdExctnDt"), "Dt", batch.requested_date.isoformat())


def _build_address(parent, address):
    if not address:
        return
    postal = _sub(parent, "PstlAdr")
    for key, tag, length in _ADDRESS_FIELDS:
        value = sepa_text(address.get(key), length)
        if value:
            _sub(postal, tag, value.upper() if tag == "Ctry" else value)


def _build_party(parent, tag, name, address=None):
    party = _sub(parent, tag)
    _sub(party, "Nm", _required_text(name, NAME_LENGTH, f"{tag} name"))
    _build_address(party, address)


def _build_account(parent, tag, iban):
    _sub(_sub(_sub(parent, tag), "Id"), "IBAN", iban)


def _build_agent(parent, tag, bic, version, required):
    if not bic and not required:
        return
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(institution, "BIC" if version == "001.001.03" else "BICFI", bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def _build_remittance(parent, payment):
    if payment.structured_reference:
        reference = sepa_text(payment.structured_reference, ID_LENGTH).replace(" ", "")
        info = _sub(_sub(_sub(parent, "RmtInf"), "Strd"), "CdtrRefInf")
        kind = _sub(info, "Tp")
        _sub(_sub(kind, "CdOrPrtry"), "Cd", "SCOR")
        if reference.startswith("RF"):
            _sub(kind, "Issr", "ISO")
        _sub(info, "Ref", reference)
    elif payment.remittance and sepa_text(payment.remittance, REMITTANCE_LENGTH):
        _sub(
            _sub(parent, "RmtInf"),
            "Ustrd",
            sepa_text(payment.remittance, REMITTANCE_LENGTH),
        )


def _build_transaction(parent, payment, version):
    transaction = _sub(parent, "CdtTrfTxInf")
    _sub(
        _sub(transaction, "PmtId"),
        "EndToEndId",
        _required_text(payment.end_to_end_id, ID_LENGTH, "end-to-end id"),
    )
    amount = _sub(transaction, "Amt")
    _sub(amount, "InstdAmt", f"{_amount(payment):.2f}", Ccy=payment.currency.upper())
    _build_agent(
        transaction,
        "CdtrAgt",
        _bic(payment.creditor_bic, "creditor"),
        version,
        required=False,
    )
    _build_party(transaction, "Cdtr", payment.creditor_name, payment.creditor_address)
    _build_account(transaction, "CdtrAcct", _iban(payment.creditor_iban, "creditor"))
    _build_remittance(transaction, payment)


def _build_payment_information(parent, batch, version, total):
    sepa = all(p.currency.upper() == "EUR" for p in batch.payments)
    info = _sub(parent, "PmtInf")
    payment_id = batch.payment_information_id or batch.message_id
    _sub(
        info,
        "PmtInfId",
        _required_text(payment_id, ID_LENGTH, "payment information id"),
    )
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "BtchBookg", "true" if batch.batch_booking else "false")
    _sub(info, "NbOfTxs", str(len(batch.payments)))
    _sub(info, "CtrlSum", f"{total:.2f}")
    _build_payment_type(info, sepa)
    _build_requested_date(info, batch, version)
    _build_party(info, "Dbtr", batch.debtor_name)
    _build_account(info, "DbtrAcct", _iban(batch.debtor_iban, "debtor"))
    _build_agent(info, "DbtrAgt", _bic(batch.debtor_bic, "debtor"), version, required=True)
    if sepa:
        _sub(info, "ChrgBr", "SLEV")
    for payment in batch.payments:
        _build_transaction(info, payment, version)


def build_pain001(batch, version="001.001.09"):
    """Return the pain.001 XML (UTF-8 bytes) for ``batch``."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported pain.001 version {version!r}; use one of {VERSIONS}")
    if not batch.payments:
        raise ValueError("a payment batch needs at least one payment")
    total = sum((_amount(payment) for payment in batch.payments), Decimal(0))
    namespace = f"urn:iso:std:iso:20022:tech:xsd:pain.{version}"
    document = etree.Element(f"{{{namespace}}}Document", nsmap={None: namespace})
    initiation = _sub(document, "CstmrCdtTrfInitn")
    _build_group_header(initiation, batch, total)
    _build_payment_information(initiation, batch, version, total)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
