"""Encryption of secrets at rest and masking of secrets shown in the UI."""

import base64
import hashlib

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect.lib.secretbox import (
    SecretBox,
    SecretBoxError,
    generate_salt,
    mask,
    slot,
)
from odoo.tests import BaseCase, tagged

PASSPHRASE = "correct horse battery staple"
SALT = "c2FsdC1vZi10aGlzLWRhdGFiYXNl"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLOT = slot("finance.connect.connection", 7, "webhook_secret")


@tagged("post_install", "-at_install")
class TestSecretBox(BaseCase):
    def test_round_trip_with_a_fernet_key(self):
        key = SecretBox.generate_key()
        assert len(key) == 44
        box = SecretBox(key)
        token = box.encrypt(SECRET, SLOT)
        assert token.startswith("fc2:")
        assert SECRET not in token
        assert box.decrypt(token, SLOT) == SECRET

    def test_round_trip_with_a_passphrase_and_unicode(self):
        box = SecretBox(PASSPHRASE, SALT)
        token = box.encrypt("pässwörd ✓", SLOT)
        assert SecretBox(PASSPHRASE, SALT).decrypt(token, SLOT) == "pässwörd ✓"
        assert box.encrypt("same", SLOT) != box.encrypt("same", SLOT)  # random nonce each time

    def test_passphrase_derivation_is_stable_key_and_salt_dependent(self):
        token = SecretBox(PASSPHRASE, SALT).encrypt(SECRET, SLOT)
        assert SecretBox(PASSPHRASE, SALT).decrypt(token, SLOT) == SECRET
        with self.assertRaisesRegex(SecretBoxError, "key is wrong"):
            SecretBox(PASSPHRASE + "!", SALT).decrypt(token, SLOT)
        with self.assertRaisesRegex(SecretBoxError, "key is wrong"):
            SecretBox(PASSPHRASE, SALT + "x").decrypt(token, SLOT)

    def test_passphrase_needs_a_salt(self):
        for salt in (None, "", "short"):
            with self.assertRaisesRegex(ValueError, "random salt"):
                SecretBox(PASSPHRASE, salt)

    def test_passphrase_derivation_is_memory_hard_and_pinned(self):
        # Changing the parameters would make every stored secret unreadable.
        master = hashlib.scrypt(
            PASSPHRASE.encode(), salt=SALT.encode(), n=2**15, r=8, p=1, maxmem=2**26, dklen=32
        )
        aes_key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"finance_connect",
            info=b"secretbox-v2-aes256gcm",
        ).derive(master)
        token = SecretBox(PASSPHRASE, SALT).encrypt(SECRET, SLOT)
        raw = base64.urlsafe_b64decode(token.removeprefix("fc2:"))
        assert AESGCM(aes_key).decrypt(raw[:12], raw[12:], SLOT.encode()).decode() == SECRET

    def test_ciphertext_is_bound_to_its_slot(self):
        box = SecretBox(SecretBox.generate_key())
        token = box.encrypt(SECRET, SLOT)
        for other in (
            slot("finance.connect.connection", 8, "webhook_secret"),
            slot("finance.connect.connection", 7, "api_key"),
            slot("finance.connect.feed", 7, "webhook_secret"),
        ):
            with self.assertRaisesRegex(SecretBoxError, "copied from another record or field"):
                box.decrypt(token, other)
        with self.assertRaisesRegex(ValueError, "bound to a slot"):
            box.decrypt(token, "")
        with self.assertRaisesRegex(ValueError, "saved record"):
            slot("finance.connect.connection", False, "api_key")

    def test_legacy_tokens_are_refused_but_readable_for_the_upgrade(self):
        legacy_passphrase = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"finance_connect", info=b"secretbox-v1"
        ).derive(PASSPHRASE.encode())
        old = (
            "fc1:" + Fernet(base64.urlsafe_b64encode(legacy_passphrase)).encrypt(b"s3cret").decode()
        )
        box = SecretBox(PASSPHRASE, SALT)
        with self.assertRaisesRegex(SecretBoxError, "old format"):
            box.decrypt(old, SLOT)
        assert box.decrypt_legacy(old) == "s3cret"
        key = SecretBox.generate_key()
        old_fernet = "fc1:" + Fernet(key.encode()).encrypt(b"k3y").decode()
        assert SecretBox(key).decrypt_legacy(old_fernet) == "k3y"
        with self.assertRaises(SecretBoxError):
            SecretBox(SecretBox.generate_key()).decrypt_legacy(old_fernet)

    def test_wrong_fernet_key_is_refused(self):
        token = SecretBox(SecretBox.generate_key()).encrypt(SECRET, SLOT)
        with self.assertRaises(SecretBoxError) as info:
            SecretBox(SecretBox.generate_key()).decrypt(token, SLOT)
        assert SECRET not in str(info.exception)

    def test_corrupt_or_foreign_tokens_are_refused(self):
        for token in [
            "",
            "plain-text-secret",
            "fc2:",
            "fc2:not-a-token",
            "fc2:abc",
            None,
            "fc2:é",
            "fc1:x",
        ]:
            with self.subTest(token=token):
                with self.assertRaises(SecretBoxError):
                    SecretBox(PASSPHRASE, SALT).decrypt(token, SLOT)

    def test_flipped_character_in_token_is_refused(self):
        box = SecretBox(PASSPHRASE, SALT)
        token = box.encrypt(SECRET, SLOT)
        middle = len(token) // 2
        flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
        with self.assertRaises(SecretBoxError):
            box.decrypt(flipped, SLOT)

    def test_short_keys_are_refused(self):
        for key in ["", "short", "x" * 15]:
            with self.subTest(key=key):
                with self.assertRaisesRegex(ValueError, "at least 16 characters"):
                    SecretBox(key, SALT)

    def test_sixteen_character_passphrase_is_enough(self):
        box = SecretBox("x" * 16, SALT)
        assert box.decrypt(box.encrypt("v", SLOT), SLOT) == "v"

    def test_key_is_not_exposed_by_repr(self):
        key = SecretBox.generate_key()
        assert key not in repr(SecretBox(key))
        assert PASSPHRASE not in repr(SecretBox(PASSPHRASE, SALT))

    def test_generated_salts_differ(self):
        assert generate_salt() != generate_salt()
        assert len(generate_salt()) >= 16

    def test_mask(self):
        assert mask("") == ""
        assert mask(None) == ""
        assert mask("abc") == "••••••••"
        assert mask("12345678") == "••••••••"
        assert mask("123456789") == "••••6789"
        assert mask(SECRET) == "••••LaSw"
        assert mask(SECRET, keep=6) == "••••LaLaSw"
        assert mask(SECRET, keep=0) == "••••••••"
        with self.assertRaisesRegex(ValueError, "keep must not be negative"):
            mask(SECRET, keep=-1)

    @settings(max_examples=200, deadline=None, database=None)
    @given(
        value=st.text(st.characters(exclude_characters="•"), min_size=1, max_size=80),
        keep=st.integers(0, 10),
    )
    def test_property_mask_never_reveals_the_secret(self, value, keep):
        masked = mask(value, keep=keep)
        assert value not in masked
        if masked != "••••••••":
            assert masked == "••••" + value[-keep:]
            assert 0 < keep < len(value) / 2

    @settings(max_examples=25, deadline=None, database=None)
    @given(plaintext=st.text(max_size=200))
    def test_property_encrypt_decrypt_round_trip(self, plaintext):
        box = SecretBox(PASSPHRASE, SALT)
        assert box.decrypt(box.encrypt(plaintext, SLOT), SLOT) == plaintext
