"""The tamper-evident log (issue 15): every change made to the message log, the
attempts or the audit trail behind Finance Connect's back is found by "Verify
log" and named in one exception; every legitimate change keeps the log
verifiable."""

import base64
import hashlib

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models.finance_connect_log_chain import GENESIS, chain_hash
from .trust_common import TrustCase
from .webhook_common import WebhookCase, signing_json


@tagged("post_install", "-at_install")
class TestLogChain(TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_test_user(
            cls.env,
            login="fc_chain_admin",
            groups="account.group_account_manager,finance_connect.group_administrator",
            company_id=cls.company_a.id,
        )
        Message = cls.env["finance.connect.message"]
        cls.message, _created = Message._create_idempotent(
            {
                "direction": "in",
                "connection_id": cls.connection.id,
                "event_type": "payment_status",
                "idempotency_key": "chain-1",
                "payload": '{"amount": "10.00"}',
            }
        )
        cls.binary, _created = Message._create_idempotent(
            {
                "direction": "in",
                "connection_id": cls.connection.id,
                "event_type": "statement",
                "idempotency_key": "chain-2",
                "payload": base64.b64encode(b"\x00\x01binary file").decode(),
                "payload_encoding": "base64",
                "payload_sha256": hashlib.sha256(b"\x00\x01binary file").hexdigest(),
            }
        )
        cls.attempt = (
            cls.env["finance.connect.message.attempt"]
            .sudo()
            .create(
                {
                    "message_id": cls.message.id,
                    "outcome": "retry",
                    "http_status": 503,
                    "error": "busy",
                }
            )
        )
        cls.env["finance.connect.audit"]._log(cls.message, "replay", "chain test")

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def verify(self):
        """Verify as the administrator; returns the notification's text."""
        action = self.env["finance.connect.log.chain"].action_verify_log()
        return action["params"]["message"]

    def sql(self, query, *args):
        self.env.flush_all()
        self.env.cr.execute(SQL(query, *args))
        self.env.invalidate_all()

    def integrity_exceptions(self):
        return self.env["finance.connect.exception"].search(
            [("category", "=", "log_integrity"), ("company_id", "=", self.company_a.id)]
        )

    def assert_intact(self):
        text = self.verify()
        self.assertIn("chain intact", text)
        self.assertFalse(self.integrity_exceptions(), "a clean log opens no exception")

    def assert_found(self, *needles):
        text = self.verify()
        self.assertNotIn("chain intact", text)
        exc = self.integrity_exceptions()
        self.assertEqual(len(exc), 1, "one exception, not one per row")
        for needle in needles:
            self.assertIn(needle, exc.description)
            self.assertIn(needle, text)
        return exc

    # ------------------------------------------------------------------
    # Legitimate changes keep the log verifiable
    # ------------------------------------------------------------------

    def test_clean_log_verifies(self):
        text = self.verify()
        self.assertIn("chain intact", text)
        self.assertRegex(text, r"Log verified: [1-9][0-9,]* rows", "the entries were walked")
        entries = self.env["finance.connect.log.chain"].search(
            [("res_model", "=", "finance.connect.message"), ("res_id", "=", self.message.id)]
        )
        self.assertTrue(entries, "the message has its entry")
        self.assertTrue(all(entries.mapped("seq")), "verification sealed it")
        self.assertFalse(self.integrity_exceptions())

    def test_state_change_keeps_log_verifiable(self):
        self.verify()
        self.message._set_state("failed", "handler refused it", error="no such account")
        self.assert_intact()
        entries = self.env["finance.connect.log.chain"].search(
            [("res_model", "=", "finance.connect.message"), ("res_id", "=", self.message.id)]
        )
        self.assertGreaterEqual(len(entries), 2, "the state change appended an entry")

    def test_archiving_by_retention_cron_keeps_log_verifiable(self):
        self.verify()
        self.message._set_state("done", "delivered")
        # Retention of -1 day: everything delivered so far is old enough.
        self.env["ir.config_parameter"].sudo().set_param("finance_connect.retention_days", "-1")
        self.env["finance.connect.message"]._cron_archive_old_messages()
        self.assertFalse(self.message.active, "the retention cron archived the message")
        self.assert_intact()

    def test_chain_links_each_entry_to_the_previous_one(self):
        self.verify()
        self.env.cr.execute(
            SQL(
                "SELECT seq, res_model, res_id, digest, prev_hash, hash"
                "  FROM finance_connect_log_chain WHERE company_id = %s ORDER BY seq",
                self.company_a.id,
            )
        )
        rows = self.env.cr.fetchall()
        self.assertTrue(rows)
        prev = GENESIS
        for expected, (seq, res_model, res_id, digest, prev_hash, hash_) in enumerate(rows, 1):
            self.assertEqual(seq, expected)
            self.assertEqual(prev_hash, prev)
            self.assertEqual(
                hash_, chain_hash(prev, self.company_a.id, seq, res_model, res_id, digest)
            )
            prev = hash_

    # ------------------------------------------------------------------
    # Changes behind Finance Connect's back are found and named
    # ------------------------------------------------------------------

    def test_payload_altered_in_sql(self):
        self.verify()
        self.sql(
            "UPDATE finance_connect_message SET payload = %s WHERE id = %s",
            '{"amount": "10000.00"}',
            self.message.id,
        )
        exc = self.assert_found(self.message.reference, "payload")
        self.assertIn("no longer matches its SHA-256", exc.description)

    def test_base64_payload_altered_into_garbage(self):
        self.verify()
        self.sql(
            "UPDATE finance_connect_message SET payload = 'not base64 !' WHERE id = %s",
            self.binary.id,
        )
        self.assert_found(self.binary.reference, "payload")

    def test_state_altered_in_sql(self):
        self.verify()
        self.sql("UPDATE finance_connect_message SET state = 'done' WHERE id = %s", self.message.id)
        exc = self.assert_found(self.message.reference, "changed outside Finance Connect")
        self.assertIn(f"finance.connect.message,{self.message.id}", exc.description)

    def test_attempt_status_altered_in_sql(self):
        self.verify()
        self.sql(
            "UPDATE finance_connect_message_attempt SET outcome = 'done', http_status = 200"
            " WHERE id = %s",
            self.attempt.id,
        )
        self.assert_found(
            f"finance.connect.message.attempt,{self.attempt.id}",
            f"attempt of {self.message.reference}",
            "changed outside Finance Connect",
        )

    def test_row_deleted_in_sql(self):
        self.verify()
        self.sql("DELETE FROM finance_connect_message_attempt WHERE id = %s", self.attempt.id)
        self.assert_found(
            f"finance.connect.message.attempt,{self.attempt.id}", "was deleted from the database"
        )

    def test_row_inserted_in_sql(self):
        self.verify()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "INSERT INTO finance_connect_message (reference, direction, connection_id,"
                " company_id, event_type, idempotency_key, state, active, attempt_count)"
                " SELECT 'FCM-FORGED', direction, connection_id, company_id, event_type,"
                " 'forged', 'done', TRUE, 0 FROM finance_connect_message WHERE id = %s"
                " RETURNING id",
                self.message.id,
            )
        )
        forged = self.env.cr.fetchone()[0]
        self.assert_found(
            f"finance.connect.message,{forged}", "FCM-FORGED", "inserted outside Finance Connect"
        )

    def test_audit_row_altered_in_sql(self):
        self.verify()
        audit = self.env["finance.connect.audit"].search(
            [("res_model", "=", "finance.connect.message"), ("res_id", "=", self.message.id)],
            limit=1,
        )
        self.sql("UPDATE finance_connect_audit SET user_id = NULL WHERE id = %s", audit.id)
        self.assert_found(f"finance.connect.audit,{audit.id}", "changed outside Finance Connect")

    def test_chain_entry_altered(self):
        self.verify()
        self.env.cr.execute(
            SQL(
                "SELECT id, seq FROM finance_connect_log_chain WHERE res_model = %s"
                " AND res_id = %s ORDER BY id LIMIT 1",
                "finance.connect.message",
                self.message.id,
            )
        )
        entry, seq = self.env.cr.fetchone()
        self.sql(
            "UPDATE finance_connect_log_chain SET digest = md5(digest) || md5(digest)"
            " WHERE id = %s",
            entry,
        )
        self.assert_found(f"Entry {seq} of the log chain", self.message.reference, "was changed")

    def test_chain_entry_deleted(self):
        self.verify()
        self.env.cr.execute(
            SQL(
                "SELECT id, seq FROM finance_connect_log_chain WHERE res_model = %s"
                " AND res_id = %s ORDER BY id LIMIT 1",
                "finance.connect.message.attempt",
                self.attempt.id,
            )
        )
        entry, seq = self.env.cr.fetchone()
        self.sql("DELETE FROM finance_connect_log_chain WHERE id = %s", entry)
        self.assert_found(f"Entry {seq} of the log chain is missing")

    def test_second_verification_opens_no_second_exception(self):
        self.verify()
        self.sql("UPDATE finance_connect_message SET state = 'done' WHERE id = %s", self.message.id)
        first = self.assert_found(self.message.reference)
        self.sql(
            "UPDATE finance_connect_message SET error = 'hidden' WHERE id = %s", self.binary.id
        )
        again = self.assert_found(self.message.reference)
        self.assertEqual(first, again, "no second exception while one is open")

    def test_administrator_verifies_the_companies_they_work_in(self):
        connection_b = self._create_connection("Chain B", self.company_b)
        message_b, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": connection_b.id,
                "event_type": "payment_status",
                "idempotency_key": "chain-b-1",
                "payload": "{}",
            }
        )
        self.verify()
        self.sql("UPDATE finance_connect_message SET state = 'done' WHERE id = %s", message_b.id)
        Chain = self.env["finance.connect.log.chain"]
        text = Chain.with_user(self.admin).action_verify_log()["params"]["message"]
        self.assertIn("chain intact", text, "company B is none of the administrator's business")
        Exc = self.env["finance.connect.exception"]
        self.assertFalse(Exc.search([("category", "=", "log_integrity")]))
        # The daily cron verifies every company.
        Chain._cron_verify_log()
        exc = Exc.search([("category", "=", "log_integrity")])
        self.assertEqual(exc.company_id, self.company_b)
        self.assertIn(message_b.reference, exc.description)

    # ------------------------------------------------------------------
    # Who may verify
    # ------------------------------------------------------------------

    def test_verify_refused_over_http_below_administrator(self):
        model = "finance.connect.log.chain"
        self.sql("UPDATE finance_connect_message SET state = 'done' WHERE id = %s", self.message.id)
        for user in (self.internal, self.fc_user, self.manager, self.manager_ab):
            with self.subTest(user=user.login):
                answer = self.rpc(user, model, "action_verify_log")
                self.assert_refused(answer, "administrators")
        self.assertFalse(self.integrity_exceptions(), "nothing was verified")
        Audit = self.env["finance.connect.audit"]
        self.assertFalse(Audit.search([("action", "=", "verify_log")]), "nobody verified")
        answer = self.rpc(self.admin, model, "action_verify_log")
        result = self.assert_ok(answer)
        self.assertIn(self.message.reference, result["params"]["message"])
        audit = Audit.search([("action", "=", "verify_log")])
        self.assertEqual(audit.user_id, self.admin, "the verification is in the audit trail")
        self.assertIn(self.message.reference, audit.detail)


