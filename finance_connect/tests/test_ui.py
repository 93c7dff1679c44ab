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

    def test_send_now_names_the_connection_and_asks_again(self):
        new_test_user(
            self.env,
            login="fc_tour_accountant",
            password="fc_tour_accountant",
            groups="account.group_account_manager,finance_connect.group_user",
        )
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.env.ref("base.res_partner_2").id,
                "invoice_line_ids": [(0, 0, {"name": "Service", "price_unit": 100.0})],
            }
        )
        self.env["finance.connect.subscription"].search(
            [("event_type", "=", "invoice.posted")]
        ).active = False
        invoice.action_post()
        before = self.env["finance.connect.message"].search_count([])
        message, _created = self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "out",
                "connection_id": self.env.ref("finance_connect.demo_connection_sandbox").id,
                "event_type": "record.synced",
                "idempotency_key": "tour-sent",
                "res_model": invoice._name,
                "res_id": invoice.id,
                "res_name": invoice.name,
                "payload": '{"event_id": "tour-sent", "data": {"id": %d}}' % invoice.id,
            }
        )
        message._set_state("done", "tour")
        invoice._fc_write_state({"fc_state": "synced", "fc_last_sync": "2026-12-01 10:00:00"})
        self.start_tour(
            f"/odoo/action-account.action_move_out_invoice_type/{invoice.id}",
            "finance_connect_send_now_tour",
            login="fc_tour_accountant",
        )
        self.assertEqual(
            self.env["finance.connect.message"].search_count([]), before + 1, "nothing sent again"
        )
        self.start_tour(
            f"/odoo/action-finance_connect.finance_connect_message_action/{message.id}",
            "finance_connect_message_tour",
            login="fc_tour_accountant",
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
