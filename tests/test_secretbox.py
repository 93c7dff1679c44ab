"""Encryption of secrets at rest and masking of secrets shown in the UI."""

import base64

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect.lib.secretbox import SecretBox, SecretBoxError, mask

PASSPHRASE = "correct horse battery staple"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_round_trip_with_a_fernet_key():
    key = SecretBox.generate_key()
    assert len(key) == 44
    box = SecretBox(key)
    token = box.encrypt(SECRET)
    assert token.startswith("fc1:")
    assert SECRET not in token
    assert box.decrypt(token) == SECRET
    # The key really is used as a Fernet key, not as a passphrase.
    assert Fernet(key.encode()).decrypt(token[4:].encode()).decode() == SECRET


def test_round_trip_with_a_passphrase_and_unicode():
    box = SecretBox(PASSPHRASE)
    token = box.encrypt("pässwörd ✓")
    assert SecretBox(PASSPHRASE).decrypt(token) == "pässwörd ✓"
    assert box.encrypt("same") != box.encrypt("same")  # random IV each time


def test_passphrase_derivation_is_stable_and_key_dependent():
    token = SecretBox(PASSPHRASE).encrypt(SECRET)
    assert SecretBox(PASSPHRASE).decrypt(token) == SECRET
    with pytest.raises(SecretBoxError, match="wrong or the stored value is corrupt"):
        SecretBox(PASSPHRASE + "!").decrypt(token)


def test_passphrase_derivation_parameters_are_pinned():
    # Changing them would make every stored secret unreadable.
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"finance_connect",
        info=b"secretbox-v1",
    ).derive(PASSPHRASE.encode())
    token = SecretBox(PASSPHRASE).encrypt(SECRET)
    fernet = Fernet(base64.urlsafe_b64encode(derived))
    assert fernet.decrypt(token.removeprefix("fc1:").encode()).decode() == SECRET


def test_wrong_fernet_key_is_refused():
    token = SecretBox(SecretBox.generate_key()).encrypt(SECRET)
    with pytest.raises(SecretBoxError) as info:
        SecretBox(SecretBox.generate_key()).decrypt(token)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "token",
    ["", "plain-text-secret", "fc1:", "fc1:not-a-token", "fc2:abc", None, "fc1:é"],
)
def test_corrupt_or_foreign_tokens_are_refused(token):
    with pytest.raises(SecretBoxError):
        SecretBox(PASSPHRASE).decrypt(token)


def test_flipped_character_in_token_is_refused():
    box = SecretBox(PASSPHRASE)
    token = box.encrypt(SECRET)
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with pytest.raises(SecretBoxError):
        box.decrypt(flipped)


@pytest.mark.parametrize("key", ["", "short", "x" * 15])
def test_short_keys_are_refused(key):
    with pytest.raises(ValueError, match="at least 16 characters"):
        SecretBox(key)


def test_sixteen_character_passphrase_is_enough():
    box = SecretBox("x" * 16)
    assert box.decrypt(box.encrypt("v")) == "v"


def test_key_is_not_exposed_by_repr():
    key = SecretBox.generate_key()
    assert key not in repr(SecretBox(key))
    assert PASSPHRASE not in repr(SecretBox(PASSPHRASE))


def test_mask():
    assert mask("") == ""
    assert mask(None) == ""
    assert mask("abc") == "••••••••"
    assert mask("12345678") == "••••••••"
    assert mask("123456789") == "••••6789"
    assert mask(SECRET) == "••••LaSw"
    assert mask(SECRET, keep=6) == "••••LaLaSw"
    assert mask(SECRET, keep=0) == "••••••••"
    with pytest.raises(ValueError, match="keep must not be negative"):
        mask(SECRET, keep=-1)


@settings(max_examples=200, deadline=None, database=None)
@given(
    value=st.text(st.characters(exclude_characters="•"), min_size=1, max_size=80),
    keep=st.integers(0, 10),
)
def test_property_mask_never_reveals_the_secret(value, keep):
    masked = mask(value, keep=keep)
    assert value not in masked
    if masked != "••••••••":
        assert masked == "••••" + value[-keep:]
        assert 0 < keep < len(value) / 2


@settings(max_examples=25, deadline=None, database=None)
@given(plaintext=st.text(max_size=200))
def test_property_encrypt_decrypt_round_trip(plaintext):
    box = SecretBox(PASSPHRASE)
    assert box.decrypt(box.encrypt(plaintext)) == plaintext
