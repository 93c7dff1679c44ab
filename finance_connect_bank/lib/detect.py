"""Recognise a bank file's format, unpack ZIP archives, parse anything.

:func:`detect_format` answers ``"camt.052"``, ``"camt.053"``, ``"camt.054"``,
``"pain.002"``, ``"mt940"`` (MT940 and MT942), ``"zip"``, ``"xlsx"`` or
``"csv"``, and raises :class:`~.model.ParseError` ("unknown format") otherwise.
:func:`iter_files` expands ZIP archives safely: at most 200 members and
50 MiB unpacked, no path components (sub-folders, ``..``, absolute names),
no archives inside archives, no suspicious compression ratios.
"""

import csv
import io
import re
import zipfile

from . import camt, mt940
from .csv_profile import parse_csv, parse_xlsx
from .model import ParseError

MAX_MEMBERS = 200
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 200
_CHUNK = 1024 * 1024
_PAIN002 = re.compile(rb"pain\.002\.001\.\d{2}")
_MT940_TAG = re.compile(rb"(?:^|\n|\{4:)\s*:(20|25|28C?|60[FM]|61|62[FM]):", re.MULTILINE)
_IGNORED_MEMBERS = ("__MACOSX/",)


def _is_zip(data):
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _is_xlsx(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _looks_like_csv(data):
    if b"\x00" in data[:4096]:
        return False
    text = data[:8192].decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()][:10]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return len(widths) == 1 and widths.pop() >= 3


def detect_format(data, filename=""):
    """Name the format of ``data`` (see module doc) or raise ParseError."""
    if _is_zip(data):
        return "xlsx" if _is_xlsx(data) else "zip"
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        found = camt.detect_camt(head)
        if found:
            return found[0]
        if _PAIN002.search(head):
            return "pain.002"
    elif len({m.group(1) for m in _MT940_TAG.finditer(head)}) >= 2:
        return "mt940"
    elif _looks_like_csv(head):
        return "csv"
    raise ParseError("unknown format (not camt.052/053/054, pain.002, MT940, CSV or ZIP)", filename)


def _check_member(info, filename):
    name = info.filename
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise ParseError(
            f"archive member {name!r} has a path; only flat archives are accepted",
            filename,
        )
    if info.flag_bits & 0x1:
        raise ParseError(f"archive member {name!r} is encrypted", filename)
    if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > _CHUNK:
        raise ParseError(
            f"archive member {name!r} has a suspicious compression ratio (zip bomb?)",
            filename,
        )


def _read_member(archive, info, budget, filename):
    chunks, size = [], 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > budget or size > info.file_size:
                raise ParseError(
                    f"archive member {info.filename!r} unpacks past the "
                    f"{MAX_UNCOMPRESSED}-byte limit",
                    filename,
                )
            chunks.append(chunk)
    return b"".join(chunks)


def iter_files(data, filename=""):
    """Yield ``(name, bytes)``: the members of a ZIP archive, else the file itself."""
    if not _is_zip(data) or _is_xlsx(data):
        yield filename, data
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ParseError(f"broken ZIP archive: {exc}", filename) from exc
    with archive:
        members = [
            i
            for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith(_IGNORED_MEMBERS)
        ]
        if len(members) > MAX_MEMBERS:
            raise ParseError(f"archive has {len(members)} members, over {MAX_MEMBERS}", filename)
        if sum(info.file_size for info in members) > MAX_UNCOMPRESSED:
            raise ParseError(f"archive unpacks past {MAX_UNCOMPRESSED} bytes", filename)
        for info in members:
            _check_member(info, filename)
        budget = MAX_UNCOMPRESSED
        for info in members:
            content = _read_member(archive, info, budget, filename)
            budget -= len(content)
            if _is_zip(content) and not _is_xlsx(content):
                raise ParseError(f"archive member {info.filename!r} is itself an archive", filename)
            yield info.filename, content


def parse_any(data, filename="", csv_profile=None):
    """Parse a bank file or ZIP of bank files into statements.

    CSV and XLSX need ``csv_profile`` (a :class:`~.csv_profile.ColumnProfile`).
    A pain.002 is a status report, not a statement: it raises ParseError.
    """
    statements = []
    for name, content in iter_files(data, filename):
        kind = detect_format(content, name)
        if kind.startswith("camt."):
            statements.extend(camt.parse_camt(content, name))
        elif kind == "mt940":
            statements.extend(mt940.parse_mt940(content, name))
        elif kind in ("csv", "xlsx"):
            if csv_profile is None:
                raise ParseError(f"{kind.upper()} files need a column profile", name)
            parse = parse_csv if kind == "csv" else parse_xlsx
            statements.append(parse(content, csv_profile, name))
        else:
            raise ParseError(f"{kind} is not a bank statement format", name)
    return statements
