"""Encryption at rest for grant and Stripe tokens.

TOKEN_ENCRYPTION_KEYS lists master keys (urlsafe base64 of 32 bytes), newest first. Stripe tokens
are sealed with them directly (TokenCipher, Fernet: AES-128-CBC with HMAC-SHA256). Grants are
sealed under a data key per merchant, which the master keys wrap (MasterKeys, AES-256-GCM): the
wrapped key and every ciphertext name the key that sealed them and are bound, as associated
data, to the account they belong to.
"""

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["InvalidToken", "MasterKeys", "TokenCipher", "Unreadable", "open_sealed", "seal"]

NONCE_BYTES = 12


class Unreadable(Exception):
    """No key we hold opens this, or it was sealed for something else: nothing is revealed."""


def _keys(keys: str) -> list[str]:
    listed = [key.strip() for key in keys.split(",") if key.strip()]
    if not listed:
        raise ValueError("TOKEN_ENCRYPTION_KEYS holds no key")
    return listed


class TokenCipher:
    def __init__(self, keys: str) -> None:
        fernets = [Fernet(key) for key in _keys(keys)]
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    def encrypt(self, secret: str) -> str:
        return self._primary.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._all.decrypt(ciphertext.encode()).decode()

    def needs_rotation(self, ciphertext: str) -> bool:
        try:
            self._primary.decrypt(ciphertext.encode())
        except InvalidToken:
            return True
        return False


def key_id(key: bytes) -> str:
    """A short, stable name for a key that says nothing about it (a salted hash)."""
    return hashlib.sha256(b"kobling-key-id:" + key).hexdigest()[:12]


def seal(key: bytes, plaintext: bytes, context: str) -> str:
    """AES-256-GCM; `context` is authenticated, not stored: the reader must know it."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, context.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def open_sealed(key: bytes, sealed: str, context: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError, binascii.Error):
        raise Unreadable() from None


class MasterKeys:
    """Wraps and unwraps data keys. A wrapped key reads `<master key id>.<sealed key>`."""

    def __init__(self, keys: str) -> None:
        raw = [base64.urlsafe_b64decode(key.encode()) for key in _keys(keys)]
        if any(len(key) != 32 for key in raw):
            raise ValueError("each TOKEN_ENCRYPTION_KEYS entry must be 32 bytes")
        self._by_id = {key_id(key): key for key in raw}
        self.newest = key_id(raw[0])

    def wrap(self, data_key: bytes, context: str) -> str:
        return f"{self.newest}.{seal(self._by_id[self.newest], data_key, context)}"

    def unwrap(self, wrapped: str, context: str) -> bytes:
        kid, _, sealed = wrapped.partition(".")
        if kid not in self._by_id:
            raise Unreadable()
        return open_sealed(self._by_id[kid], sealed, context)

    @staticmethod
    def wrapped_by(wrapped: str) -> str:
        return wrapped.partition(".")[0]
