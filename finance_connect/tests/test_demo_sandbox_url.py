"""setup/start points the demo connection, and only it, at this run's sandbox."""

from unittest.mock import patch

from odoo import tools
from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestDemoSandboxUrl(FinanceConnectCase):
    def setUp(self):
        super().setUp()
        # As setup/start runs it: superuser (the demo connection is the main company's).
        self.demo = self.env.ref("finance_connect.demo_connection_sandbox").sudo()
        self.demo.base_url = "http://127.0.0.1:8070"

    def _sync(self, url):
        with patch.dict(tools.config.options, {"finance_connect_sandbox_url": url}):
            return self.env["finance.connect.demo"].sudo()._sync_sandbox_url()

    def test_demo_connection_follows_the_sandbox_port(self):
        user_url = self.connection.base_url
        self.assertTrue(user_url.startswith("http://127.0.0.1:"), "a loopback user connection")
        self.assertEqual(self._sync("http://127.0.0.1:18071"), self.demo)
        self.assertEqual(self.demo.base_url, "http://127.0.0.1:18071")
        self.assertEqual(self.connection.base_url, user_url, "user connections are not touched")
        self.assertFalse(self._sync("http://127.0.0.1:18071"), "nothing to do the second time")
        self.assertEqual(self._sync("http://localhost:18072"), self.demo)
        self.assertEqual(self.demo.base_url, "http://localhost:18072")

    def test_demo_connection_moved_to_a_real_system_is_left_alone(self):
        self.demo.base_url = "https://bank.example.com/api"
        self.assertFalse(self._sync("http://127.0.0.1:18071"))
        self.assertEqual(self.demo.base_url, "https://bank.example.com/api")

    def test_demo_connection_under_four_eyes_is_left_alone(self):
        self.demo.environment = "production"
        self.assertFalse(self._sync("http://127.0.0.1:18071"))
        self.assertEqual(self.demo.base_url, "http://127.0.0.1:8070")

    def test_without_a_configured_sandbox_nothing_changes(self):
        self.assertFalse(self._sync(""))
        self.assertEqual(self.demo.base_url, "http://127.0.0.1:8070")


@tagged("post_install", "-at_install")
class TestDemoSandboxSecret(FinanceConnectCase):
    """The demo connection signs with the secret the sandbox verifies with."""

    def _sync(self, secret):
        with patch.dict(tools.config.options, {"finance_connect_sandbox_secret": secret}):
            return self.env["finance.connect.demo"].sudo()._sync_sandbox_secret()

    def test_demo_connection_takes_the_sandbox_secret(self):
        from ..lib import signing

        demo = self.env.ref("finance_connect.demo_connection_sandbox").sudo()
        demo.base_url = "http://127.0.0.1:8070"
        Secret = self.env["finance.connect.secret"]
        user_secret = Secret._reveal_uncached(self.connection, "webhook_secret")
        shared = signing.generate_secret(32)
        self.assertEqual(self._sync(shared), demo)
        self.assertEqual(Secret._reveal_uncached(demo, "webhook_secret"), shared)
        self.assertFalse(self._sync(shared), "nothing to do the second time")
        self.assertEqual(
            Secret._reveal_uncached(self.connection, "webhook_secret"),
            user_secret,
            "user connections keep their secret",
        )
        # What the demo signs, the sandbox (same secret) verifies.
        headers = signing.sign_headers(shared, "msg_demo", b"{}")
        signing.verify_standard(headers, b"{}", secrets=(shared,))
        demo.base_url = "https://bank.example.com/api"
        self.assertFalse(self._sync(signing.generate_secret(32)), "a real system is left alone")
        self.assertEqual(Secret._reveal_uncached(demo, "webhook_secret"), shared)
        self.assertFalse(self._sync(""), "no sandbox secret configured: nothing changes")
