"""The bank journal as the point where imports into it take turns."""

import logging
import threading
from contextlib import contextmanager

from odoo import fields, models


class _QuietInThisThread(logging.Filter):
    """Drops a logger's records while the current thread asks for quiet.

    ``odoo.tools.mute_logger`` swaps the logger's handlers for the whole
    process: two requests muting at once restore each other's state, and the
    logger can stay silent (or loud) for every thread afterwards.
    """

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    def filter(self, record):
        return not getattr(self._local, "depth", 0)

    @contextmanager
    def quiet(self):
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1


_SQL_QUIET = _QuietInThisThread()
logging.getLogger("odoo.sql_db").addFilter(_SQL_QUIET)


class AccountJournal(models.Model):
    _inherit = "account.journal"

    fc_import_serial = fields.Integer(
        string="Bank imports",
        readonly=True,
        copy=False,
        help="Counts the statements imported into this journal. Each import updates it "
        "first, so two imports into one journal at the same time take turns.",
    )

    def _fc_take_import_turn(self):
        """Make concurrent imports into this journal take turns.

        The update of the journal's row waits for another import holding it;
        once that one commits, PostgreSQL refuses this transaction's update
        (its snapshot is older), and Odoo runs the request or job again on a
        fresh snapshot: the duplicates check and the numbering then see the
        other import's lines. Without it, both would number from the same
        highest number and one would fail on the unique entry name.
        """
        self.ensure_one()
        journal = self.sudo()
        journal.fc_import_serial += 1
        # A concurrent import makes this update fail on purpose (Odoo retries):
        # not an error to log, as for Odoo's own sequence numbers.
        with _SQL_QUIET.quiet():
            journal.flush_recordset(["fc_import_serial"])
