"""Settings > Finance Connect: the set-up checklist says what is missing."""

from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestSettingsChecklist(FinanceConnectCase):
    def checklist(self, company):
        settings = self.env["res.config.settings"].with_company(company).create({})
        self.assertEqual(settings.company_id, company)
        return settings._fc_checklist_items(), str(settings.fc_checklist)

    def test_a_new_company_is_told_what_to_do_first(self):
        company = self.setup_other_company(name="FC Checklist")["company"]
        items, html = self.checklist(company)
        self.assertEqual(items[0][0], True, items)  # the test server has a key
        self.assertIn("An encryption key is configured", html)
        self.assertEqual(items[1], (False, items[1][1]))
        self.assertIn("No connection yet", html)
        self.assertIn("No connection uses a mapping set", html)
        self.assertIn("fa-times", html)

    def test_unmapped_accounts_are_counted(self):
        company = self.connection.company_id
        mapping = self.env["finance.connect.mapping"].create(
            {"name": "Checklist set", "company_id": company.id}
        )
        self.connection.mapping_ids = [(4, mapping.id)]
        items, html = self.checklist(company)
        unmapped = sum(self.connection.mapping_ids.mapped("coverage_account_unmapped"))
        self.assertTrue(unmapped)
        self.assertIn(f"{unmapped} account(s) have no mapping", html)
        self.assertIn("mapping set(s) used by the connections", html)
        self.assertFalse(items[-1][0])
