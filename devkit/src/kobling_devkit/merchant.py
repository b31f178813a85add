"""A merchant's browser, played over plain HTTP for the integration tests: installing through the
sandbox's Stripe, asking for a connect link as the app view does, and walking e-conomic's pages."""

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from kobling_devkit.stripe_signing import body_of, install_event, sign, view_payload
from kobling_devkit.waiting import eventually, shown
from kobling_shared.settings import DEV_SECRETS
from kobling_shared.signatures import ViewAction

INSTALL = "http://127.0.0.1:8001"
ECON_AUTH = "http://127.0.0.1:8002"
STATUS = "http://127.0.0.1:8003"
SANDBOX = "http://127.0.0.1:8010"
INTERNAL = {"Authorization": f"Bearer {DEV_SECRETS['internal_api_token']}"}


def view_body(
    account: str,
    action: ViewAction,
    livemode: bool = False,
    user: str = "usr_test",
    waiting: tuple[str, bool] | None = None,
) -> str:
    """The body our Stripe App view sends for `action`: the very string Stripe signs for
    fetchStripeSignature({livemode, action[, nonce][, waiting_account, waiting_livemode]}), the
    view's fields first, then user and account. Every action but status carries a fresh nonce,
    as the view's does (app_view); an approve_join or refuse_join names the `waiting` install."""
    fields: dict[str, Any] = {"livemode": livemode, "action": action}
    if action != "status":
        fields["nonce"] = uuid.uuid4().hex
    if waiting is not None:
        fields["waiting_account"], fields["waiting_livemode"] = waiting
    return view_payload(fields, user, account)


def signed_as_view(body: str | bytes, secret: str | None = None) -> dict[str, str]:
    """Headers for `body` signed as Stripe signs for the view (the app secret unless told)."""
    signature = sign(body, secret or DEV_SECRETS["stripe_app_secret"])
    return {"Stripe-Signature": signature, "Content-Type": "application/json"}


def view_headers(
    account: str,
    action: ViewAction,
    livemode: bool = False,
    user: str = "usr_test",
    secret: str | None = None,
) -> dict[str, str]:
    """Stripe-Signature as fetchStripeSignature({livemode, action}) gets it for the view."""
    return signed_as_view(view_body(account, action, livemode, user), secret)


def view_request(
    account: str,
    action: ViewAction,
    livemode: bool = False,
    user: str = "usr_test",
    waiting: tuple[str, bool] | None = None,
) -> dict[str, Any]:
    """httpx's arguments for the request our view makes: Stripe's string as sent, and its
    signature. Never `json=`: httpx would write its own bytes, which Stripe did not sign."""
    body = view_body(account, action, livemode, user, waiting)
    return {"content": body, "headers": signed_as_view(body)}


