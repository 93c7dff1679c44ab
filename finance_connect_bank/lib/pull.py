"""The answer of a bank's statement pull endpoint, read without the ORM.

The contract (also in ``readme/CONFIGURE.md``). Odoo asks::

    GET <base URL>/<pull path>?cursor=<cursor>        cursor mode
    GET <base URL>/<pull path>?since=<YYYY-MM-DD>     date mode

(no ``cursor`` / ``since`` on the very first pull) and understands three answers:

- ``204 No Content`` or an empty body: nothing new;
- a JSON object (``Content-Type: application/json``)::

      {"files": [{"id": "...", "name": "...", "content_base64": "...",
                  "content_type": "..."}],
       "next_cursor": "...", "next_date": "YYYY-MM-DD", "has_more": false}

  each file with ``content_base64`` or ``content`` (text); every other key
  is optional;
- any other body: one file. ``X-File-Id`` (else the ``ETag``) identifies
  it, ``Content-Disposition``'s filename (else ``X-File-Name``) names it,
  and the headers ``X-Next-Cursor``, ``X-Next-Date`` and ``X-Has-More``
  play the part of the JSON keys.

A file's idempotency key is its id, else the answer's ETag, else the
SHA-256 of its content: pulling the same file twice stores it once.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from email.message import Message

MAX_ID_LENGTH = 200
MAX_CURSOR_LENGTH = 2000
MAX_NAME_LENGTH = 200


class PullAnswerError(ValueError):
    """The endpoint's answer does not follow the contract."""


@dataclass(frozen=True)
class PulledFile:
    key: str  # idempotency key of the inbound message
    name: str
    content: bytes
    content_type: str = ""
    file_id: str = ""  # the bank's id of the file ("" when it gave none)


@dataclass
class PullAnswer:
    files: list = field(default_factory=list)
    next_cursor: str | None = None  # None: keep the stored cursor
    next_date: date | None = None  # None: the date of the pull
    has_more: bool = False


def file_key(content, file_id="", etag=""):
    """Idempotency key of a pulled file: bank id, else ETag, else SHA-256."""
    if file_id:
        return f"pull:id:{file_id}"
    if etag:
        return f"pull:etag:{etag}"
    return "file:" + hashlib.sha256(content).hexdigest()


def _lower_headers(headers):
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _clean_id(value, what):
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PullAnswerError(f"{what} must be text or a number")
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        raise PullAnswerError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    return text


def _clean_cursor(value, what):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PullAnswerError(f"{what} must be text or a number")
    text = str(value).strip()
    if not text or len(text) > MAX_CURSOR_LENGTH or any(c in text for c in "\r\n\x00"):
        raise PullAnswerError(f"{what} is empty, too long or not one line")
    return text


def _clean_date(value, what):
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PullAnswerError(f"{what} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise PullAnswerError(f"{what} {value!r} is not a date written YYYY-MM-DD") from exc


def _clean_name(value, default):
    name = str(value or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(c for c in name if c.isprintable())
    return (name or default)[:MAX_NAME_LENGTH]


def _flag(value):
    return str(value or "").strip().lower() in ("1", "true", "yes")


def _etag(headers):
    value = headers.get("etag", "").strip()
    if value.startswith("W/"):
        value = value[2:]
    return _clean_id(value.strip('"'), "the ETag")


def _disposition_name(headers):
    value = headers.get("content-disposition")
    if not value:
        return ""
    message = Message()
    message["content-disposition"] = value
    return message.get_filename() or ""


def parse_answer(status, headers, body, default_name="statement"):
    """A :class:`PullAnswer` from a 2xx answer; :class:`PullAnswerError` if malformed."""
    headers = _lower_headers(headers)
    next_cursor = _clean_cursor(headers.get("x-next-cursor"), "the X-Next-Cursor header")
    next_date = _clean_date(headers.get("x-next-date"), "the X-Next-Date header")
    has_more = _flag(headers.get("x-has-more"))
    if status == 204 or not body or not body.strip():
        return PullAnswer([], next_cursor, next_date, False)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return _parse_json(body, default_name, next_cursor, next_date, has_more)
    file_id = _clean_id(headers.get("x-file-id"), "the X-File-Id header")
    name = _clean_name(_disposition_name(headers) or headers.get("x-file-name"), default_name)
    pulled = PulledFile(
        key=file_key(body, file_id, _etag(headers)),
        name=name,
        content=body,
        content_type=content_type,
        file_id=file_id,
    )
    return PullAnswer([pulled], next_cursor, next_date, has_more)


def _parse_json(body, default_name, next_cursor, next_date, has_more):
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PullAnswerError(f"the answer is not valid JSON: {exc}") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("files"), list):
        raise PullAnswerError('the JSON answer has no "files" list')
    files = []
    for index, entry in enumerate(answer["files"]):
        files.append(_parse_entry(index, entry, default_name))
    if "next_cursor" in answer:
        next_cursor = _clean_cursor(answer["next_cursor"], '"next_cursor"')
    if "next_date" in answer:
        next_date = _clean_date(answer["next_date"], '"next_date"')
    if "has_more" in answer:
        if not isinstance(answer["has_more"], bool):
            raise PullAnswerError('"has_more" must be true or false')
        has_more = answer["has_more"]
    return PullAnswer(files, next_cursor, next_date, has_more)


def _parse_entry(index, entry, default_name):
    where = f"files[{index}]"
    if not isinstance(entry, dict):
        raise PullAnswerError(f"{where} is not a JSON object")
    file_id = _clean_id(entry.get("id"), f"{where}.id")
    if isinstance(entry.get("content_base64"), str):
        try:
            content = base64.b64decode(entry["content_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PullAnswerError(f"{where}.content_base64 is not base64: {exc}") from exc
    elif isinstance(entry.get("content"), str):
        content = entry["content"].encode("utf-8")
    else:
        raise PullAnswerError(f"{where} has neither content_base64 nor content")
    if not content:
        raise PullAnswerError(f"{where} is empty")
    content_type = entry.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise PullAnswerError(f"{where}.content_type must be text")
    default = file_id or f"{default_name}-{index + 1}"
    return PulledFile(
        key=file_key(content, file_id),
        name=_clean_name(entry.get("name"), default),
        content=content,
        content_type=content_type or "",
        file_id=file_id,
    )
