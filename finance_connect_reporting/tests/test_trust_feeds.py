"""Trust boundary, reporting feeds (issue 13 item 4), attacked over real HTTP.

A feed reads whole ledgers. It may only cover companies its author may
access, always includes its owner company, is invisible to anyone who cannot
access all of its companies, and its pull endpoint and deliveries stop
reading as soon as its author loses access to one of them.
"""

from odoo.addons.finance_connect.tests.trust_common import TrustCase
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import ReportingCase

FEED = "finance.connect.feed"


@tagged("post_install", "-at_install")
class TestTrustFeeds(ReportingCase, TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The reporting set-up's second company is the one feeds read.
        cls.manager_ab.company_ids |= cls.company_b

    def feed_vals(self, **vals):
        return {
            "name": "Group ledger",
            "company_id": self.company_a.id,
            "company_ids": [(6, 0, (self.company_a | self.company_b).ids)],
            "currency_id": self.eur.id,
            "kind": "journal_items",
            "mode": "pull",
            "period_status": "flash",
            **vals,
        }

    def test_item4_a_feed_covers_only_companies_its_author_may_access(self):
        Feed = self.env[FEED].sudo().with_context(active_test=False)
        before = Feed.search_count([])
        for role in ("portal", "internal", "fc_user", "manager"):
            with self.subTest(role=role):
                self.assert_refused(
                    self.rpc(
                        self.roles[role],
                        FEED,
                        "create",
                        [self.feed_vals()],
                        company_ids=(self.company_a | self.company_b).ids,
                    )
                )
        self.assertEqual(Feed.search_count([]), before)
        # Nor can the manager of A widen a feed of A afterwards.
        own = self.assert_ok(
            self.rpc(
                self.manager,
                FEED,
                "create",
                [self.feed_vals(company_ids=[(6, 0, self.company_a.ids)])],
            )
        )
        self.assert_refused(
            self.rpc(
                self.manager,
                FEED,
                "write",
                [[own], {"company_ids": [(4, self.company_b.id)]}],
                company_ids=(self.company_a | self.company_b).ids,
            )
        )
        self.assertEqual(Feed.browse(own).company_ids, self.company_a)
        # A feed always includes its owner company, whoever makes it.
        self.assert_refused(
            self.rpc(
                self.manager_ab,
                FEED,
                "create",
                [self.feed_vals(company_ids=[(6, 0, self.company_b.ids)])],
            ),
            contains="owner company",
        )
        self.assertEqual(Feed.search_count([]), before + 1)

    def test_item4_a_feed_over_two_companies_is_invisible_to_a_one_company_manager(self):
        feed_id = self.assert_ok(self.rpc(self.manager_ab, FEED, "create", [self.feed_vals()]))
        feed = self.env[FEED].sudo().browse(feed_id)
        self.assertEqual(feed.scope_user_id, self.manager_ab)
        token = feed._issue_pull_token()
        token_hash = feed.pull_token_hash
        for role in ("fc_user", "manager"):
            with self.subTest(role=role):
                user = self.roles[role]
                found = self.assert_ok(
                    self.rpc(user, FEED, "search_read", [[]], {"fields": ["name"]})
                )
                self.assertNotIn(feed_id, [row["id"] for row in found])
                self.assert_refused(self.rpc(user, FEED, "read", [[feed_id], ["pull_url"]]))
                self.assert_refused(self.button(user, feed, "action_export_file"))
                self.assert_refused(self.button(user, feed, "action_regenerate_token"))
        self.assertEqual(feed.pull_token_hash, token_hash)
        self.assertFalse(feed.message_ids.filtered(lambda m: "Exported" in (m.body or "")))
        self.assertFalse(
            self.env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", FEED), ("res_id", "=", feed_id)])
        )
        # Who may access both companies sees it and its (masked) pull URL; the
        # token works for the pull endpoint.
        seen = self.assert_ok(self.rpc(self.manager_ab, FEED, "read", [[feed_id], ["pull_url"]]))
        self.assertTrue(seen[0]["pull_url"])
        self.assertNotIn(token, seen[0]["pull_url"])
        self.assertEqual(self.url_open(f"/finance_connect/feed/{token}/rows").status_code, 200)

    def test_item4_pull_and_deliveries_stop_when_the_author_loses_a_company(self):
        feed_id = self.assert_ok(self.rpc(self.manager_ab, FEED, "create", [self.feed_vals()]))
        feed = self.env[FEED].sudo().browse(feed_id)
        url = f"/finance_connect/feed/{feed._issue_pull_token()}/rows"
        self.assertEqual(self.url_open(url).status_code, 200)
        deliveries = feed.delivery_ids
        self.manager_ab.sudo().company_ids = self.company_a
        self.assertEqual(self.url_open(url).status_code, 404)
        with self.assertRaisesRegex(UserError, "can no longer access"):
            feed._deliver_scheduled()
        feed.invalidate_recordset()
        self.assertEqual(feed.delivery_ids, deliveries, "nothing more was read or delivered")

    def test_the_push_marker_moves_with_deliveries_only(self):
        """Moved back by hand, the marker would have every increment pushed again."""
        feed_id = self.assert_ok(self.rpc(self.manager_ab, FEED, "create", [self.feed_vals()]))
        feed = self.env[FEED].sudo().browse(feed_id)
        before = feed.last_watermark
        self.assert_refused(
            self.rpc(self.manager_ab, FEED, "write", [[feed_id], {"last_watermark": "-1"}]),
            "delivery marker",
        )
        feed.invalidate_recordset()
        self.assertEqual(feed.last_watermark, before)
        # the rest of the feed is still the manager's to configure
        self.assert_ok(self.rpc(self.manager_ab, FEED, "write", [[feed_id], {"name": "Renamed"}]))
        self.assertEqual(feed.name, "Renamed")
