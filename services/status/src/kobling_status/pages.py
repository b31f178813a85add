"""The merchant's page for one install, reached only through a link our services signed."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from kobling_shared.app_view import ACCOUNT_ID, SIGNATURE_HEADER, verified_view, view_body
from kobling_shared.events import account_key
from kobling_shared.i18n import Words, language
from kobling_shared.links import (
    STATUS_PAGE,
    STATUS_PAGE_MAX_AGE,
    BadSignature,
    LinkSigner,
    SignatureExpired,
    dashboard_app_url,
)
from kobling_shared.openapi import VIEW, page, problem
from kobling_shared.pages import problem_page
from kobling_status.read_cache import encode
from kobling_status.settings import StatusSettings
from kobling_status.views import merchant_view, public_view
from kobling_status.web import Deps, DepsDep

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter()


@router.get(
    "/accounts/{account_id}",
    response_class=HTMLResponse,
    responses={
        403: page("The link is forged or for another account: no account data"),
        410: page("The link has expired: no account data"),
    },
)
async def account_page(
    request: Request,
    deps: DepsDep,
    account_id: Annotated[str, PathParam(pattern=ACCOUNT_ID)],
    t: Annotated[str, Query(max_length=1000)] = "",
    after: Annotated[str | None, Query(max_length=100)] = None,
    locale: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    settings, store = deps.settings, deps.store
    try:
        link = LinkSigner(settings.page_link_key, STATUS_PAGE).unsign(t, STATUS_PAGE_MAX_AGE)
    except SignatureExpired:
        return _stale_link(request, settings, locale)
    except BadSignature:
        return _stale_link(request, settings, locale, status_code=403)
    if link.get("a") != account_id:
        return _stale_link(request, settings, locale, status_code=403)
    livemode = bool(link.get("l"))
    # Read your own writes: the merchant comes back from e-conomic the moment the grant is
    # stored. Hold the page a moment for the projection to catch up, then let it refresh itself.
    waiting = after is not None and not await deps.arrivals.wait_for(
        after, lambda: store.has_applied(after)
    )
    status = await store.get(account_id, livemode)
    words = Words(language(locale, request.headers.get("accept-language")))
    economic = status.economic if status else None
    # Read-only: the page shows where things stand and leads back to the Stripe Dashboard, where
    # every action goes through a request Stripe signed. It mints no link of any kind, so a
    # page URL that travels (or is kept) grants nothing and dies with its token.
    context = {
        "lang": words.lang,
        "t": words,
        "account_id": account_id,
        "livemode": livemode,
        "status": status,
        "economic": economic,
        "state": economic.state if economic else "not_connected",
        "reason": words.reason(economic.reason if economic else None),
        "waiting": waiting,
        "continue_url": dashboard_app_url(
            settings.stripe_dashboard_url, settings.stripe_app_id, account_id, livemode
        ),
    }
    response = templates.TemplateResponse(request, "account.html", context)
    # Its URL is a bearer token to the account's status: never cache it, never send it on.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _stale_link(
    request: Request, settings: StatusSettings, locale: str | None, status_code: int = 410
) -> HTMLResponse:
    return problem_page(
        request,
        "problem.status_link_expired",
        ("action.open_dashboard", settings.stripe_dashboard_url),
        status_code=status_code,
        locale=locale,
    )


@router.post(
    "/api/status",
    openapi_extra={**view_body("status"), "parameters": [SIGNATURE_HEADER]},
    responses={
        200: {"description": "The account's status JSON"},
        404: problem("`not_installed`: Kobling is not installed on this account"),
        **VIEW,
    },
)
async def app_view_status(request: Request) -> Response:
    """What the Stripe App view shows, for the account that signed the request."""
    # Every open of the Dashboard's view asks here: no FastAPI dependencies (solving them was
    # about a tenth of this route's CPU); the same check, called plainly.
    view = await verified_view(request, "status")
    deps: Deps = request.app.state.deps
    cache, key = deps.cache, account_key(view.account_id, view.livemode)
    found = cache.view(key)
    if found is None:
        stamp = cache.stamp()
        status = await deps.store.get(view.account_id, view.livemode)
        if status is None:
            return JSONResponse(
                {"error": "not_installed", "message": "Kobling is not installed on this account"},
                status_code=404,
            )
        found = encode(merchant_view(status))
        cache.put(key, stamp, status=encode(public_view(status)), view=found)
    return Response(found, media_type="application/json")
