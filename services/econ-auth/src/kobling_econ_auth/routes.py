"""econ-auth's routes for the Stripe App view: its signed requests to connect and disconnect."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kobling_econ_auth import connecting
from kobling_econ_auth.connecting import NotInstalled, SignatureSpent
from kobling_econ_auth.web import SIGNATURE_USED, SPENT, DepsDep
from kobling_shared import openapi
from kobling_shared.app_view import AppViewRequest, verified_view_request, view_body
from kobling_shared.openapi import VIEW

router = APIRouter()

# Each endpoint takes only a signed body naming its own action: a signature for one cannot do
# the other.
ConnectRequest = Annotated[AppViewRequest, Depends(verified_view_request("connect"))]
DisconnectRequest = Annotated[AppViewRequest, Depends(verified_view_request("disconnect"))]


class ConnectLink(BaseModel):
    url: str
    expires_at: datetime


class Disconnected(BaseModel):
    state: str
    changed: bool
    message: str


@router.post(
    "/api/connect-link",
    openapi_extra=view_body("connect"),
    responses={
        200: {"model": ConnectLink, "description": "A one-time link to e-conomic's grant page"},
        404: openapi.problem("`not_installed`: Kobling is not installed on this account"),
        **SPENT,
        **VIEW,
    },
)
async def connect_link(view: ConnectRequest, deps: DepsDep) -> JSONResponse:
    try:
        url, expires_at = await connecting.mint_connect_link(
            view.account_id, view.livemode, deps, view.signature_id, view.user_id
        )
    except SignatureSpent:
        return JSONResponse(SIGNATURE_USED, status_code=409)
    except NotInstalled:
        return JSONResponse(
            {"error": "not_installed", "message": "Kobling is not installed on this account"},
            status_code=404,
        )
    return JSONResponse({"url": url, "expires_at": expires_at.isoformat()})


@router.post(
    "/api/disconnect",
    openapi_extra=view_body("disconnect"),
    responses={
        200: {"model": Disconnected, "description": "No grant is held any more"},
        **SPENT,
        **VIEW,
    },
)
async def disconnect(view: DisconnectRequest, deps: DepsDep) -> JSONResponse:
    try:
        changed = await connecting.disconnect(
            view.account_id, view.livemode, deps, view.signature_id, view.user_id
        )
    except SignatureSpent:
        return JSONResponse(SIGNATURE_USED, status_code=409)
    return JSONResponse(
        {
            "state": "disconnected",
            "changed": changed is not None,
            "message": "Kobling no longer holds a grant for your e-conomic company. To remove the "
            "app in e-conomic too: Settings → Extensions → Apps.",
        }
    )
