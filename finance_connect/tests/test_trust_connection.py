"""The trust boundary of connections, attacked over real HTTP.

Every public method of a model can be called through ``/web/dataset/call_kw``
and ``/web/dataset/call_button`` by anyone who is logged in, whatever the views
show. Each test calls as a portal user, an internal user without a Finance
Connect group, a finance user, a manager and a one-company manager or
administrator, expects a clear refusal, and reads the database back as
superuser to see that nothing changed.
"""

import base64
import hashlib
import json
import socket
import time
import uuid
from unittest.mock import patch
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import _super_send

from ..lib import signing
from .webhook_common import WebhookCase, signing_json

ACCESS_ERROR = "odoo.exceptions.AccessError"
USER_ERROR = "odoo.exceptions.UserError"
CONN = "finance.connect.connection"


@tagged("post_install", "-at_install")
class TrustCase(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company_a = cls.company_data["company"]
        cls.company_b = cls.setup_other_company(name="FC Trust B")["company"]
        cls.env.user.company_ids |= cls.company_b
        cls.connection_b = cls._create_connection("Bank of B", cls.company_b)
        cls.portal = new_test_user(cls.env, login="fc_portal", groups="base.group_portal")
        cls.internal = new_test_user(cls.env, login="fc_internal", groups="base.group_user")
        cls.one_company_manager = new_test_user(
            cls.env,
            login="fc_manager_a",
            groups="base.group_user,finance_connect.group_manager",
            company_id=company_a.id,
            company_ids=[(6, 0, company_a.ids)],
        )
        cls.one_company_admin = new_test_user(
            cls.env,
            login="fc_admin_a",
            groups="base.group_user,finance_connect.group_administrator",
            company_id=company_a.id,
            company_ids=[(6, 0, company_a.ids)],
        )
        cls.fc_admin = new_test_user(
            cls.env,
            login="fc_admin",
            groups="base.group_user,finance_connect.group_administrator",
            company_id=company_a.id,
            company_ids=[(6, 0, (company_a | cls.company_b).ids)],
        )
        # Logins whose password is the login (new_test_user's default).
        cls.lower_roles = ("fc_portal", "fc_internal", "fc_user", "fc_manager")

    # ------------------------------------------------------------------
    # JSON-RPC as the web client sends it
    # ------------------------------------------------------------------

    def rpc(self, login, model, method, args, kwargs=None, button=False):
        """Call ``model.method(*args, **kwargs)`` over HTTP as ``login``; the
        JSON-RPC answer (``result`` or ``error``)."""
        self.authenticate(login, login)
        url = "/web/dataset/call_button" if button else f"/web/dataset/call_kw/{model}/{method}"
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        }
        self.env.flush_all()
        response = self.url_open(
            url, data=json.dumps(payload), headers={"Content-Type": "application/json"}
        )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def assertRefused(self, answer, name=ACCESS_ERROR, says=None, who=""):
        error = answer.get("error")
        self.assertTrue(error, f"{who}: expected a refusal, got {answer.get('result')!r}")
        self.assertEqual(error["data"]["name"], name, f"{who}: {error['data']['message']}")
        if says:
            self.assertIn(says, error["data"]["message"], who)
        return error["data"]["message"]

    def row(self, record, *names):
        """Columns of ``record`` read back as superuser, bypassing every cache."""
        self.env.flush_all()
        self.env.invalidate_all()
        self.env.cr.execute(
            f"SELECT {', '.join(names)} FROM {record._table} WHERE id = %s",
            (record.id,),
        )
        return self.env.cr.fetchone()

    def secret_rows(self, record):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT name, ciphertext FROM finance_connect_secret WHERE connection_id = %s "
            "ORDER BY name",
            (record.id,),
        )
        return self.env.cr.fetchall()


