"""The pretend Stripe: the Marketplace, OAuth for apps, signed webhooks and the Dashboard."""

import asyncio
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from kobling_devkit.stripe_signing import sign, view_payload
from kobling_sandbox.config import settings
from kobling_sandbox.stripe_dashboard import invoice_rows
from kobling_sandbox.templating import render
from kobling_shared.settings import secret_list

log = logging.getLogger(__name__)
router = APIRouter()
basic = HTTPBasic(auto_error=False)
CODE_TTL_SECONDS = 300
ACCESS_TTL_SECONDS = 3600  # an OAuth access token lives an hour (DOMAIN.md)
LOOK = {"header": "stripe", "brand": "#635bff", "accent": "#635bff"}


@dataclass
class Code:
    account: str
    livemode: bool
    expires_at: float


@dataclass
class Access:
    """Whose objects an access token opens, and until when."""

    account: str
    livemode: bool
    expires_at: float


@dataclass
class StripeState:
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, bool]] = field(default_factory=dict)
    minted: list[str] = field(default_factory=list)  # every token handed out, for leak audits
    access: dict[str, Access] = field(default_factory=dict)  # the API reads (stripe_api)
    held: dict[str, dict[str, Any]] = field(default_factory=dict)  # events Stripe delivers late
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    clock: Any = time.time  # tests move time forward
    published: bool = True  # on the Marketplace (the demo); unpublished: External test link only


state_ = StripeState()  # named apart from the OAuth `state` parameter the routes take


def page(request: Request, step: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(
        request,
        "stripe_page.html",
        {**LOOK, "title": "Stripe", "step": step, **context},
        status_code,
    )


def random_account() -> str:
    return "acct_" + secrets.token_hex(8)


# --- the Marketplace and OAuth ------------------------------------------------------------------


# The app's External test: before publication the only install link that works (one per app,
# the mode chosen by the client id); the public link answers as Stripe does for an unpublished app.
CHANNEL_LINK = "chnlink_kobling_dev"
INVALID_LINK = "The provided OAuth link is invalid"


def client_mode(client_id: str) -> bool | None:
    """The mode (livemode) of one of our app's OAuth client ids; None for any other id."""
    config = settings()
    return {config.stripe_client_id: True, config.stripe_test_client_id: False}.get(client_id)


def install_link(livemode: bool) -> str:
    query = urlencode(
        {
            "client_id": settings().stripe_client_id_for(livemode),
            "redirect_uri": f"{settings().install_public_url}/stripe/oauth/callback",
        }
    )
    return f"/oauth/v2/authorize?{query}"


@router.get("/", response_class=HTMLResponse)
async def marketplace(request: Request) -> HTMLResponse:
    if not state_.published:
        message = "Kobling is not on the Marketplace yet: install it by its External test link."
        return page(request, "message", 404, heading="App not found", message=message)
    return page(
        request,
        "marketplace",
        subheader="App Marketplace",
        install_url=install_link(False),
        live_install_url=install_link(True),
    )


@router.get("/oauth/v2/authorize", response_class=HTMLResponse)
@router.get("/oauth/v2/{channel}/authorize", response_class=HTMLResponse)
async def authorize(
    request: Request,
    client_id: str = "",
    redirect_uri: str = "",
    state: str | None = None,
    channel: str | None = None,
) -> HTMLResponse:
    problem = _check_client(client_id, redirect_uri, channel)
    if problem:
        return page(request, "message", 400, heading="Something is wrong", message=problem)
    hidden = {"client_id": client_id, "redirect_uri": redirect_uri}
    if state is not None:
        hidden["state"] = state
    return page(
        request,
        "authorize",
        hidden=hidden,
        account=random_account(),
        action=request.url.path,
        livemode=client_mode(client_id),
    )


def _check_client(client_id: str, redirect_uri: str, channel: str | None) -> str | None:
    if channel is None and not state_.published:
        return f"{INVALID_LINK}: the app is not published."
    if channel is not None and channel != CHANNEL_LINK:
        return f"{INVALID_LINK}."
    if client_mode(client_id) is None:
        return "This app is not known to Stripe."
    if not redirect_uri.startswith(f"{settings().install_public_url}/"):
        return "The redirect address is not one the app registered."
    return None


@router.post("/oauth/v2/authorize")
@router.post("/oauth/v2/{channel}/authorize")
async def decide(
    request: Request,
    client_id: Annotated[str, Form()],
    redirect_uri: Annotated[str, Form()],
    decision: Annotated[str, Form()],
    account: Annotated[str, Form(pattern=r"^acct_[A-Za-z0-9]{1,64}$")],
    state: Annotated[str | None, Form()] = None,
    webhook: Annotated[str, Form()] = "now",
    channel: str | None = None,
) -> Response:
    problem = _check_client(client_id, redirect_uri, channel)
    if problem:
        return page(request, "message", 400, heading="Something is wrong", message=problem)
    back: dict[str, str] = {}
    if decision != "allow":
        back = {"error": "access_denied", "error_description": "The user denied your request"}
    else:
        code = "ac_" + secrets.token_hex(16)  # Stripe's are letters and digits only
        livemode = client_mode(client_id) is True  # each mode has its own client id
        state_.codes[code] = Code(account, livemode, state_.clock() + CODE_TTL_SECONDS)
        back = {"code": code}
        # Like Stripe, the install webhook travels on its own, in no fixed order with the redirect
        # (a test may hold it back: `webhook=held`, delivered by /_sandbox/stripe/webhooks/deliver).
        event = install_event("account.application.authorized", account, livemode)
        if webhook == "held":
            state_.held[event["id"]] = event
        else:
            asyncio.get_running_loop().create_task(post_event(event, attempts=5))
    if state is not None:
        back["state"] = state
    return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=303)


