"""ISO 20022 pain.002 (customer payment status report) parser.

Versions 001.001.03 (including the Swiss ``pain.002.001.03.ch.02`` variant,
namespace ``http://www.six-interbank-clearing.com/de/pain.002.001.03.ch.02.xsd``)
up to 001.001.11. Every level that carries a status or a reason gives one
:class:`TransactionStatus`: the group (``GrpSts``), each payment information
block (``PmtInfSts``) and each transaction (``TxSts``).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from .model import ParseError, parse_iso20022, parse_iso_datetime

_NAMESPACE = re.compile(
    r"(?:urn:iso:std:iso:20022:tech:xsd:|http://www\.six-interbank-clearing\.com/\w+/)"
    r"pain\.002\.001\.(\d{2})(\.ch\.\d{2})?(?:\.xsd)?"
)

REASON_CODES = {
    "AC01": "Incorrect account number",
    "AC02": "Invalid debtor account number",
    "AC03": "Invalid creditor account number",
    "AC04": "Closed account number",
    "AC05": "Closed debtor account number",
    "AC06": "Blocked account",
    "AC13": "Invalid debtor account type",
    "AG01": "Transaction forbidden",
    "AG02": "Invalid bank operation code",
    "AM01": "Zero amount",
    "AM02": "Not allowed amount",
    "AM03": "Not allowed currency",
    "AM04": "Insufficient funds",
    "AM05": "Duplication",
    "AM07": "Blocked amount",
    "AM09": "Wrong amount",
    "AM10": "Invalid control sum",
    "BE01": "Inconsistent with end customer",
    "BE04": "Missing creditor address",
    "BE05": "Unrecognised initiating party",
    "BE06": "Unknown end customer",
    "BE07": "Missing debtor address",
    "CH03": "Requested execution date too far in the future",
    "CH04": "Requested execution date too far in the past",
    "CH16": "Element content formally incorrect",
    "CH17": "Element not admitted",
    "CNOR": "Creditor bank is not registered",
    "CURR": "Incorrect currency",
    "CUST": "Requested by customer",
    "DNOR": "Debtor bank is not registered",
    "DS0A": "Data signature required",
    "DT01": "Invalid date",
    "DU01": "Duplicate message identification",
    "ED05": "Settlement failed",
    "FF01": "Invalid file format",
    "FF05": "Invalid local instrument code",
    "FOCR": "Following cancellation request",
    "MD01": "No mandate",
    "MD02": "Missing mandatory mandate information",
    "MD06": "Refund request by end customer",
    "MD07": "End customer deceased",
    "MS02": "Not specified reason customer generated",
    "MS03": "Not specified reason agent generated",
    "NARR": "Narrative (see additional information)",
    "RC01": "Bank identifier incorrect",
    "RF01": "Not unique transaction reference",
    "RR01": "Missing debtor account or identification (regulatory)",
    "RR02": "Missing debtor name or address (regulatory)",
    "RR03": "Missing creditor name or address (regulatory)",
    "RR04": "Regulatory reason",
    "SL01": "Specific service offered by debtor agent",
    "TM01": "Received after cut-off time",
}


def describe_reason(code):
    """English words for an ISO external status reason code."""
    if not code:
        return ""
    return REASON_CODES.get(code.strip().upper(), f"Unknown reason code {code}")


@dataclass(kw_only=True)
class TransactionStatus:
    """The status of one level (group, payment block or transaction)."""

    level: str
    status: str | None
    reason_code: str | None = None
    reason_text: str | None = None
    original_end_to_end_id: str | None = None
    original_instruction_id: str | None = None
    original_payment_information_id: str | None = None

    @property
    def reason_description(self):
        """English description of :attr:`reason_code`."""
        return describe_reason(self.reason_code)


@dataclass(kw_only=True)
class StatusReport:
    """A parsed pain.002 message."""

    message_id: str | None
    created_at: datetime | None
    original_message_id: str | None
    original_message_name: str | None
    group_status: str | None
    version: str
    statuses: list[TransactionStatus] = field(default_factory=list)

    def rejected(self):
        """Statuses whose code is RJCT."""
        return [status for status in self.statuses if status.status == "RJCT"]


def _text(element, path):
    found = element.find(path) if element is not None else None
    if found is None or not (found.text or "").strip():
        return None
    return found.text.strip()


def _reason(element):
    """(code, text) from the StsRsnInf blocks of ``element``."""
    infos = element.findall("StsRsnInf")
    code = next(
        (c for info in infos for c in (_text(info, "Rsn/Cd"), _text(info, "Rsn/Prtry")) if c),
        None,
    )
    texts = [
        t.text.strip() for info in infos for t in info.findall("AddtlInf") if (t.text or "").strip()
    ]
    return code, " ".join(texts) or None


def _status(element, level, status_tag, **ids):
    status = _text(element, status_tag)
    code, text = _reason(element)
    if status is None and code is None and text is None:
        return None
    return TransactionStatus(level=level, status=status, reason_code=code, reason_text=text, **ids)


def _parse_datetime(text):
    try:
        return parse_iso_datetime(text) if text else None
    except ValueError:
        return None


def parse_pain002(data, filename=""):
    """Parse a pain.002 file (bytes) into a :class:`StatusReport`."""
    root, match = parse_iso20022(data, filename, _NAMESPACE, "pain.002")
    report = root.find("CstmrPmtStsRpt")
    if report is None:
        raise ParseError("pain.002 document without <CstmrPmtStsRpt>", filename)
    group = report.find("OrgnlGrpInfAndSts")
    result = StatusReport(
        message_id=_text(report, "GrpHdr/MsgId"),
        created_at=_parse_datetime(_text(report, "GrpHdr/CreDtTm")),
        original_message_id=_text(group, "OrgnlMsgId"),
        original_message_name=_text(group, "OrgnlMsgNmId"),
        group_status=_text(group, "GrpSts"),
        version=f"001.001.{match.group(1)}{match.group(2) or ''}",
    )
    if group is not None:
        result.statuses.append(_status(group, "group", "GrpSts"))
    for payment in report.findall("OrgnlPmtInfAndSts"):
        payment_id = _text(payment, "OrgnlPmtInfId")
        result.statuses.append(
            _status(
                payment,
                "payment",
                "PmtInfSts",
                original_payment_information_id=payment_id,
            )
        )
        for transaction in payment.findall("TxInfAndSts"):
            result.statuses.append(
                _status(
                    transaction,
                    "transaction",
                    "TxSts",
                    original_payment_information_id=payment_id,
                    original_instruction_id=_text(transaction, "OrgnlInstrId"),
                    original_end_to_end_id=_text(transaction, "OrgnlEndToEndId"),
                )
            )
    result.statuses = [status for status in result.statuses if status is not None]
    return result
