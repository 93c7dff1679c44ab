"""Pull: exactly once per run with a posting in the middle; the HTTP endpoint."""

import json
from contextlib import contextmanager
from unittest.mock import patch

from odoo.addons.finance_connect.exceptions import MappingMissing
from odoo.addons.finance_connect_reporting.lib import ControlTotals, decode_cursor
from odoo.addons.finance_connect_reporting.models.finance_connect_feed import (
    FinanceConnectFeed,
)
from odoo.tests import HttpCase, tagged

from .common import ReportingCase


@tagged("post_install", "-at_install")
class TestFeedPull(ReportingCase):
    def _feed_line_ids(self, feed, low, high):
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT aml.id FROM account_move_line aml JOIN account_move m ON m.id = aml.move_id
                WHERE m.state = 'posted' AND aml.company_id = ANY(%s)
                  AND COALESCE(m.fc_post_xid, 0) >= %s AND COALESCE(m.fc_post_xid, 0) < %s""",
            (feed.company_ids.ids, low, high),
        )
        return {r[0] for r in self.env.cr.fetchall()}

    @contextmanager
    def _posting_clock(self):
        """Everything posted so far was posted "long ago" (marker 100); new
        postings get ``clock["marker"]``, the snapshot watermark is
        ``clock["snapshot"]``: the test moves time."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET fc_post_xid = 100 WHERE state = 'posted'")
        clock = {"marker": 200, "snapshot": 150}
        with (
            patch.object(FinanceConnectFeed, "_post_marker", lambda self: clock["marker"]),
            patch.object(FinanceConnectFeed, "_snapshot_watermark", lambda self: clock["snapshot"]),
        ):
            yield clock

    def _pull_all(self, feed, cursor, limit):
        ids, pages = [], 0
        while True:
            page = self.pull._pull_page(feed, cursor, limit)
            pages += 1
            ids += [r["line_id"] for r in page["rows"]]
            self.assertEqual(page["control"], ControlTotals.of(page["rows"]).as_dict())
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return ids, cursor, pages, page
            yield_hook = getattr(self, "_between_pages", None)
            if yield_hook:
                yield_hook()

    def test_real_marker_is_the_posting_transaction(self):
        feed = self.make_feed(kind="journal_items")
        self.env.flush_all()
        self.env.cr.execute("SELECT fc_post_xid FROM account_move WHERE id = %s", (self.inv_a1.id,))
        marker = self.env.cr.fetchone()[0]
        self.assertEqual(marker, feed._post_marker())
        # Our own transaction is not finished: its rows wait for the next run.
        self.assertLessEqual(feed._snapshot_watermark(), marker)

    def test_pages_exactly_once_with_a_posting_in_the_middle(self):
        feed = self.make_feed(kind="journal_items", mode="pull")
        with self._posting_clock() as clock:
            expected = self._feed_line_ids(feed, 0, 150)
            self.assertGreater(len(expected), 6)
            late = []

            def post_while_paging():
                if not late:
                    clock["snapshot"] = 160  # time passes; the run keeps its watermark
                    late.append(
                        self.init_invoice(
                            "out_invoice", invoice_date="2024-01-05", amounts=[5.0], post=True
                        )
                    )

            self._between_pages = post_while_paging
            ids, cursor, pages, last = self._pull_all(feed, None, 3)
            self.assertGreater(pages, 2)
            self.assertEqual(len(ids), len(set(ids)), "a row came twice")
            self.assertEqual(set(ids), expected, "every row of the run exactly once")
            late_ids = set(late[0].line_ids.ids)
            self.assertFalse(late_ids & set(ids))
            self.assertEqual(decode_cursor(cursor).low, 150)
            # The consumer resumes later: exactly the rows posted meanwhile.
            self._between_pages = None
            clock["snapshot"] = 250
            ids2, cursor2, _pages, _last = self._pull_all(feed, cursor, 3)
            self.assertEqual(sorted(ids2), sorted(late_ids))
            clock["snapshot"] = 300
            ids3, _cursor3, _pages, _last = self._pull_all(feed, cursor2, 3)
            self.assertEqual(ids3, [])
        delivery = self.env["finance.connect.feed.delivery"].search(
            [("feed_id", "=", feed.id)], order="id"
        )
        self.assertEqual(delivery.mapped("watermark_to"), ["150", "250", "300"])
        self.assertTrue(all(d.mode == "pull" for d in delivery))

    def test_run_as_json_lines_stream_exactly_once(self):
        """The stream serves what the pages serve: the rest of a run from a page
        cursor, the whole next run from a run cursor, each row once."""
        import hashlib
        import io

        feed = self.make_feed(kind="journal_items", mode="pull")
        with self._posting_clock() as clock:
            expected = self._feed_line_ids(feed, 0, 150)
            first = self.pull._pull_page(feed, None, 3)
            out = io.BytesIO()
            delivery, totals, cursor = self.pull._pull_run_jsonl(feed, out, first["next_cursor"])
            streamed = [json.loads(line) for line in out.getvalue().decode().splitlines()]
            ids = [r["line_id"] for r in first["rows"]] + [r["line_id"] for r in streamed]
            self.assertEqual(len(ids), len(set(ids)), "a row came twice")
            self.assertEqual(set(ids), expected, "every row of the run exactly once")
            self.assertEqual(delivery.name, first["delivery"])
            self.assertEqual({r["delivery"] for r in streamed}, {delivery.name})
            self.assertEqual(totals.as_dict(), ControlTotals.of(streamed).as_dict())
            self.assertEqual(totals.sha256, hashlib.sha256(out.getvalue()).hexdigest())
            # A stream from the middle of a run leaves the run's totals to a recount.
            self.assertEqual(delivery._control()["row_count"], len(expected))
            self.assertEqual(decode_cursor(cursor).low, 150)

            late = self.init_invoice(
                "out_invoice", invoice_date="2024-01-05", amounts=[5.0], post=True
            )
            clock["snapshot"] = 250
            out = io.BytesIO()
            run2, totals2, cursor2 = self.pull._pull_run_jsonl(feed, out, cursor)
            rows2 = [json.loads(line) for line in out.getvalue().decode().splitlines()]
            self.assertEqual(sorted(r["line_id"] for r in rows2), sorted(late.line_ids.ids))
            # A whole run: its totals are the delivery's, ready for the acknowledgement.
            self.assertEqual(run2._control(), totals2.as_dict())
            self.assertEqual(run2.watermark_to, "250")
            clock["snapshot"] = 300
            out = io.BytesIO()
            _run3, totals3, _cursor3 = self.pull._pull_run_jsonl(feed, out, cursor2)
            self.assertEqual((totals3.row_count, out.getvalue()), (0, b""))

    def test_stream_is_for_journal_items_and_refuses_unmapped_runs(self):
        import io

        from odoo.exceptions import UserError

        with self.assertRaises(UserError):
            self.pull._pull_run_jsonl(self.make_feed(kind="trial_balance"), io.BytesIO())
        mapping = self.env["finance.connect.mapping"].create(
            {"name": "Revenue only", "company_id": self.company_a.id}
        )
        self.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": mapping.id,
                "mapping_type": "account",
                "account_id": self.company_data["default_account_revenue"].id,
                "external_code": "G4000",
            }
        )
        feed = self.make_feed(kind="journal_items", mapping_id=mapping.id)
        out = io.BytesIO()
        with (
            patch.object(FinanceConnectFeed, "_snapshot_watermark", lambda self: 2**62),
            self.assertRaises(MappingMissing),
        ):
            self.pull._pull_run_jsonl(feed, out)
        self.assertEqual(out.getvalue(), b"")
        self.assertFalse(feed.delivery_ids)


