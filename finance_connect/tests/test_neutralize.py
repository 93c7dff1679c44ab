"""Copies of production: Odoo's own neutralization (``odoo-bin neutralize``,
Odoo.sh staging and duplicates) run on a database with live connections.

The test runs ``odoo.modules.neutralize.neutralize_database`` (every installed
addon's ``data/neutralize.sql``, ours included) inside the test transaction,
then drops the caches as a server starting on the copy would, and checks over
real HTTP what a counterparty, a scraper and a user of the copy see.
"""

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.modules.neutralize import neutralize_database
from odoo.tests import new_test_user, tagged

from .trust_common import TrustCase
from .webhook_common import WebhookCase

CONNECTION = "finance.connect.connection"
OUR_CRONS = (
    "finance_connect.ir_cron_archive_messages",
    "finance_connect.ir_cron_send_batches",
    "finance_connect.ir_cron_wake_queues",
)


@tagged("post_install", "-at_install")
class TestNeutralizedCopy(WebhookCase, TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fc_admin = new_test_user(
            cls.env,
            login="fc_admin_a",
            groups="account.group_account_manager,finance_connect.group_administrator",
            company_id=cls.company_a.id,
        )
        for xmlid in OUR_CRONS:
            cls.env.ref(xmlid).active = True
        cls.env["finance.connect.metrics.token"].sudo().search([]).unlink()

    def neutralize(self):
        """What ``odoo-bin neutralize -d <copy>`` does, then a server starting on
        the copy (no cache of the production server)."""
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.env.registry.clear_cache()

    def scrape(self, token):
        return self.url_open(
            "/finance_connect/metrics", headers={"Authorization": f"Bearer {token}"}
        )

    def dashboard(self, user):
        """The dashboard's cards as the web client reads them."""
        spec = {"name": {}, "paused": {}, "fc_neutralized_copy": {}, "fc_copy_banner": {}}
        answer = self.rpc(
            user,
            CONNECTION,
            "web_search_read",
            [[("id", "=", self.connection.id)]],
            {"specification": spec},
        )
        return self.assert_ok(answer)["records"]

    def test_neutralization_pauses_replaces_tokens_and_stops_crons(self):
        token = self.webhook_token(self.connection)
        metrics_token = self.env["finance.connect.metrics.token"]._issue_metrics_token(
            self.company_a
        )
        Secret = self.env["finance.connect.secret"].sudo()
        Secret._store(self.connection, "oauth_access_token", "production-access-token")
        oauth_token = Secret.search(
            [("connection_id", "=", self.connection.id), ("name", "=", "oauth_access_token")]
        )
        self.assertTrue(oauth_token)
        # production: the webhook URL and the metrics token work
        self.assertEqual(self.post_webhook(self.connection).status_code, 202)
        self.assertEqual(self.scrape(metrics_token).status_code, 200)
        self.assertFalse(self.dashboard(self.fc_user)[0]["fc_neutralized_copy"])
        # an invoice posted on production: its message waits for its delivery job
        with trap_jobs() as trap:
            invoice = self.post_invoice(120.0)
            message = self.messages_of(invoice)
            self.assertEqual(message.state, "queued")
            self.assertTrue(trap.enqueued_jobs, "a delivery job was queued")

            self.neutralize()

            # the copy: the job queued on production runs and sends nothing
            for job in trap.enqueued_jobs:
                job.recordset = job.recordset.with_env(self.env)
            trap.perform_enqueued_jobs()
        self.assertEqual(self.sandbox.deliveries("/events"), [], "nothing reached the bank")
        self.assertEqual(message.state, "queued", "the message waits on the copy")
        self.assertTrue(self.connection.paused)
        self.assertFalse(oauth_token.exists(), "production's OAuth2 access token is gone")
        self.assertTrue(self.connection.sudo()._get_secret("webhook_secret"), "others stay")
        # the production webhook URL and metrics token are refused on the copy
        received = len(self.inbound_messages())
        self.assertEqual(self.post_webhook(self.connection).status_code, 404)
        self.assertEqual(self.post_raw(self.webhook_url(token), b"{}", {}).status_code, 404)
        self.assertEqual(len(self.inbound_messages()), received, "nothing stored")
        self.assertEqual(self.scrape(metrics_token).status_code, 401)
        # resumed on the copy, the connection still refuses production's URL: the
        # token was replaced, not only paused; a new URL of the copy works
        self.connection.with_user(self.fc_admin).action_resume_on_copy()
        self.assertEqual(self.post_raw(self.webhook_url(token), b"{}", {}).status_code, 404)
        self._webhook_tokens.clear()
        self.assertEqual(self.post_webhook(self.connection).status_code, 202)
        # our crons are inactive, and Odoo flagged the database
        for xmlid in OUR_CRONS:
            self.assertFalse(self.env.ref(xmlid).active, xmlid)
        self.assertTrue(self.env[CONNECTION]._is_neutralized_copy())

    def test_dashboard_says_it_is_a_neutralized_copy(self):
        self.neutralize()
        card = self.dashboard(self.fc_user)[0]
        self.assertTrue(card["paused"])
        self.assertTrue(card["fc_neutralized_copy"])
        self.assertIn("neutralized copy", card["fc_copy_banner"])
        self.assertIn("tokens replaced", card["fc_copy_banner"])
        # the dashboard's card and the form show the banner
        action = self.env.ref("finance_connect.finance_connect_connection_action_dashboard")
        views = self.assert_ok(
            self.rpc(
                self.fc_user,
                CONNECTION,
                "get_views",
                [[(False, "kanban"), (False, "form")]],
                {"options": {"action_id": action.id}},
            )
        )
        for view_type in ("kanban", "form"):
            self.assertIn('name="fc_copy_banner"', views["views"][view_type]["arch"], view_type)

    def test_resuming_on_the_copy_is_an_explicit_administrator_action(self):
        self.neutralize()
        # "Test connection" sends no production credentials from the copy
        self.assert_refused(
            self.button(self.manager, self.connection, "action_test_connection"),
            contains="neutralized copy",
        )
        self.assertEqual(self.sandbox.received(), [], "no request reached the counterparty")
        # unticking "Paused" is refused on a copy, to managers and administrators
        for user in (self.manager, self.fc_admin):
            message = self.assert_refused(
                self.rpc(user, CONNECTION, "write", [self.connection.ids, {"paused": False}]),
                contains="neutralized copy",
            )
            self.assertIn("Resume on this copy", message)
        # nor does the connection's own Resume button (a manager's) resume it
        for user in (self.manager, self.fc_admin):
            self.assert_refused(
                self.button(user, self.connection, "action_resume"), contains="neutralized copy"
            )
        self.assertTrue(self.connection.paused)
        # the explicit action: refused below administrators
        for role, user in self.roles.items():
            with self.subTest(role=role):
                self.assert_refused(self.button(user, self.connection, "action_resume_on_copy"))
        self.assertTrue(self.connection.paused)
        # an administrator resumes it; the audit trail says who
        self.assert_ok(self.button(self.fc_admin, self.connection, "action_resume_on_copy"))
        self.assertFalse(self.connection.paused)
        audit = self.env["finance.connect.audit"].search(
            [
                ("res_model", "=", CONNECTION),
                ("res_id", "=", self.connection.id),
                ("action", "=", "connection_resumed_on_copy"),
            ]
        )
        self.assertEqual(audit.user_id, self.fc_admin)
        self.assertEqual(audit.detail, "neutralized copy")

    def test_an_administrator_sees_the_banner_and_resumes_in_the_browser(self):
        self.neutralize()
        self.start_tour(
            "/odoo/action-finance_connect.finance_connect_connection_action_dashboard",
            "finance_connect_neutralized_copy_tour",
            login=self.fc_admin.login,
        )
        self.assertFalse(self.connection.paused)
        self.assertEqual(
            self.env["finance.connect.audit"]
            .search([("action", "=", "connection_resumed_on_copy")])
            .mapped("user_id"),
            self.fc_admin,
        )

    def test_production_resumes_as_before(self):
        """Not neutralized: a manager unticks Paused as always."""
        self.connection.paused = True
        self.assert_ok(
            self.rpc(self.manager, CONNECTION, "write", [self.connection.ids, {"paused": False}])
        )
        self.assertFalse(self.connection.paused)
