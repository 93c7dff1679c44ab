"""Encryption of secrets at rest (pure Python, no ORM).

:class:`SecretBox` seals short secrets with AES-256-GCM.  Each ciphertext is
bound to its *slot* (which record and which field it belongs to, see
:func:`slot`) through the associated data: a ciphertext copied into another
slot does not decrypt.  Tokens are prefixed with ``fc2:``.

The key is either a Fernet key (32 random bytes, urlsafe base64) or a
passphrase of at least 16 characters.  A passphrase is stretched with scrypt
(memory-hard: 2**15 x 8 x 128 bytes = 32 MiB per guess) and a random salt of
the database, so a dump of the database is not cheap to brute-force; either
way the AES key is derived from that master key with HKDF-SHA256.

Tokens of the first format (``fc1:``, Fernet with a passphrase stretched by a
single HKDF and not bound to a slot) are read only by :meth:`SecretBox.decrypt_legacy`,
which the upgrade uses to re-seal them; :meth:`SecretBox.decrypt` refuses them.

:func:`mask` shows a secret in the UI without revealing it.

Only APIs present in cryptography 3.4.8 (the version Odoo pins) are used.
"""

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_PREFIX = "fc2:"
LEGACY_PREFIX = "fc1:"
MIN_PASSPHRASE_LENGTH = 16
MIN_SALT_BYTES = 16
MASK = "••••"

#: scrypt cost of a passphrase (changing them makes stored secrets unreadable).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024

_HKDF_SALT = b"finance_connect"
_HKDF_INFO_LEGACY = b"secretbox-v1"
_HKDF_INFO_AEAD = b"secretbox-v2-aes256gcm"
_NONCE_BYTES = 12


class SecretBoxError(Exception):
    """A stored secret cannot be decrypted (wrong key, wrong slot, corrupt token)."""


def slot(model, record_id, name):
    """The slot a ciphertext is bound to: ``model/record id/secret name``."""
    if not record_id:
        raise ValueError("a secret belongs to a saved record (no id given)")
    return f"{model}/{int(record_id)}/{name}"


def generate_salt():
    """A new random salt for passphrase stretching (urlsafe base64 text)."""
    return base64.urlsafe_b64encode(os.urandom(MIN_SALT_BYTES)).decode("ascii")


def _is_fernet_key(key):
    if len(key) != 44:
        return False
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, ValueError):
        return False


def _hkdf(material, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(material)


def _stretch(passphrase, salt):
    if not salt or len(salt.encode("utf-8")) < MIN_SALT_BYTES:
        raise ValueError(f"a passphrase needs a random salt of at least {MIN_SALT_BYTES} bytes")
    return hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=salt.encode("utf-8"),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=32,
    )


class SecretBox:
    """Encrypt and decrypt short secrets, each bound to its slot."""

    def __init__(self, key, salt=None):
        if not isinstance(key, str):
            raise TypeError("the SecretBox key must be a string")
        if _is_fernet_key(key):
            master = base64.urlsafe_b64decode(key.encode("ascii"))
            legacy = key.encode("ascii")
        elif len(key) >= MIN_PASSPHRASE_LENGTH:
            master = _stretch(key, salt)
            legacy = base64.urlsafe_b64encode(_hkdf(key.encode("utf-8"), _HKDF_INFO_LEGACY))
        else:
            raise ValueError(
                "the SecretBox key must be a Fernet key or a passphrase of "
                f"at least {MIN_PASSPHRASE_LENGTH} characters"
            )
        self._aead = AESGCM(_hkdf(master, _HKDF_INFO_AEAD))
        self._legacy = Fernet(legacy)

    @staticmethod
    def generate_key():
        """Return a new random Fernet key (the recommended kind of key)."""
        return Fernet.generate_key().decode("ascii")

    @staticmethod
    def _aad(slot_name):
        if not isinstance(slot_name, str) or not slot_name:
            raise ValueError("a ciphertext must be bound to a slot")
        return slot_name.encode("utf-8")

    def encrypt(self, plaintext, slot_name):
        """Return ``fc2:`` followed by the sealed ``plaintext``, bound to ``slot_name``."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), self._aad(slot_name))
        return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token, slot_name):
        """Return the plaintext of a token made by :meth:`encrypt` for ``slot_name``."""
        aad = self._aad(slot_name)
        if isinstance(token, str) and token.startswith(LEGACY_PREFIX):
            raise SecretBoxError(
                "the secret is stored in the old format (fc1), which is not bound to "
                "its record: upgrade the finance_connect module, or set the secret again"
            )
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise SecretBoxError(
                f"not an encrypted secret (the {TOKEN_PREFIX!r} prefix is missing)"
            )
        try:
            raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :].encode("ascii"))
            if len(raw) <= _NONCE_BYTES:
                raise ValueError("too short")
            data = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)
            return data.decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError, UnicodeError):
            raise SecretBoxError(
                "cannot decrypt the secret: the encryption key is wrong, the stored "
                "value is corrupt, or it was copied from another record or field"
            ) from None

    def decrypt_legacy(self, token):
        """Plaintext of an ``fc1:`` token (first format): for the upgrade only."""
        if not isinstance(token, str) or not token.startswith(LEGACY_PREFIX):
            raise SecretBoxError(f"not a {LEGACY_PREFIX!r} token")
        try:
            data = self._legacy.decrypt(token[len(LEGACY_PREFIX) :].encode("utf-8"))
            return data.decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretBoxError(
                "cannot decrypt the secret: the encryption key is wrong or the "
                "stored value is corrupt"
            ) from None


def mask(value, keep=4):
    """Return ``value`` hidden but for its last ``keep`` characters.

    Values of at most ``2 * keep`` characters are hidden entirely.
    """
    if not value:
        return ""
    if keep < 0:
        raise ValueError("keep must not be negative")
    if keep == 0 or len(value) <= keep * 2:
        return MASK * 2
    return MASK + value[-keep:]
