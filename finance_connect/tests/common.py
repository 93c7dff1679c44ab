"""Shared set-up of the finance_connect Odoo tests.

A real sandbox counterparty listens on loopback; connections point at it.
Jobs are trapped (queue_job's ``trap_jobs``) and performed synchronously.
"""

from contextlib import contextmanager
from urllib.parse import urlsplit

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import new_test_user, tagged
from odoo.tests.common import _super_send

from ..lib import signing
from .sandbox import SandboxServer


@tagged("post_install", "-at_install")
class FinanceConnectCase(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The accountant running the tests also administers Finance Connect.
        cls.env.user.groups_id |= cls.env.ref("finance_connect.group_administrator")
        # The sandbox counterparty listens on loopback, which outbound calls
        # reach only when an administrator allows the host explicitly.
        cls.env["ir.config_parameter"].sudo().set_param(
            "finance_connect.outbound_allowed_hosts", "127.0.0.1"
        )
        cls.secret = signing.generate_secret(32)
        cls.sandbox = SandboxServer(secret=cls.secret).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.connection = cls._create_connection("Test bank", cls.company_data["company"])
        cls.manager = new_test_user(
            cls.env,
            login="fc_manager",
            groups="account.group_account_manager," "finance_connect.group_manager",
            company_id=cls.company_data["company"].id,
        )
        cls.fc_user = new_test_user(
            cls.env,
            login="fc_user",
            groups="account.group_account_invoice," "finance_connect.group_user",
            company_id=cls.company_data["company"].id,
        )

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # The counterparty is a real server on loopback: keep the timeouts the
        # test sets (Odoo's test harness raises them to 10 s otherwise).
        if urlsplit(r.url).hostname in ("127.0.0.1", "localhost"):
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    @classmethod
    def _create_connection(cls, name, company, **vals):
        conn = cls.env["finance.connect.connection"].create(
            {
                "name": name,
                "kind": "bank",
                "company_id": company.id,
                "base_url": cls.sandbox.url,
                "outbound_path": "/events",
                "backoff_base": 1,
                "timeout_read": 2,
                "max_attempts": 4,
                **vals,
            }
        )
        conn.webhook_secret = cls.secret
        for event in (
            "invoice.posted",
            "bill.posted",
            "credit_note.posted",
            "payment.posted",
            "record.synced",
        ):
            cls.env["finance.connect.subscription"].create(
                {"connection_id": conn.id, "event_type": event}
            )
        return conn

    @contextmanager
    def run_jobs(self):
        """Trap the jobs queued inside the block, then run them (and the retries
        they queue) until none is left."""
        with trap_jobs() as trap:
            yield trap
            self.perform_all(trap)

    def perform_all(self, trap, rounds=20):
        for _ in range(rounds):
            if not trap.enqueued_jobs:
                return
            trap.perform_enqueued_jobs()
        raise AssertionError("jobs keep re-queueing themselves")

    def messages_of(self, record):
        return self.env["finance.connect.message"].search(
            [("res_model", "=", record._name), ("res_id", "=", record.id)]
        )

    def post_invoice(self, amount=100.0, partner=None):
        return self.init_invoice(
            "out_invoice", partner=partner or self.partner_a, amounts=[amount], post=True
        )