@tagged("post_install", "-at_install")
class TestWebhookTokenRights(TrustCase):
    """Item 1: a new webhook URL only by an administrator of the connection's company."""

    def test_lower_roles_cannot_regenerate_the_webhook_url(self):
        token = self.webhook_token(self.connection)
        before = self.row(self.connection, "webhook_token_hash")
        for login in self.lower_roles:
            for button in (False, True):
                answer = self.rpc(
                    login,
                    CONN,
                    "action_regenerate_webhook_token",
                    [[self.connection.id]],
                    button=button,
                )
                self.assertRefused(answer, who=f"{login} (button={button})")
        self.assertEqual(self.row(self.connection, "webhook_token_hash"), before)
        self.assertEqual(self.post_webhook(token, {"type": "still.works"}).status_code, 202)

    def test_one_company_administrator_cannot_touch_another_company(self):
        before = self.row(self.connection_b, "webhook_token_hash")
        answer = self.rpc(
            "fc_admin_a",
            CONN,
            "action_regenerate_webhook_token",
            [[self.connection_b.id]],
            button=True,
        )
        self.assertRefused(answer)
        self.assertEqual(self.row(self.connection_b, "webhook_token_hash"), before)

    def test_administrator_gets_the_new_url_once(self):
        old = self.webhook_token(self.connection)
        answer = self.rpc(
            "fc_admin",
            CONN,
            "action_regenerate_webhook_token",
            [[self.connection.id]],
            button=True,
        )
        url = answer["result"]["params"]["message"]
        token = url.rsplit("/", 1)[1]
        self.assertGreaterEqual(len(token), 32)
        # Stored as its sha256 only; the form shows the URL without the token.
        (stored,) = self.row(self.connection, "webhook_token_hash")
        self.assertEqual(stored, hashlib.sha256(token.encode()).hexdigest())
        self.assertNotIn(token, self.connection.sudo().webhook_url)
        # Signed with a wrong secret: a known token answers 401, an unknown one 404.
        wrong = self.standard_headers(b"{}", secret=signing.generate_secret(32))
        path = "/finance_connect/webhook/"
        self.assertEqual(self.post_raw(path + token, b"{}", wrong).status_code, 401)
        self.assertEqual(self.post_raw(path + old, b"{}", wrong).status_code, 404)


@tagged("post_install", "-at_install")
class TestEndpointRights(TrustCase):
    """Item 2: where and how credentials are sent is the administrators' call."""

    ENDPOINT_CHANGES = (
        {"base_url": "https://attacker.example/collect"},
        {"oauth_token_url": "https://attacker.example/token"},
        {"verify_tls": False},
        {"auth_type": "basic"},
        {"api_key_header": "X-Forward-To-Me"},
        {"basic_username": "me"},
        {"oauth_client_id": "mine"},
        {"company_id": None},  # filled in setUp
    )

    def setUp(self):
        super().setUp()
        self.connection.write({"auth_type": "api_key", "api_key": "sk_live_secret_123456"})
        self.columns = (
            "base_url",
            "oauth_token_url",
            "verify_tls",
            "auth_type",
            "api_key_header",
            "basic_username",
            "oauth_client_id",
            "company_id",
        )

    def test_manager_cannot_redirect_credentials(self):
        before = self.row(self.connection, *self.columns)
        for vals in self.ENDPOINT_CHANGES:
            if "company_id" in vals:
                vals = {"company_id": self.company_b.id}
            for login in ("fc_manager", "fc_manager_a"):
                answer = self.rpc(login, CONN, "write", [[self.connection.id], vals])
                message = self.assertRefused(answer, who=f"{login} {vals}")
                if login == "fc_manager":
                    self.assertIn("Only Finance Connect administrators may set", message)
        self.assertEqual(self.row(self.connection, *self.columns), before)
        self.assertFalse(self.sandbox.received(), "nothing was sent anywhere")

    def test_manager_cannot_create_a_connection_with_an_endpoint(self):
        count = self.env[CONN].sudo().search_count([])
        answer = self.rpc(
            "fc_manager",
            CONN,
            "create",
            [{"name": "Exfil", "kind": "bank", "base_url": "https://attacker.example"}],
        )
        self.assertRefused(answer, says="Base URL")
        self.assertEqual(self.env[CONN].sudo().search_count([]), count)

    def test_manager_still_configures_the_rest(self):
        answer = self.rpc(
            "fc_manager",
            CONN,
            "write",
            [[self.connection.id], {"name": "Renamed", "timeout_read": 3, "paused": True}],
        )
        self.assertTrue(answer.get("result"), answer)
        self.assertEqual(self.row(self.connection, "name", "paused"), ("Renamed", True))
        # A new connection with the defaults (no endpoint) is fine too.
        answer = self.rpc("fc_manager", CONN, "create", [{"name": "Planned", "kind": "bank"}])
        self.assertTrue(answer.get("result"), answer)

    def test_test_connection_is_for_managers_only(self):
        for login in ("fc_portal", "fc_internal", "fc_user"):
            answer = self.rpc(
                login, CONN, "action_test_connection", [[self.connection.id]], button=True
            )
            self.assertRefused(answer, who=login)
        self.assertFalse(self.sandbox.received(), "no credential went out")
        answer = self.rpc(
            "fc_manager", CONN, "action_test_connection", [[self.connection.id]], button=True
        )
        self.assertEqual(answer["result"]["params"]["type"], "success", answer)
        (request,) = self.sandbox.received()
        self.assertEqual(request["headers"].get("X-API-Key"), "sk_live_secret_123456")

    def test_test_connection_says_what_the_answer_means(self):
        """Only a 2xx/3xx answer is green: a 404 is a wrong URL, not a success."""
        for status, kind, says in (
            (200, "success", "the connection works"),
            (404, "warning", "knows no such address: check the base URL"),
            (401, "danger", "refuses these credentials"),
            (403, "danger", "refuses these credentials"),
            (422, "warning", "refused the test call"),
            (503, "danger", "the server is failing"),
        ):
            with self.subTest(status=status):
                self.sandbox.set_default(status=status)
                answer = self.rpc(
                    "fc_manager",
                    CONN,
                    "action_test_connection",
                    [[self.connection.id]],
                    button=True,
                )
                params = answer["result"]["params"]
                self.assertEqual(params["type"], kind, params)
                self.assertIn(f"answered HTTP {status}", params["message"])
                self.assertIn(says, params["message"])

    def test_lower_roles_cannot_close_the_circuit(self):
        self.connection.sudo().write({"circuit_state": "open", "consecutive_failures": 5})
        for login in ("fc_portal", "fc_internal", "fc_user"):
            answer = self.rpc(
                login, CONN, "action_reset_circuit", [[self.connection.id]], button=True
            )
            self.assertRefused(answer, who=login)
        self.assertEqual(self.row(self.connection, "circuit_state"), ("open",))


