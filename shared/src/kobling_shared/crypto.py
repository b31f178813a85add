"""Encryption at rest for grant and Stripe tokens.

Fernet is AES-128-CBC with HMAC-SHA256 (authenticated); MultiFernet decrypts with any listed key and
encrypts with the first, which is what TOKEN_ENCRYPTION_KEYS (newest first) asks for.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "TokenCipher"]


class TokenCipher:
    def __init__(self, keys: str) -> None:
        fernets = [Fernet(key.strip()) for key in keys.split(",") if key.strip()]
        if not fernets:
            raise ValueError("TOKEN_ENCRYPTION_KEYS holds no key")
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
