"""Binds a one-time value (an OAuth state, an e-conomic state) to the browser that asked for it.

A link or state can travel: an attacker can start a flow with their own account and send the
half-finished URL to a victim. A cookie cannot travel with it. The flow sets a random browser id
in a cookie when it starts, stores only its digest beside the state, and the callback answers
only in the browser that presents the same id.

The cookie is HttpOnly (no script reads it) and SameSite=Lax (sent on the top-level GET that
brings the browser back from Stripe or e-conomic, never on another site's POST). Served over
https (production) it is `__Host-` prefixed, so it is Secure, host-only and path `/`: no sibling
domain can plant one. Over plain http (development, the benchmark) a Secure cookie would never
come back, so it is unprefixed there: `secure` follows the scheme of the service's public URL.
"""

import hashlib
import secrets

from fastapi import Request, Response

MAX_AGE_SECONDS = 3600


def cookie_name(purpose: str, secure: bool) -> str:
    name = f"kobling_{purpose}"
    return f"__Host-{name}" if secure else name


def browser_id(request: Request, purpose: str, secure: bool) -> str | None:
    value = request.cookies.get(cookie_name(purpose, secure))
    # Ours are 43 url-safe characters; anything else was not set by us.
    return value if value and len(value) == 43 and value.isascii() else None


def ensure_browser_id(request: Request, purpose: str, secure: bool) -> str:
    """The browser's id if it already has one (so two tabs can each finish), else a new one."""
    return browser_id(request, purpose, secure) or secrets.token_urlsafe(32)


def set_browser_id(response: Response, purpose: str, secure: bool, value: str) -> None:
    response.set_cookie(
        cookie_name(purpose, secure),
        value,
        max_age=MAX_AGE_SECONDS,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def digest(value: str) -> str:
    """What is stored beside a state: a read of the database cannot forge the cookie."""
    return hashlib.sha256(f"browser:{value}".encode()).hexdigest()
