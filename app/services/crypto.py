"""Encryption at rest (MultiFernet: the first key encrypts, every key decrypts) and token helpers."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Cipher:
    """Encrypts message text for the database. Several keys let keys rotate without losing messages."""

    def __init__(self, keys: tuple[str, ...], index_key: bytes | None = None) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        # The search index's HMAC key (app/services/search.py: derived from SECRET_KEY); random when not given.
        self.index_key = index_key or secrets.token_bytes(32)

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            # A key was removed before rotation finished: show a marker rather than fail the whole page.
            return "\ufffd"


def new_token() -> str:
    """A random, URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What we store instead of a bearer token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Signer:
    """HMAC-signs cookie values so a tampered cookie is refused before any database lookup."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"{purpose}:{secret_key}".encode()).digest()

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{value}.{mac}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        expected = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]
        return value if hmac.compare_digest(mac, expected) else None
