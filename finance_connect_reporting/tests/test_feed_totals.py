"""Feed totals equal Odoo's own trial balance; currency; formal vs flash."""

from decimal import Decimal

from odoo.addons.finance_connect_reporting.lib import currency as lib_currency
from odoo.tests import tagged

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedTotals(ReportingCase):
    def test_every_kind_equals_odoo_trial_balance_two_companies_two_currencies(self):
        companies = self.company_a | self.company_b
        expected = self.odoo_trial_balance(companies, *self.jan)
        self.assertTrue({c for c, _a in expected} == set(companies.ids))
        for kind in ("trial_balance", "actuals", "journal_items"):
            feed = self.make_feed(kind=kind)
            rows = list(self.reader._rows(feed, *self.jan, "TEST"))
            self.assertEqual(self.sum_rows(rows), expected, kind)
        # February is another period: not in January's rows.
        feb_lines = self.inv_a_feb.line_ids
        rows = list(self.reader._rows(self.make_feed(kind="journal_items"), *self.jan, "T"))
        self.assertFalse({r["line_id"] for r in rows} & set(feb_lines.ids))

    def test_conversion_closing_for_balance_sheet_average_for_pl(self):
        feed = self.make_feed(kind="trial_balance")
        rows = list(self.reader._rows(feed, *self.jan, "TEST"))
        Currency = self.env["res.currency"]
        closing = Decimal(
            repr(
                Currency._get_conversion_rate(
                    self.company_a.currency_id, self.eur, self.company_a, self.jan[1]
                )
            )
        )
        seen = set()
        for row in rows:
            self.assertEqual(row["feed_currency"], "EUR")
            self.assertEqual(
                Decimal(row["feed_balance"]),
                lib_currency.convert(row["balance"], Decimal(row["rate"]), 2),
                row,
            )
            if row["company_id"] == self.company_b.id:
                self.assertEqual((row["rate"], row["rate_source"]), ("1", "same currency"))
                continue
            pl = lib_currency.is_profit_and_loss(row["account_type"])
            self.assertEqual(row["rate_kind"], "average" if pl else "closing")
            self.assertEqual(row["rate_date"], "2024-01-31")
            if pl:
                self.assertIn("average 2024-01-01..2024-01-31", row["rate_source"])
                self.assertNotEqual(Decimal(row["rate"]), closing)
            else:
                self.assertEqual(Decimal(row["rate"]), closing.normalize())
            seen.add(row["rate_kind"])
        self.assertEqual(seen, {"closing", "average"})
        closing_all = self.make_feed(kind="trial_balance", rate_policy="closing")
        self.assertEqual(
            {r["rate_kind"] for r in self.reader._rows(closing_all, *self.jan, "T")}, {"closing"}
        )

    def test_formal_feeds_only_locked_periods_flash_marks_provisional(self):
        self.lock(self.company_a, "2024-01-20")
        flash = self.make_feed(kind="journal_items", period_status="flash")
        formal = self.make_feed(kind="journal_items", period_status="formal")
        flash_rows = list(self.reader._rows(flash, *self.jan, "F"))
        formal_rows = list(self.reader._rows(formal, *self.jan, "F"))
        by_id = {r["line_id"]: r for r in flash_rows}
        for row in flash_rows:
            open_period = row["company_id"] == self.company_b.id or row["date"] > "2024-01-20"
            self.assertEqual(row["provisional"], open_period, row)
        self.assertEqual(
            {r["line_id"] for r in formal_rows},
            {i for i, r in by_id.items() if not r["provisional"]},
        )
        self.assertTrue(formal_rows)
        self.assertFalse(any(r["provisional"] for r in formal_rows))
        self.assertIn(self.inv_a1.line_ids[0].id, {r["line_id"] for r in formal_rows})
        self.assertNotIn(self.inv_a2.line_ids[0].id, {r["line_id"] for r in formal_rows})

    def test_lineage_and_intercompany(self):
        # A bill of company A from company B's partner is intercompany.
        bill = self.init_invoice(
            "in_invoice",
            partner=self.company_b.partner_id,
            invoice_date="2024-01-16",
            amounts=[10.0],
            post=True,
        )
        rows = list(self.reader._rows(self.make_feed(kind="journal_items"), *self.jan, "FCD-X"))
        mine = [r for r in rows if r["move_id"] == bill.id]
        self.assertTrue(mine)
        for row in mine:
            self.assertEqual(row["move_name"], bill.name)
            self.assertEqual(row["company"], self.company_a.name)
            self.assertEqual(row["delivery"], "FCD-X")
            self.assertTrue(row["intercompany"])
            self.assertIn(row["line_id"], bill.line_ids.ids)
        self.assertFalse(any(r["intercompany"] for r in rows if r["move_id"] == self.inv_a1.id))

    def test_file_export_matches_control_totals(self):
        import hashlib
        import io

        feed = self.make_feed(kind="journal_items")
        out = io.BytesIO()
        totals = feed._export(out, "jsonl", *self.jan)
        self.assertEqual(hashlib.sha256(out.getvalue()).hexdigest(), totals.sha256)
        expected = self.odoo_trial_balance(self.company_a | self.company_b, *self.jan)
        self.assertEqual(totals.debit, sum(v[0] for v in expected.values()))
        self.assertEqual(totals.credit, sum(v[1] for v in expected.values()))
        csv_out = io.BytesIO()
        csv_totals = feed._export(csv_out, "csv", *self.jan)
        # Same rows and amounts; each file carries its own SHA-256 (sha256sum).
        self.assertEqual(
            (csv_totals.row_count, csv_totals.debit, csv_totals.credit),
            (totals.row_count, totals.debit, totals.credit),
        )
        self.assertEqual(csv_totals.sha256, hashlib.sha256(csv_out.getvalue()).hexdigest())
        self.assertEqual(csv_out.getvalue().count(b"\r\n"), totals.row_count + 1)

    def test_export_buttons_attach_the_file_and_post_its_sha256(self):
        """What a user checks after *Export CSV* / *Export JSON Lines*: the
        attachment's ``sha256sum`` is the hash posted beside it."""
        import base64
        import hashlib

        feed = self.make_feed(kind="journal_items")
        for file_format in ("csv", "jsonl"):
            action = feed.with_context(
                fc_format=file_format, fc_date_from=self.jan[0], fc_date_to=self.jan[1]
            ).action_export_file()
            attachment_id = int(action["url"].split("/")[3].split("?")[0])
            attachment = self.env["ir.attachment"].browse(attachment_id)
            self.assertTrue(attachment.name.endswith("." + file_format))
            data = base64.b64decode(attachment.datas)
            message = feed.message_ids[0]
            self.assertEqual(message.attachment_ids, attachment)
            self.assertIn(hashlib.sha256(data).hexdigest(), message.body)
            self.assertIn("Exported 8 rows (debit 690.00, credit 690.00)", message.body)
