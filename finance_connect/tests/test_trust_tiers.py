"""Pausing and sizing service tiers and connections, attacked over real HTTP.

A tier holds every company's work: only Settings administrators pause, resume
and size it; a plain internal user, a Finance Connect user and a Finance
Connect manager are refused. A manager pauses their own company's connections,
not another company's. The database is read back to see nothing changed.
"""

from odoo.tests import new_test_user, tagged

from .trust_common import TrustCase


@tagged("post_install", "-at_install")
class TestTrustTiers(TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.critical = cls.env.ref("finance_connect.tier_critical")
        cls.conn_b = cls._create_connection("Bank of B", cls.company_b)
        cls.sysadmin = new_test_user(
            cls.env,
            login="fc_tier_sysadmin",
            groups="base.group_system,finance_connect.group_manager",
            company_id=cls.company_a.id,
        )

    def test_plain_and_finance_users_cannot_pause_or_size(self):
        capacity = self.critical.capacity
        for role in ("internal", "fc_user", "manager"):
            user = self.roles[role]
            with self.subTest(role=role):
                self.assert_refused(self.button(user, self.critical, "action_pause"))
                self.assert_refused(
                    self.rpc(
                        user, "finance.connect.tier", "write", [self.critical.ids, {"capacity": 64}]
                    )
                )
                if role != "manager":
                    self.assert_refused(self.button(user, self.connection, "action_pause"))
        self.critical.invalidate_recordset()
        self.connection.invalidate_recordset()
        self.assertFalse(self.critical.paused)
        self.assertEqual(self.critical.capacity, capacity)
        self.assertFalse(self.connection.paused)

    def test_manager_pauses_own_company_only(self):
        self.assert_refused(self.button(self.manager, self.conn_b, "action_pause"))
        self.conn_b.invalidate_recordset()
        self.assertFalse(self.conn_b.paused)
        self.assert_ok(self.button(self.manager, self.connection, "action_pause"))
        self.connection.invalidate_recordset()
        self.assertTrue(self.connection.paused)

    def test_paused_flag_only_through_the_buttons(self):
        answer = self.rpc(
            self.sysadmin, "finance.connect.tier", "write", [self.critical.ids, {"paused": True}]
        )
        self.assert_refused(answer, "Pause")
        self.critical.invalidate_recordset()
        self.assertFalse(self.critical.paused)
        self.assert_ok(self.button(self.sysadmin, self.critical, "action_pause"))
        self.critical.invalidate_recordset()
        self.assertTrue(self.critical.paused)
        self.assert_ok(self.button(self.sysadmin, self.critical, "action_resume"))
        self.critical.invalidate_recordset()
        self.assertFalse(self.critical.paused)
