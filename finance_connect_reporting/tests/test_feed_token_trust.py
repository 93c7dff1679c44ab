"""Pull tokens (item 10): generated only, stored as their sha256, refused to
lower roles over real HTTP (``/web/dataset/call_kw``, ``call_button``)."""

import hashlib
import json

from odoo.tests import HttpCase, new_test_user, tagged

from .common import ReportingCase

FEED = "finance.connect.feed"


@tagged("post_install", "-at_install")
class TestFeedPullToken(ReportingCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        new_test_user(cls.env, login="fc_portal", groups="base.group_portal")
        new_test_user(cls.env, login="fc_internal", groups="base.group_user")

    def rpc(self, login, method, args, button=False):
        self.authenticate(login, login)
        url = "/web/dataset/call_button" if button else f"/web/dataset/call_kw/{FEED}/{method}"
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": FEED, "method": method, "args": args, "kwargs": {}},
        }
        self.env.flush_all()
        response = self.url_open(
            url, data=json.dumps(payload), headers={"Content-Type": "application/json"}
        )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 200)
        return response.json()

    def stored_hash(self, feed):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT pull_token_hash FROM finance_connect_feed WHERE id = %s", [feed.id]
        )
        return self.env.cr.fetchone()[0]

    def test_a_pull_token_is_generated_never_chosen(self):
        # one company: fc_manager manages company A only (a two-company feed is
        # invisible to them, item 4)
        feed = self.make_feed(
            kind="journal_items", mode="pull", company_ids=[(6, 0, self.company_a.ids)]
        )
        token = feed._issue_pull_token()
        before = self.stored_hash(feed)
        self.assertEqual(before, hashlib.sha256(token.encode()).hexdigest())
        chosen = hashlib.sha256(b"1").hexdigest()
        for login in ("fc_manager", "admin"):
            answer = self.rpc(login, "write", [[feed.id], {"pull_token_hash": chosen}])
            self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", login)
            self.assertIn("generated", answer["error"]["data"]["message"])
        for login in ("fc_portal", "fc_internal", "fc_user"):
            answer = self.rpc(login, "action_regenerate_token", [[feed.id]], button=True)
            self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", login)
        self.assertEqual(self.stored_hash(feed), before)
        self.assertEqual(self.url_open("/finance_connect/feed/1/rows").status_code, 404)

    def test_manager_gets_the_new_pull_url_once(self):
        # one company: fc_manager manages company A only (a two-company feed is
        # invisible to them, item 4)
        feed = self.make_feed(
            kind="journal_items", mode="pull", company_ids=[(6, 0, self.company_a.ids)]
        )
        self.assertFalse(self.stored_hash(feed), "no token until one is generated")
        answer = self.rpc("fc_manager", "action_regenerate_token", [[feed.id]], button=True)
        url = answer["result"]["params"]["message"]
        token = url.split("/finance_connect/feed/")[1].split("/")[0]
        self.assertEqual(self.stored_hash(feed), hashlib.sha256(token.encode()).hexdigest())
        self.assertNotIn(token, feed.sudo().pull_url)
        self.env.cr.execute(
            "SELECT row_to_json(f)::text FROM finance_connect_feed f WHERE id = %s", [feed.id]
        )
        self.assertNotIn(token, self.env.cr.fetchone()[0], "the token is not stored in clear")
