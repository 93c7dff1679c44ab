"""Reporting feeds, pure helpers: control totals, cursor, currency, writers."""

import hashlib
import io
import json
from decimal import Decimal

from odoo.addons.finance_connect_reporting.lib import (
    ControlTotals,
    Cursor,
    InvalidCursor,
    canonical_row,
    controls,
    copystream,
    currency,
    decode_cursor,
    encode_cursor,
    rows,
    sqltext,
    writers,
)
from odoo.tests import BaseCase, tagged

ROWS = [
    {
        "line_id": 1,
        "account_code": "400000",
        "debit": "100.00",
        "credit": "0.00",
        "company": "Société Démo",
        "provisional": False,
    },
    {
        "line_id": 2,
        "account_code": "121000",
        "debit": "0.00",
        "credit": "100.00",
        "company": "Société Démo",
        "provisional": True,
    },
    {
        "line_id": 3,
        "account_code": "600000",
        "debit": "0.10",
        "credit": "0.20",
        "company": "B",
        "provisional": False,
    },
]


def _gen(n):
    for i in range(n):
        yield {"line_id": i, "debit": f"{i}.01", "credit": "0.00", "note": 'a,"b"\nc'}


class _CountingSink:
    def __init__(self):
        self.writes = 0
        self.size = 0

    # A file-like sink, not a model: no super().write() to call.
    def write(self, data):  # pylint: disable=method-required-super
        self.writes += 1
        self.size += len(data)


