"""The pretend Visma e-conomic: the grant page (login, company, "Add app") and GET /self."""

import asyncio
import time
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from kobling_sandbox.config import settings
from kobling_sandbox.economic_state import (
    COMPANIES,
    REQUIRED_ROLES,
    Behaviour,
    EconomicState,
    Grant,
    Mode,
    User,
    self_body,
    user_for,
)
from kobling_sandbox.templating import render
from kobling_shared.events import now

router = APIRouter()
state = EconomicState()
LOCALES = ("da-DK", "sv-SE", "nb-NO", "en-US")
LOOK = {"header": "Visma", "subheader": "e-conomic", "brand": "#1b3a6b", "accent": "#1b6fb5"}


def page(request: Request, step: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    heading = {"email": "Log in to Visma", "password": "Log in to Visma"}.get(step, "e-conomic")
    context = {**LOOK, "title": "Visma e-conomic", "heading": heading, "step": step, **context}
    return render(request, "economic_page.html", context, status_code)


def with_token(redirect_url: str, token: str) -> str:
    """Appends `token` to the redirect URL as integrators observe e-conomic doing it: `?token=`,
    or `&token=` after a query the URL already has; the rest of the URL is left as it is."""
    separator = "&" if urlsplit(redirect_url).query else "?"
    return f"{redirect_url}{separator}{urlencode({'token': token})}"


@router.get("/economic/secure/api1/requestaccess.aspx")
async def grant_page(
    request: Request, appPublicToken: str = "", redirectUrl: str = "", locale: str = "da-DK"
) -> HTMLResponse:
    if appPublicToken != settings().economic_app_public_token or not redirectUrl:
        return page(request, "message", 400, message="Unknown app: the link is not valid.")
    if locale not in LOCALES:
        # e-conomic documents these four; what it does with another is unverified, so the
        # sandbox refuses it and a test sees us send one.
        return page(request, "message", 400, message=f"Unsupported locale {locale}.")
    flow = state.start_flow(redirectUrl, locale)
    return page(request, "email", flow=flow)


@router.post("/economic/login/email")
async def login_email(
    request: Request, flow: Annotated[str, Form()], email: Annotated[str, Form()]
) -> HTMLResponse:
    walk = state.flows.get(flow)
    if walk is None:
        return page(request, "message", 400, message="Your session has expired. Start again.")
    walk.user = user_for(email)
    return page(request, "password", flow=flow, email=email)


@router.post("/economic/login/password")
async def login_password(
    request: Request, flow: Annotated[str, Form()], password: Annotated[str, Form()]
) -> HTMLResponse:
    walk = state.flows.get(flow)
    if walk is None or walk.user is None:
        return page(request, "message", 400, message="Your session has expired. Start again.")
    if password == "wrong":
        return page(request, "password", 401, flow=flow, error="Wrong email or password")
    if len(walk.user.agreements) > 1:
        companies = [COMPANIES[n] for n in walk.user.agreements]
        return page(request, "company", flow=flow, companies=companies)
    walk.agreement_number = walk.user.agreements[0]
    return consent_page(request, flow, walk.user, walk.agreement_number)


@router.post("/economic/login/company")
async def pick_company(
    request: Request, flow: Annotated[str, Form()], agreement: Annotated[int, Form()]
) -> HTMLResponse:
    walk = state.flows.get(flow)
    if walk is None or walk.user is None or agreement not in walk.user.agreements:
        return page(request, "message", 400, message="Your session has expired. Start again.")
    walk.agreement_number = agreement
    return consent_page(request, flow, walk.user, agreement)


def consent_page(request: Request, flow: str, user: User, agreement: int) -> HTMLResponse:
    """ "Add app", for a user whose roles cover the app's required roles; anyone else is refused
    right here, and no callback ever comes back to the app."""
    company = COMPANIES[agreement]
    if not user.may_add(REQUIRED_ROLES):
        state.flows.pop(flow, None)
        message = (
            f"Your user's roles in {company.name} do not include the roles this app requires "
            f"({', '.join(REQUIRED_ROLES)}). Ask a user with those roles to add the app."
        )
        return page(request, "message", 403, message=message)
    return page(request, "consent", flow=flow, company=company)


@router.post("/economic/consent")
async def consent(
    request: Request, flow: Annotated[str, Form()], decision: Annotated[str, Form()]
) -> Response:
    walk = state.flows.pop(flow, None)
    if walk is None or walk.agreement_number is None:
        return page(request, "message", 400, message="Your session has expired. Start again.")
    if decision != "add":
        # Backing out: the browser goes back to the app without a token (docs/external-contracts.md:
        # unverified; the app also copes with no callback at all).
        return RedirectResponse(walk.redirect_url, status_code=303)
    return RedirectResponse(with_token(walk.redirect_url, state.grant(walk)), status_code=303)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    body = {
        "message": message,
        "developerHint": "See https://restdocs.e-conomic.com/#authentication",
        "logId": "sandbox-" + str(state.self_calls),
        "httpStatusCode": status,
        "logTime": now().isoformat(),
        **extra,
    }
    return JSONResponse(body, status_code=status)


@router.get("/economic/api/self")
async def self_endpoint(
    x_appsecrettoken: Annotated[str | None, Header()] = None,
    x_agreementgranttoken: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    state.self_calls += 1
    state.api_calls += 1
    behaviour = state.next_behaviour()
    if behaviour.mode == "slow":
        await asyncio.sleep(behaviour.delay_seconds)
    elif behaviour.mode == "error500":
        return _error(500, "An unexpected error occurred.")
    elif behaviour.mode == "rate_limited":
        response = _error(429, "Too many requests.")
        response.headers["Retry-After"] = str(behaviour.retry_after)
        return response
    grant = granted(x_appsecrettoken, x_agreementgranttoken)
    if isinstance(grant, JSONResponse):
        return grant
    state.self_calls_by_agreement.setdefault(grant.agreement_number, []).append(time.time())
    config = settings()
    return JSONResponse(self_body(grant, config.economic_app_public_token, config.economic_api_url))


def granted(app_secret: str | None, grant_token: str | None) -> Grant | JSONResponse:
    """The grant both headers open, or e-conomic's refusal (every REST endpoint asks this)."""
    if not app_secret and not grant_token:
        return _error(401, "Unauthorized access (Unauthorized).")
    if app_secret != (state.app_secret or settings().economic_app_secret_token):
        # A wrong or reset app secret is a 401 too (its exact body is unverified).
        return _error(401, "Unauthorized access (Unauthorized).")
    grant = state.grants.get(grant_token or "")
    if grant is None or grant.revoked:
        return _error(401, "Token does not correspond to a valid grant.", errorCode="E02250")
    if grant.forbidden:
        return _error(403, "You do not have access to this resource.")
    return grant


# --- controls for tests and the demo ------------------------------------------------------------


class Revoke(BaseModel):
    agreement_number: int


class SelfBehaviour(BaseModel):
    mode: Mode = "ok"
    times: int | None = None
    delay_seconds: float = 0.0
    retry_after: int = 1


@router.post("/_sandbox/economic/revoke")
async def revoke(body: Revoke) -> dict[str, int]:
    return {"revoked": state.revoke(body.agreement_number)}


class AppSecret(BaseModel):
    token: str | None = None  # None: the configured ECONOMIC_APP_SECRET_TOKEN again


@router.post("/_sandbox/economic/forbid")
async def forbid(body: Revoke) -> dict[str, int]:
    """The granting user loses a role the app needs: /self answers 403 for those grants."""
    return {"forbidden": state.forbid(body.agreement_number)}


@router.post("/_sandbox/economic/app-secret")
async def reset_app_secret(body: AppSecret) -> dict[str, bool]:
    """The app's owner resets its App Secret Token: e-conomic refuses the old one with 401."""
    state.app_secret = body.token
    return {"reset": body.token is not None}


@router.post("/_sandbox/economic/self-behaviour")
async def set_behaviour(body: SelfBehaviour) -> dict[str, str]:
    state.behaviour = Behaviour(**body.model_dump())
    return {"mode": body.mode}


@router.get("/_sandbox/economic/grants")
async def grants() -> dict[str, list[str]]:
    """Every grant token this e-conomic handed out: tests search for them elsewhere."""
    return {"tokens": list(state.grants)}


@router.post("/_sandbox/reset")
async def reset() -> dict[str, bool]:
    state.behaviour = Behaviour()
    state.self_calls = 0
    state.app_secret = None
    return {"reset": True}
