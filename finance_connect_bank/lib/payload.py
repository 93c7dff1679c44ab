"""A bank file as the text payload of a message, and back (pure Python, no ORM).

Messages keep their payload as text: a text file is kept as it is, any other
file (ZIP, XLSX, a file that is not UTF-8 or holds NUL bytes) in base64, its
content type then marked ``encoding=base64``.
"""

import base64

BASE64_MARK = "encoding=base64"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def encode_file(data, filename):
    """``(text, content type)`` of the file ``data``: text as it is, others in base64."""
    lower = (filename or "").lower()
    kind = (
        "application/xml"
        if data.lstrip()[:1] == b"<"
        else "application/zip"
        if data[:2] == b"PK"
        else "text/plain"
    )
    if lower.endswith(".xlsx"):
        kind = XLSX_TYPE
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        return base64.b64encode(data).decode(), f"{kind}; {BASE64_MARK}"
    return text, kind


def decode_file(payload, content_type):
    """The file bytes of a payload made by :func:`encode_file`."""
    if BASE64_MARK in (content_type or ""):
        return base64.b64decode(payload or "")
    return (payload or "").encode("utf-8")
