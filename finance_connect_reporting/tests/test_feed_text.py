"""Journal item rows written by PostgreSQL are the canonical rows Python would write.

The JSON text of each row must be byte for byte :func:`canonical_row` of its
values, and its CSV line what Python's csv writer makes of them, whatever the
characters in entry names, company names and mapped codes.
"""

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal

from odoo.addons.finance_connect_reporting.lib import controls, rows
from odoo.tests import tagged

from .common import ReportingCase

HOSTILE = 'A "quoted", name\nwith\r\nbreaks\\ back\ttab \x01\x1f ctl é 中文 \u2028 /'


@tagged("post_install", "-at_install")
class TestFeedText(ReportingCase):
    def _texts(self, feed, **window):
        self.env.flush_all()
        return [
            record
            for batch in self.reader._journal_item_texts(
                feed, "FCD-T", self.conversion._mapper(feed), **window
            )
            for record in batch
        ]

    def _csv_line(self, row):
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow([row[c] for c in rows.JOURNAL_ITEM_COLUMNS])
        return out.getvalue()[:-2]

    def test_text_is_canonical_json_and_csv(self):
        self.env.cr.execute(
            "UPDATE account_move SET name = %s WHERE id = %s", (HOSTILE, self.inv_a1.id)
        )
        self.env.cr.execute(
            "UPDATE res_company SET name = %s WHERE id = %s", ('B, "Ltd"\n', self.company_b.id)
        )
        self.env.invalidate_all()
        mapping = self.env["finance.connect.mapping"].create(
            {"name": "Group chart", "company_id": self.company_a.id}
        )
        self.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": mapping.id,
                "mapping_type": "account",
                "source_value": "*",
                "external_code": 'G "all", \\ 1',
            }
        )
        feed = self.make_feed(kind="journal_items", mapping_id=mapping.id)
        records = self._texts(feed, date_from="2024-01-01", date_to="2024-02-29", with_csv=True)
        self.assertEqual(len(records), 10)  # 5 entries of 2 lines
        names = set()
        for line_id, debit, credit, text, csv_line in records:
            row = json.loads(text)
            self.assertEqual(text, controls.canonical_row(row))
            self.assertEqual(csv_line, self._csv_line(row))
            self.assertEqual(list(row), sorted(rows.JOURNAL_ITEM_COLUMNS))
            self.assertEqual(
                (row["line_id"], row["debit"], row["credit"]), (line_id, debit, credit)
            )
            self.assertEqual(row["group_account"], 'G "all", \\ 1')
            self.assertEqual(row["delivery"], "FCD-T")
            names.add(row["move_name"])
            parsed = next(csv.reader(io.StringIO(csv_line + "\r\n", newline="")))
            self.assertEqual(parsed[rows.JOURNAL_ITEM_COLUMNS.index("move_name")], row["move_name"])
        self.assertIn(HOSTILE, names)

    def test_file_exports_carry_the_same_rows(self):
        """Both files (streamed by COPY) hold exactly the rows of the pull texts."""
        import hashlib

        self.env.cr.execute(
            "UPDATE account_move SET name = %s WHERE id = %s", (HOSTILE, self.inv_a1.id)
        )
        self.env.invalidate_all()
        feed = self.make_feed(kind="journal_items")
        texts = self._texts(feed, date_from="2024-01-01", date_to="2024-02-29")
        expected = [json.loads(r[3]) for r in texts]
        jsonl, csv_out = io.BytesIO(), io.BytesIO()
        totals = feed._export(jsonl, "jsonl", "2024-01-01", "2024-02-29", "FCD-T")
        csv_totals = feed._export(csv_out, "csv", "2024-01-01", "2024-02-29", "FCD-T")
        self.assertEqual(jsonl.getvalue().decode().split("\n")[:-1], [r[3] for r in texts])
        self.assertEqual(totals.sha256, hashlib.sha256(jsonl.getvalue()).hexdigest())
        self.assertEqual(csv_totals.sha256, hashlib.sha256(csv_out.getvalue()).hexdigest())
        self.assertEqual(
            (csv_totals.row_count, csv_totals.debit, csv_totals.credit),
            (totals.row_count, totals.debit, totals.credit),
        )
        self.assertEqual(totals.row_count, 10)
        self.assertEqual(totals.debit, sum(Decimal(r["debit"]) for r in expected))
        self.assertEqual(totals.credit, sum(Decimal(r["credit"]) for r in expected))
        parsed = list(csv.reader(io.StringIO(csv_out.getvalue().decode(), newline="")))
        self.assertEqual(parsed[0], list(rows.JOURNAL_ITEM_COLUMNS))
        self.assertEqual(len(parsed), 11)
        for line, row in zip(parsed[1:], expected, strict=True):
            self.assertEqual(line, next(csv.reader([self._csv_line(row)])))
        self.assertIn(HOSTILE, [line[2] for line in parsed[1:]])

    def test_conversion_matches_python(self):
        """Feed amounts in EUR: company A (USD) converted at the month's rates,
        company B (EUR) unchanged; each row carries the rate it was converted at."""
        feed = self.make_feed(kind="journal_items")
        records = self._texts(feed, date_from="2024-01-01", date_to="2024-02-29")
        book = self.conversion._rate_book(feed)
        for _line_id, _debit, _credit, text in records:
            row = json.loads(text)
            first = row["period"] + "-01"
            rate = book.get(
                row["company_id"], row["currency"], row["account_type"], first, row["rate_date"]
            )
            expected = book.apply(dict(row), rate)
            for key in ("feed_debit", "feed_credit", "feed_balance", "rate", "rate_kind"):
                self.assertEqual(row[key], expected[key], (key, row))
            if row["company_id"] == self.company_b.id:
                self.assertEqual(row["rate_source"], "same currency")
                self.assertEqual(row["feed_debit"], row["debit"])
            else:
                self.assertNotEqual(row["rate"], "1")
                self.assertEqual(
                    Decimal(row["feed_balance"]),
                    (Decimal(row["balance"]) * Decimal(rate.rate)).quantize(
                        Decimal("0.01"), rounding=ROUND_HALF_UP
                    ),
                )
        periods = {json.loads(r[3])["period"] for r in records}
        self.assertEqual(periods, {"2024-01", "2024-02"})