@tagged("post_install", "-at_install")
class TestReportingLib(BaseCase):
    def test_canonical_row_is_sorted_compact_utf8(self):
        assert canonical_row({"b": 1, "a": "é"}) == '{"a":"é","b":1}'

    def test_control_totals_count_sum_and_hash_of_canonical_lines(self):
        totals = ControlTotals.of(ROWS)
        expected_hash = hashlib.sha256(
            "".join(canonical_row(r) + "\n" for r in ROWS).encode()
        ).hexdigest()
        assert totals.as_dict() == {
            "row_count": 3,
            "total_debit": "100.10",
            "total_credit": "100.20",
            "sha256": expected_hash,
        }

    def test_control_totals_depend_on_order_and_content(self):
        a = ControlTotals.of(ROWS).sha256
        assert ControlTotals.of(list(reversed(ROWS))).sha256 != a
        changed = [dict(ROWS[0], debit="100.01")] + ROWS[1:]
        assert ControlTotals.of(changed).sha256 != a

    def test_control_totals_refuse_float_amounts(self):
        with self.assertRaises(TypeError):
            ControlTotals().add({"debit": 0.1, "credit": "0"})

    def test_compare_matches_numerically_and_reports_each_difference(self):
        expected = ControlTotals.of(ROWS).as_dict()
        same = dict(expected, total_debit="100.1000", sha256=expected["sha256"].upper())
        assert controls.compare(expected, same) == []
        wrong = dict(expected, row_count=2, total_credit="100.00", sha256="0" * 64)
        problems = controls.compare(expected, wrong)
        assert len(problems) == 3
        assert any("row count" in p for p in problems)
        assert any("total credit" in p for p in problems)
        assert controls.compare(expected, None) == ["the acknowledgement carries no control totals"]
        assert len(controls.compare(expected, {"row_count": "x"})) == 4

    def test_cursor_round_trip_and_opacity(self):
        cur = Cursor(low=10, high=99, last_id=12345, delivery=7)
        token = encode_cursor(cur)
        assert "12345" not in token and "=" not in token
        assert decode_cursor(token) == cur
        first = decode_cursor(None)
        assert first == Cursor(0, None, 0, 0)
        assert decode_cursor(encode_cursor(first)) == first
        assert cur.next_run() == Cursor(99, None, 0, 0)

    def test_cursor_rejects_foreign_tokens(self):
        for token in [
            "!!!",
            "djE6YTpiOmM6ZA",
            "djI6MTo2OjA6MA",
            "x" * 300,
            encode_cursor(Cursor(5, 3, 0, 0))[:-1] + "A",
        ]:
            with self.subTest(token=token):
                with self.assertRaises(InvalidCursor):
                    decode_cursor(token)

    def test_cursor_rejects_window_backwards(self):
        import base64

        token = base64.urlsafe_b64encode(b"v1:5:3:0:0").decode().rstrip("=")
        with self.assertRaises(InvalidCursor):
            decode_cursor(token)

    def test_rate_kind_policies(self):
        assert currency.rate_kind("income", "closing_average") == "average"
        assert currency.rate_kind("expense_direct_cost", "closing_average") == "average"
        assert currency.rate_kind("asset_receivable", "closing_average") == "closing"
        assert currency.rate_kind("equity", "closing_average") == "closing"
        assert currency.rate_kind("income", "closing") == "closing"
        assert currency.rate_kind("asset_cash", "average") == "average"
        with self.assertRaises(ValueError):
            currency.rate_kind("income", "spot")

    def test_conversion_is_decimal_and_half_up(self):
        rate = currency.conversion_rate("1.0", "1.1")  # EUR company, USD feed
        assert rate == Decimal("1.1")
        assert currency.convert("100.05", rate, 2) == Decimal("110.06")  # 110.055 -> .06
        assert currency.convert("-100.05", rate, 2) == Decimal("-110.06")
        assert currency.convert("1", Decimal("0.5"), 0) == Decimal("1")
        assert currency.average_rate(["1.0", "1.2", "1.1"]) == Decimal("1.1")
        with self.assertRaises(ValueError):
            currency.average_rate([])
        with self.assertRaises(ValueError):
            currency.conversion_rate(0, 1)
        assert currency.format_rate(Decimal("1.10000000000")) == "1.1"
        assert currency.format_rate(Decimal("2")) == "2"

    def test_rate_book_caches_and_applies_per_kind(self):
        calls = []

        def lookup(company_id, cur, kind, date_from, date_to):
            calls.append((company_id, cur, kind))
            return rows.Rate("2" if kind == "closing" else "1.5", kind, date_to, f"test {kind}")

        book = rows.RateBook(lookup, "closing_average", 2)
        row = {"debit": "10.00", "credit": "0.00", "balance": "10.00"}
        book.apply(row, book.get(1, "EUR", "asset_cash", "2026-01-01", "2026-01-31"))
        assert row["feed_balance"] == "20.00" and row["rate_kind"] == "closing"
        assert row["rate_date"] == "2026-01-31" and row["rate_source"] == "test closing"
        pl = {"debit": "0.00", "credit": "10.00", "balance": "-10.00"}
        book.apply(pl, book.get(1, "EUR", "income", "2026-01-01", "2026-01-31"))
        assert pl["feed_balance"] == "-15.00" and pl["rate"] == "1.5"
        book.get(1, "EUR", "asset_receivable", "2026-01-01", "2026-01-31")
        assert len(calls) == 2  # cached per company, currency, kind and period
        same = rows.RateBook(lambda *a: rows.Rate(1, "closing", "2026-01-31", "same"))
        r = {"debit": "1.005", "credit": "0", "balance": "1.005"}
        same.apply(r, same.get(1, "EUR", "asset", "a", "b"))
        assert r["feed_debit"] == "1.005"  # identity: passed through untouched

    def test_month_bounds(self):
        assert rows.month_bounds("2024-02-10") == ("2024-02-01", "2024-02-29")
        assert rows.month_bounds("2025-12-31") == ("2025-12-01", "2025-12-31")

    def test_jsonl_writer_streams_and_file_hash_is_the_control_hash(self):
        out = io.BytesIO()
        totals = writers.write_jsonl(_gen(4500), out, chunk_rows=1000)
        data = out.getvalue()
        assert totals.row_count == 4500
        assert hashlib.sha256(data).hexdigest() == totals.sha256
        lines = data.decode().splitlines()
        assert json.loads(lines[4499])["line_id"] == 4499
        assert totals.debit == sum(Decimal(f"{i}.01") for i in range(4500))

    def test_csv_writer_quotes_and_counts(self):
        import csv

        out = io.BytesIO()
        totals = writers.write_csv(
            _gen(2500), out, ["line_id", "debit", "note", "missing"], chunk_rows=1000
        )
        parsed = list(csv.reader(io.StringIO(out.getvalue().decode(), newline="")))
        assert parsed[0] == ["line_id", "debit", "note", "missing"]
        assert len(parsed) == 2501
        assert parsed[1] == ["0", "0.01", 'a,"b"\nc', ""]
        # A file's totals: its own SHA-256 (what sha256sum prints), the rows' amounts.
        assert totals.sha256 == hashlib.sha256(out.getvalue()).hexdigest()
        assert totals.row_count == 2500
        assert totals.debit == sum(Decimal(f"{i}.01") for i in range(2500))
        assert totals.credit == 0

    def test_writers_write_in_chunks_not_all_at_once(self):
        sink = _CountingSink()
        writers.write_jsonl(_gen(10_000), sink, chunk_rows=1000)
        assert sink.writes == 10
        sink = _CountingSink()
        writers.write_csv(_gen(10_000), sink, ["line_id"], chunk_rows=1000)
        assert sink.writes == 11  # 10 chunks + the remainder (header included in the first)

    def test_presorted_rows_encode_to_the_canonical_text(self):
        row = {k: ROWS[0][k] for k in sorted(ROWS[0])}
        assert controls.presorted_row(row) == canonical_row(row)
        assert rows.SORTED_COLUMNS["journal_items"] == tuple(sorted(rows.JOURNAL_ITEM_COLUMNS))
        sorted_rows = [{k: r[k] for k in sorted(r)} for r in ROWS]
        assert (
            ControlTotals.of(sorted_rows, presorted=True).as_dict()
            == ControlTotals.of(ROWS).as_dict()
        )

    def test_jsonl_writer_presorted_gives_the_same_bytes_and_totals(self):
        data = [{k: r[k] for k in sorted(r)} for r in _gen(2500)]
        for presorted in (False, True):
            out = io.BytesIO()
            totals = writers.write_jsonl(iter(data), out, chunk_rows=1000, presorted=presorted)
            assert totals.as_dict() == ControlTotals.of(_gen(2500)).as_dict()
            assert hashlib.sha256(out.getvalue()).hexdigest() == totals.sha256

    def test_writers_on_no_rows(self):
        out = io.BytesIO()
        assert writers.write_jsonl([], out).as_dict()["row_count"] == 0
        assert out.getvalue() == b""
        out = io.BytesIO()
        totals = writers.write_csv([], out, ["a", "b"])
        assert out.getvalue() == b"a,b\r\n"
        assert totals.row_count == 0
        assert totals.sha256 == hashlib.sha256(b"a,b\r\n").hexdigest()

    def test_sqltext_builds_sorted_objects_and_refuses_bad_fields(self):
        from psycopg2.extensions import adapt

        from odoo.tools import SQL

        def rendered(sql):
            """The text the driver sends: the parameters bound as literals."""
            return sql.code % tuple(adapt(p).getquoted().decode() for p in sql.params)

        sql = rendered(
            sqltext.json_object_sql([("b", "int", SQL("x.b")), ("a", "text", SQL("x.a"))])
        )
        assert sql.index("'{\"a\":'") < sql.index("',\"b\":'")
        assert sql.startswith("concat(") and sql.endswith("'}')")
        # a key with a quote or a percent sign is a parameter, never code
        odd = sqltext.json_object_sql([("it's 100%", "plain", SQL("x.v"))])
        assert "'{\"it''s 100%\":'" in rendered(odd)
        assert "100" not in odd.code and "%" not in odd.code.replace("%s", "")
        csv_sql = rendered(
            sqltext.csv_line_sql([("a", "bool", SQL("x.a")), ("b", "text", SQL("x.b"))], ["b", "a"])
        )
        assert csv_sql.index("x.b") < csv_sql.index("x.a")
        with self.assertRaises(ValueError):
            sqltext.json_object_sql([("a", "int", SQL("1")), ("a", "int", SQL("2"))])
        with self.assertRaises(ValueError):
            sqltext.json_object_sql([("a", "float", SQL("1"))])

    def test_convert_is_exact_and_never_negative_zero(self):
        # 28 significant digits would round the product up to 0.005 first (then 0.01)
        rate = Decimal("0.004999999999999999999999999999999")
        assert currency.convert("1.00", rate) == Decimal("0.00")
        assert str(currency.convert("-0.001", "1")) == "0.00"

    def test_copy_sinks_unescape_and_cross_write_boundaries(self):
        rows_ = [
            {"a": 'x "y"\n\\z\t', "debit": "1.00", "credit": "0"},
            {"a": "plain", "debit": "0", "credit": "1.00"},
        ]
        lines = [canonical_row(r).encode() for r in rows_]
        csv_lines = [b'"x ""y""\n\\z\t",1.00', b"plain,0"]

        def copy_text(field):  # what COPY's text format sends for one field
            return (
                field.replace(b"\\", b"\\\\")
                .replace(b"\n", b"\\n")
                .replace(b"\r", b"\\r")
                .replace(b"\t", b"\\t")
            )

        out = io.BytesIO()
        sink = copystream.JsonLinesSink(out)
        data = b"".join(copy_text(line) + b"\n" for line in lines)
        for i in range(0, len(data), 7):  # rows cut anywhere between writes
            sink.write(data[i : i + 7])
        totals = sink.close()
        assert out.getvalue() == b"\n".join(lines) + b"\n"
        assert totals.row_count == 2
        assert totals.sha256 == ControlTotals.of(rows_).sha256

        for plain in (False, True):  # with and without escapes in the block
            out = io.BytesIO()
            sink = copystream.CsvSink(out, ["a", "debit"])
            for csv_line in csv_lines[1:] if plain else csv_lines:
                sink.write(copy_text(csv_line) + b"\n")
            totals = sink.close()
            expected = b"a,debit\r\n" + b"\r\n".join(csv_lines[plain:]) + b"\r\n"
            assert out.getvalue() == expected
            assert totals.sha256 == hashlib.sha256(expected).hexdigest()
            assert totals.row_count == 2 - plain

        sink = copystream.JsonLinesSink(io.BytesIO())
        sink.write(b'{"half":')
        with self.assertRaises(ValueError):
            sink.close()
