"""Stripe's OAuth for apps: exchanging the install code and refreshing access tokens.

A plain POST to {STRIPE_API_BASE}/v1/oauth/token: stripe-python's `OAuth.token()` posts to
connect.stripe.com, the Connect endpoint, which does not know an app's `ac_` codes.
"""

from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


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
