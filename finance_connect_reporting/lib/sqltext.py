"""SQL expressions that make PostgreSQL write a row's canonical JSON and CSV text.

Journal item feeds are the large ones (hundreds of thousands of rows). Building
a dict per row in Python and encoding it costs about ten times what reading the
row costs, so PostgreSQL writes the text instead: one ``concat(...)`` per row
that yields exactly :func:`.controls.canonical_row` of the row (keys sorted, no
whitespace, UTF-8 kept), and one that yields the CSV line of
:func:`.writers.write_csv` (without its line end).

The expressions are ``odoo.tools.SQL`` values (a composition class of plain
strings and parameters: no ORM, no database here). A row is described by
fields ``(key, kind, sql)``; ``sql`` is an ``SQL`` expression of the query.
The keys and constant texts are parameters, never code. Kinds and the JSON
they become:

- ``"text"``: a JSON string escaped by PostgreSQL's ``to_json`` (the same
  escapes as Python's :mod:`json` with ``ensure_ascii=False``), ``null`` for NULL;
- ``"plain"``: a JSON string of characters that never need escaping (numbers
  as decimal strings, ISO dates), ``null`` for NULL;
- ``"int"``: a JSON number, ``null`` for NULL;
- ``"bool"``: ``true`` / ``false`` / ``null``;
- ``"const"``: ``sql`` is a Python value (str, int, bool or None), folded into
  the text around it (the same for every row, no per-row work).

CSV values follow Python's :mod:`csv` writer (minimal quoting): NULL is an
empty field, booleans are ``True`` / ``False``, a text with a comma, a double
quote, CR or LF is quoted with its quotes doubled.
"""

import json

from odoo.tools import SQL

KINDS = ("text", "plain", "int", "bool")

_JSON_VALUE = {
    "text": "COALESCE(to_json((%s)::text)::text, 'null')",
    "plain": "COALESCE('\"' || (%s)::text || '\"', 'null')",
    "int": "COALESCE((%s)::text, 'null')",
    "bool": "CASE (%s) WHEN TRUE THEN 'true' WHEN FALSE THEN 'false' ELSE 'null' END",
}
_CSV_VALUE = {
    "text": (
        "CASE WHEN (%(v)s)::text ~ '[\",\\r\\n]'"
        " THEN '\"' || replace((%(v)s)::text, '\"', '\"\"') || '\"'"
        " ELSE COALESCE((%(v)s)::text, '') END"
    ),
    "plain": "COALESCE((%(v)s)::text, '')",
    "int": "COALESCE((%(v)s)::text, '')",
    "bool": "CASE (%(v)s) WHEN TRUE THEN 'True' WHEN FALSE THEN 'False' ELSE '' END",
}


def _json_value(kind, sql):
    if kind not in _JSON_VALUE:
        raise ValueError(f"unknown field kind {kind!r}")
    return SQL(_JSON_VALUE[kind], sql)


def _csv_value(kind, sql):
    if kind == "const":
        return SQL("%s", csv_text(sql))
    if kind not in _CSV_VALUE:
        raise ValueError(f"unknown field kind {kind!r}")
    return SQL(_CSV_VALUE[kind], v=sql)


def csv_text(value):
    """What Python's csv writer writes for one value (minimal quoting)."""
    text = "" if value is None else str(value)
    if any(ch in text for ch in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def json_object_sql(fields):
    """``concat(...)`` giving the canonical JSON object of ``fields``."""
    fields = sorted(fields, key=lambda field: field[0])
    keys = [f[0] for f in fields]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys")
    parts, text, sep = [], "", "{"
    for key, kind, sql in fields:
        text += sep + json.dumps(key, ensure_ascii=False) + ":"
        if kind == "const":  # folded into the surrounding text
            text += json.dumps(sql, ensure_ascii=False)
        else:
            parts += [SQL("%s", text), _json_value(kind, sql)]
            text = ""
        sep = ","
    parts.append(SQL("%s", text + "}"))
    return SQL("concat(%s)", SQL(", ").join(parts))


def csv_line_sql(fields, columns):
    """The CSV line (no line end) of ``fields`` in the order of ``columns``."""
    by_key = {f[0]: f for f in fields}
    values = [_csv_value(by_key[c][1], by_key[c][2]) for c in columns]
    return SQL("concat_ws(',', %s)", SQL(", ").join(values))
