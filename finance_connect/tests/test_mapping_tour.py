"""The mapping screens in a browser: an Odoo tour in headless Chromium."""

from odoo import Command
from odoo.tests import HttpCase, tagged

from .test_mapping import MappingCase


@tagged("post_install", "-at_install")
class TestMappingTour(MappingCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The existing set maps expenses only: accounts are mapped for this
        # connection, so an invoice on an unmapped revenue account must wait.
        cls.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": cls.mapping.id,
                "mapping_type": "account",
                "source_value": cls.expense.code,
                "external_code": "OPEX",
            }
        )
        cls.tour_account = cls.env["account.account"].create(
            {
                "code": "499999",
                "name": "Tour revenue",
                "account_type": "income",
                "company_ids": [Command.link(cls.company.id)],
            }
        )

    def post_tour_invoice(self):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.partner_a.id,
                "invoice_date": "2019-01-01",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Tour line",
                            "quantity": 1,
                            "price_unit": 100.0,
                            "account_id": self.tour_account.id,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        message = self.messages_of(invoice)
        self.assertEqual((message.state, message.waiting_for), ("new", "account:499999"))
        exc = self.env["finance.connect.exception"].search(
            [("category", "=", "mapping"), ("mapping_value", "=", "499999")]
        )
        self.assertEqual(exc.state, "open")
        return invoice, message, exc

    def deliver(self, message):
        self.assertEqual(message.state, "queued")
        message._job_send(message.attempt_count + 1)
        self.assertEqual(message.state, "done")
        return self.delivered_bodies()[-1]

    def test_accountant_maps_accounts_and_replays(self):
        invoice, message, exc = self.post_tour_invoice()
        self.start_tour(
            "/odoo/action-finance_connect.finance_connect_mapping_action",
            "finance_connect_mapping_tour",
            login=self.manager.login,
        )
        mapping = self.env["finance.connect.mapping"].search(
            [("name", "=", "Tour revenue mapping")]
        )
        self.assertEqual(mapping.connection_ids, self.connection)
        self.assertEqual(mapping.line_ids.mapped("external_code"), ["REV-TOUR"])
        self.assertEqual(mapping.line_ids.account_id, self.tour_account)
        self.assertEqual(exc.state, "resolved")
        self.assertFalse(message.waiting_for)
        body = self.deliver(message)
        self.assertEqual(body["data"]["lines"][0]["external_account"], "REV-TOUR")
        self.assertEqual(invoice.fc_state, "synced")

    def test_fix_button_creates_mapping_and_replays(self):
        _invoice, message, exc = self.post_tour_invoice()
        self.start_tour(
            f"/odoo/action-finance_connect.finance_connect_exception_action/{exc.id}",
            "finance_connect_mapping_fix_tour",
            login=self.manager.login,
        )
        line = self.mapping.line_ids.filtered(lambda ln: ln.external_code == "REV-FIX")
        self.assertEqual(line.account_id, self.tour_account)
        self.assertEqual(exc.state, "resolved")
        body = self.deliver(message)
        self.assertEqual(body["data"]["lines"][0]["external_account"], "REV-FIX")
