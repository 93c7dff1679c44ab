"""Trust boundary, core (issue 13 items 6, 7, 8), attacked over real HTTP.

Each test calls the models the way the web client does (JSON-RPC ``call_kw``
and ``call_button``) as a role that must be refused, checks the refusal is a
readable error, then reads the database back as superuser: nothing changed.
Where it helps, the same call by a role that may do it succeeds, so that the
test would notice a refusal for the wrong reason.
"""

from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from .trust_common import TrustCase


@tagged("post_install", "-at_install")
class TestTrustCore(TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection_b = cls._create_connection("Bank of B", cls.company_b)
        Message = cls.env["finance.connect.message"]
        cls.message_b, _created = Message._create_idempotent(
            {
                "direction": "in",
                "connection_id": cls.connection_b.id,
                "event_type": "payment_status",
                "idempotency_key": "trust-b-1",
                "payload": "{}",
            }
        )
        cls.message_a, _created = Message._create_idempotent(
            {
                "direction": "in",
                "connection_id": cls.connection.id,
                "event_type": "payment_status",
                "idempotency_key": "trust-a-1",
                "payload": "{}",
            }
        )
        cls.attempt_b = (
            cls.env["finance.connect.message.attempt"]
            .sudo()
            .create(
                {"message_id": cls.message_b.id, "outcome": "fail", "error": "B's answer excerpt"}
            )
        )
        cls.set_a = cls.env["finance.connect.mapping"].create(
            {"name": "Chart A", "company_id": cls.company_a.id}
        )
        cls.set_b = cls.env["finance.connect.mapping"].create(
            {"name": "Chart B", "company_id": cls.company_b.id}
        )
        cls.line_a = cls.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": cls.set_a.id,
                "mapping_type": "account",
                "source_value": cls.company_data["default_account_revenue"].code,
                "external_code": "8400",
            }
        )
        cls.exception_a = cls.env["finance.connect.exception"]._open(
            "other", "Something in A", "Look at A.", company=cls.company_a
        )

    # ------------------------------------------------------------------
    # Item 6: replay and cancel act only on the caller's companies' messages
    # ------------------------------------------------------------------

    def test_item6_replay_and_cancel_of_another_companys_message_are_refused(self):
        before = (self.message_b.state, self.message_b.attempt_count, self.message_b.state_log)
        for role in ("portal", "internal", "fc_user", "manager"):
            for method in ("action_replay", "action_cancel"):
                with self.subTest(role=role, method=method):
                    self.assert_refused(self.button(self.roles[role], self.message_b, method))
        self.message_b.invalidate_recordset()
        self.assertEqual(
            (self.message_b.state, self.message_b.attempt_count, self.message_b.state_log),
            before,
        )
        self.assertFalse(
            self.env["finance.connect.audit"].search(
                [("res_model", "=", self.message_b._name), ("res_id", "=", self.message_b.id)]
            )
        )
        # Over call_kw too, with B smuggled into the allowed companies.
        self.assert_refused(
            self.rpc(
                self.manager,
                "finance.connect.message",
                "action_cancel",
                [self.message_b.ids],
                company_ids=(self.company_a | self.company_b).ids,
            )
        )
        self.assertEqual(self.message_b.state, before[0])
        # A manager of B may.
        self.assert_ok(self.button(self.manager_ab, self.message_b, "action_cancel"))
        self.assertEqual(self.message_b.state, "cancelled")

    # ------------------------------------------------------------------
    # Item 7: attempts, transient records, try a value, mapping lines,
    # exception fields, circuit and test buttons
    # ------------------------------------------------------------------

    def test_item7_other_companys_attempts_are_invisible(self):
        found = self.assert_ok(
            self.rpc(
                self.manager,
                "finance.connect.message.attempt",
                "search_read",
                [[]],
                {"fields": ["error"]},
            )
        )
        self.assertNotIn(self.attempt_b.id, [row["id"] for row in found])
        self.assert_refused(
            self.rpc(
                self.manager,
                "finance.connect.message.attempt",
                "read",
                [self.attempt_b.ids, ["error"]],
            )
        )
        seen = self.assert_ok(
            self.rpc(
                self.manager_ab,
                "finance.connect.message.attempt",
                "read",
                [self.attempt_b.ids, ["error"]],
            )
        )
        self.assertEqual(seen[0]["error"], "B's answer excerpt")

    def test_a_user_takes_an_exception_and_writes_in_its_chatter(self):
        """The User role works the inbox: takes an exception nobody owns and notes
        what they found; resolving stays with managers; outsiders get nothing."""
        exc = self.exception_a
        self.assertFalse(exc.user_id, "nobody owns it yet")
        for role in ("portal", "internal"):
            with self.subTest(role=role):
                self.assert_refused(self.button(self.roles[role], exc, "action_assign_to_me"))
                self.assert_refused(
                    self.rpc(
                        self.roles[role],
                        exc._name,
                        "message_post",
                        [exc.ids],
                        {"body": "hello", "message_type": "comment"},
                    )
                )
        self.assertFalse(exc.user_id)
        user = self.roles["fc_user"]
        self.assert_ok(self.button(user, exc, "action_assign_to_me"))
        self.assertEqual((exc.user_id, exc.state), (user, "in_progress"))
        self.assert_ok(
            self.rpc(
                user,
                exc._name,
                "message_post",
                [exc.ids],
                {
                    "body": "The bank resent the file.",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_note",
                },
            )
        )
        self.assertIn("The bank resent the file.", exc.message_ids[:1].body)
        self.assertEqual(exc.message_ids[:1].author_id, user.partner_id)
        self.assert_refused(self.button(user, exc, "action_resolve"))
        # Taken by a manager: the user cannot take it from them.
        self.assert_ok(self.button(self.manager, exc, "action_assign_to_me"))
        message = self.assert_refused(self.button(user, exc, "action_assign_to_me"))
        self.assertIn("already taken by", message)
        self.assertEqual(exc.user_id, self.manager)
        # Another company's exception: not even readable.
        exception_b = self.env["finance.connect.exception"]._open(
            "other", "Something in B", "Look at B.", company=self.company_b, fingerprint="b-only"
        )
        self.assert_refused(self.button(user, exception_b, "action_assign_to_me"))
        self.assertFalse(exception_b.user_id)

    def test_item7_transient_records_of_other_users_are_unreadable(self):
        tried = (
            self.env["finance.connect.mapping.try"]
            .with_user(self.manager_ab)
            .create({"mapping_id": self.set_a.id, "value": "secret-code"})
        )
        ignore = (
            self.env["finance.connect.exception.ignore"]
            .with_user(self.manager_ab)
            .create({"exception_ids": [Command.set(self.exception_a.ids)], "reason": "private"})
        )
        for role in ("fc_user", "manager"):
            with self.subTest(role=role):
                self.assert_refused(
                    self.rpc(self.roles[role], "finance.connect.mapping.try", "read", [tried.ids])
                )
                found = self.rpc(
                    self.roles[role], "finance.connect.mapping.try", "search_read", [[]]
                )
                self.assertNotIn(tried.id, [r["id"] for r in found.get("result", [])])
        self.assert_refused(
            self.rpc(
                self.manager, "finance.connect.exception.ignore", "read", [ignore.ids, ["reason"]]
            )
        )
        self.assertEqual(self.exception_a.state, "open")

    def test_item7_try_a_value_refuses_another_companys_connection(self):
        Try = self.env["finance.connect.mapping.try"]
        before = Try.search_count([])
        for vals in (
            {"mapping_id": self.set_a.id, "connection_id": self.connection_b.id},
            {"mapping_id": self.set_b.id},
        ):
            with self.subTest(vals=vals):
                self.assert_refused(
                    self.rpc(
                        self.manager,
                        "finance.connect.mapping.try",
                        "create",
                        [dict(vals, value="4000")],
                    )
                )
        self.assertEqual(Try.search_count([]), before)
        # With the own company's connection it works.
        self.assert_ok(
            self.rpc(
                self.manager,
                "finance.connect.mapping.try",
                "create",
                [{"mapping_id": self.set_a.id, "connection_id": self.connection.id}],
            )
        )

    def test_item7_mapping_line_cannot_move_into_another_companys_set(self):
        for role in ("fc_user", "manager"):
            with self.subTest(role=role):
                self.assert_refused(
                    self.rpc(
                        self.roles[role],
                        "finance.connect.mapping.line",
                        "write",
                        [self.line_a.ids, {"mapping_id": self.set_b.id}],
                    )
                )
        self.assert_refused(
            self.rpc(
                self.manager,
                "finance.connect.mapping.line",
                "create",
                [
                    {
                        "mapping_id": self.set_b.id,
                        "mapping_type": "account",
                        "source_value": "4000",
                        "external_code": "9999",
                    }
                ],
            )
        )
        self.line_a.invalidate_recordset()
        self.assertEqual(self.line_a.mapping_id, self.set_a)
        self.assertEqual(self.line_a.company_id, self.company_a)
        self.assertFalse(
            self.env["finance.connect.mapping.line"].search([("mapping_id", "=", self.set_b.id)])
        )

    def test_item7_exception_state_and_texts_change_only_through_buttons(self):
        exc = self.exception_a
        for vals in (
            {"state": "resolved"},
            {"state": "ignored", "ignore_reason": "nobody will know"},
            {"description": "nothing to see"},
            {"name": "renamed"},
        ):
            with self.subTest(vals=vals):
                self.assert_refused(
                    self.rpc(self.manager, exc._name, "write", [exc.ids, vals]),
                    contains="buttons",
                )
        exc.invalidate_recordset()
        self.assertEqual(
            (exc.state, exc.name, exc.ignore_reason), ("open", "Something in A", False)
        )
        # Owner and priority stay editable; the buttons work and leave a trace.
        self.assert_ok(self.rpc(self.manager, exc._name, "write", [exc.ids, {"priority": "2"}]))
        self.assert_ok(self.button(self.manager, exc, "action_resolve"))
        self.assertEqual(exc.state, "resolved")
        self.assertEqual(
            self.env["finance.connect.audit"]
            .search([("res_model", "=", exc._name), ("res_id", "=", exc.id)])
            .mapped("action"),
            ["resolve"],
        )
        # A read-only user cannot press them.
        self.assert_refused(self.button(self.fc_user, exc, "action_reopen"))
        self.assertEqual(exc.state, "resolved")

    def test_item7_read_only_users_cannot_reset_a_circuit_or_test_a_connection(self):
        self.connection.sudo().write({"circuit_state": "open"})
        received = len(self.sandbox.received())
        for role in ("portal", "internal", "fc_user"):
            for method in ("action_reset_circuit", "action_test_connection"):
                with self.subTest(role=role, method=method):
                    self.assert_refused(self.button(self.roles[role], self.connection, method))
        # Nor may a manager of A act on B's connection.
        self.connection_b.sudo().write({"circuit_state": "open"})
        self.assert_refused(self.button(self.manager, self.connection_b, "action_reset_circuit"))
        self.connection.invalidate_recordset()
        self.connection_b.invalidate_recordset()
        self.assertEqual(self.connection.circuit_state, "open")
        self.assertEqual(self.connection_b.circuit_state, "open")
        self.assertEqual(len(self.sandbox.received()), received, "no call went out")
        self.assert_ok(self.button(self.manager, self.connection, "action_reset_circuit"))
        self.assertEqual(self.connection.circuit_state, "closed")

    # ------------------------------------------------------------------
    # Item 8: the webhook route and outbound responses
    # ------------------------------------------------------------------

    def _count_receive(self):
        Receiver = type(self.env["finance.connect.webhook.receiver"])
        original = Receiver._verify_and_store
        calls = []

        def counting(model, *args, **kwargs):
            calls.append(args[0])
            return original(model, *args, **kwargs)

        return patch.object(Receiver, "_verify_and_store", counting), calls

    def _post(self, token, body):
        self.env.flush_all()
        response = self.opener.post(
            f"{self.base_url()}/finance_connect/webhook/{token}",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        self.env.invalidate_all()
        return response

    def test_item8_unknown_token_is_answered_before_the_body_without_a_row_each(self):
        Rejection = self.env["finance.connect.webhook.rejection"]
        before = Rejection.search_count([("reason", "=", "unknown_token")])
        patcher, calls = self._count_receive()
        with patcher:
            for _ in range(20):
                response = self._post("u" * 40, b"{" + b" " * 100_000 + b"}")
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.json()["error"], "unauthorized")
        self.assertEqual(calls, [], "the body was never handed to verification")
        self.assertLessEqual(
            Rejection.search_count([("reason", "=", "unknown_token")]) - before,
            1,
            "twenty unknown-token requests cost at most one aggregated row",
        )

    def test_item8_body_over_the_connections_limit_is_refused_unread(self):
        self.connection.max_body_kib = 1
        token = self.connection.sudo()._issue_webhook_token()
        Message = self.env["finance.connect.message"].sudo()
        before = Message.search_count([("connection_id", "=", self.connection.id)])
        patcher, calls = self._count_receive()
        with patcher:
            response = self._post(token, b"{" + b" " * 4096 + b"}")
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["max_bytes"], 1024)
        self.assertEqual(calls, [])
        self.assertEqual(Message.search_count([("connection_id", "=", self.connection.id)]), before)
        rejection = (
            self.env["finance.connect.webhook.rejection"]
            .sudo()
            .search([("connection_id", "=", self.connection.id)], limit=1)
        )
        self.assertEqual((rejection.reason, rejection.http_status), ("too_large", 413))

    def test_item8_outbound_response_is_read_up_to_a_cap(self):
        Http = self.env["finance.connect.http"]
        self.sandbox.add_fault(status=200, path="/big", body="x" * (3 * 1024 * 1024))
        result = Http._request("GET", self.sandbox.url + "/big", timeout=(2, 5), max_bytes=10_000)
        self.assertEqual(result.status, 200)
        self.assertTrue(result.truncated)
        self.assertEqual(len(result.body), 10_000)
        self.sandbox.add_fault(status=200, path="/big", body="x" * (2 * 1024 * 1024))
        result = Http._request("GET", self.sandbox.url + "/big", timeout=(2, 5))
        self.assertTrue(result.truncated, "1 MiB by default")
        self.assertLessEqual(len(result.body), 1024 * 1024)
        self.sandbox.add_fault(status=200, path="/small", body="ok")
        result = Http._request("GET", self.sandbox.url + "/small", timeout=(2, 5))
        self.assertEqual((result.body, result.truncated), (b"ok", False))
