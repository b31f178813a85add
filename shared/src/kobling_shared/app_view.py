"""Requests from our app's view in the Stripe Dashboard, proven by Stripe's signature."""

import json
from typing import Annotated

from fastapi import Header, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from kobling_shared.signatures import BadSignature, verify_app_view

ACCOUNT_ID = r"^acct_[A-Za-z0-9]{1,64}$"


class AppViewRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=100)
    account_id: str = Field(pattern=ACCOUNT_ID)
    livemode: bool = False


async def verified_view_request(
    request: Request, stripe_signature: Annotated[str | None, Header()] = None
) -> AppViewRequest:
    """A FastAPI dependency: the body, once its signature over user_id and account_id holds.
    The app signing secret comes from `app.state.settings.stripe_app_secret`."""
    try:
        body = AppViewRequest.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):
        raise HTTPException(400, "body must be JSON with user_id and account_id") from None
    secret: str = request.app.state.settings.stripe_app_secret
    try:
        verify_app_view(body.user_id, body.account_id, stripe_signature, secret)
    except BadSignature as why:
        raise HTTPException(401, str(why)) from None
    return body
