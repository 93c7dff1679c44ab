"""Four-eyes control as administrators meet it, in a real browser."""

from odoo.tests import HttpCase, new_test_user, tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestFourEyesUi(FinanceConnectCase, HttpCase):
    def test_request_in_the_form_then_another_administrator_approves(self):
        company = self.company_data["company"]
        groups = "account.group_account_manager,finance_connect.group_administrator"
        requester = new_test_user(
            self.env,
            login="fc_4e_requester",
            password="fc_4e_requester",
            groups=groups,
            company_id=company.id,
        )
        approver = new_test_user(
            self.env,
            login="fc_4e_approver",
            password="fc_4e_approver",
            groups=groups,
            company_id=company.id,
        )
        conn = self._create_connection("Production bank", company)
        conn.environment = "production"
        old_url = conn.base_url
        self.start_tour(
            f"/odoo/action-finance_connect.finance_connect_connection_action/{conn.id}",
            "finance_connect_four_eyes_request_tour",
            login=requester.login,
        )
        conn.invalidate_recordset()
        self.assertEqual(conn.base_url, old_url)
        request = self.env["finance.connect.change.request"].search(
            [("res_model", "=", conn._name), ("res_id", "=", conn.id)]
        )
        self.assertEqual((request.state, request.requested_by_id), ("pending", requester))
        self.start_tour(
            "/odoo/action-finance_connect.finance_connect_change_request_action",
            "finance_connect_four_eyes_approve_tour",
            login=approver.login,
        )
        conn.invalidate_recordset()
        request.invalidate_recordset()
        self.assertEqual(conn.base_url, "https://bank.example.com/new")
        self.assertEqual((request.state, request.decided_by_id), ("applied", approver))
