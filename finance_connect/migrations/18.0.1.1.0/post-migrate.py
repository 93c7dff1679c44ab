"""18.0.1.1.0: webhook tokens stored as their sha256 only; secrets re-sealed
bound to their slot (AES-GCM with the connection and secret name as associated
data, passphrases stretched with scrypt and this database's salt)."""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    if column_exists(cr, "finance_connect_connection", "webhook_token"):
        # Existing webhook URLs keep working: their tokens are hashed, then the
        # clear text is dropped.
        cr.execute(
            SQL(
                "UPDATE finance_connect_connection SET webhook_token_hash ="
                " encode(sha256(convert_to(webhook_token, 'UTF8')), 'hex')"
                " WHERE webhook_token IS NOT NULL AND webhook_token_hash IS NULL"
            )
        )
        _logger.info("finance_connect: %s webhook token(s) now stored hashed", cr.rowcount)
        cr.execute(SQL("ALTER TABLE finance_connect_connection DROP COLUMN webhook_token"))
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["finance.connect.secret"]._get_kdf_salt()
    count = env["finance.connect.secret"]._migrate_legacy_ciphertexts()
    _logger.info("finance_connect: %s secret(s) re-sealed bound to their connection", count)
    env.registry.clear_cache()
