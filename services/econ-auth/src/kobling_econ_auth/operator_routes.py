"""econ-auth's routes for operators: a grant checked now, behind the internal bearer token."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from kobling_econ_auth import grant_checks
from kobling_econ_auth.web import DepsDep
from kobling_shared import openapi
from kobling_shared.app_view import ACCOUNT_ID
from kobling_shared.openapi import BEARER, Problem

router = APIRouter()
_bearer = HTTPBearer(auto_error=False)


async def require_token(
    deps: DepsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), deps.settings.internal_api_token.encode()):
        raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})


class CheckRequest(BaseModel):
    account_id: str = Field(pattern=ACCOUNT_ID)
    livemode: bool = False


class CheckResult(BaseModel):
    result: str
    state: str
    revocation_strikes: int


@router.post(
    "/internal/grants/check",
    dependencies=[Depends(require_token)],
    responses={
        200: {"model": CheckResult, "description": "What e-conomic said of the grant"},
        400: openapi.detail("The body is not JSON"),
        404: openapi.problem("`not_connected`: no connected grant for this account"),
        **BEARER,
    },
)
async def check_grant_now(body: CheckRequest, deps: DepsDep) -> JSONResponse:
    conn = await deps.store.get(body.account_id, body.livemode)
    if conn is None or conn.state != "connected":
        return JSONResponse(
            Problem(
                error="not_connected", message="no connected grant for this account"
            ).model_dump(),
            status_code=404,
        )
    result = await grant_checks.check_grant(conn.account_id, conn.livemode, deps)
    after = await deps.store.get(body.account_id, body.livemode)
    return JSONResponse(
        {
            "result": result or "budget_spent",
            "state": after.state if after else "not_connected",
            "revocation_strikes": after.revocation_strikes if after else 0,
        }
    )
