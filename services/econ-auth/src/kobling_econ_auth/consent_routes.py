"""econ-auth's routes for the Stripe App view's answers to a request to join an e-conomic company:
approve and refuse (a user of an account connected to the company, naming the waiting account in
what Stripe signed), and cancel (a user of the waiting account)."""

from collections.abc import Awaitable
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kobling_econ_auth import consent
from kobling_econ_auth.ports import SignatureSpent
from kobling_econ_auth.web import SIGNATURE_USED, SPENT, DepsDep
from kobling_shared import openapi
from kobling_shared.app_view import AppViewRequest, verified_view_request, view_body
from kobling_shared.openapi import VIEW

router = APIRouter()

ApproveRequest = Annotated[AppViewRequest, Depends(verified_view_request("approve_join"))]
RefuseRequest = Annotated[AppViewRequest, Depends(verified_view_request("refuse_join"))]
CancelRequest = Annotated[AppViewRequest, Depends(verified_view_request("cancel_join"))]


class Answered(BaseModel):
    outcome: str
    message: str


NO_REQUEST = {
    "error": "no_join_request",
    "message": "No request from that Stripe account waits for your e-conomic company any more, "
    "so nothing changed.",
}
NOT_A_MEMBER = {
    "error": "not_connected_to_company",
    "message": "Only a Stripe account connected to an e-conomic company can answer requests to "
    "join it.",
}
ANSWERS = {
    200: {"model": Answered, "description": "Answered: the waiting account is told"},
    403: openapi.problem("`not_connected_to_company`: this account is connected to no company"),
    409: openapi.problem(
        "`no_join_request`: no such request waits (any more); `signature_used`: this signed "
        "request was already used; nothing changed"
    ),
    **VIEW,
}


@router.post("/api/join/approve", openapi_extra=view_body("approve_join"), responses=ANSWERS)
async def approve(view: ApproveRequest, deps: DepsDep) -> JSONResponse:
    waiting = (str(view.waiting_account), bool(view.waiting_livemode))
    return await _answer(
        consent.approve(
            view.account_id, view.livemode, *waiting, deps, view.signature_id, view.user_id
        ),
        "approved",
        "The Stripe account is connected to your e-conomic company too.",
    )


@router.post("/api/join/refuse", openapi_extra=view_body("refuse_join"), responses=ANSWERS)
async def refuse(view: RefuseRequest, deps: DepsDep) -> JSONResponse:
    waiting = (str(view.waiting_account), bool(view.waiting_livemode))
    return await _answer(
        consent.refuse(
            view.account_id, view.livemode, *waiting, deps, view.signature_id, view.user_id
        ),
        "refused",
        "The request was refused: Kobling deleted the access it held for that Stripe account.",
    )


@router.post(
    "/api/join/cancel",
    openapi_extra=view_body("cancel_join"),
    responses={**ANSWERS, 200: {"model": Answered, "description": "Cancelled"}, **SPENT},
)
async def cancel(view: CancelRequest, deps: DepsDep) -> JSONResponse:
    return await _answer(
        consent.cancel(view.account_id, view.livemode, deps, view.signature_id, view.user_id),
        "cancelled",
        "Your request was cancelled: Kobling deleted the access it held for that company.",
    )


async def _answer(action: Awaitable[object], outcome: str, message: str) -> JSONResponse:
    try:
        await action
    except SignatureSpent:
        return JSONResponse(SIGNATURE_USED, status_code=409)
    except consent.NotAMember:
        return JSONResponse(NOT_A_MEMBER, status_code=403)
    except consent.NoRequest:
        return JSONResponse(NO_REQUEST, status_code=409)
    return JSONResponse({"outcome": outcome, "message": message})
