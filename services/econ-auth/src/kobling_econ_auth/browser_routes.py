"""econ-auth's routes for the merchant's browser: the connect link's confirmation page and its OK,
and e-conomic's callback."""

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kobling_econ_auth import connecting, grant_callback
from kobling_econ_auth.connecting import LinkInvalid
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.grant_callback import OtherBrowser, StateInvalid, TokenMalformed
from kobling_econ_auth.pages import problem, templates
from kobling_econ_auth.web import DepsDep
from kobling_shared import binding
from kobling_shared.links import dashboard_app_url, status_page_url
from kobling_shared.openapi import page, redirect

router = APIRouter()
# The cookie that ties a connect attempt to the browser that confirmed it (kobling_shared.binding).
CONNECT_COOKIE = "connect"

# The locales e-conomic's grant page takes (docs/external-contracts.md), by language.
LOCALES = {"da": "da-DK", "sv": "sv-SE", "nb": "nb-NO", "no": "nb-NO", "nn": "nb-NO", "en": "en-US"}


INVALID_LINK = page("The link or state is unknown, used or expired: nothing changed")

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
        attempt = await connecting.read_connect_link(link, deps)
    except LinkInvalid:
        return problem(request, "link_invalid", deps.settings.stripe_dashboard_url)
    secure = deps.settings.econ_auth_public_url.startswith("https:")
    browser = binding.ensure_browser_id(request, CONNECT_COOKIE, secure)
    context = {
        "account_id": attempt.account_id,
        "account_name": attempt.account_name,
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
        grant_page = await connecting.open_connect_link(
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

    # The use case compares digests: this browser's, and the one bound to the state.
    browser_id = binding.browser_id(request, CONNECT_COOKIE, secure)
    browser = binding.digest(browser_id) if browser_id else None
    if not token:
        pending = await grant_callback.cancel_grant(state, browser, deps)
        if pending is not None:
            dashboard = dashboard_app_url(
                dashboard, deps.settings.stripe_app_id, pending.account_id, pending.livemode
            )
        answer = problem(request, "cancelled", dashboard, status_code=200)
        answer.headers.update(CALLBACK_HEADERS)
        return answer
    try:
        result = await grant_callback.complete_grant(state, token, browser, deps)
    except (StateInvalid, OtherBrowser, TokenMalformed) as refused:
        answer = problem(request, CALLBACK_REFUSALS[type(refused)], dashboard)
        answer.headers.update(CALLBACK_HEADERS)
        return answer
    settings = deps.settings
    query = {"locale": result.locale} | ({"after": result.event_id} if result.event_id else {})
    page = status_page_url(
        settings.status_public_url,
        settings.page_link_key,
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
    key = deps.settings.connect_link_key.encode()
    return hmac.new(key, f"confirm:{browser}:{link}".encode(), hashlib.sha256).hexdigest()


def _locale(request: Request, asked: str | None) -> str:
    wanted = asked or request.headers.get("accept-language", "en")
    return LOCALES.get(wanted[:2].lower(), "en-US")
