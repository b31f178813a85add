"""Stripe's OAuth for apps: exchanging the install code and refreshing access tokens.

A plain POST to {STRIPE_API_BASE}/v1/oauth/token: stripe-python's `OAuth.token()` posts to
connect.stripe.com, the Connect endpoint, which does not know an app's `ac_` codes.
"""

from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# The account's name is a courtesy on the connect page: the merchant's install does not wait long
# for it.
NAME_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
NAME_LENGTH = 100


class StripeTokens(BaseModel):
    model_config = ConfigDict(extra="ignore")
    access_token: str
    refresh_token: str
    livemode: bool
    stripe_user_id: str
    scope: str | None = None

    def __repr__(self) -> str:  # keep tokens out of tracebacks and logs
        return f"StripeTokens(stripe_user_id={self.stripe_user_id!r}, livemode={self.livemode})"

    __str__ = __repr__


class InvalidGrant(Exception):
    """The code or refresh token is used, expired or unknown."""


class StripeUnavailable(Exception):
    pass


@dataclass
class StripeOAuth:
    api_base: str
    secret_keys: dict[bool, str]  # the app developer's key per mode: livemode → key
    http: httpx.AsyncClient

    async def exchange_code(self, code: str, livemode: bool) -> StripeTokens:
        """Stripe wants the key of the mode the install was made in."""
        return await self._token({"grant_type": "authorization_code", "code": code}, livemode)

    async def refresh(self, refresh_token: str, livemode: bool) -> StripeTokens:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._token(form, livemode)

    async def account_name(self, access_token: str) -> str | None:
        """The name Stripe shows for the account an access token was issued for: the Dashboard's
        display name, else the public business name, cut to 100 characters. `GET /v1/account`
        with the install's own token, which the app's `connected_account_read` permission
        allows; None whenever Stripe does not say (no permission, no name, no answer)."""
        try:
            response = await self.http.get(
                f"{self.api_base}/v1/account",
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=NAME_TIMEOUT,
            )
            account = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return None
        return _name_of(account if isinstance(account, dict) else {})

    async def _token(self, form: dict[str, str], livemode: bool) -> StripeTokens:
        try:
            response = await self.http.post(
                f"{self.api_base}/v1/oauth/token",
                data=form,
                auth=(self.secret_keys[livemode], ""),
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as error:
            raise StripeUnavailable(type(error).__name__) from None
        if response.status_code == 200:
            return StripeTokens.model_validate(response.json())
        if response.status_code == 400 and _error(response) == "invalid_grant":
            raise InvalidGrant()
        raise StripeUnavailable(f"status {response.status_code}")


def _error(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error")
    except ValueError:
        return None
    return error if isinstance(error, str) else None


def _name_of(account: dict[str, object]) -> str | None:
    settings = account.get("settings")
    dashboard = settings.get("dashboard") if isinstance(settings, dict) else None
    profile = account.get("business_profile")
    for holder, key in ((dashboard, "display_name"), (profile, "name")):
        name = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()[:NAME_LENGTH]
    return None