@tagged("post_install", "-at_install")
class TestWebhookVerifierRights(TrustCase):
    """Item 3: what makes an inbound webhook trusted is as sensitive as the secret."""

    def _attacker_key(self):
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return private, "whpk_" + base64.b64encode(raw).decode()

    def test_manager_cannot_make_forged_webhooks_verify(self):
        private, public = self._attacker_key()
        columns = (
            "webhook_public_key",
            "webhook_verifier",
            "webhook_tolerance",
            "webhook_previous_expiry",
            "rotation_grace_hours",
        )
        before = self.row(self.connection, *columns)
        secrets_before = self.secret_rows(self.connection)
        for vals in (
            {"webhook_public_key": public},
            {"webhook_verifier": "stripe"},
            {"webhook_tolerance": 10**8},
            {"webhook_previous_expiry": "2999-01-01 00:00:00"},
            {"rotation_grace_hours": 10**6},
        ):
            for login in ("fc_manager", "fc_manager_a"):
                answer = self.rpc(login, CONN, "write", [[self.connection.id], vals])
                self.assertRefused(answer, who=f"{login} {vals}")
        for login in self.lower_roles:
            answer = self.rpc(
                login,
                CONN,
                "action_generate_webhook_secret",
                [[self.connection.id]],
                button=True,
            )
            self.assertRefused(answer, who=login)
        self.assertEqual(self.row(self.connection, *columns), before)
        self.assertEqual(self.secret_rows(self.connection), secrets_before)
        # A statement signed with the attacker's key is still refused.
        body = signing_json({"type": "statement.created", "data": {"amount": "1000000"}})
        msg_id, timestamp = "msg_" + uuid.uuid4().hex, int(time.time())
        content = f"{msg_id}.{timestamp}.".encode() + body
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1a," + base64.b64encode(private.sign(content)).decode(),
            "Content-Type": "application/json",
        }
        self.assertEqual(
            self.post_raw(self.webhook_url(self.connection), body, headers).status_code, 401
        )
        self.assertFalse(self.inbound_messages())

    def test_nobody_sets_a_token_hash_by_hand(self):
        known = hashlib.sha256(b"1" * 32).hexdigest()
        before = self.row(self.connection, "webhook_token_hash")
        for login in ("fc_manager", "fc_admin"):
            answer = self.rpc(
                login, CONN, "write", [[self.connection.id], {"webhook_token_hash": known}]
            )
            self.assertRefused(answer, who=login)
        self.assertEqual(self.row(self.connection, "webhook_token_hash"), before)


