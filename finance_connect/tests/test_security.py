"""What users must not see or do: secrets, other companies, the append-only log."""

from unittest.mock import patch

import psycopg2

from odoo import tools
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestSecrets(FinanceConnectCase):
    def test_secret_is_encrypted_at_rest_and_masked(self):
        self.connection.write({"auth_type": "api_key", "api_key": "sk_live_abcdef123456"})
        self.env.cr.execute(
            "SELECT ciphertext FROM finance_connect_secret WHERE connection_id = %s "
            "AND name = 'api_key'",
            (self.connection.id,),
        )
        (ciphertext,) = self.env.cr.fetchone()
        self.assertNotIn("sk_live_abcdef123456", ciphertext)
        self.assertTrue(ciphertext.startswith("fc2:"))
        self.connection.invalidate_recordset()
        shown = self.connection.api_key
        self.assertNotIn("sk_live", shown)
        self.assertTrue(shown.endswith("3456"))
        Http = self.env["finance.connect.http"]
        self.assertEqual(
            Http._get_auth_headers(self.connection), {"X-API-Key": "sk_live_abcdef123456"}
        )

    def test_masked_value_written_back_keeps_the_secret(self):
        self.connection.api_key = "sk_live_abcdef123456"
        self.connection.invalidate_recordset()
        self.connection.api_key = self.connection.api_key  # the form sends the mask back
        self.assertEqual(self.connection._get_secret("api_key"), "sk_live_abcdef123456")

    def test_manager_cannot_read_or_set_secrets(self):
        self.connection.api_key = "sk_live_abcdef123456"
        conn = self.connection.with_user(self.manager)
        with self.assertRaises(AccessError):
            conn.read(["api_key"])
        self.manager.groups_id |= self.env.ref("base.group_allow_export")
        with self.assertRaises(AccessError):
            conn.export_data(["api_key"])
        with self.assertRaises(AccessError):
            conn.write({"api_key": "stolen"})
        with self.assertRaises(AccessError):
            self.env["finance.connect.secret"].with_user(self.manager).search_read([])
        fields = conn.fields_get()
        self.assertNotIn("api_key", fields)
        self.assertNotIn("webhook_secret", fields)

    def test_no_key_refuses_to_store_secrets(self):
        with (
            patch.dict(tools.config.options, {"finance_connect_secret_key": ""}),
            patch.dict("os.environ", {"FINANCE_CONNECT_SECRET_KEY": ""}),
        ):
            with self.assertRaisesRegex(UserError, "No encryption key is configured"):
                self.connection.bearer_token = "abc"

    def test_secret_never_in_message_payload_or_log(self):
        self.connection.write({"auth_type": "bearer", "bearer_token": "tok_supersecret_999"})
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        message = self.messages_of(invoice)
        self.assertEqual(message.state, "done")
        self.assertNotIn("tok_supersecret_999", message.sudo().payload)
        self.assertNotIn("tok_supersecret_999", message.state_log or "")
        delivery = self.sandbox.deliveries("/events")[0]
        self.assertEqual(delivery["headers"].get("Authorization"), "Bearer tok_supersecret_999")

    def test_webhook_secret_rotation_keeps_previous_until_expiry(self):
        old = self.connection._get_secret("webhook_secret")
        action = self.connection.action_generate_webhook_secret()
        new = action["params"]["message"]
        self.assertTrue(new.startswith("whsec_"))
        self.assertEqual(
            self.env["finance.connect.secret"]._get_webhook_secrets(self.connection), [new, old]
        )
        self.connection.webhook_previous_expiry = "2000-01-01 00:00:00"
        self.assertEqual(
            self.env["finance.connect.secret"]._get_webhook_secrets(self.connection), [new]
        )


@tagged("post_install", "-at_install")
class TestMultiCompany(FinanceConnectCase):
    def test_user_of_company_a_sees_nothing_of_company_b(self):
        company_b = (
            self.company_data_2["company"]
            if hasattr(self, "company_data_2")
            else (self.setup_other_company()["company"])
        )
        conn_b = self._create_connection("Bank B", company_b)
        self.env["finance.connect.exception"]._open(
            "other", "B problem", "Something in B", connection=conn_b
        )
        self.env["finance.connect.message"]._enqueue_outbound(
            conn_b,
            "record.synced",
            {"event_id": "b-1", "data": {}},
        )
        user_a = new_test_user(
            self.env,
            login="fc_user_a",
            groups="finance_connect.group_manager",
            company_id=self.company_data["company"].id,
            company_ids=[(6, 0, self.company_data["company"].ids)],
        )
        env_a = self.env(user=user_a)
        self.assertFalse(env_a["finance.connect.connection"].search([("id", "=", conn_b.id)]))
        self.assertFalse(
            env_a["finance.connect.message"].search([("company_id", "=", company_b.id)])
        )
        self.assertFalse(
            env_a["finance.connect.exception"].search([("company_id", "=", company_b.id)])
        )
        self.assertTrue(
            env_a["finance.connect.connection"].search([("id", "=", self.connection.id)])
        )
        with self.assertRaises(AccessError):
            env_a["finance.connect.connection"].browse(conn_b.id).read(["name"])


@tagged("post_install", "-at_install")
class TestAppendOnly(FinanceConnectCase):
    def test_messages_cannot_be_deleted_or_edited(self):
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        message = self.messages_of(invoice)
        with self.assertRaises(UserError):
            message.unlink()
        with self.assertRaises(AccessError):
            message.with_user(self.manager).write({"state": "new"})
        with self.assertRaises(AccessError):
            message.with_user(self.fc_user).action_replay()
        self.assertIn("-> done", message.state_log)

    def test_idempotency_key_unique_in_database(self):
        with self.run_jobs():
            invoice = self.post_invoice(10.0)
        message = self.messages_of(invoice)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.UniqueViolation),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute(
                "INSERT INTO finance_connect_message (reference, direction, connection_id, "
                "company_id, event_type, idempotency_key, state, active) "
                "VALUES ('X', 'out', %s, %s, 'x', %s, 'new', true)",
                (message.connection_id.id, message.company_id.id, message.idempotency_key),
            )

    def test_user_reads_but_cannot_configure(self):
        conn = self.connection.with_user(self.fc_user)
        self.assertEqual(conn.name, "Test bank")
        with self.assertRaises(AccessError):
            conn.write({"name": "renamed"})
        with self.assertRaises(AccessError):
            self.env["finance.connect.connection"].with_user(self.fc_user).create(
                {"name": "x", "kind": "bank"}
            )
