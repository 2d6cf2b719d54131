"""app/services/crypto.py: encryption at rest across a key rotation, bearer-token hashes, signed cookie values."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.fernet import Fernet

from app.services.crypto import Cipher, Signer, new_token, token_hash


def key() -> str:
    return Fernet.generate_key().decode()


def test_text_round_trips_and_is_not_readable_at_rest():
    cipher = Cipher((key(),))
    token = cipher.encrypt("Merhaba, siparişim nerede? 📦")
    assert "Merhaba" not in token and cipher.decrypt(token) == "Merhaba, siparişim nerede? 📦"
    assert cipher.encrypt("same") != cipher.encrypt("same")  # a fresh IV each time
    assert cipher.decrypt("") == ""


def test_rotation_the_first_key_encrypts_and_every_key_decrypts():
    old, new = key(), key()
    before = Cipher((old,)).encrypt("written before the rotation")
    rotating = Cipher((new, old))
    assert rotating.decrypt(before) == "written before the rotation"
    after = rotating.encrypt("written during it")
    assert Cipher((new,)).decrypt(after) == "written during it"
    assert Cipher((old,)).decrypt(after) == "\ufffd"  # the old key alone cannot read it


def test_a_key_removed_too_early_shows_a_marker_instead_of_failing():
    assert Cipher((key(),)).decrypt(Cipher((key(),)).encrypt("lost")) == "\ufffd"


def test_at_least_one_key_is_needed():
    with pytest.raises(ValueError):
        Cipher(())


def test_tokens_are_random_and_only_their_hash_is_kept():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) == 43 for t in tokens)
    token = next(iter(tokens))
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest() != token


def test_signed_values_round_trip_and_tampering_is_refused():
    signer = Signer("secret-" + "x" * 40, "visitor")
    signed = signer.sign("abc.def")  # a value may itself contain dots
    assert signer.unsign(signed) == "abc.def"
    value, _, mac = signed.rpartition(".")
    assert signer.unsign(f"abd.def.{mac}") is None
    assert signer.unsign(f"{value}.{'0' * len(mac)}") is None
    assert signer.unsign("no-dot") is None and signer.unsign("") is None and signer.unsign(None) is None


def test_a_signature_holds_only_for_its_purpose_and_secret():
    signed = Signer("secret-one", "visitor").sign("42")
    assert Signer("secret-one", "admin").unsign(signed) is None
    assert Signer("secret-two", "visitor").unsign(signed) is None
    assert Signer("secret-one", "visitor").unsign(signed) == "42"
