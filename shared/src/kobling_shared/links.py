"""Signed, expiring links: a merchant page or a connect link carries who it is for, and when it
was minted, in a token only our services can make (itsdangerous: HMAC-SHA1 over the payload)."""

import secrets
import time
from typing import Any
from urllib.parse import urlencode

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


# Who mints and who opens which link. Status pages and connect links are minted by more than one
# service, so their shapes live here.
STATUS_PAGE = "status-page"
CONNECT = "connect"
# A merchant page is read-only and short-lived: it is where a callback lands, not a way back in.
# Nothing on it mints a new one; the Stripe Dashboard is the way back.
STATUS_PAGE_MAX_AGE = 15 * 60
CONNECT_LINK_MAX_AGE = 15 * 60


def status_page_url(
    base: str, signer_key: str, account_id: str, livemode: bool, **query: str
) -> str:
    token = LinkSigner(signer_key, STATUS_PAGE).sign({"a": account_id, "l": livemode})
    return f"{base}/accounts/{account_id}?{urlencode({'t': token, **query})}"


def connect_url(
    base: str, signer_key: str, account_id: str, livemode: bool, user_id: str | None = None
) -> str:
    # `i`: when it was minted, so an uninstall after that kills it. `u`: the Dashboard user who
    # asked, signed into the link so the connection can say who made it.
    payload: dict[str, object] = {
        "a": account_id,
        "l": livemode,
        "n": secrets.token_urlsafe(16),
        "i": time.time(),
    }
    if user_id is not None:
        payload["u"] = user_id
    token = LinkSigner(signer_key, CONNECT).sign(payload)
    return f"{base}/economic/connect?{urlencode({'link': token})}"


# Stripe's deep link into an app (docs.stripe.com/stripe-apps/deep-links):
# <dashboard>/<account>[/test]/<page>?apps[<app id>][<target>]=<viewport>. The drawer's default
# view is open on every Dashboard page; Home ("dashboard") is where a merchant lands anyway.
DASHBOARD_PAGE = "dashboard"
APP_TARGET = "drawer"
APP_VIEWPORT = "stripe.dashboard.drawer.default"


def dashboard_app_url(dashboard: str, app_id: str, account_id: str, livemode: bool) -> str:
    """Our app's view in the Stripe Dashboard, for the account and its mode: where "Continue"
    and a Marketplace install lead."""
    mode = "" if livemode else "/test"
    # Brackets stay literal, as in Stripe's examples; an app id is [A-Za-z0-9_.-] anyway.
    query = f"apps[{app_id}][{APP_TARGET}]={APP_VIEWPORT}"
    return f"{dashboard}/{account_id}{mode}/{DASHBOARD_PAGE}?{query}"
