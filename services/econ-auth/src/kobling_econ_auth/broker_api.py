"""The broker's HTTP entrypoint: `POST /internal/economic`, one bearer token per calling service
(ECONOMIC_BROKER_TOKENS, `caller:token,…`), so the audit says which service used a grant. A call
refused here (no token, not a REST path) is audited as the broker's own refusals are."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError

from kobling_econ_auth.broker import Broker, Refused
from kobling_econ_auth.broker_audit import UNAUTHENTICATED, unparsed
from kobling_econ_auth.rest_paths import (
    IDEMPOTENCY_KEY,
    METHODS,
    NotARestPath,
    RestRequest,
    parse,
)
from kobling_shared import openapi
from kobling_shared.app_view import ACCOUNT_ID
from kobling_shared.openapi import BEARER, Detail, Problem

BUDGET_HEADER = "Kobling-Budget-Remaining"

router = APIRouter()
_bearer = HTTPBearer(auto_error=False)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY,
        description="Sent on to e-conomic: a create repeated with the same key within the hour"
        " gets the first answer (`X-ResultFromCache: true`); a POST with one is retried after a"
        " 5xx or a lost connection, one without never is. Printable ASCII, at most 128"
        " characters (else 422, nothing sent)",
    ),
]


async def calling_service(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    given = (credentials.credentials if credentials else "").encode()
    known: dict[str, str] = request.app.state.broker_callers
    caller = None
    for token, name in known.items():  # every token compared, in constant time each
        if hmac.compare_digest(given, token.encode()):
            caller = name
    if caller is None:
        await _audit_unauthenticated(request)
        raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
    return caller


async def _audit_unauthenticated(request: Request) -> None:
    """Someone without a token named an account: audited if it is one we hold."""
    try:
        named = BrokerRequest.model_validate_json(await request.body())
    except ValidationError:
        return
    refused = Refused(401, "unauthenticated", "no valid bearer token")
    broker: Broker = request.app.state.broker
    rest = _rest(named.method.upper(), named.path)
    await broker.refusal(UNAUTHENTICATED, named.account_id, named.livemode, rest, refused, True)


def _rest(method: str, path: str) -> RestRequest:
    try:
        return parse(method, path)
    except NotARestPath:
        return unparsed(method, path)


class BrokerRequest(BaseModel):
    account_id: str = Field(pattern=ACCOUNT_ID)
    livemode: bool
    method: str = Field(description=f"One of {', '.join(sorted(METHODS))}")
    path: str = Field(
        description="An e-conomic REST path, `/customers?pagesize=100`", max_length=1024
    )
    body: Any = None


class BrokerAnswer(BaseModel):
    status: int = Field(description="e-conomic's status")
    headers: dict[str, str] = Field(
        description="Retry-After, Location, Link, Content-Type, X-ResultFromCache (lower case)"
    )
    body: Any = Field(description="e-conomic's body")


@router.post(
    "/internal/economic",
    responses={
        200: {"model": BrokerAnswer, "description": "What e-conomic answered (any status)"},
        400: {
            "model": Problem | Detail,
            "description": "`not_a_rest_path`: the request could leave e-conomic's REST API; or"
            " the body is not JSON",
        },
        403: openapi.problem("`out_of_scope`: the caller's ECONOMIC_BROKER_SCOPES do not allow it"),
        404: openapi.problem("`unknown_account`: no install of this account in this mode"),
        409: openapi.problem("`uninstalled`, `disconnected`, `not_connected`, `failed`"),
        429: openapi.problem(
            "`budget_spent`: the agreement's daily budget is spent; `caller_budget_spent`: the"
            " caller's share of it"
        ),
        504: openapi.problem("`economic_unavailable`: e-conomic did not answer"),
        **BEARER,
    },
)
async def call_economic(
    body: BrokerRequest,
    request: Request,
    caller: Annotated[str, Depends(calling_service)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    broker: Broker = request.app.state.broker
    try:
        rest = parse(body.method.upper(), body.path, idempotency_key)
    except NotARestPath as why:
        refused = Refused(400, "not_a_rest_path", f"not an e-conomic REST request ({why})")
        rest = unparsed(body.method.upper(), body.path)
        await broker.refusal(caller, body.account_id, body.livemode, rest, refused)
        return _problem(refused.status, refused.error, refused.message)
    try:
        answer = await broker.use(caller, body.account_id, body.livemode, rest, body.body)
    except Refused as refused:
        spent = {BUDGET_HEADER: "0"} if refused.status == 429 else {}
        return _problem(refused.status, refused.error, refused.message, spent)
    return JSONResponse(
        BrokerAnswer(status=answer.status, headers=answer.headers, body=answer.body).model_dump(),
        headers={BUDGET_HEADER: str(answer.budget_left)},
    )


def _problem(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = Problem(error=error, message=message).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)
