"""The versions screens in a browser: compare two versions, restore one."""

from odoo.tests import HttpCase, tagged

from .test_mapping import MappingCase
from .test_mapping_versions import VersionsMixin


@tagged("post_install", "-at_install")
class TestMappingVersionsTour(VersionsMixin, MappingCase, HttpCase):
    def test_manager_compares_and_restores_a_version(self):
        self.commit_versions()  # version 1: the empty set
        line = self.line(self.revenue.code, "8400")
        self.commit_versions()  # version 2
        line.external_code = "8410"
        self.commit_versions()  # version 3
        self.start_tour(
            f"/odoo/action-finance_connect.finance_connect_mapping_action/{self.mapping.id}",
            "finance_connect_mapping_versions_tour",
            login=self.manager.login,
        )
        self.env.invalidate_all()
        self.assertEqual(line.external_code, "8400")
        versions = self.versions()
        self.assertEqual(versions.mapped("number"), [1, 2, 3, 4])
        self.assertEqual(versions[-1].note, "Restored version 2")
        self.assertEqual(versions[-1].user_id, self.manager)