class Publication(BaseModel):
    published: bool


@router.post("/_sandbox/stripe/app")
async def publish(body: Publication) -> dict[str, bool]:
    """Before review the app is unpublished: only its External test link installs it."""
    state_.published = body.published
    return {"published": body.published}


def _key_mode(key: str) -> bool | None:
    """The mode (livemode) of one of the app developer's secret keys; None for any other key."""
    modes = {settings().stripe_secret_key: True, settings().stripe_test_secret_key: False}
    return modes.get(key) if key else None


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


@router.post("/v1/oauth/token")
async def token(request: Request) -> JSONResponse:
    credentials: HTTPBasicCredentials | None = await basic(request)
    key_mode = _key_mode(credentials.username if credentials else "")
    if key_mode is None:
        return JSONResponse(
            {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
            status_code=401,
        )
    form = await request.form()
    grant_type = form.get("grant_type")
    async with state_.lock:  # two refreshes of one token: exactly one wins
        if grant_type == "authorization_code":
            # Each mode has its own codes: the other mode's key does not find (nor spend) one.
            name = str(form.get("code", ""))
            code = state_.codes.get(name)
            if code is None or code.livemode != key_mode or code.expires_at < state_.clock():
                return _oauth_error(
                    400, "invalid_grant", "Authorization code does not exist or expired"
                )
            del state_.codes[name]
            account, livemode = code.account, code.livemode
        elif grant_type == "refresh_token":
            name = str(form.get("refresh_token", ""))
            used = state_.refresh_tokens.get(name)
            if used is None or used[1] != key_mode:
                return _oauth_error(
                    400, "invalid_grant", "Refresh token does not exist or was used"
                )
            del state_.refresh_tokens[name]
            account, livemode = used
        else:
            return _oauth_error(400, "unsupported_grant_type", "grant_type is not supported")
        refresh = "rt_" + secrets.token_urlsafe(24)
        state_.refresh_tokens[refresh] = (account, livemode)
    mode = "live" if livemode else "test"
    access = mint_access(account, livemode)
    state_.minted.append(refresh)
    return JSONResponse(
        {
            "access_token": access,
            "refresh_token": refresh,
            "livemode": livemode,
            "scope": "stripe_apps",
            "stripe_publishable_key": f"pk_{mode}_" + secrets.token_urlsafe(12),
            "stripe_user_id": account,
            "token_type": "bearer",
        }
    )


def mint_access(account: str, livemode: bool) -> str:
    """An access token for the account's objects in that mode, for an hour."""
    access = f"sk_{'live' if livemode else 'test'}_" + secrets.token_urlsafe(24)
    state_.access[access] = Access(account, livemode, state_.clock() + ACCESS_TTL_SECONDS)
    state_.minted.append(access)
    return access


# --- webhooks -----------------------------------------------------------------------------------

# The install events Stripe sends to an app's Connect endpoint. apps.install.* are sent "to the
# app developer, embedding platform, and installing merchant" (docs.stripe.com/api/apps/installs):
# to the developer account's own endpoint, which Kobling does not have, so the sandbox's Stripe
# never delivers them to install (contracts S9).
InstallType = Literal["account.application.authorized", "account.application.deauthorized"]


def our_app(livemode: bool) -> str:
    """How Stripe names our app in account.application.*: the application `ca_…`, the OAuth
    client id of the event's mode (unverified: STRIPE_APPLICATION_IDS lists both)."""
    return settings().stripe_client_id_for(livemode)


def install_event(
    kind: str,
    account: str,
    livemode: bool,
    created: int | None = None,
    application: str | None = None,
) -> dict[str, Any]:
    """An install event of our app, or of another app installed on the same account."""
    app = application or our_app(livemode)
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": kind,
        "livemode": livemode,
        "account": account,
        "created": int(time.time()) if created is None else created,
        "api_version": "2026-09-30.endive",
        "data": {"object": {"id": app, "object": "application", "name": "Kobling"}},
    }


