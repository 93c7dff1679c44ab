"""The shipped payload schemas (of every installed finance_connect addon) are
pinned by their SCHEMA_LOCK.json: a schema changed in a way that is not
backward compatible without a new x-schema-version, a shipped version
removed, or a schema not recorded fails here (what to do is in the message;
the rules: readme/DEVELOP.md, "Payload schema versions")."""

from pathlib import Path

from odoo.tests import TransactionCase, tagged

from ..lib import schema_compat


@tagged("post_install", "-at_install")
class TestSchemaLock(TransactionCase):
    def test_every_shipped_schema_is_locked_and_compatible(self):
        dirs = self.env["finance.connect.message"]._get_schema_dirs()
        self.assertGreaterEqual(len(dirs), 1)
        for directory in dirs:
            with self.subTest(directory=directory):
                lock = schema_compat.read_lock(directory)
                current = schema_compat.read_schemas(directory)
                self.assertTrue(current, f"{directory} ships no schema")
                self.assertTrue(
                    (Path(directory) / schema_compat.LOCK_NAME).exists(),
                    f"{directory} has no {schema_compat.LOCK_NAME}: run setup/schema-lock update",
                )
                self.assertEqual(schema_compat.check_lock(lock, current), [])

    def test_the_lock_compares_each_version_with_what_was_shipped(self):
        """The lock holds the contract of each shipped version, and the running
        registry serves exactly the locked versions."""
        registry = self.env["finance.connect.message"]._get_schema_registry()
        for directory, reg in zip(
            self.env["finance.connect.message"]._get_schema_dirs(),
            registry.registries,
            strict=True,
        ):
            lock = schema_compat.read_lock(directory)
            served = {
                f"{event}@{version}"
                for event in reg.event_types()
                for version in range(1, reg.latest_version(event) + 1)
            }
            self.assertEqual(served, set(lock))
            for key, entry in lock.items():
                event, version = key.rsplit("@", 1)
                self.assertEqual(
                    schema_compat.fingerprint(reg.get(event, int(version))), entry["sha256"]
                )
