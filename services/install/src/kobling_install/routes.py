"""install's HTTP entrypoints: Stripe's webhooks and the OAuth install redirect."""

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from kobling_install.handlers import Outcome
from kobling_install.oauth import (
    OtherBrowser,
    TooManyStates,
    complete_install,
    spend_state,
    start_install,
    stripes_code,
)
from kobling_install.stripe_events import StripeEvent
from kobling_install.stripe_oauth import InvalidGrant
from kobling_install.web import Deps, DepsDep
from kobling_shared import binding
from kobling_shared.app_view import SIGNATURE_HEADER
from kobling_shared.links import dashboard_app_url, status_page_url
from kobling_shared.openapi import TOO_LARGE, json_body, page, problem, redirect
from kobling_shared.pages import problem_page
from kobling_shared.signatures import BadSignature, signing_endpoint

log = logging.getLogger(__name__)
router = APIRouter()
# The cookie that ties our OAuth state to the browser that started the install.
INSTALL_COOKIE = "install"


class WebhookReceipt(BaseModel):
    received: bool
    outcome: Outcome


@router.post(
    "/stripe/webhooks",
    openapi_extra={**json_body(StripeEvent), "parameters": [SIGNATURE_HEADER]},
    responses={
        200: {"model": WebhookReceipt, "description": "Durable on Kafka, a duplicate, or ignored"},
        400: problem("`invalid_signature`, or `invalid_event`: not a Stripe event"),
        503: problem("The event could not be made durable; Stripe retries it"),
        **TOO_LARGE,
    },
)
async def stripe_webhook(request: Request) -> Response:
    # The hottest route reads its dependencies and its header straight from the request, with
    # no parameters for FastAPI to solve: solving one header was about a seventh of install's
    # CPU a webhook, the web framework most of the rest (docs/benchmarks.md).
    deps: Deps = request.app.state.deps
    secrets, webhooks = deps.webhook_secrets, deps.webhooks
    stripe_signature = request.headers.get("stripe-signature")
    raw = await request.body()
    try:
        endpoint = signing_endpoint(raw, stripe_signature, secrets.live, secrets.test)
    except BadSignature as why:
        return JSONResponse({"error": "invalid_signature", "message": str(why)}, status_code=400)
    try:
        event = StripeEvent.model_validate_json(raw)
    except ValidationError:
        return JSONResponse(
            {"error": "invalid_event", "message": "not a Stripe event"}, status_code=400
        )
    if endpoint == "test" and (event.livemode or event.mode):
        # The test endpoint's secret can only vouch for test events.
        return JSONResponse(
            {"error": "invalid_signature", "message": "a live event signed as a test one"},
            status_code=400,
        )
    try:
        outcome = await webhooks.submit(event)
    except Exception:
        # Stripe retries any non-2xx for days; a 503 hands the event back to it, nothing is lost.
        log.exception("could not make stripe event %s durable", event.id)
        return JSONResponse({"error": "unavailable", "message": "try again later"}, status_code=503)
    return Response(RECEIPTS[outcome], media_type="application/json")


RECEIPTS = {o: WebhookReceipt(received=True, outcome=o).model_dump_json().encode() for o in Outcome}


# --- the OAuth install ------------------------------------------------------------------------


@router.get(
    "/stripe/install",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: redirect("To Stripe's authorize page"),
        503: page("Too many installs under way: try again after Retry-After seconds"),
    },
)
async def install_link(request: Request, deps: DepsDep, livemode: bool = False) -> Response:
    """Where our own "Install" links point: Stripe's authorize page, with our state, which
    only this browser can bring back."""
    oauth = deps.oauth
    secure = oauth.settings.install_public_url.startswith("https:")
    browser = binding.ensure_browser_id(request, INSTALL_COOKIE, secure)
    try:
        target = await start_install(livemode, binding.digest(browser), oauth)
    except TooManyStates:
        busy = problem_page(
            request,
            "problem.install_busy",
            ("action.marketplace", oauth.settings.stripe_marketplace_url),
            status_code=503,
        )
        busy.headers["Retry-After"] = "60"  # states expire as they were made, over 10 minutes
        return busy
    response = RedirectResponse(target, status_code=303)
    binding.set_browser_id(response, INSTALL_COOKIE, secure, browser)
    return response


@router.get(
    "/stripe/oauth/callback",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: redirect("Installed: to the merchant's page, or to the app in the Stripe Dashboard"),
        400: page("Cancelled, or a used or expired state or code: nothing installed"),
        503: page("Stripe could not be reached"),
    },
)
async def oauth_callback(
    request: Request,
    deps: DepsDep,
    code: Annotated[str | None, Query(max_length=500)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    oauth, settings = deps.oauth, deps.oauth.settings
    marketplace = ("action.marketplace_back", settings.stripe_marketplace_url)
    if error or not code:
        return problem_page(
            request,
            "problem.install_cancelled",
            marketplace,
        )

    if not stripes_code(code):
        # Checked before the state is spent and before Stripe is asked (twice without a state).
        return problem_page(
            request,
            "problem.install_code_invalid",
            marketplace,
        )

    # The use case compares digests: this browser's, and the one bound to the state.
    secure = settings.install_public_url.startswith("https:")
    browser_id = binding.browser_id(request, INSTALL_COOKIE, secure)
    browser = binding.digest(browser_id) if browser_id else None
    try:
        livemode = None if state is None else await spend_state(state, browser, oauth)
    except OtherBrowser:
        return problem_page(
            request,
            "problem.install_other_browser",
            marketplace,
        )
    ours = livemode is not None
    if state is not None and not ours:
        return problem_page(
            request,
            "problem.install_link_expired",
            marketplace,
        )
    try:
        installed = await complete_install(code, livemode, oauth)
    except InvalidGrant:
        return problem_page(
            request,
            "problem.install_authorization_expired",
            marketplace,
        )
    except Exception:
        log.exception("could not complete an OAuth install")
        return problem_page(
            request,
            "problem.install_stripe_unreachable",
            ("action.open_dashboard", settings.stripe_dashboard_url),
            status_code=503,
        )
    if not ours:
        # A Marketplace install proves nothing about who holds this browser: the connection to
        # e-conomic starts from the app's view in the Dashboard, behind Stripe's signature.
        target = dashboard_app_url(
            settings.stripe_dashboard_url,
            settings.stripe_app_id,
            installed.account_id,
            installed.livemode,
        )
        return RedirectResponse(target, status_code=303)
    page = status_page_url(
        settings.status_public_url,
        settings.page_link_key,
        installed.account_id,
        installed.livemode,
        after=installed.event_id,
    )
    return RedirectResponse(page, status_code=303)
