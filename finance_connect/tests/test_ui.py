"""The product as a person meets it: menus, forms, in a real browser."""

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestFinanceConnectUi(HttpCase):
    def test_menus_visible_to_a_manager(self):
        new_test_user(
            self.env,
            login="fc_tour_manager",
            password="fc_tour_manager",
            groups="account.group_account_manager,finance_connect.group_manager",
        )
        self.env["finance.connect.exception"].search([]).write({"state": "resolved"})
        self.env["finance.connect.exception"]._open(
            "other",
            "Test problem",
            "Something to look at.",
            connection=self.env.ref("finance_connect.demo_connection_sandbox"),
        )
        self.start_tour(
            "/odoo/action-finance_connect.finance_connect_connection_action",
            "finance_connect_menus_tour",
            login="fc_tour_manager",
        )

    def test_menu_hidden_without_the_group(self):
        user = new_test_user(self.env, login="fc_nobody", groups="account.group_account_invoice")
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)
        names = {m.get("name") for m in menus.values() if isinstance(m, dict)}
        self.assertNotIn("Finance Connect", names)
        manager = new_test_user(
            self.env,
            login="fc_menu_manager",
            groups="account.group_account_manager,finance_connect.group_manager",
        )
        menus = self.env["ir.ui.menu"].with_user(manager).load_menus(debug=False)
        names = {m.get("name") for m in menus.values() if isinstance(m, dict)}
        self.assertTrue(
            {"Finance Connect", "Exception inbox", "Message log", "Connections"} <= names
        )
