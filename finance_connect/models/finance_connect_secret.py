"""Encrypted storage of connection secrets.

Secrets live in their own table that no user group may read: only the engine,
running as superuser, decrypts them for an outbound call or a webhook check.
The key comes from the server configuration (``finance_connect_secret_key`` in
odoo.conf, or the ``FINANCE_CONNECT_SECRET_KEY`` environment variable); a
passphrase is stretched with scrypt and this database's random salt (system
parameter ``finance_connect.secret_kdf_salt``, made at install). Each
ciphertext is bound to its slot (connection id and secret name): one copied
into another row does not decrypt.

The webhook route caches the (encrypted) webhook secrets per worker: any change
of one drops that cache in every worker (through the registry's cache
signaling, at the end of the transaction).
"""

import functools
import logging
import os
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import UserError

from ..lib import signing
from ..lib.secretbox import (
    LEGACY_PREFIX,
    MASK,
    SecretBox,
    SecretBoxError,
    generate_salt,
    mask,
    slot,
)

_logger = logging.getLogger(__name__)

CONFIG_KEY = "finance_connect_secret_key"
ENV_KEY = "FINANCE_CONNECT_SECRET_KEY"
SALT_PARAM = "finance_connect.secret_kdf_salt"
CONNECTION_MODEL = "finance.connect.connection"
#: Secrets the webhook route verifies signatures with.
WEBHOOK_SECRET_NAMES = frozenset({"webhook_secret", "webhook_secret_previous"})


@functools.lru_cache(maxsize=4)
def _box_for(key, salt):
    """Key derivation (scrypt for a passphrase) runs once per configured key and
    salt, not once per secret."""
    return SecretBox(key, salt)


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

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._drop_webhook_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self._drop_webhook_cache()
        return result

    def unlink(self):
        self._drop_webhook_cache()
        return super().unlink()

    def _drop_webhook_cache(self):
        if WEBHOOK_SECRET_NAMES.intersection(self.sudo().mapped("name")):
            self.env.registry.clear_cache()

    @api.model
    def _slot(self, connection_id, name):
        """What a ciphertext of secret ``name`` of a connection is bound to."""
        return slot(CONNECTION_MODEL, connection_id, name)

    @api.model
    def _get_kdf_salt(self):
        """This database's salt for passphrase stretching, made on first use
        (at install, see ``hooks.py``)."""
        params = self.env["ir.config_parameter"].sudo()
        salt = params.get_param(SALT_PARAM)
        if not salt:
            salt = generate_salt()
            params.set_param(SALT_PARAM, salt)
        return salt

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
            return _box_for(key, self._get_kdf_salt())
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
        ciphertext = self._get_box().encrypt(value, self._slot(connection.id, name))
        vals = {"ciphertext": ciphertext, "expires_at": expires_at}
        if existing:
            existing.write(vals)
        else:
            self.sudo().create(dict(vals, connection_id=connection.id, name=name))

    # ------------------------------------------------------------------
    # The secret fields of a connection (administrators only)
    # ------------------------------------------------------------------

    @api.model
    def _get_masked(self, connection, names):
        """``{name: masked value}`` of the secrets ``names`` stored for
        ``connection``: their length is not revealed, and one that cannot be
        decrypted shows as ``••••????``."""
        if not connection.id:
            return {}
        masked = {}
        for row in self.sudo().search([("connection_id", "=", connection.id)]):
            if row.name not in names:
                continue
            try:
                masked[row.name] = mask(row._decrypt())
            except UserError:
                masked[row.name] = MASK + "????"
        return masked

    @api.model
    def _store_typed(self, connection, name, value):
        """Store what an administrator typed in a secret field of ``connection``
        (the caller checked the rights): the masked value coming back unchanged
        is ignored, a webhook secret must read whsec_ + base64, an empty value
        removes the secret. Audited."""
        if value and value.startswith(MASK):
            return  # the masked value came back unchanged
        if name == "webhook_secret" and value:
            try:
                signing.decode_secret(value)
            except ValueError as exc:
                raise UserError(
                    self.env._("A webhook secret is whsec_ followed by base64.")
                ) from exc
        self._store(connection, name, value)
        self.env["finance.connect.audit"]._log(
            connection, "secret_set" if value else "secret_removed", name
        )

    @api.model
    def _rotate_webhook_secret(self, connection):
        """Give ``connection`` a new webhook secret, returned in clear (once);
        the current one keeps working for the connection's grace period. The
        caller checked the rights."""
        current = self._reveal(connection, "webhook_secret")
        expiry = False
        if current:
            expiry = fields.Datetime.now() + timedelta(hours=connection.rotation_grace_hours)
            self._store(connection, "webhook_secret_previous", current, expires_at=expiry)
        new_secret = signing.generate_secret(32)
        self._store(connection, "webhook_secret", new_secret)
        connection.sudo().webhook_previous_expiry = expiry
        self.env["finance.connect.audit"]._log(connection, "webhook_secret_rotated")
        return new_secret

    @api.model
    def _get_webhook_secrets(self, connection):
        """The secrets in clear that may sign a webhook to ``connection``: the
        current one, then the previous one while it is valid."""
        result = [s for s in [self._reveal(connection, "webhook_secret")] if s]
        expiry = connection.webhook_previous_expiry
        if expiry and expiry > fields.Datetime.now():
            previous = self._reveal(connection, "webhook_secret_previous")
            if previous:
                result.append(previous)
        return result

    # ------------------------------------------------------------------
    # Encryption and storage (the engine)
    # ------------------------------------------------------------------

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
        return record._decrypt()

    def _decrypt(self):
        """Plain text of this stored secret, checked against its slot; a
        UserError naming the connection and the secret otherwise."""
        self.ensure_one()
        try:
            return self._get_box().decrypt(
                self.ciphertext, self._slot(self.connection_id.id, self.name)
            )
        except SecretBoxError as exc:
            raise UserError(
                self.env._(
                    "The secret %(name)s of %(connection)s cannot be decrypted: %(reason)s. "
                    "An administrator must set the secret again.",
                    name=self.name,
                    connection=self.connection_id.sudo().display_name,
                    reason=exc,
                )
            ) from exc

    @api.model
    def _migrate_legacy_ciphertexts(self):
        """Re-seal the secrets of the first format (``fc1:``, not bound to their
        slot) in the current one. Run by the upgrade; without a configured key
        they are left (and refused when read) with a warning. Returns how many
        were re-sealed."""
        legacy = self.sudo().search([("ciphertext", "=like", LEGACY_PREFIX + "%")])
        if not legacy:
            return 0
        try:
            box = self._get_box()
        except UserError:
            _logger.warning(
                "finance_connect: %s secret(s) in the old format and no encryption key: "
                "configure the key and upgrade again, or set the secrets again",
                len(legacy),
            )
            return 0
        done = 0
        for record in legacy:
            try:
                plain = box.decrypt_legacy(record.ciphertext)
            except SecretBoxError:
                _logger.warning(
                    "finance_connect: secret %s of connection %s cannot be decrypted with "
                    "the configured key; set it again",
                    record.name,
                    record.connection_id.id,
                )
                continue
            record.ciphertext = box.encrypt(plain, self._slot(record.connection_id.id, record.name))
            done += 1
        self._cache().clear()
        return done
