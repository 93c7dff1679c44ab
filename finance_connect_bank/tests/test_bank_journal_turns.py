"""Imports into one journal take turns: the quiet failure of the losing update
is quiet for its own thread only."""

import logging
import threading

from odoo.tests import TransactionCase, tagged

from ..models.account_journal import _SQL_QUIET


@tagged("post_install", "-at_install")
class TestJournalTurns(TransactionCase):
    def test_quiet_is_per_thread(self):
        """While one thread is quiet, another thread's SQL errors are still logged,
        and once it is done its own are logged again."""
        logger = logging.getLogger("odoo.sql_db")
        inside, release = threading.Event(), threading.Event()

        def quiet_thread():
            with _SQL_QUIET.quiet():
                logger.error("dropped: the losing update of a concurrent import")
                inside.set()
                release.wait(timeout=10)

        thread = threading.Thread(target=quiet_thread)
        with self.assertLogs("odoo.sql_db", level="ERROR") as logs:
            thread.start()
            self.assertTrue(inside.wait(timeout=10))
            logger.error("kept: another request's error")
            release.set()
            thread.join(timeout=10)
            logger.error("kept: after the quiet thread is done")
        self.assertEqual(
            [record.getMessage() for record in logs.records],
            ["kept: another request's error", "kept: after the quiet thread is done"],
        )

    def test_turn_counts_imports(self):
        journal = self.env["account.journal"].create(
            {"name": "Turns", "code": "TRN", "type": "bank"}
        )
        journal._fc_take_import_turn()
        journal._fc_take_import_turn()
        self.assertEqual(journal.fc_import_serial, 2)
