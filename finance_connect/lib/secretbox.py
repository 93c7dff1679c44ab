"""Encryption of secrets at rest (pure Python, no ORM).

:class:`SecretBox` wraps Fernet (AES-128-CBC + HMAC-SHA256).  Its key is either
a Fernet key or a passphrase of at least 16 characters, from which a Fernet key
is derived with HKDF-SHA256.  Tokens are prefixed with ``fc1:`` so that a stored
value tells which format it uses.  :func:`mask` shows a secret in the UI
without revealing it.

Only APIs present in cryptography 3.4.8 (the version Odoo pins) are used.
"""

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_PREFIX = "fc1:"
MIN_PASSPHRASE_LENGTH = 16
MASK = "••••"

_HKDF_SALT = b"finance_connect"
_HKDF_INFO = b"secretbox-v1"


class SecretBoxError(Exception):
    """A stored secret cannot be decrypted (wrong key or corrupt token)."""


def _is_fernet_key(key):
    if len(key) != 44:
        return False
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, ValueError):
        return False


def _derive_fernet_key(passphrase):
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_HKDF_SALT,
        info=_HKDF_INFO,
    ).derive(passphrase.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


class SecretBox:
    """Encrypt and decrypt short secrets with a Fernet key or a passphrase."""

    def __init__(self, key):
        if not isinstance(key, str):
            raise TypeError("the SecretBox key must be a string")
        if _is_fernet_key(key):
            self._fernet = Fernet(key.encode("ascii"))
        elif len(key) >= MIN_PASSPHRASE_LENGTH:
            self._fernet = Fernet(_derive_fernet_key(key))
        else:
            raise ValueError(
                "the SecretBox key must be a Fernet key or a passphrase of "
                f"at least {MIN_PASSPHRASE_LENGTH} characters"
            )

    @staticmethod
    def generate_key():
        """Return a new random Fernet key."""
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, plaintext):
        """Return ``fc1:`` followed by the Fernet token of ``plaintext``."""
        token = self._fernet.encrypt(plaintext.encode("utf-8"))
        return TOKEN_PREFIX + token.decode("ascii")

    def decrypt(self, token):
        """Return the plaintext of a token made by :meth:`encrypt`."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise SecretBoxError(
                f"not an encrypted secret (the {TOKEN_PREFIX!r} prefix is missing)"
            )
        try:
            data = self._fernet.decrypt(token[len(TOKEN_PREFIX) :].encode("utf-8"))
            return data.decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
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
