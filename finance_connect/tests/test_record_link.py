"""The "Open record" button of messages and exceptions (finance.connect.record.link.mixin)."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestRecordLink(FinanceConnectCase):
    def _exception_about(self, record, fingerprint):
        return self.env["finance.connect.exception"]._open(
            "other",
            "Counterparty refused the partner",
            "Check the partner's VAT number.",
            connection=self.connection,
            record=record,
            fingerprint=fingerprint,
        )

    def test_message_opens_its_invoice(self):
        invoice = self.post_invoice(10.0)
        message = self.messages_of(invoice)
        self.assertEqual(len(message), 1)
        action = message.with_user(self.fc_user).action_open_record()
        self.assertEqual(
            (action["type"], action["res_model"], action["res_id"], action["view_mode"]),
            ("ir.actions.act_window", "account.move", invoice.id, "form"),
        )

    def test_message_of_a_deleted_record_says_so(self):
        partner = self.env["res.partner"].create({"name": "Gone Ltd"})
        message = self.messages_of(self.post_invoice(11.0))
        message.sudo().write(
            {"res_model": "res.partner", "res_id": partner.id, "res_name": "Gone Ltd"}
        )
        partner.unlink()
        with self.assertRaisesRegex(UserError, r"Gone Ltd \(res.partner #\d+\) no longer exists"):
            message.with_user(self.fc_user).action_open_record()

    def test_exception_opens_its_record(self):
        partner = self.env["res.partner"].create({"name": "Refused Ltd"})
        exc = self._exception_about(partner, "link:ok")
        action = exc.with_user(self.manager).action_open_record()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", partner.id))
        # "Fix" without a connection falls back to the record.
        exc.connection_id = False
        self.assertEqual(exc.with_user(self.manager).action_open_fix()["res_id"], partner.id)

    def test_exception_without_or_with_a_deleted_record(self):
        alone = self._exception_about(None, "link:none")
        with self.assertRaisesRegex(UserError, "has no related record"):
            alone.with_user(self.manager).action_open_record()
        partner = self.env["res.partner"].create({"name": "Merged Ltd"})
        exc = self._exception_about(partner, "link:gone")
        partner.unlink()
        with self.assertRaisesRegex(UserError, "Merged Ltd .* no longer exists"):
            exc.with_user(self.manager).action_open_record()

    def test_exception_record_the_user_may_not_read(self):
        other = self.env["res.company"].create({"name": "Elsewhere B.V."})
        partner = self.env["res.partner"].create({"name": "Hidden Ltd", "company_id": other.id})
        exc = self._exception_about(partner, "link:hidden")
        self.assertEqual(exc.with_user(self.fc_user).res_name, "Hidden Ltd")
        with self.assertRaises(AccessError):
            exc.with_user(self.fc_user).action_open_record()
