"""18.0.1.1.0: pull tokens stored as their sha256 only (existing pull URLs keep
working)."""

import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version or not column_exists(cr, "finance_connect_feed", "pull_token"):
        return
    cr.execute(
        SQL(
            "UPDATE finance_connect_feed"
            "   SET pull_token_hash = encode(sha256(convert_to(pull_token, 'UTF8')), 'hex')"
            " WHERE pull_token IS NOT NULL AND pull_token_hash IS NULL"
        )
    )
    _logger.info("finance_connect_reporting: %s pull token(s) now stored hashed", cr.rowcount)
    cr.execute(SQL("ALTER TABLE finance_connect_feed DROP COLUMN pull_token"))
