"""The Stripe broker's HTTP entrypoint: `POST /internal/stripe`, one bearer token per calling
service (STRIPE_BROKER_TOKENS, `caller:token,…`), so the audit says which service read an account.
Internal: the ingress does not route it (README, "What the outside reaches")."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kobling_install.stripe_broker import UNAUTHENTICATED, Refused
from kobling_install.stripe_paths import MAX_PATH
from kobling_install.web import Deps, DepsDep
from kobling_shared import openapi
from kobling_shared.app_view import ACCOUNT_ID
from kobling_shared.openapi import BEARER, TOO_LARGE, Problem

router = APIRouter()
_bearer = HTTPBearer(auto_error=False)


class StripeBrokerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(pattern=ACCOUNT_ID)
    livemode: bool
    path: str = Field(
        max_length=MAX_PATH,
        description="An allow-listed Stripe read, `/v1/invoices/in_…` or"
        ' `/v1/balance_transactions?payout=po_…&limit=100` (README, "The Stripe broker")',
    )
    method: str = Field("GET", max_length=16, description="Only `GET`")


class StripeAnswer(BaseModel):
    status: int = Field(description="Stripe's status")
    body: Any = Field(description="Stripe's body")


async def calling_service(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    deps: Deps = request.app.state.deps
    given = (credentials.credentials if credentials else "").encode()
    caller = None
    for token, name in deps.stripe_broker_callers.items():  # each compared, in constant time
        if hmac.compare_digest(given, token.encode()):
            caller = name
    if caller is None:
        await _audit_unauthenticated(request, deps)
        raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
    return caller


async def _audit_unauthenticated(request: Request, deps: Deps) -> None:
    """Someone without a token named an account: audited if it is one we ever installed."""
    try:
        named = StripeBrokerRequest.model_validate_json(await request.body())
    except ValidationError:
        return
    refused = Refused(401, "unauthenticated", "no valid bearer token")
    await deps.stripe_broker.refusal(
        UNAUTHENTICATED, named.account_id, named.livemode, named.method, named.path, refused, True
    )


@router.post(
    "/internal/stripe",
    responses={
        200: {"model": StripeAnswer, "description": "What Stripe answered (any status)"},
        400: openapi.problem(
            "`not_allowed`: not one of the GET reads the broker lends; nothing sent"
        ),
        404: openapi.problem("`unknown_account`: no install of this account in this mode"),
        409: openapi.problem(
            "`uninstalled`; `invalid_grant`: Stripe refused to refresh the install's token"
        ),
        504: openapi.problem("`stripe_unavailable`: Stripe did not answer"),
        **BEARER,
        **TOO_LARGE,
    },
)
async def read_stripe(
    body: StripeBrokerRequest, deps: DepsDep, caller: Annotated[str, Depends(calling_service)]
) -> JSONResponse:
    try:
        answer = await deps.stripe_broker.read(
            caller, body.account_id, body.livemode, body.method, body.path
        )
    except Refused as refused:
        problem = Problem(error=refused.error, message=refused.message)
        return JSONResponse(problem.model_dump(), status_code=refused.status)
    return JSONResponse(StripeAnswer(status=answer.status, body=answer.body).model_dump())