@tagged("post_install", "-at_install")
class TestFeedPullHttp(ReportingCase, HttpCase):
    def _get(self, token, **params):
        from urllib.parse import urlencode

        return self.url_open(f"/finance_connect/feed/{token}/rows?{urlencode(params)}")

    def test_endpoint_token_cursor_and_ack(self):
        feed = self.make_feed(kind="journal_items", mode="pull")
        token = feed._issue_pull_token()
        self.assertEqual(self._get("not-the-token").status_code, 404)
        self.assertEqual(self._get(token, cursor="!!").status_code, 400)
        # Patch the watermark so that the test transaction's entries are in the run.
        with patch.object(FinanceConnectFeed, "_snapshot_watermark", lambda self: 2**62):
            rows, cursor = [], None
            while True:
                resp = self._get(token, cursor=cursor or "", limit=4)
                self.assertEqual(resp.status_code, 200)
                page = resp.json()
                rows += page["rows"]
                cursor = page["next_cursor"]
                if not page["has_more"]:
                    break
            delivery = page["delivery"]
            good = ControlTotals.of(rows).as_dict()
            resp = self.url_open(
                f"/finance_connect/feed/{token}/ack",
                data=json.dumps({"delivery": delivery, "control": good}),
                headers={"Content-Type": "application/json"},
            )
            self.assertEqual(resp.status_code, 200, resp.text)
            self.assertEqual(resp.json()["state"], "acknowledged")
        self.assertGreater(len(rows), 8)
        feed.action_regenerate_token()
        self.assertEqual(self._get(token).status_code, 404)

    def test_endpoint_streams_a_run_as_json_lines(self):
        """``format=jsonl``: the run as one download whose ``sha256sum`` is the
        control hash in the headers; the headers' totals acknowledge it."""
        import hashlib

        feed = self.make_feed(kind="journal_items", mode="pull")
        token = feed._issue_pull_token()
        with patch.object(FinanceConnectFeed, "_snapshot_watermark", lambda self: 2**62):
            resp = self._get(token, format="jsonl")
            self.assertEqual(resp.status_code, 200, resp.text)
            self.assertEqual(resp.headers["Content-Type"].split(";")[0], "application/jsonl")
            body = resp.content
            self.assertEqual(int(resp.headers["Content-Length"]), len(body))
            rows = [json.loads(line) for line in body.decode().splitlines()]
            self.assertGreater(len(rows), 8)
            control = {
                "row_count": int(resp.headers["X-Finance-Connect-Row-Count"]),
                "total_debit": resp.headers["X-Finance-Connect-Total-Debit"],
                "total_credit": resp.headers["X-Finance-Connect-Total-Credit"],
                "sha256": resp.headers["X-Finance-Connect-SHA256"],
            }
            self.assertEqual(control, ControlTotals.of(rows).as_dict())
            self.assertEqual(control["sha256"], hashlib.sha256(body).hexdigest())
            delivery = resp.headers["X-Finance-Connect-Delivery"]
            self.assertEqual({r["delivery"] for r in rows}, {delivery})
            # The pages of the same rows carry the same line ids, in the same order.
            page = self._get(token, limit=1000).json()
            self.assertEqual([r["line_id"] for r in page["rows"]], [r["line_id"] for r in rows])
            resp = self.url_open(
                f"/finance_connect/feed/{token}/ack",
                data=json.dumps({"delivery": delivery, "control": control}),
                headers={"Content-Type": "application/json"},
            )
            self.assertEqual(resp.json()["state"], "acknowledged", resp.text)
            # The next cursor starts the next run: nothing new posted, nothing sent.
            nxt = self._get(token, format="jsonl", cursor=page["next_cursor"])
            self.assertEqual(nxt.status_code, 200)
            self.assertEqual(nxt.content, b"")
            self.assertEqual(nxt.headers["X-Finance-Connect-Row-Count"], "0")
        self.assertEqual(self._get(token, format="jsonl", cursor="!!").status_code, 400)
        self.assertEqual(self._get(token, format="csv").status_code, 400)
        self.assertEqual(self._get("not-the-token", format="jsonl").status_code, 404)
