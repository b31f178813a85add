"""Stripe's signature, as Stripe computes it: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`."""

import hashlib
import hmac
import time


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
