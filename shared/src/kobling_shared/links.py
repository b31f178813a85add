"""Signed, expiring links: a merchant page or a connect link carries who it is for, and when it
was minted, in a token only our services can make (itsdangerous: HMAC-SHA1 over the payload)."""

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["BadSignature", "LinkSigner", "SignatureExpired"]


class LinkSigner:
    def __init__(self, key: str, purpose: str) -> None:
        # The salt keeps a token minted for one purpose from opening another.
        self._serializer = URLSafeTimedSerializer(key, salt=f"kobling.{purpose}")

    def sign(self, payload: dict[str, Any]) -> str:
        return self._serializer.dumps(payload)

    def unsign(self, token: str, max_age_seconds: int) -> dict[str, Any]:
        """Raises SignatureExpired for a stale token, BadSignature for anything else wrong."""
        payload = self._serializer.loads(token, max_age=max_age_seconds)
        if not isinstance(payload, dict):
            raise BadSignature("unexpected payload")
        return payload
