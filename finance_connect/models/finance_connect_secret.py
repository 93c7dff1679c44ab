"""Encrypted storage of connection secrets.

Secrets live in their own table that no user group may read: only the engine,
running as superuser, decrypts them for an outbound call or a webhook check.
The key comes from the server configuration (``finance_connect_secret_key`` in
odoo.conf, or the ``FINANCE_CONNECT_SECRET_KEY`` environment variable).
"""

import functools
import os

from odoo import api, fields, models, tools
from odoo.exceptions import UserError

from ..lib.secretbox import SecretBox, SecretBoxError

CONFIG_KEY = "finance_connect_secret_key"
ENV_KEY = "FINANCE_CONNECT_SECRET_KEY"


@functools.lru_cache(maxsize=4)
def _box_for(key):
    """Key derivation runs once per configured key, not once per secret."""
    return SecretBox(key)


class FinanceConnectSecret(models.Model):
    _name = "finance.connect.secret"
    _description = "Finance Connect encrypted secret"
    _log_access = True

    connection_id = fields.Many2one(
        "finance.connect.connection", required=True, ondelete="cascade", index=True
    )
    name = fields.Char(required=True, help="Which secret of the connection.")
    ciphertext = fields.Text(required=True)
    expires_at = fields.Datetime(help="For a previous webhook secret: accepted until then.")

    _sql_constraints = [
        (
            "connection_name_uniq",
            "unique(connection_id, name)",
            "A connection holds one secret of each kind.",
        )
    ]

    @api.model
    def _get_box(self):
        """The SecretBox built from the configured key; UserError when none is set."""
        key = tools.config.get(CONFIG_KEY) or os.environ.get(ENV_KEY)
        if not key:
            raise UserError(
                self.env._(
                    "No encryption key is configured, so no secret can be stored. "
                    "Set %(option)s in the Odoo configuration file (or the %(env)s "
                    "environment variable) and restart Odoo.",
                    option=CONFIG_KEY,
                    env=ENV_KEY,
                )
            )
        try:
            return _box_for(key)
        except ValueError as exc:
            raise UserError(
                self.env._("The configured encryption key is unusable: %(error)s", error=exc)
            ) from exc

    @api.model
    def _store(self, connection, name, value, expires_at=False):
        """Encrypt ``value`` and store it as secret ``name`` of ``connection``.

        An empty value removes the secret.
        """
        self._cache().pop((connection.id, name), None)
        existing = self.sudo().search([("connection_id", "=", connection.id), ("name", "=", name)])
        if not value:
            existing.unlink()
            return
        vals = {"ciphertext": self._get_box().encrypt(value), "expires_at": expires_at}
        if existing:
            existing.write(vals)
        else:
            self.sudo().create(dict(vals, connection_id=connection.id, name=name))

    @api.model
    def _cache(self):
        """Secrets decrypted in this transaction (never kept beyond it)."""
        return self.env.cr.cache.setdefault("finance_connect_secrets", {})

    @api.model
    def _reveal(self, connection, name):
        """Plain text of secret ``name`` of ``connection`` ("" when unset)."""
        cache = self._cache()
        if (connection.id, name) not in cache:
            cache[(connection.id, name)] = self._reveal_uncached(connection, name)
        return cache[(connection.id, name)]

    @api.model
    def _reveal_uncached(self, connection, name):
        record = self.sudo().search(
            [("connection_id", "=", connection.id), ("name", "=", name)], limit=1
        )
        if not record:
            return ""
        try:
            return self._get_box().decrypt(record.ciphertext)
        except SecretBoxError as exc:
            raise UserError(
                self.env._(
                    "The secret %(name)s of %(connection)s cannot be decrypted with the "
                    "configured key (was the key changed?). Set the secret again.",
                    name=name,
                    connection=connection.display_name,
                )
            ) from exc
