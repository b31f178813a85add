"""econ-auth's HTTP entrypoints: the app view's requests, the merchant's redirects, operators."""

import hashlib
import hmac
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from kobling_econ_auth import handlers
from kobling_econ_auth.handlers import (
    Deps,
    LinkInvalid,
    NotInstalled,
    OtherBrowser,
    SignatureSpent,
    StateInvalid,
    TokenMalformed,
)
from kobling_econ_auth.pages import problem, templates
from kobling_shared import binding, openapi
from kobling_shared.app_view import ACCOUNT_ID, AppViewRequest, verified_view_request, view_body
from kobling_shared.links import dashboard_app_url, status_page_url
from kobling_shared.openapi import (
    BEARER,
    VIEW,
    Problem,
    Responses,
    page,
    redirect,
)

log = logging.getLogger(__name__)
router = APIRouter()
# The cookie that ties a connect attempt to the browser that confirmed it (kobling_shared.binding).
CONNECT_COOKIE = "connect"

# The locales e-conomic's grant page takes (docs/external-contracts.md), by language.
LOCALES = {"da": "da-DK", "sv": "sv-SE", "nb": "nb-NO", "no": "nb-NO", "nn": "nb-NO", "en": "en-US"}


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]


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


# A captured signed request cannot act twice (handlers.SignatureSpent); the view's next click
# gets a new signature.
SPENT: Responses = {
    409: openapi.problem("`signature_used`: this signed request was already used; nothing changed")
}
SIGNATURE_USED = {
    "error": "signature_used",
    "message": "This request was already used, so nothing changed. Try again from the Kobling "
    "app in your Stripe Dashboard.",
}

