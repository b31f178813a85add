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


async def verified_view(request: Request, action: ViewAction) -> AppViewRequest:
    """The body of a request for `action`, once Stripe's signature over its user, account and mode
    and this action holds. The app signing secret comes from
    `app.state.settings.stripe_app_secret`. A plain call, for the route every Dashboard view
    asks (status's `POST /api/status`): FastAPI's solving of a dependency and its header
    parameter was about a tenth of that route's CPU."""
    try:
        body = AppViewRequest.model_validate(json.loads(await request.body()))
    except ValueError:  # also pydantic's ValidationError and bytes that are not UTF-8
        raise HTTPException(
            400, "body must be JSON with user_id, account_id, livemode and action"
        ) from None
    secret: str = request.app.state.settings.stripe_app_secret
    try:
        verify_app_view(
            body.user_id,
            body.account_id,
            body.livemode,
            action,
            request.headers.get("stripe-signature"),
            secret,
        )
    except BadSignature as why:
        raise HTTPException(401, str(why)) from None
    if body.action != action:
        raise HTTPException(400, f'this endpoint takes action "{action}"')
    return body


def verified_view_request(
    action: ViewAction,
) -> Callable[[Request, str | None], Awaitable[AppViewRequest]]:
    """`verified_view` as a FastAPI dependency, which also declares the header in the OpenAPI."""

    async def verified(
        request: Request, stripe_signature: Annotated[str | None, Header()] = None
    ) -> AppViewRequest:
        return await verified_view(request, action)

    return verified


# The header `verified_view` reads, for the OpenAPI of a route that calls it itself.
SIGNATURE_HEADER = {
    "name": "stripe-signature",
    "in": "header",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Stripe-Signature"},
}


def view_body(action: ViewAction) -> dict[str, Any]:
    """`openapi_extra` for the endpoint that does `action`: its body names that action alone."""
    extra = json_body(AppViewRequest)
    schema = extra["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["action"] = {"const": action, "title": "Action", "type": "string"}
    return extra
