"""Requests from our app's view in the Stripe Dashboard, proven by Stripe's signature.

The view signs with `fetchStripeSignature({livemode, action})`, so the signature covers the user,
the account, the mode and what is asked; each endpoint takes one action and rebuilds the payload
with it. A status signature therefore cannot disconnect, and a test-mode one cannot touch live mode.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from pydantic import BaseModel, Field, StrictBool

from kobling_shared.openapi import json_body
from kobling_shared.signatures import BadSignature, ViewAction, verify_app_view

ACCOUNT_ID = r"^acct_[A-Za-z0-9]{1,64}$"


class AppViewRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=100)
    account_id: str = Field(pattern=ACCOUNT_ID)
    livemode: StrictBool
    action: ViewAction


def verified_view_request(
    action: ViewAction,
) -> Callable[[Request, str | None], Awaitable[AppViewRequest]]:
    """A FastAPI dependency for an endpoint that does `action`: the body, once Stripe's signature
    over its user, account and mode and this action holds. The app signing secret comes from
    `app.state.settings.stripe_app_secret`."""

    async def verified(
        request: Request, stripe_signature: Annotated[str | None, Header()] = None
    ) -> AppViewRequest:
        try:
            body = AppViewRequest.model_validate(json.loads(await request.body()))
        except ValueError:  # also pydantic's ValidationError and bytes that are not UTF-8
            raise HTTPException(
                400, "body must be JSON with user_id, account_id, livemode and action"
            ) from None
        secret: str = request.app.state.settings.stripe_app_secret
        try:
            verify_app_view(
                body.user_id, body.account_id, body.livemode, action, stripe_signature, secret
            )
        except BadSignature as why:
            raise HTTPException(401, str(why)) from None
        if body.action != action:
            raise HTTPException(400, f'this endpoint takes action "{action}"')
        return body

    return verified


def view_body(action: ViewAction) -> dict[str, Any]:
    """`openapi_extra` for the endpoint that does `action`: its body names that action alone."""
    extra = json_body(AppViewRequest)
    schema = extra["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["action"] = {"const": action, "title": "Action", "type": "string"}
    return extra