@tagged("post_install", "-at_install")
class TestLogChainEngine(WebhookCase):
    """The engine's own writers (delivery with retries, webhooks over HTTP,
    inbound processing, replay, cancel, the audit trail) leave the log
    verifiable: verification does not cry wolf."""

    def verify(self):
        return self.env["finance.connect.log.chain"]._verify()

    def test_engine_writes_keep_log_verifiable(self):
        self.assertFalse(self.verify()["findings"], "the log starts verifiable")
        # Outbound: two failed attempts, then delivered.
        self.sandbox.add_fault(status=503, times=2)
        with self.run_jobs():
            invoice = self.post_invoice(75.0)
        outbound = self.messages_of(invoice)
        self.assertEqual(outbound.state, "done")
        self.assertEqual(len(outbound.attempt_ids), 3)
        # Inbound: a webhook over real HTTP, stored then processed by its job.
        body = signing_json({"type": "payment.settled", "id": "pay_chain", "amount": "3.00"})
        with trap_jobs() as trap:
            response = self.post_raw(
                self.webhook_url(self.connection),
                body,
                self.standard_headers(body, msg_id="msg_chain_1"),
            )
            self.assertEqual(response.status_code, 202, response.text)
            self.perform_trapped(trap)
        inbound = self.inbound_messages().filtered(lambda m: m.webhook_id == "msg_chain_1")
        self.assertEqual(inbound.state, "done")
        # A manager cancels a queued message (state change and audit line).
        queued, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "payment_status",
                "idempotency_key": "chain-engine-cancel",
                "payload": "{}",
                "state": "queued",
            }
        )
        queued.with_user(self.manager).action_cancel()
        self.assertEqual(queued.state, "cancelled")
        result = self.verify()
        self.assertFalse(result["findings"], result["summary"])
        self.assertIn("chain intact", result["summary"])
        entries = self.env["finance.connect.log.chain"].search_count(
            [("res_model", "=", "finance.connect.message"), ("res_id", "=", outbound.id)]
        )
        self.assertGreaterEqual(entries, 2, "its creation, then its later changes")
        # And what the engine did is still checked: a retry rewritten as a success.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE finance_connect_message_attempt SET http_status = 200, outcome = 'done'"
                " WHERE id = %s",
                outbound.attempt_ids[0].id,
            )
        )
        self.env.invalidate_all()
        result = self.verify()
        self.assertIn(f"attempt of {outbound.reference}", result["summary"])