def endpoint_secret(livemode: bool) -> str:
    """Stripe sends a test event to the test endpoint, signed with that endpoint's own secret;
    during a roll it signs with the newest, listed first."""
    config = settings()
    return secret_list(
        config.stripe_webhook_secret if livemode else config.stripe_test_webhook_secret
    )[0]


async def deliver_webhook(
    kind: str, account: str, livemode: bool, attempts: int = 5
) -> tuple[str, int]:
    """Creates an event and delivers it, as Stripe does right after the merchant acted."""
    event = install_event(kind, account, livemode)
    return event["id"], await post_event(event, attempts)


async def post_event(event: dict[str, Any], attempts: int = 1) -> int:
    """Signs and posts an event to install, retrying a non-2xx answer with backoff like Stripe;
    answers the last status (0: no answer)."""
    body = json.dumps(event)
    status = 0
    async with httpx.AsyncClient(timeout=10) as http:
        for attempt in range(attempts):
            header = sign(body, endpoint_secret(event["livemode"]))
            try:
                response = await http.post(
                    f"{settings().install_public_url}/stripe/webhooks",
                    content=body,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                )
                status = response.status_code
                if 200 <= status < 300:
                    break
            except httpx.HTTPError:
                status = 0
            if attempt + 1 < attempts:
                await asyncio.sleep(0.5 * 2**attempt)
    return status


class WebhookRequest(BaseModel):
    type: InstallType
    account: str
    livemode: bool = False
    # Stripe's creation time (unix seconds); now when absent.
    created: int | None = None
    # Stripe delivers no event in a fixed order, some late (a retry after an outage), some
    # twice: `hold` keeps the event until /_sandbox/stripe/webhooks/deliver names it, `times`
    # delivers it more than once.
    hold: bool = False
    times: int = Field(1, ge=1, le=5)
    # Another app installed on the same account: Stripe sends its events to our endpoint too.
    application: str | None = None


class Delivery(BaseModel):
    event_ids: list[str]  # in the order to deliver them
    times: int = Field(1, ge=1, le=5)


@router.post("/_sandbox/stripe/webhooks")
async def send_webhook(body: WebhookRequest) -> dict[str, Any]:
    event = install_event(body.type, body.account, body.livemode, body.created, body.application)
    if body.hold:
        state_.held[event["id"]] = event
        return {"event_id": event["id"], "status_code": None}
    statuses = [await post_event(event) for _ in range(body.times)]
    return {"event_id": event["id"], "status_code": statuses[0], "status_codes": statuses}


@router.get("/_sandbox/stripe/webhooks/held")
async def held_events(account: str) -> dict[str, list[str]]:
    return {"event_ids": [i for i, e in state_.held.items() if e["account"] == account]}


@router.post("/_sandbox/stripe/webhooks/deliver")
async def deliver_held(body: Delivery) -> dict[str, Any]:
    """Delivers held events now, late and in the order given."""
    statuses = {}
    for event_id in body.event_ids:
        event = state_.held.pop(event_id, None)
        if event is None:
            raise HTTPException(404, f"no held event {event_id}")
        statuses[event_id] = [await post_event(event) for _ in range(body.times)]
    return {"status_codes": statuses}


# --- the Dashboard and our app's view in it -------------------------------------------------


