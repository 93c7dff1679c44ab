"""Four-eyes control (issue 15, first part), attacked over real HTTP JSON-RPC.

On a production connection of a company with four-eyes on, a change of its
endpoint, authentication, verifier or secrets, and of the account, journal and
bank account lines of the mapping sets of its bank, PSP and treasury
connections, opens a change request; the values in force stay until another
person approves it. Nobody approves their own request; a direct write over
RPC cannot apply a guarded change.
"""

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .trust_common import TrustCase

Request = "finance.connect.change.request"
Line = "finance.connect.mapping.line"
Connection = "finance.connect.connection"
NEW_URL = "https://bank.example.com/api"


@tagged("post_install", "-at_install")
class TestFourEyes(TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.user
        cls.admin2 = new_test_user(
            cls.env,
            login="fc_admin2",
            groups="account.group_account_manager,finance_connect.group_administrator",
            company_id=cls.company_a.id,
        )
        cls.manager2 = new_test_user(
            cls.env,
            login="fc_manager2",
            groups="account.group_account_manager,finance_connect.group_manager",
            company_id=cls.company_a.id,
        )
        cls.manager_b = new_test_user(
            cls.env,
            login="fc_manager_b",
            groups="account.group_account_manager,finance_connect.group_manager",
            company_id=cls.company_b.id,
        )
        cls.admin_b = new_test_user(
            cls.env,
            login="fc_admin_b",
            groups="account.group_account_manager,finance_connect.group_administrator",
            company_id=cls.company_b.id,
        )
        cls.mapping = cls.env["finance.connect.mapping"].create(
            {"name": "Bank accounts", "company_id": cls.company_a.id}
        )
        cls.account = cls.company_data["default_account_revenue"]
        cls.line = cls.env[Line].create(
            {
                "mapping_id": cls.mapping.id,
                "mapping_type": "account",
                "source_value": cls.account.code,
                "external_code": "4000",
            }
        )
        # Set up as a test connection, then marked production (turning the
        # control on takes effect at once).
        cls.prod = cls._create_connection("Production bank", cls.company_a)
        cls.prod.mapping_ids = [(4, cls.mapping.id)]
        cls.prod.environment = "production"

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def requests(self, **where):
        domain = [(k, "=", v) for k, v in where.items()]
        return self.env[Request].sudo().search(domain, order="id")

    def audit_actions(self, requests):
        return set(
            self.env["finance.connect.audit"]
            .sudo()
            .search([("res_model", "=", Request), ("res_id", "in", requests.ids)])
            .mapped("action")
        )

    def inbox_entry(self, request):
        return (
            self.env["finance.connect.exception"]
            .sudo()
            .search([("res_model", "=", Request), ("res_id", "=", request.id)])
        )

    def ask_line_change(self, code="4999", user=None):
        answer = self.rpc(
            user or self.manager,
            Line,
            "write",
            [self.line.ids, {"external_code": code}],
            {"context": {"fc_change_reason": "Bank renumbered its GL"}},
        )
        self.assert_ok(answer)
        request = self.requests(
            res_model=Line,
            res_id=self.line.id,
            state="pending",
            requested_by_id=(user or self.manager).id,
        )
        self.assertEqual(len(request), 1)
        return request

    # ------------------------------------------------------------------
    # The list
    # ------------------------------------------------------------------

    def test_manager_change_is_pending_and_not_in_force(self):
        request = self.ask_line_change()
        # The form's save is not swallowed: the user is told a request was opened.
        told = self.env["bus.bus"].sudo().search([("message", "ilike", "Change request opened")])
        self.assertEqual(len(told), 1)
        self.assertIn(f'"res.partner",{self.manager.partner_id.id}]', told.channel)
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "4000", "the value in force stays")
        self.assertEqual(request.requested_by_id, self.manager)
        self.assertEqual(request.approval_group, "manager")
        self.assertEqual(request.connection_id, self.prod)
        self.assertEqual(request.mapping_id, self.mapping)
        self.assertEqual(request.reason, "Bank renumbered its GL")
        self.assertIn("4000", request.comparison_html)
        self.assertIn("4999", request.comparison_html)
        self.assertIn("change_requested", self.audit_actions(request))
        # Another manager must act: an entry in the exception inbox says so.
        entry = self.inbox_entry(request)
        self.assertEqual((entry.category, entry.state), ("approval", "open"))
        self.assertEqual(entry.company_id, self.company_a)
        self.assertIn("Bank renumbered its GL", entry.description)
        fix = self.assert_ok(self.button(self.manager2, entry, "action_open_fix"))
        self.assertEqual((fix["res_model"], fix["res_id"]), (Request, request.id))
        # The set's form shows it.
        self.mapping.invalidate_recordset()
        self.assertEqual(self.mapping.fc_pending_change_count, 1)
        self.assertTrue(self.mapping.fc_four_eyes_active)

    def test_without_reason_refused_and_says_what_to_do(self):
        answer = self.rpc(self.manager, Line, "write", [self.line.ids, {"external_code": "1"}])
        self.assert_refused(answer, contains="on its mapping set's form and give the Reason")
        self.assertFalse(self.requests(res_model=Line))
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "4000")

    def test_same_user_cannot_approve(self):
        request = self.ask_line_change()
        self.assert_refused(self.button(self.manager, request, "action_approve"), "another")
        self.assert_refused(self.button(self.manager, request, "action_reject"), "another")
        request.invalidate_recordset()
        self.assertEqual(request.state, "pending")
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "4000")

    def test_another_approves_and_it_is_in_force(self):
        request = self.ask_line_change()
        self.assert_ok(self.button(self.manager2, request, "action_approve"))
        request.invalidate_recordset()
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "4999")
        self.assertEqual(request.state, "applied")
        self.assertEqual(request.decided_by_id, self.manager2)
        self.assertTrue(request.decided_at and request.applied_at)
        self.assertEqual(
            {"change_requested", "change_approved", "change_applied"},
            self.audit_actions(request),
        )
        self.assertEqual(self.inbox_entry(request).state, "resolved")

    def test_direct_write_over_rpc_cannot_bypass(self):
        # Context keys are forgeable: none of them applies a guarded change.
        forged = {
            "fc_four_eyes_pass": 1,
            "fc_change_reason": "x",
            "install_mode": True,
            "tracking_disable": True,
        }
        answer = self.rpc(
            self.admin,
            Connection,
            "write",
            [self.prod.ids, {"base_url": NEW_URL}],
            {"context": dict(forged, allowed_company_ids=[self.company_a.id])},
        )
        self.assert_ok(answer)  # it only opened a request
        self.prod.invalidate_recordset()
        self.assertEqual(self.prod.base_url, self.sandbox.url)
        request = self.requests(res_model=Connection, res_id=self.prod.id)
        self.assertEqual(request.state, "pending")
        # Without a reason: refused outright.
        self.assert_refused(
            self.rpc(self.admin, Connection, "write", [self.prod.ids, {"base_url": NEW_URL}]),
            contains="second person's approval",
        )
        # The request itself cannot be pushed to approved, nor applied, nor deleted.
        for user in (self.admin, self.admin2, self.manager2):
            with self.subTest(user=user.login):
                self.assert_refused(
                    self.rpc(user, Request, "write", [request.ids, {"state": "approved"}])
                )
                self.assert_refused(
                    self.rpc(user, Request, "write", [request.ids, {"new_values": "{}"}])
                )
                self.assert_refused(self.rpc(user, Request, "unlink", [request.ids]))
                answer = self.rpc(user, Request, "_apply", [request.ids])
                self.assertIn("error", answer)
        self.assert_refused(
            self.rpc(
                self.admin,
                Request,
                "create",
                [
                    {
                        "res_model": Connection,
                        "res_id": self.prod.id,
                        "operation": "write",
                        "company_id": self.company_a.id,
                        "approval_group": "manager",
                        "reason": "x",
                        "state": "approved",
                    }
                ],
            )
        )
        request.invalidate_recordset()
        self.prod.invalidate_recordset()
        self.assertEqual(request.state, "pending")
        self.assertEqual(self.prod.base_url, self.sandbox.url)

    # ------------------------------------------------------------------
    # Who decides
    # ------------------------------------------------------------------

    def test_deciders_other_than_another_of_the_group_and_company_are_refused(self):
        request = self.ask_line_change()
        # The form offers each the buttons they may use.
        buttons = ["can_decide", "can_cancel"]
        for user, expected in (
            (self.manager, {"can_decide": False, "can_cancel": True}),
            (self.manager2, {"can_decide": True, "can_cancel": False}),
            (self.fc_user, {"can_decide": False, "can_cancel": False}),
        ):
            with self.subTest(user=user.login):
                row = self.assert_ok(self.rpc(user, Request, "read", [request.ids, buttons]))[0]
                self.assertEqual({k: row[k] for k in buttons}, expected)
        # A plain user, a Finance Connect user, the requester and a manager of another
        # company cannot approve or reject a manager-level request.
        for role, user in (
            ("internal", self.internal),
            ("fc_user", self.fc_user),
            ("requester", self.manager),
            ("manager_b", self.manager_b),
        ):
            for method in ("action_approve", "action_reject"):
                with self.subTest(role=role, method=method):
                    self.assert_refused(self.button(user, request, method))
        # Nor cancel it: only the requester does.
        self.assert_refused(self.button(self.manager2, request, "action_cancel"))
        request.invalidate_recordset()
        self.assertEqual(request.state, "pending")
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "4000")
        self.assert_ok(self.button(self.manager, request, "action_cancel"))
        request.invalidate_recordset()
        self.assertEqual(request.state, "cancelled")
        self.assertIn("change_cancelled", self.audit_actions(request))

    def test_connection_change_needs_another_administrator(self):
        self.assert_ok(
            self.rpc(
                self.admin,
                Connection,
                "write",
                [self.prod.ids, {"base_url": NEW_URL, "paused": True}],
                {
                    "context": {
                        "fc_change_reason": "New API host",
                        "allowed_company_ids": [self.company_a.id],
                    }
                },
            )
        )
        self.prod.invalidate_recordset()
        self.assertTrue(self.prod.paused, "fields outside the control are written at once")
        self.assertEqual(self.prod.base_url, self.sandbox.url)
        request = self.requests(res_model=Connection, res_id=self.prod.id)
        self.assertEqual(request.approval_group, "administrator")
        for user in (self.manager, self.manager2, self.admin, self.admin_b):
            with self.subTest(user=user.login):
                self.assert_refused(self.button(user, request, "action_approve"))
        self.assert_ok(self.button(self.admin2, request, "action_approve"))
        self.prod.invalidate_recordset()
        self.assertEqual(self.prod.base_url, NEW_URL)

    def test_a_stale_request_is_not_applied(self):
        first = self.ask_line_change("5000")
        second = self.ask_line_change("6000", user=self.manager2)
        self.assertNotEqual(first, second)
        self.assert_ok(self.button(self.manager2, first, "action_approve"))
        self.assert_refused(
            self.button(self.manager, second, "action_approve"), "changed since the request"
        )
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "5000")

    # ------------------------------------------------------------------
    # Secrets
    # ------------------------------------------------------------------

    def test_secret_is_masked_in_the_request_and_applied_once_approved(self):
        new_key = "sk_live_TOPSECRET_1234567890"
        self.assert_ok(
            self.rpc(
                self.admin,
                Connection,
                "write",
                [self.prod.ids, {"auth_type": "api_key", "api_key": new_key}],
                {
                    "context": {
                        "fc_change_reason": "Key rotation",
                        "allowed_company_ids": [self.company_a.id],
                    }
                },
            )
        )
        request = self.requests(res_model=Connection, res_id=self.prod.id)
        secrets = self.env["finance.connect.secret"].sudo()
        domain = [("connection_id", "=", self.prod.id), ("name", "=", "api_key")]
        self.assertFalse(secrets.search_count(domain), "nothing in force yet")
        # What a Finance Connect user or a manager can read holds no secret.
        readable = ["new_values", "old_values", "change_lines", "comparison_html", "reason"]
        for user in (self.fc_user, self.manager):
            with self.subTest(user=user.login):
                rows = self.assert_ok(self.rpc(user, Request, "read", [request.ids, readable]))
                self.assertNotIn("TOPSECRET", str(rows))
                self.assertIn("••", rows[0]["change_lines"])
                self.assert_refused(
                    self.rpc(user, Request, "read", [request.ids, ["secret_values"]])
                )
        stored = request.sudo().secret_values
        self.assertTrue(stored)
        self.assertNotIn("TOPSECRET", stored, "encrypted at rest")
        self.assert_ok(self.button(self.admin2, request, "action_approve"))
        self.prod.invalidate_recordset()
        self.assertEqual(self.prod.auth_type, "api_key")
        self.env.cr.cache.pop("finance_connect_secrets", None)
        self.assertEqual(self.prod._get_secret("api_key"), new_key)
        audit = self.env["finance.connect.audit"].sudo().search([])
        self.assertNotIn("TOPSECRET", str(audit.mapped("detail")))

    def test_generating_a_webhook_secret_is_refused_under_four_eyes(self):
        self.assert_refused(
            self.button(self.admin, self.prod, "action_generate_webhook_secret"),
            contains="four-eyes",
        )

    # ------------------------------------------------------------------
    # Rejected requests, what is not guarded
    # ------------------------------------------------------------------

    def test_rejected_request_stays_and_changes_nothing(self):
        request = self.ask_line_change()
        self.assert_ok(
            self.rpc(self.manager2, Request, "write", [request.ids, {"decision_note": "No"}])
        )
        self.assert_ok(self.button(self.manager2, request, "action_reject"))
        request.invalidate_recordset()
        self.line.invalidate_recordset()
        self.assertEqual(request.state, "rejected")
        self.assertEqual(request.decision_note, "No")
        self.assertEqual(self.line.external_code, "4000")
        self.assertIn("change_rejected", self.audit_actions(request))
        self.assertEqual(self.inbox_entry(request).state, "resolved")
        self.assert_refused(self.button(self.manager2, request, "action_approve"), "pending")
        self.assert_refused(self.rpc(self.admin, Request, "unlink", [request.ids]))
        self.assertTrue(request.exists())

    def test_lines_not_guarded_apply_at_once(self):
        self.partner_a.ref = "P1"
        partner_line = self.env[Line].create(
            {
                "mapping_id": self.mapping.id,
                "mapping_type": "partner",
                "partner_key": "ref",
                "source_value": "P1",
                "external_code": "C1",
            }
        )
        self.assert_ok(
            self.rpc(self.manager, Line, "write", [partner_line.ids, {"external_code": "C2"}])
        )
        partner_line.invalidate_recordset()
        self.assertEqual(partner_line.external_code, "C2", "partner lines are not guarded")
        # The same account line on a set of a test connection, or of a production
        # reporting connection, changes at once.
        for name, vals in (
            ("test bank", {}),
            ("prod reporting", {"environment": "production", "kind": "reporting"}),
        ):
            with self.subTest(name=name):
                conn = self._create_connection(name, self.company_a)
                conn.write(vals)
                other = self.env["finance.connect.mapping"].create(
                    {
                        "name": name,
                        "company_id": self.company_a.id,
                        "connection_ids": [(4, conn.id)],
                    }
                )
                line = self.env[Line].create(
                    {
                        "mapping_id": other.id,
                        "mapping_type": "account",
                        "source_value": self.account.code,
                        "external_code": "A",
                    }
                )
                self.assert_ok(
                    self.rpc(self.manager, Line, "write", [line.ids, {"external_code": "B"}])
                )
                line.invalidate_recordset()
                self.assertEqual(line.external_code, "B")
        # A draft line (no external code yet) decides nothing: added at once.
        draft = self.env[Line].create(
            {"mapping_id": self.mapping.id, "mapping_type": "account", "source_value": "7*"}
        )
        self.assertTrue(draft.is_draft)
        self.assertFalse(self.requests())

    def test_created_and_deleted_lines_wait_for_approval(self):
        journal = self.company_data["default_journal_bank"]
        # As the set's form saves: one2many commands and a Reason for change.
        self.assert_ok(
            self.rpc(
                self.manager,
                "finance.connect.mapping",
                "write",
                [
                    self.mapping.ids,
                    {
                        "fc_change_reason": "New journal at the bank",
                        "line_ids": [
                            (
                                0,
                                0,
                                {
                                    "mapping_type": "journal",
                                    "source_value": journal.code,
                                    "external_code": "JBANK",
                                },
                            ),
                            (2, self.line.id),
                        ],
                    },
                ],
            )
        )
        self.assertEqual(self.mapping.line_ids, self.line, "nothing added nor removed yet")
        created = self.requests(res_model=Line, operation="create")
        deleted = self.requests(res_model=Line, operation="unlink")
        self.assertEqual(len(created), 1)
        self.assertEqual(deleted.res_id, self.line.id)
        self.assertEqual(created.mapping_id, self.mapping)
        self.assert_ok(self.button(self.manager2, created, "action_approve"))
        self.assert_ok(self.button(self.manager2, deleted, "action_approve"))
        self.mapping.invalidate_recordset()
        self.assertFalse(self.line.exists())
        self.assertEqual(self.mapping.line_ids.mapped("external_code"), ["JBANK"])
        created.invalidate_recordset()
        self.assertEqual(created.res_id, self.mapping.line_ids.id)

    def test_detaching_archiving_or_deleting_the_set_waits_for_approval(self):
        Mapping = "finance.connect.mapping"
        reason = {
            "context": {"fc_change_reason": "Old chart", "allowed_company_ids": [self.company_a.id]}
        }
        self.assert_refused(
            self.rpc(self.manager, Mapping, "write", [self.mapping.ids, {"active": False}]),
            contains="Reason for change",
        )
        self.assert_ok(
            self.rpc(
                self.manager,
                Mapping,
                "write",
                [self.mapping.ids, {"connection_ids": [(3, self.prod.id)]}],
                reason,
            )
        )
        self.assert_ok(self.rpc(self.manager, Mapping, "unlink", [self.mapping.ids], reason))
        # From the connection's side too (a manager-level change).
        self.assert_ok(
            self.rpc(
                self.manager, Connection, "write", [self.prod.ids, {"mapping_ids": [(5,)]}], reason
            )
        )
        self.mapping.invalidate_recordset()
        self.prod.invalidate_recordset()
        self.assertTrue(self.mapping.exists() and self.mapping.active)
        self.assertEqual(self.prod.mapping_ids, self.mapping)
        on_set = self.requests(res_model=Mapping, res_id=self.mapping.id)
        on_conn = self.requests(res_model=Connection, res_id=self.prod.id)
        self.assertEqual(on_set.mapped("operation"), ["write", "unlink"])
        self.assertEqual(on_conn.approval_group, "manager")
        self.assert_ok(self.button(self.manager2, on_conn, "action_approve"))
        self.prod.invalidate_recordset()
        self.assertFalse(self.prod.mapping_ids)
        # Attaching a set with account lines to the production bank is guarded too.
        self.assert_refused(
            self.rpc(
                self.manager,
                Connection,
                "write",
                [self.prod.ids, {"mapping_ids": [(4, self.mapping.id)]}],
            )
        )

    def test_a_new_set_with_account_lines_is_attached_once_approved(self):
        Mapping = "finance.connect.mapping"
        vals = {
            "name": "Second chart",
            "company_id": self.company_a.id,
            "connection_ids": [(4, self.prod.id)],
            "line_ids": [
                (0, 0, {"mapping_type": "account", "source_value": "1*", "external_code": "X"})
            ],
        }
        self.assert_refused(self.rpc(self.manager, Mapping, "create", [vals]), "Reason for change")
        self.assertFalse(self.env[Mapping].search([("name", "=", "Second chart")]))
        answer = self.rpc(
            self.manager, Mapping, "create", [dict(vals, fc_change_reason="Group chart")]
        )
        created = self.env[Mapping].browse(self.assert_ok(answer))
        self.assertFalse(created.connection_ids, "not attached before approval")
        self.assertEqual(created.line_ids.external_code, "X")
        request = self.requests(res_model=Mapping, res_id=created.id)
        self.assertEqual(request.reason, "Group chart")
        self.assert_ok(self.button(self.manager2, request, "action_approve"))
        created.invalidate_recordset()
        self.assertEqual(created.connection_ids, self.prod)

    # ------------------------------------------------------------------
    # The company switch and the environment
    # ------------------------------------------------------------------

    def test_turning_four_eyes_off_is_itself_a_four_eyes_change(self):
        company = self.company_a
        self.assertTrue(company.fc_four_eyes, "on by default")
        self.assert_refused(
            self.rpc(self.manager, "res.company", "write", [company.ids, {"fc_four_eyes": False}])
        )
        self.assert_ok(
            self.rpc(
                self.admin,
                "res.company",
                "write",
                [company.ids, {"fc_four_eyes": False}],
                {"context": {"fc_change_reason": "Migration weekend"}},
            )
        )
        company.invalidate_recordset()
        self.assertTrue(company.fc_four_eyes, "still on until approved")
        request = self.requests(res_model="res.company", res_id=company.id)
        self.assertEqual(request.approval_group, "administrator")
        self.assert_refused(self.button(self.admin, request, "action_approve"))
        self.assert_refused(self.button(self.manager2, request, "action_approve"))
        self.assert_ok(self.button(self.admin2, request, "action_approve"))
        company.invalidate_recordset()
        self.assertFalse(company.fc_four_eyes)
        # Now changes apply at once; turning it back on needs nobody else.
        self.assert_ok(
            self.rpc(self.manager, Line, "write", [self.line.ids, {"external_code": "7"}])
        )
        self.line.invalidate_recordset()
        self.assertEqual(self.line.external_code, "7")
        self.assert_ok(
            self.rpc(self.admin, "res.company", "write", [company.ids, {"fc_four_eyes": True}])
        )
        company.invalidate_recordset()
        self.assertTrue(company.fc_four_eyes)

    def test_settings_turning_four_eyes_off_opens_a_request(self):
        Settings = self.env["res.config.settings"].with_company(self.company_a)
        with self.assertRaisesRegex(UserError, "Reason for change"):
            Settings.create({"fc_four_eyes": False}).execute()
        Settings.create({"fc_four_eyes": False, "fc_four_eyes_reason": "Year-end"}).execute()
        self.company_a.invalidate_recordset()
        self.assertTrue(self.company_a.fc_four_eyes)
        request = self.requests(res_model="res.company", res_id=self.company_a.id)
        self.assertEqual((request.state, request.reason), ("pending", "Year-end"))

    def test_moving_a_connection_to_test_is_guarded(self):
        self.assert_refused(
            self.rpc(self.admin, Connection, "write", [self.prod.ids, {"environment": "test"}])
        )
        self.prod.invalidate_recordset()
        self.assertEqual(self.prod.environment, "production")