async def install(http: httpx.AsyncClient, account: str, livemode: bool = False) -> None:
    body = body_of(install_event(account, livemode=livemode))
    headers = {"Stripe-Signature": sign(body, DEV_SECRETS["stripe_webhook_secret"])}
    response = await http.post(f"{INSTALL}/stripe/webhooks", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def installed_by_oauth(http: httpx.AsyncClient, account: str, livemode: bool = False) -> None:
    """Installs through Stripe's authorize page, as a merchant clicking our Install link: install
    then holds the account's OAuth tokens (what its Stripe broker lends), which a webhook alone
    never gives. `http` carries the browser's cookie from our link to the callback."""
    start = await http.get(f"{INSTALL}/stripe/install", params={"livemode": livemode})
    assert start.status_code == 303, start.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    form = {**query, "account": account, "decision": "allow", "webhook": "now"}
    decided = await http.post(f"{SANDBOX}/oauth/v2/authorize", data=form)
    assert decided.status_code == 303, decided.text
    back = await http.get(decided.headers["location"])
    assert back.status_code == 303, back.text
    await wait_for(http, account, lambda d: d["stripe"]["installed"], livemode=livemode)


async def connect_link(http: httpx.AsyncClient, account: str, livemode: bool = False) -> str:
    """A connect link for an account just installed. econ-auth consumes the install on its own
    and answers `not_installed` until it has; on a loaded machine that can outlast the 2 s the
    endpoint waits, so ask again, as the app view's "Try again" does, within a deadline."""
    # One click: a request that found no install is not spent, so the same one is asked again.
    request = view_request(account, "connect", livemode)
    response = await eventually(
        lambda: http.post(f"{ECON_AUTH}/api/connect-link", **request),
        lambda answer: answer.status_code != 404,
        timeout=30,
        interval=0.2,
        what=f"{account}: econ-auth never saw the install",
        show=shown,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["url"])


async def confirm_page(http: httpx.AsyncClient, link: str) -> httpx.Response:
    """Opens a connect link: our page naming the account, which sets the browser's cookie."""
    response = await http.get(link)
    assert response.status_code == 200, response.text
    return response


async def press_ok(http: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    """Submits the confirmation page's form as the browser would, with its cookie."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action and "link" in fields, page.text
    return await http.post(action.group(1), data=fields)


async def grant_page(http: httpx.AsyncClient, link: str) -> str:
    """Opens a connect link and presses OK; answers the e-conomic grant page URL."""
    response = await press_ok(http, await confirm_page(http, link))
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _flow(html: str) -> str:
    match = re.search(r'name="flow" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@dataclass
class Grant:
    callback: str  # where e-conomic sends the browser back: /economic/callback/<state>?token=…
    token: str
    agreement: int


async def add_app(
    http: httpx.AsyncClient,
    grant_url: str,
    email: str | None = None,
    company: int | None = None,
) -> Grant:
    """Logs in at the sandbox's e-conomic and presses "Add app". Without an email, as the owner
    of a company nobody else has (the sandbox makes one for each unknown email)."""
    email = email or f"owner@shop{secrets.token_hex(4)}.test"
    page = await http.get(grant_url)
    assert page.status_code == 200, page.text
    flow = _flow(page.text)
    await http.post(f"{SANDBOX}/economic/login/email", data={"flow": flow, "email": email})
    consent = await http.post(
        f"{SANDBOX}/economic/login/password", data={"flow": flow, "password": "secret"}
    )
    if "Administer" in consent.text:
        offered = re.findall(r'name="agreement" value="(\d+)"', consent.text)
        consent = await http.post(
            f"{SANDBOX}/economic/login/company",
            data={"flow": flow, "agreement": str(company or offered[0])},
        )
    agreement = int(re.findall(r"agreement (\d+)", consent.text)[0])
    done = await http.post(f"{SANDBOX}/economic/consent", data={"flow": flow, "decision": "add"})
    assert done.status_code == 303, done.text
    callback = done.headers["location"]
    return Grant(callback, parse_qs(urlsplit(callback).query)["token"][0], agreement)


async def cancel_at_economic(http: httpx.AsyncClient, grant_url: str) -> httpx.Response:
    """Logs in at e-conomic and backs out at "Add app"; answers e-conomic's response."""
    flow = _flow((await http.get(grant_url)).text)
    await http.post(
        f"{SANDBOX}/economic/login/email", data={"flow": flow, "email": "jane@acme.test"}
    )
    await http.post(f"{SANDBOX}/economic/login/password", data={"flow": flow, "password": "x"})
    return await http.post(f"{SANDBOX}/economic/consent", data={"flow": flow, "decision": "cancel"})


async def status(http: httpx.AsyncClient, account: str, livemode: bool = False) -> dict[str, Any]:
    """The account's status from the internal API; anything but a 200 fails the test."""
    response = await _get_status(http, account, livemode)
    assert response.status_code == 200, f"{account}: {response.status_code} {response.text}"
    return dict(response.json())


async def _get_status(http: httpx.AsyncClient, account: str, livemode: bool) -> httpx.Response:
    return await http.get(
        f"{STATUS}/v1/accounts/{account}", params={"livemode": livemode}, headers=INTERNAL
    )


async def wait_for(
    http: httpx.AsyncClient,
    account: str,
    check: Callable[[dict[str, Any]], bool],
    livemode: bool = False,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Polls the internal status API until `check(status)` holds and answers that status; at the
    deadline, fails the test with the last thing it saw."""
    response = await eventually(
        lambda: _get_status(http, account, livemode),
        lambda answer: answer.status_code == 200 and check(answer.json()),
        timeout=timeout,
        interval=0.05,
        what=f"{account} not as expected",
        tolerate=(httpx.HTTPError,),  # a service restarting in a fault test
        show=lambda answer: answer.json() if answer.status_code == 200 else shown(answer),
    )
    return dict(response.json())


async def connected(http: httpx.AsyncClient, account: str, **login: Any) -> Grant:
    """Connects e-conomic to an installed account through the grant page ("Add app"), and
    waits until status shows it connected. A company another test connected first (the
    sandbox's fixed ones) holds the connection: its accounts approve it, as their users would."""
    grant = await add_app(http, await grant_page(http, await connect_link(http, account)), **login)
    assert (await http.get(grant.callback)).status_code == 303
    await approve_if_held(http, account, grant.agreement)
    await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    return grant


async def approve_if_held(
    http: httpx.AsyncClient, account: str, agreement: int, livemode: bool = False
) -> None:
    """If `account`'s new connection to `agreement` is held (the company is connected to another
    Stripe account already, as the sandbox's fixed companies are by earlier tests), an account
    connected to it approves, as its user would in the app view (a signed approve_join naming
    the waiting account). Otherwise it only waits for status to show where the connect ended."""

    def settled(d: dict[str, Any]) -> bool:
        economic = d["economic"]
        held = economic.get("awaiting_consent") or {}
        return (
            held.get("agreement_number") == agreement
            or (economic["state"] == "connected" and economic["agreement_number"] == agreement)
            or economic["state"] == "failed"
        )

    doc = await wait_for(http, account, settled, livemode)
    if (doc["economic"].get("awaiting_consent") or {}).get("agreement_number") != agreement:
        return
    agreement = doc["economic"]["awaiting_consent"]["agreement_number"]
    approver = await _connected_to(http, agreement, besides=account)
    approved = await http.post(
        f"{ECON_AUTH}/api/join/approve",
        **view_request(approver[0], "approve_join", approver[1], waiting=(account, livemode)),
    )
    assert approved.status_code == 200, approved.text


async def release_company(http: httpx.AsyncClient, agreement: int) -> None:
    """Disconnects every install connected to `agreement` (each by its own signed disconnect), so
    a test that connects one of the sandbox's fixed companies starts as its first connection:
    a run before it (the database outlives a run) would otherwise hold the new one."""
    while True:
        try:
            other = await _connected_to(http, agreement, besides="")
        except AssertionError:
            return
        gone = await http.post(
            f"{ECON_AUTH}/api/disconnect", **view_request(other[0], "disconnect", other[1])
        )
        assert gone.status_code == 200, gone.text
        await wait_for(
            http, other[0], lambda d: d["economic"]["state"] != "connected", livemode=other[1]
        )


async def _connected_to(http: httpx.AsyncClient, agreement: int, besides: str) -> tuple[str, bool]:
    """An install connected to `agreement`, found through status's internal API."""
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"state": "connected", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        listed = await http.get(f"{STATUS}/v1/accounts", params=params, headers=INTERNAL)
        assert listed.status_code == 200, listed.text
        body = listed.json()
        for row in body["data"]:
            if (
                row["economic"].get("agreement_number") == agreement
                and row["account_id"] != besides
            ):
                return row["account_id"], bool(row["livemode"])
        cursor = body.get("next_cursor")
        assert cursor, f"{besides} waits for {agreement}, connected to no account status knows"


async def credentials_suspected(http: httpx.AsyncClient) -> bool:
    """Whether econ-auth suspects its e-conomic app secret (a wave of 401s): its gauge."""
    metrics = (await http.get(f"{ECON_AUTH}/metrics")).text
    return "kobling_economic_credentials_suspect 1.0" in metrics


# A customer as e-conomic's POST /customers wants it (docs/external-contracts.md E19).
ECONOMIC_CUSTOMER = {
    "name": "Hygge Kaffe ApS",
    "currency": "DKK",
    "customerGroup": {"customerGroupNumber": 1},
    "paymentTerms": {"paymentTermsNumber": 1},
    "vatZone": {"vatZoneNumber": 1},
}
