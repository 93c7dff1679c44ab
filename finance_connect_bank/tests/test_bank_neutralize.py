"""A neutralized copy pulls no statement from a production bank."""

from odoo.modules.neutralize import neutralize_database
from odoo.tests import tagged

from .common import BankCase


@tagged("post_install", "-at_install")
class TestBankNeutralize(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pull_conn = cls._create_connection(
            "Pulling bank", cls.company, fc_pull_enabled=True, fc_pull_path="/statements"
        )
        cls.cron = cls.env.ref("finance_connect_bank.ir_cron_pull_statements")
        cls.cron.active = True

    def test_neutralized_copy_stops_scheduled_pulls(self):
        Connection = self.env["finance.connect.connection"]
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.assertFalse(self.cron.active)
        self.assertTrue(self.pull_conn.paused)
        self.assertFalse(self.pull_conn.fc_pull_enabled)
        # resumed by an administrator of the copy: still no scheduled pull
        self.pull_conn.action_resume_on_copy()
        self.assertFalse(self.pull_conn.paused)
        with self.run_jobs():
            self.assertEqual(Connection._cron_fc_pull_statements(), "0 statement pull(s) queued")
        self.assertFalse(
            [r for r in self.sandbox.received() if r["path"] == "/statements"],
            "no request reached the bank",
        )