@tagged("post_install", "-at_install")
class TestOutboundDestinations(TrustCase):
    """Item 9: no call to this machine or the networks behind it, unless allowed."""

    def test_metadata_and_private_addresses_are_refused_when_saved(self):
        before = self.row(self.connection, "base_url", "oauth_token_url")
        for field, url in (
            ("base_url", "http://169.254.169.254/latest/meta-data/"),
            ("base_url", "http://10.0.0.7:8080/"),
            ("base_url", "http://[::1]:8069/"),
            ("oauth_token_url", "http://localhost:8069/web/session"),
            ("base_url", "file:///etc/passwd"),
        ):
            answer = self.rpc("fc_admin", CONN, "write", [[self.connection.id], {field: url}])
            message = self.assertRefused(answer, name=USER_ERROR, says="is refused", who=url)
            self.assertIn("finance_connect.outbound_allowed_hosts", message)
        self.assertEqual(self.row(self.connection, "base_url", "oauth_token_url"), before)

    def test_a_name_resolving_to_an_internal_address_is_refused_when_called(self):
        # The machine's own name resolves to loopback or a private address: not
        # judged when saved (no DNS then), refused at the call, nothing sent.
        host = socket.gethostname()
        self.connection.base_url = f"http://{host}:{self.sandbox.port}/"
        answer = self.rpc(
            "fc_admin", CONN, "action_test_connection", [[self.connection.id]], button=True
        )
        self.assertEqual(answer["result"]["params"]["type"], "danger", answer)
        self.assertIn("Refused to call", answer["result"]["params"]["message"])
        self.assertFalse(self.sandbox.received())

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # The rebinding test's name is connected to for real (to loopback).
        if urlsplit(r.url).hostname == "rebind.test":
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def test_dns_rebinding_is_caught_at_connect(self):
        """The name resolves to a public address when checked, then to loopback
        when connected: the address actually connected to is refused."""
        real = socket.getaddrinfo
        answers = iter(["93.184.216.34"])

        def rebinding(host, *args, **kwargs):
            if host == "rebind.test":
                return real(next(answers, "127.0.0.1"), *args, **kwargs)
            return real(host, *args, **kwargs)

        url = f"http://rebind.test:{self.sandbox.port}/"
        with patch("socket.getaddrinfo", rebinding):
            result = self.env["finance.connect.http"]._request("GET", url, timeout=(2, 2))
        self.assertEqual(result.error_kind, "refused", result.error)
        self.assertIn("rebind.test connected to a loopback address", result.error)
        self.assertFalse(self.sandbox.received())
        # The sandbox itself (allowed host) is still reached.
        result = self.env["finance.connect.http"]._request("GET", self.sandbox.url + "/")
        self.assertTrue(result.status, result.error)

    def test_only_system_administrators_allow_a_host(self):
        for login in ("fc_manager", "fc_admin"):
            answer = self.rpc(
                login,
                "ir.config_parameter",
                "set_param",
                ["finance_connect.outbound_allowed_hosts", "169.254.169.254"],
            )
            self.assertRefused(answer, who=login)
        self.assertEqual(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("finance_connect.outbound_allowed_hosts"),
            "127.0.0.1",
        )


@tagged("post_install", "-at_install")
class TestSecretsAtRest(TrustCase):
    """Item 11: a ciphertext decrypts only in its own slot."""

    def test_swapped_ciphertext_does_not_decrypt(self):
        self.connection.write({"api_key": "sk_live_AAAAAAAAAAAA"})
        self.connection_b.write(
            {"api_key": "sk_live_BBBBBBBBBBBB", "bearer_token": "tok_BBBBBBBBBB"}
        )
        rows = dict(self.secret_rows(self.connection))
        self.assertTrue(rows["api_key"].startswith("fc2:"))
        self.assertNotIn("AAAA", rows["api_key"])
        Secret = self.env["finance.connect.secret"]
        # Another connection's slot, then another field of the same connection.
        for target, name in ((self.connection_b, "api_key"), (self.connection, "bearer_token")):
            Secret._store(target, name, "placeholder-value")
            self.env.flush_all()
            self.env.cr.execute(
                "UPDATE finance_connect_secret SET ciphertext = %s "
                "WHERE connection_id = %s AND name = %s",
                (rows["api_key"], target.id, name),
            )
            self.env.invalidate_all()
            Secret._cache().clear()
            with self.assertRaisesRegex(UserError, "copied from another record or field"):
                target._get_secret(name)
        self.assertEqual(self.connection._get_secret("api_key"), "sk_live_AAAAAAAAAAAA")

    def test_old_format_is_refused_then_migrated(self):
        from ..lib.secretbox import SecretBox

        self.connection.write({"api_key": "sk_live_legacy_0001"})
        box = self.env["finance.connect.secret"]._get_box()
        legacy = "fc1:" + box._legacy.encrypt(b"sk_live_legacy_0001").decode()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE finance_connect_secret SET ciphertext = %s "
            "WHERE connection_id = %s AND name = 'api_key'",
            (legacy, self.connection.id),
        )
        self.env.invalidate_all()
        Secret = self.env["finance.connect.secret"]
        Secret._cache().clear()
        with self.assertRaisesRegex(UserError, "old format"):
            self.connection._get_secret("api_key")
        self.assertGreaterEqual(Secret._migrate_legacy_ciphertexts(), 1)
        self.assertEqual(self.connection._get_secret("api_key"), "sk_live_legacy_0001")
        (name, ciphertext), *_ = self.secret_rows(self.connection)
        self.assertEqual(name, "api_key")
        self.assertTrue(ciphertext.startswith("fc2:"))
        self.assertIsInstance(box, SecretBox)
