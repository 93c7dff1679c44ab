"""Fix a refused file, retry an exception: in a browser (issue 17, the flows)."""

import base64
from decimal import Decimal

from odoo.tests import HttpCase, tagged

from .common import BankCase, generate_camt053


@tagged("post_install", "-at_install")
class TestBankExceptionTour(BankCase, HttpCase):
    def test_fix_a_refused_file_and_retry_an_exception(self):
        self.env["finance.connect.exception"].sudo().search([]).write({"state": "resolved"})
        self.manager.groups_id |= self.env.ref("account.group_account_basic")
        self.bank_journal("TOUR", "GB29NWBK60161331926819")
        currency = self.company.currency_id.name
        unknown, _o, _c = generate_camt053(
            3, iban="DE89370400440532013000", currency=currency, stmt_id="TOUR-1"
        )
        self.Import._import_file(unknown, "unknown-account.xml")
        data, _o, closing = generate_camt053(4, currency=currency, stmt_id="TOUR-2")
        data = data.replace(
            f"{abs(closing):.2f}".encode(), f"{abs(closing) + Decimal('1'):.2f}".encode()
        )
        self.bank_journal("TOUB", "DE89370400440532013000")
        pushed, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": self.connection.id,
                "event_type": "statement",
                "idempotency_key": "tour-unbalanced",
                "payload": '{"filename": "unbalanced.xml", "content_base64": "%s"}'
                % base64.b64encode(data).decode(),
                "content_type": "application/json",
            }
        )
        pushed._job_process()
        mismatch = pushed.exception_ids
        self.assertEqual(mismatch.category, "balance_mismatch")
        self.start_tour(
            "/odoo/action-finance_connect.finance_connect_exception_action",
            "finance_connect_bank_exception_tour",
            login=self.manager.login,
        )
        self.assertEqual(mismatch.state, "in_progress")
        self.assertEqual(pushed.state, "queued", "replayed: queued again for its job")