def _view_request(account: str, livemode: bool, action: str) -> dict[str, Any]:
    """What our app's view sends for `action`: the body, and the header it gets from
    fetchStripeSignature({livemode, action}). Stripe signs `{...payload, user_id, account_id}`
    (the view's fields first, then the Dashboard user and account) as JavaScript's JSON.stringify
    writes it, and the view sends that very string (docs/external-contracts.md)."""
    fields: dict[str, Any] = {}
    if action != "status":  # as the view does: two clicks in one second are two requests
        fields["nonce"] = uuid.uuid4().hex
    return signed_view(account, livemode, action, **fields)


DASHBOARD_USER = "usr_sandbox"  # the Dashboard user every view request of the sandbox names


def signed_view(account: str, livemode: bool, action: str, **extra: Any) -> dict[str, Any]:
    """httpx's arguments for a request of our app's view: the payload
    `{livemode, action, ...extra}` it passes fetchStripeSignature, then `user_id` and
    `account_id`, as Stripe signs it and the view sends it (JSON.stringify's string), and
    Stripe's signature over those very bytes with the app's signing secret."""
    fields = {"livemode": livemode, "action": action, **extra}
    payload = view_payload(fields, DASHBOARD_USER, account)
    header = sign(payload, settings().stripe_app_secret)
    return {
        "content": payload.encode(),
        "headers": {"Stripe-Signature": header, "Content-Type": "application/json"},
    }


@router.get("/dashboard/{path:path}", response_class=HTMLResponse)
@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request, path: str = "", account: str | None = None, error: str | None = None
) -> HTMLResponse:
    segments = path.split("/")
    account = account or next((s for s in segments if s.startswith("acct_")), None)
    livemode = "test" not in segments
    economic_state, company, agreement = "Status unavailable", None, None
    if account:
        async with httpx.AsyncClient(timeout=5) as http:
            try:
                response = await http.post(
                    f"{settings().status_public_url}/api/status",
                    **_view_request(account, livemode, "status"),
                )
                if response.status_code == 200:
                    economic = response.json()["economic"]
                    economic_state, company, agreement = (
                        economic["state"].replace("_", " "),
                        economic.get("company_name"),
                        economic.get("agreement_number"),
                    )
            except httpx.HTTPError:
                pass
    return page(
        request,
        "dashboard",
        subheader="Dashboard",
        account=account,
        livemode=livemode,
        economic_state=economic_state,
        company=company,
        agreement=agreement,
        error=error,
        invoices=invoice_rows(account, livemode) if account else [],
        # The app's settings page (stripe_app_views.settings_page): its sync settings.
        sync_settings_url=(
            f"/dashboard/{account}{'' if livemode else '/test'}/settings/apps/"
            f"{settings().stripe_app_id}"
            if account
            else None
        ),
    )


def _dashboard_url(account: str, livemode: bool, **query: str) -> str:
    """Our app's drawer on the account's Dashboard, as Stripe's deep links put it."""
    mode = "" if livemode else "/test"
    app = f"apps[{settings().stripe_app_id}][drawer]=stripe.dashboard.drawer.default"
    extra = f"&{urlencode(query)}" if query else ""
    return f"/dashboard/{account}{mode}/dashboard?{app}{extra}"


# Not under /dashboard/: the Dashboard's catch-all route would take it.
@router.get("/app-view/connect")
async def dashboard_connect(account: str, livemode: bool = False) -> RedirectResponse:
    """What the UI extension does on "Connect e-conomic": a signed request for a connect link."""
    async with httpx.AsyncClient(timeout=10) as http:
        try:
            response = await http.post(
                f"{settings().econ_auth_public_url}/api/connect-link",
                **_view_request(account, livemode, "connect"),
            )
        except httpx.HTTPError:
            return RedirectResponse(
                _dashboard_url(account, livemode, error="Kobling could not be reached."), 303
            )
    if response.status_code != 200:
        message = (
            response.json().get("message") or response.json().get("detail") or "Kobling said no."
        )
        return RedirectResponse(_dashboard_url(account, livemode, error=str(message)), 303)
    return RedirectResponse(response.json()["url"], status_code=303)


@router.post("/dashboard/uninstall")
async def dashboard_uninstall(
    account: Annotated[str, Form()], livemode: Annotated[bool, Form()] = False
) -> RedirectResponse:
    await deliver_webhook("account.application.deauthorized", account, livemode)
    return RedirectResponse(_dashboard_url(account, livemode), status_code=303)


@router.get("/_sandbox/stripe/tokens")
async def minted_tokens() -> dict[str, list[str]]:
    """Every access and refresh token this Stripe handed out: tests search for them elsewhere."""
    return {"tokens": list(state_.minted)}
