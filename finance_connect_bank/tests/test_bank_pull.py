"""Scheduled pull of statement files from a bank endpoint (the sandbox on loopback),
and journals found through the connection's mapping sets."""

import base64
import json
from unittest.mock import patch

from odoo import Command, fields
from odoo.addons.finance_connect.tests.sandbox import demo_statements_answer
from odoo.addons.finance_connect_bank.models.finance_connect_bank_pull import (
    FinanceConnectBankPull,
)
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import BankCase, generate_camt053

IBAN = "DE89370400440532013000"
MAPPED_IBAN = "DE44500105175407324931"


def files_answer(*files, **extra):
    """A JSON answer of the pull contract; ``files`` are (id, name, bytes)."""
    return json.dumps(
        {
            "files": [
                {"id": fid, "name": name, "content_base64": base64.b64encode(data).decode()}
                for fid, name, data in files
            ],
            **extra,
        }
    ).encode()


@tagged("post_install", "-at_install")
class TestBankPull(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.bank_journal("PULL", IBAN)
        cls.currency = cls.company.currency_id.name
        cls.pull_conn = cls._create_connection(
            "Pulling bank",
            cls.company,
            auth_type="bearer",
            fc_pull_enabled=True,
            fc_pull_path="/statements",
        )
        cls.pull_conn.bearer_token = "tok-pull-123"
        # Two statements that follow on from each other (day 1, day 2).
        cls.day1, _o, closing = generate_camt053(
            5, iban=IBAN, currency=cls.currency, stmt_id="DAY-1"
        )
        cls.day2, _o, _c = generate_camt053(
            3, iban=IBAN, seed=3, currency=cls.currency, stmt_id="DAY-2", opening=closing
        )

    def setUp(self):
        super().setUp()
        for path in ("/statements", "/statements?cursor=c1", "/statements?cursor=c2"):
            self.sandbox.set_pull(path, None)

    def pulls(self, path="/statements"):
        return [r for r in self.sandbox.received() if r["method"] == "GET" and r["path"] == path]

    def pulled_messages(self, conn=None):
        return self.env["finance.connect.message"].search(
            [("connection_id", "=", (conn or self.pull_conn).id), ("direction", "=", "in")]
        )

    def pull_exceptions(self, conn=None):
        conn = conn or self.pull_conn
        return self.env["finance.connect.exception"].search(
            [("fingerprint", "=like", f"bankpull:{conn.id}:%")]
        )

    # ------------------------------------------------------------------
    # Pulling
    # ------------------------------------------------------------------

    def test_demo_pull_now_imports_the_sandbox_statement(self):
        """The demo's "Pull now": the sandbox that setup/start runs with
        --demo-statements answers /statements with a statement for the demo bank
        journal, which the demo connection imports (no 404, no exception)."""
        admin = self.env.ref("base.user_admin")  # the demo's administrator
        demo = self.env.ref("finance_connect.demo_connection_sandbox").with_user(admin)
        journal = (
            self.env["account.journal"]
            .sudo()
            .search([("code", "=", "FCB"), ("company_id", "=", demo.company_id.id)])
        )
        self.assertTrue(journal.bank_account_id, "the demo data has its bank journal")
        currency = journal.currency_id or journal.company_id.currency_id
        today = fields.Date.context_today(demo).isoformat()
        self.sandbox.set_pull(
            "/statements",
            demo_statements_answer(
                journal.bank_account_id.sanitized_acc_number, currency.name, today
            ),
        )
        demo.sudo().base_url = self.sandbox.url
        self.assertEqual(demo.fc_pull_path or "/statements", "/statements")
        demo.action_pull_now()
        self.assertEqual(len(self.pulls()), 1)
        lines = (
            self.env["account.bank.statement.line"]
            .sudo()
            .search(
                [
                    ("journal_id", "=", journal.id),
                    ("payment_ref", "in", ("Invoice payment", "Bank charges")),
                ]
            )
        )
        self.assertEqual(sorted(lines.mapped("amount")), [-74.5, 1250.0], demo.fc_pull_last_result)
        self.assertFalse(self.pull_exceptions(demo))

    def test_pull_now_imports_moves_the_cursor_and_stores_a_file_once(self):
        self.sandbox.set_pull(
            "/statements", files_answer(("stmt-1", "day1.xml", self.day1), next_cursor="c1")
        )
        self.sandbox.set_pull("/statements?cursor=c1", files_answer(next_cursor="c1"))

        action = self.pull_conn.with_user(self.manager).action_pull_now()

        params = action["params"]
        self.assertEqual(params["type"], "success", params["message"])
        self.assertIn("1 file(s) pulled, 1 new, 0 already received", params["message"])
        self.assertIn("day1.xml: 5 new, 0 already imported", params["message"])
        self.assertEqual(len(self.lines_of(self.journal)), 5)
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c1")
        self.assertEqual(self.pull_conn.fc_pull_last_result, params["message"])
        message = self.pulled_messages()
        self.assertEqual(len(message), 1)
        self.assertEqual(
            (message.idempotency_key, message.external_id, message.fc_filename, message.state),
            ("pull:id:stmt-1", "stmt-1", "day1.xml", "done"),
        )
        (request,) = self.pulls()
        self.assertEqual(request["query"], "")
        self.assertEqual(request["headers"]["Authorization"], "Bearer tok-pull-123")

        # The next pull sends the cursor back; nothing new at the bank.
        again = self.pull_conn.action_pull_now()["params"]["message"]
        self.assertIn("0 file(s) pulled", again)
        self.assertEqual(self.pulls()[-1]["query"], "cursor=c1")

        # The cursor emptied by hand: the bank sends the same file again.
        self.pull_conn.fc_pull_cursor = False
        third = self.pull_conn.action_pull_now()["params"]["message"]
        self.assertIn("1 file(s) pulled, 0 new, 1 already received", third)
        self.assertIn("already received (message %s)" % message.reference, third)
        self.assertEqual(self.pulled_messages(), message)
        self.assertEqual(len(self.lines_of(self.journal)), 5)

    def test_raw_file_answer_with_etag_and_cursor_header(self):
        headers = {
            "ETag": '"v-day1"',
            "X-Next-Cursor": "c1",
            "Content-Disposition": 'attachment; filename="camt-day1.xml"',
        }
        self.sandbox.set_pull("/statements", self.day1, "application/xml", headers)
        self.sandbox.set_pull("/statements?cursor=c1", self.day1, "application/xml", headers)

        self.pull_conn.action_pull_now()
        second = self.pull_conn.action_pull_now()["params"]["message"]

        message = self.pulled_messages()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.idempotency_key, "pull:etag:v-day1")
        self.assertEqual(message.fc_filename, "camt-day1.xml")
        self.assertIn("0 new, 1 already received", second)
        self.assertEqual(len(self.lines_of(self.journal)), 5)
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c1")

    def test_more_pages_are_pulled_by_the_follow_up_job(self):
        self.sandbox.set_pull(
            "/statements",
            files_answer(("d1", "day1.xml", self.day1), next_cursor="c1", has_more=True),
        )
        self.sandbox.set_pull(
            "/statements?cursor=c1", files_answer(("d2", "day2.xml", self.day2), next_cursor="c2")
        )
        with self.run_jobs():
            text = self.pull_conn.action_pull_now()["params"]["message"]
            self.assertIn("More files wait at the bank", text)
        self.assertEqual(len(self.lines_of(self.journal)), 8)
        self.assertEqual(len(self.lines_of(self.journal).statement_id), 2)
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c2")
        self.assertEqual([r["query"] for r in self.pulls()], ["", "cursor=c1"])

    def test_a_paused_tier_pulls_nothing_until_resumed(self):
        self.sandbox.set_pull("/statements", files_answer(("d1", "day1.xml", self.day1)))
        critical = self.env.ref("finance_connect.tier_critical")
        self.assertEqual(self.pull_conn.tier, "critical")
        # A tier holds every company's work: a Settings administrator pauses it.
        admin = new_test_user(
            self.env,
            login="fc_pull_sysadmin",
            groups="base.group_system,finance_connect.group_manager",
        )
        critical.with_user(admin).action_pause()
        with self.run_jobs():
            self.assertIn("paused", self.pull_conn._job_fc_pull_statements())
        self.assertEqual(self.pulls(), [])
        self.assertFalse(self.lines_of(self.journal))
        critical.with_user(admin).action_resume()
        with self.run_jobs():
            self.pull_conn._job_fc_pull_statements()
        self.assertEqual(len(self.pulls()), 1)
        self.assertEqual(len(self.lines_of(self.journal)), 5)

    def test_date_mode_asks_since_the_date_it_pulled_up_to(self):
        self.pull_conn.fc_pull_mode = "date"
        self.sandbox.set_pull(
            "/statements", files_answer(("d1", "day1.xml", self.day1), next_date="2023-03-29")
        )
        self.pull_conn.action_pull_now()
        self.assertEqual(str(self.pull_conn.fc_pull_date), "2023-03-29")
        self.pull_conn.action_pull_now()
        self.assertEqual([r["query"] for r in self.pulls()], ["", "since=2023-03-29"])
        self.assertEqual(len(self.pulled_messages()), 1)
        self.assertEqual(len(self.lines_of(self.journal)), 5)

    def test_cursor_moves_only_once_the_files_are_stored(self):
        self.sandbox.set_pull(
            "/statements",
            files_answer(
                ("d1", "day1.xml", self.day1), ("d2", "day2.xml", self.day2), next_cursor="c2"
            ),
        )
        seen = []
        advance = FinanceConnectBankPull._pull_advance

        def spy(pull, conn, answer):
            seen.append((conn.fc_pull_cursor, len(self.pulled_messages())))
            return advance(pull, conn, answer)

        with patch.object(FinanceConnectBankPull, "_pull_advance", spy):
            self.pull_conn.action_pull_now()
        self.assertEqual(seen, [(False, 2)])
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c2")
        self.assertEqual(len(self.lines_of(self.journal)), 8)

    def test_a_file_that_cannot_be_read_is_kept_failed_in_the_inbox(self):
        self.sandbox.set_pull(
            "/statements",
            files_answer(("bad-1", "broken.xml", b"<Document>broken"), next_cursor="c1"),
        )
        text = self.pull_conn.action_pull_now()["params"]["message"]
        message = self.pulled_messages()
        self.assertEqual(message.state, "failed")
        self.assertIn("broken.xml: failed", text)
        self.assertEqual(message.exception_ids.category, "bank_file")
        self.assertIn("could not be processed", message.exception_ids.description)
        # Stored, so nothing is lost: the cursor moved on past it.
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c1")

    # ------------------------------------------------------------------
    # Failures
    # ------------------------------------------------------------------

    def test_remote_down_opens_one_exception_and_keeps_the_cursor(self):
        self.pull_conn.fc_pull_cursor = "c1"
        self.sandbox.add_fault(status=503, times=2, path="/statements")
        first = self.pull_conn.action_pull_now()["params"]
        self.pull_conn.action_pull_now()
        self.assertEqual(first["type"], "danger")
        self.assertIn("could not be reached to pull bank statements (HTTP 503", first["message"])
        exc = self.pull_exceptions()
        self.assertEqual(len(exc), 1)
        self.assertEqual((exc.category, exc.occurrences), ("remote_unavailable", 2))
        self.assertIn("the cursor did not move", exc.description)
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c1")
        self.assertEqual(self.pull_conn.consecutive_failures, 2)
        self.assertFalse(self.pulled_messages())
        # The bank is back: the same cursor is asked for, the circuit closes.
        self.sandbox.set_pull(
            "/statements?cursor=c1", files_answer(("d1", "day1.xml", self.day1), next_cursor="c2")
        )
        self.pull_conn.action_pull_now()
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c2")
        self.assertEqual(self.pull_conn.consecutive_failures, 0)
        self.assertEqual(len(self.lines_of(self.journal)), 5)

    def test_dropped_connection_is_remote_unavailable(self):
        self.sandbox.add_fault(drop=True, path="/statements")
        text = self.pull_conn.action_pull_now()["params"]["message"]
        self.assertIn("Connection failed", text)
        self.assertEqual(self.pull_exceptions().category, "remote_unavailable")

    def test_malformed_answer_stores_nothing_of_it(self):
        body = json.dumps(
            {
                "files": [
                    {"id": "ok", "content_base64": base64.b64encode(self.day1).decode()},
                    {"id": "no-content", "name": "x.xml"},
                ],
                "next_cursor": "c1",
            }
        )
        self.sandbox.set_pull("/statements", body)
        text = self.pull_conn.action_pull_now()["params"]["message"]
        self.assertIn("files[1] has neither content_base64 nor content", text)
        exc = self.pull_exceptions()
        self.assertEqual(exc.category, "schema")
        self.assertIn("Nothing of it was stored", exc.description)
        self.assertFalse(self.pulled_messages())
        self.assertFalse(self.pull_conn.fc_pull_cursor)
        self.assertFalse(self.lines_of(self.journal))

    def test_cron_pulls_every_due_connection_one_failing_stops_no_other(self):
        bad = self._create_connection(
            "Refusing bank", self.company, fc_pull_enabled=True, fc_pull_path="/bad"
        )
        self.sandbox.add_fault(status=401, times=2, path="/bad")
        self.sandbox.set_pull(
            "/statements", files_answer(("d1", "day1.xml", self.day1), next_cursor="c1")
        )
        Connection = self.env["finance.connect.connection"]
        with self.run_jobs():
            queued = Connection._cron_fc_pull_statements()
        self.assertEqual(queued, "2 statement pull(s) queued")
        self.assertEqual(len(self.lines_of(self.journal)), 5)
        self.assertEqual(self.pull_conn.fc_pull_cursor, "c1")
        exc = self.pull_exceptions(bad)
        self.assertEqual(exc.category, "remote_rejected")
        self.assertIn("Refusing bank refused the statement pull (HTTP 401", exc.description)
        self.assertIn("check the connection's authentication", exc.description)
        self.assertFalse(bad.fc_pull_cursor)
        # Just pulled: not due again before its interval.
        self.assertEqual(Connection._cron_fc_pull_statements(), "0 statement pull(s) queued")
        # Due again: the refusal is counted on the same exception.
        (bad | self.pull_conn).write({"fc_pull_last_at": False})
        with self.run_jobs():
            Connection._cron_fc_pull_statements()
        self.assertEqual(self.pull_exceptions(bad).occurrences, 2)
        self.assertEqual(len(self.lines_of(self.journal)), 5)

    def test_only_managers_pull_by_hand(self):
        with self.assertRaises(AccessError):
            self.pull_conn.with_user(self.fc_user).action_pull_now()
        self.assertFalse(self.pulls())

    # ------------------------------------------------------------------
    # Journals through the mapping sets
    # ------------------------------------------------------------------

    def map_journal(self, journal, external_code, conn=None, direction="inbound"):
        return self.env["finance.connect.mapping"].create(
            {
                "name": f"Bank accounts {journal.code}",
                "company_id": self.company.id,
                "connection_ids": [Command.link((conn or self.pull_conn).id)],
                "line_ids": [
                    Command.create(
                        {
                            "mapping_type": "journal",
                            "source_value": journal.code,
                            "external_code": external_code,
                            "direction": direction,
                        }
                    )
                ],
            }
        )

    def mapped_statement(self, currency=None, stmt_id="MAP-1"):
        data, _o, _c = generate_camt053(
            4, iban=MAPPED_IBAN, currency=currency or self.currency, stmt_id=stmt_id
        )
        return data

    def test_mapping_set_of_the_connection_names_the_journal(self):
        journal = self.bank_journal("MAPJ", False)
        data = self.mapped_statement()
        refused = self.Import._import_file(data, "unmapped.xml", connection=self.pull_conn)
        self.assertEqual(refused["new"], 0)
        self.assertIn(
            "no bank journal of your companies has account " + MAPPED_IBAN, refused["summary"]
        )
        self.assertIn("or map it to a journal (journal line, inbound)", refused["summary"])

        self.map_journal(journal, "DE44 5001 0517 5407 3249 31")
        result = self.Import._import_file(data, "mapped.xml", connection=self.pull_conn)
        self.assertEqual(result["new"], 4, result["summary"])
        self.assertEqual(len(self.lines_of(journal)), 4)
        # Another connection does not use that mapping set: no journal for it.
        other = self.Import._import_file(
            self.mapped_statement(stmt_id="MAP-2"), "other.xml", connection=self.connection
        )
        self.assertIn(
            "no bank journal of your companies has account " + MAPPED_IBAN, other["summary"]
        )

    def test_mapped_journal_comes_after_the_journal_holding_the_account(self):
        mapped = self.bank_journal("MAPK", False)
        self.map_journal(mapped, IBAN)
        result = self.Import._import_file(self.day1, "day1.xml", connection=self.pull_conn)
        self.assertEqual(result["new"], 5)
        self.assertEqual(len(self.lines_of(self.journal)), 5)
        self.assertFalse(self.lines_of(mapped))

    def test_mapped_journal_must_keep_the_statement_currency(self):
        other = self.eur if self.company.currency_id != self.eur else self.env.ref("base.USD")
        other.active = True
        journal = self.bank_journal("MAPC", False, other)
        self.map_journal(journal, MAPPED_IBAN)
        result = self.Import._import_file(
            self.mapped_statement(), "currency.xml", connection=self.pull_conn
        )
        self.assertEqual(result["new"], 0)
        self.assertIn(
            f"the statement is in {self.currency} but journal {journal.display_name} keeps "
            f"{other.name}",
            result["summary"],
        )
        self.assertFalse(self.lines_of(journal))

    def test_two_sets_mapping_one_account_differently_are_refused(self):
        first = self.bank_journal("MAP1", False)
        second = self.bank_journal("MAP2", False)
        self.map_journal(first, MAPPED_IBAN)
        self.map_journal(second, MAPPED_IBAN)
        result = self.Import._import_file(
            self.mapped_statement(), "ambiguous.xml", connection=self.pull_conn
        )
        self.assertEqual(result["new"], 0)
        self.assertIn("map account %s to different journals" % MAPPED_IBAN, result["summary"])
        self.assertFalse(self.lines_of(first) | self.lines_of(second))

    def test_pulled_file_goes_to_the_mapped_journal(self):
        journal = self.bank_journal("MAPP", False)
        self.map_journal(journal, MAPPED_IBAN)
        self.sandbox.set_pull(
            "/statements", files_answer(("m1", "mapped.xml", self.mapped_statement()))
        )
        text = self.pull_conn.action_pull_now()["params"]["message"]
        self.assertIn("mapped.xml: 4 new, 0 already imported", text)
        self.assertEqual(len(self.lines_of(journal)), 4)
        self.assertEqual(self.lines_of(journal).fc_message_id, self.pulled_messages())