INVALID_LINK = page("The link or state is unknown, used or expired: nothing changed")


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
        url, expires_at = await handlers.mint_connect_link(
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
        changed = await handlers.disconnect(
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


CONFIRM_PAGE = page("Names the Stripe account to connect; OK goes on to e-conomic")


@router.get(
    "/economic/connect",
    response_class=HTMLResponse,
    responses={200: CONFIRM_PAGE, 400: INVALID_LINK},
)
async def confirm_connect_link(
    request: Request,
    deps: DepsDep,
    link: Annotated[str, Query(max_length=2000)] = "",
    locale: str | None = None,
) -> Response:
    """Opening a connect link changes nothing: the page says whose Stripe account would be
    connected (a link someone else sent shows their account, not yours), and binds this browser
    to the attempt. Only its OK goes on."""
    try:
        attempt = await handlers.read_connect_link(link, deps)
    except LinkInvalid:
        return problem(request, "link_invalid", deps.settings.stripe_dashboard_url)
    secure = deps.settings.econ_auth_public_url.startswith("https:")
    browser = binding.ensure_browser_id(request, CONNECT_COOKIE, secure)
    context = {
        "account_id": attempt.account_id,
        "livemode": attempt.livemode,
        "action": f"{deps.settings.econ_auth_public_url}/economic/connect",
        "link": link,
        "confirm": _confirm_token(deps, browser, link),
        "locale": _locale(request, locale),
        "cancel_url": deps.settings.stripe_dashboard_url,
    }
    response = templates.TemplateResponse(request, "confirm.html", context)
    binding.set_browser_id(response, CONNECT_COOKIE, secure, browser)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post(
    "/economic/connect",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: redirect("To e-conomic's grant page"), 400: INVALID_LINK},
)
async def open_connect_link(
    request: Request,
    deps: DepsDep,
    link: Annotated[str, Form(max_length=2000)],
    confirm: Annotated[str, Form(max_length=200)] = "",
    locale: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The OK of the confirmation page. Another site's form cannot press it: the cookie is
    SameSite=Lax (not sent on a cross-site POST) and `confirm` is derived from it."""
    secure = deps.settings.econ_auth_public_url.startswith("https:")
    browser = binding.browser_id(request, CONNECT_COOKIE, secure)
    # Compared as bytes: compare_digest raises on a str beyond ASCII (a 500, not a refusal).
    expected = _confirm_token(deps, browser, link).encode() if browser else b""
    if browser is None or not hmac.compare_digest(confirm.encode(), expected):
        return problem(request, "other_browser", deps.settings.stripe_dashboard_url)
    try:
        grant_page = await handlers.open_connect_link(
            link, _locale(request, locale), binding.digest(browser), deps
        )
    except LinkInvalid:
        return problem(request, "link_invalid", deps.settings.stripe_dashboard_url)
    return RedirectResponse(grant_page, status_code=303)


CALLBACK_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
# The page (pages.PROBLEMS) for each way a callback is refused.
CALLBACK_REFUSALS = {
    StateInvalid: "state_invalid",
    OtherBrowser: "other_browser",
    TokenMalformed: "token_invalid",
}


@router.get(
    "/economic/callback/{state}",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        200: page("No grant came back: the merchant cancelled at e-conomic; nothing changed"),
        303: redirect("Connected (or failed, said on the page): to the merchant's page"),
        400: INVALID_LINK,
    },
)
async def economic_callback(
    request: Request,
    deps: DepsDep,
    state: Annotated[str, PathParam(max_length=200)],
    token: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    # The URL that brought the browser here carries the state and the grant token: no answer
    # passes it on as a referrer, and none is cached.
    dashboard = deps.settings.stripe_dashboard_url
    secure = deps.settings.econ_auth_public_url.startswith("https:")

    def same_browser(digest: str) -> bool:
        return binding.same_browser(request, CONNECT_COOKIE, secure, digest)

    if not token:
        pending = await handlers.cancel_grant(state, same_browser, deps)
        if pending is not None:
            dashboard = dashboard_app_url(
                dashboard, deps.settings.stripe_app_id, pending.account_id, pending.livemode
            )
        answer = problem(request, "cancelled", dashboard, status_code=200)
        answer.headers.update(CALLBACK_HEADERS)
        return answer
    try:
        result = await handlers.complete_grant(state, token, same_browser, deps)
    except (StateInvalid, OtherBrowser, TokenMalformed) as refused:
        answer = problem(request, CALLBACK_REFUSALS[type(refused)], dashboard)
        answer.headers.update(CALLBACK_HEADERS)
        return answer
    settings = deps.settings
    query = {"locale": result.locale} | ({"after": result.event_id} if result.event_id else {})
    page = status_page_url(
        settings.status_public_url,
        settings.link_signing_key,
        result.account_id,
        result.livemode,
        **query,
    )
    return RedirectResponse(page, status_code=303, headers=CALLBACK_HEADERS)


@router.get(
    "/economic/callback",
    response_class=HTMLResponse,
    responses={400: page("No state in the path: cannot be matched to an account; nothing changes")},
)
async def economic_callback_without_state(
    request: Request,
    deps: DepsDep,
    state: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """A merchant who added the app from e-conomic's own app list, or a grant page opened before
    the state moved into the path (its state was in the query): neither can be matched to an
    attempt we can still finish, so nothing connects and the page says where to start."""
    kind = "state_outdated" if state else "no_state"
    answer = problem(request, kind, deps.settings.stripe_dashboard_url)
    answer.headers.update(CALLBACK_HEADERS)
    return answer


def _confirm_token(deps: Deps, browser: str, link: str) -> str:
    key = deps.settings.link_signing_key.encode()
    return hmac.new(key, f"confirm:{browser}:{link}".encode(), hashlib.sha256).hexdigest()


# --- operators ------------------------------------------------------------------------------------

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
    result = await handlers.check_grant(conn.account_id, conn.livemode, deps)
    after = await deps.store.get(body.account_id, body.livemode)
    return JSONResponse(
        {
            "result": result or "budget_spent",
            "state": after.state if after else "not_connected",
            "revocation_strikes": after.revocation_strikes if after else 0,
        }
    )


def _locale(request: Request, asked: str | None) -> str:
    wanted = asked or request.headers.get("accept-language", "en")
    return LOCALES.get(wanted[:2].lower(), "en-US")
