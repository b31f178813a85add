"""Requests from our app's view in the Stripe Dashboard, proven by Stripe's signature.

The view signs with `fetchStripeSignature({livemode, action})`; Stripe signs
`{"livemode":…,"action":…,"user_id":…,"account_id":…}` (the payload's fields, then the user and the
account) and the view sends exactly that string. So the signature covers the user, the account,
the mode and what is asked, and each endpoint takes one action: a status signature cannot
disconnect, and a test-mode one cannot touch live mode.

An approval or refusal of another account's request to join this account's e-conomic company
also names that account (`waiting_account`, `waiting_livemode`) in what the view asks Stripe to
sign: Stripe signs the payload's fields, so whose request is answered cannot be changed after.

Every action but the status read also carries a `nonce` (128 random bits, hex) among the
payload's fields: econ-auth spends those signatures once, and Stripe dates a signature in whole
seconds, so two clicks within one second would otherwise carry one signature and the second be
refused.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictStr

from kobling_shared.openapi import json_body
from kobling_shared.signatures import (
    ANSWERS,
    BadSignature,
    ViewAction,
    signed_request_id,
    verify_app_view,
)

ACCOUNT_ID = r"^acct_[A-Za-z0-9]{1,64}$"
OBJECT_ID = r"^(in|po)_[A-Za-z0-9]{1,255}$"
OBJECT_ACTIONS = ("sync_state", "replay")
MALFORMED = (
    "body must be a JSON object with exactly livemode (true or false), action, user_id and "
    "account_id, and optionally a nonce (32 hex digits), an object_id (in_… or po_…) or the sync "
    "settings; an approve_join or refuse_join also waiting_account and waiting_livemode, and no "
    "other action"
)


class AppViewRequest(BaseModel):
    """The body, in the order Stripe signs it. Exactly these keys: anything else was not what
    our view asked Stripe to sign."""

    model_config = ConfigDict(extra="forbid")

    livemode: StrictBool
    action: ViewAction
    nonce: StrictStr | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    waiting_account: StrictStr | None = Field(default=None, pattern=ACCOUNT_ID)
    waiting_livemode: StrictBool | None = None
    # sync's requests about one Stripe object (its state, Replay) name it; saving the sync
    # settings carries them. Signed like the rest: the view asked Stripe to sign them.
    object_id: StrictStr | None = Field(default=None, pattern=OBJECT_ID)
    settings: dict[str, Any] | None = None
    user_id: StrictStr = Field(min_length=1, max_length=100)
    account_id: StrictStr = Field(pattern=ACCOUNT_ID)
    _signature_id: str = PrivateAttr(default="")

    @property
    def signature_id(self) -> str:
        """Names this signed request (signatures.signed_request_id): econ-auth spends a connect
        or disconnect once, so a captured one cannot act again within Stripe's 300 s."""
        return self._signature_id


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON.stringify of an object never repeats a key; a body that does is not our view's, and
    # which of its values counts would be the parser's guess.
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise ValueError("a key appears twice")
    return fields


async def verified_view(request: Request, action: ViewAction) -> AppViewRequest:
    """The body of a request for `action`, once Stripe's signature holds over its raw bytes.
    The signature comes first: nothing unsigned is parsed. The app signing secret comes from
    `app.state.settings.stripe_app_secret`. A plain call, for the route every Dashboard view
    asks (status's `POST /api/status`): FastAPI's solving of a dependency and its header
    parameter was about a tenth of that route's CPU."""
    raw = await request.body()
    secret: str = request.app.state.settings.stripe_app_secret
    try:
        verify_app_view(raw, request.headers.get("stripe-signature"), secret)
    except BadSignature as why:
        raise HTTPException(401, str(why)) from None
    try:
        body = AppViewRequest.model_validate(json.loads(raw, object_pairs_hook=_each_key_once))
    except ValueError:  # also pydantic's ValidationError
        raise HTTPException(400, MALFORMED) from None
    if body.action != action:
        # Signed, but for another of our endpoints: it proves nothing about this one.
        raise HTTPException(401, f'signed for action "{body.action}", not "{action}"')
    names_waiting = (body.waiting_account, body.waiting_livemode)
    if (
        (body.object_id is not None) != (action in OBJECT_ACTIONS)
        or (body.settings is not None) != (action == "save_sync_settings")
        or (None not in names_waiting) != (action in ANSWERS)
        or names_waiting.count(None) == 1
    ):
        # Each field belongs to the actions that act on it, and those need it.
        raise HTTPException(400, MALFORMED)
    body._signature_id = signed_request_id(raw, request.headers["stripe-signature"])
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
