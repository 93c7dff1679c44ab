"""SQL expressions that make PostgreSQL write a row's canonical JSON and CSV text.

Journal item feeds are the large ones (hundreds of thousands of rows). Building
a dict per row in Python and encoding it costs about ten times what reading the
row costs, so PostgreSQL writes the text instead: one ``concat(...)`` per row
that yields exactly :func:`.controls.canonical_row` of the row (keys sorted, no
whitespace, UTF-8 kept), and one that yields the CSV line of
:func:`.writers.write_csv` (without its line end).

A row is described by fields ``(key, kind, sql)``; ``sql`` is an expression of
the query (already safe: built from constants and ``%(name)s`` parameters).
Kinds and the JSON they become:

- ``"text"``: a JSON string escaped by PostgreSQL's ``to_json`` (the same
  escapes as Python's :mod:`json` with ``ensure_ascii=False``), ``null`` for NULL;
- ``"plain"``: a JSON string of characters that never need escaping (numbers
  as decimal strings, ISO dates), ``null`` for NULL;
- ``"int"``: a JSON number, ``null`` for NULL;
- ``"bool"``: ``true`` / ``false`` / ``null``;
- ``"const"``: ``sql`` is a Python value (str, int, bool or None), written
  as a literal (the same for every row, no per-row work).

CSV values follow Python's :mod:`csv` writer (minimal quoting): NULL is an
empty field, booleans are ``True`` / ``False``, a text with a comma, a double
quote, CR or LF is quoted with its quotes doubled.
"""

import json

KINDS = ("text", "plain", "int", "bool")


def _literal(text):
    """A SQL string literal; ``%`` doubled for the driver's parameter syntax."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _json_value(kind, sql):
    if kind == "const":
        return _literal(json.dumps(sql, ensure_ascii=False))
    if kind == "text":
        return f"COALESCE(to_json(({sql})::text)::text, 'null')"
    if kind == "plain":
        return f"COALESCE('\"' || ({sql})::text || '\"', 'null')"
    if kind == "int":
        return f"COALESCE(({sql})::text, 'null')"
    if kind == "bool":
        return f"CASE ({sql}) WHEN TRUE THEN 'true' WHEN FALSE THEN 'false' ELSE 'null' END"
    raise ValueError(f"unknown field kind {kind!r}")


def _csv_value(kind, sql):
    if kind == "const":
        text = _csv_text(sql)
        return _literal(text)
    if kind == "text":
        return (
            f"CASE WHEN ({sql})::text ~ '[\",\\r\\n]' "
            f"THEN '\"' || replace(({sql})::text, '\"', '\"\"') || '\"' "
            f"ELSE COALESCE(({sql})::text, '') END"
        )
    if kind in ("plain", "int"):
        return f"COALESCE(({sql})::text, '')"
    if kind == "bool":
        return f"CASE ({sql}) WHEN TRUE THEN 'True' WHEN FALSE THEN 'False' ELSE '' END"
    raise ValueError(f"unknown field kind {kind!r}")


def _csv_text(value):
    """What Python's csv writer writes for one value (minimal quoting)."""
    text = "" if value is None else str(value)
    if any(ch in text for ch in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def json_object_sql(fields):
    """``concat(...)`` giving the canonical JSON object of ``fields``."""
    fields = sorted(fields)
    keys = [f[0] for f in fields]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys")
    parts, text, sep = [], "", "{"
    for key, kind, sql in fields:
        text += sep + json.dumps(key, ensure_ascii=False) + ":"
        if kind == "const":  # folded into the surrounding literal text
            text += json.dumps(sql, ensure_ascii=False)
        else:
            parts += [_literal(text), _json_value(kind, sql)]
            text = ""
        sep = ","
    parts.append(_literal(text + "}"))
    return "concat(" + ", ".join(parts) + ")"


def csv_line_sql(fields, columns):
    """The CSV line (no line end) of ``fields`` in the order of ``columns``."""
    by_key = {f[0]: f for f in fields}
    values = [_csv_value(by_key[c][1], by_key[c][2]) for c in columns]
    return "concat_ws(',', " + ", ".join(values) + ")"
