"""The signed-request contract between our Stripe App view and the backend, over real HTTP against
the running status and econ-auth: what the view signs with fetchStripeSignature({livemode, action})
is accepted, and nothing else is. Stripe's side is written out here as Stripe documents it (user_id,
account_id, then the view's extra fields, compact JSON), not through the backend's own helper, so a
backend that rebuilt the payload differently would fail here."""

import json
from typing import Any

import httpx
import pytest

from tests.conftest import APP_SECRET
from tests.merchant import (
    ECON_AUTH,
    STATUS,
    add_app,
    connect_link,
    grant_page,
    install,
    wait_for,
)
from tests.stripe_signing import sign

pytestmark = pytest.mark.usefixtures("stack")

USER = "usr_contract"
ENDPOINTS = {
    "status": f"{STATUS}/api/status",
    "connect": f"{ECON_AUTH}/api/connect-link",
    "disconnect": f"{ECON_AUTH}/api/disconnect",
}


def as_stripe_signs(user: str, account: str, livemode: bool, action: str) -> str:
    """The Stripe-Signature the view gets from fetchStripeSignature({livemode, action})."""
    extra = {"livemode": livemode, "action": action}
    payload = json.dumps({"user_id": user, "account_id": account, **extra}, separators=(",", ":"))
    return sign(payload, APP_SECRET)


def as_the_view_sends(account: str, livemode: bool, action: str) -> dict[str, Any]:
    return {"user_id": USER, "account_id": account, "livemode": livemode, "action": action}


async def ask(
    http: httpx.AsyncClient, endpoint: str, body: dict[str, Any], signature: str | None
) -> httpx.Response:
    headers = {"Stripe-Signature": signature} if signature else {}
    return await http.post(ENDPOINTS[endpoint], json=body, headers=headers)


@pytest.fixture
async def installed(http: httpx.AsyncClient, account: str) -> str:
    """An account with Kobling installed in both modes, so a refusal is never "not installed"."""
    await install(http, account, livemode=False)
    await install(http, account, livemode=True)
    for livemode in (False, True):
        doc = await wait_for(http, account, lambda d: d["stripe"]["installed"], livemode=livemode)
        assert doc.get("stripe", {}).get("installed") is True, doc
    return account


@pytest.mark.parametrize("livemode", [False, True], ids=["test mode", "live mode"])
async def test_requests_signed_as_the_sdk_signs_them_are_accepted(
    http: httpx.AsyncClient, installed: str, livemode: bool
) -> None:
    def signed(action: str) -> tuple[dict[str, Any], str]:
        body = as_the_view_sends(installed, livemode, action)
        return body, as_stripe_signs(USER, installed, livemode, action)

    status = await ask(http, "status", *signed("status"))
    assert status.status_code == 200, status.text
    assert (status.json()["account_id"], status.json()["livemode"]) == (installed, livemode)
    assert status.json()["economic"]["state"] == "not_connected"

    link = await ask(http, "connect", *signed("connect"))
    assert link.status_code == 200, link.text
    assert link.json()["url"].startswith(f"{ECON_AUTH}/economic/connect?link=")

    gone = await ask(http, "disconnect", *signed("disconnect"))
    assert gone.status_code == 200, gone.text
    assert gone.json()["state"] == "disconnected" and gone.json()["changed"] is False


ALTERATIONS = {
    # What the body claims, against a signature over (USER, account, test mode, endpoint action).
    "other mode": ({"livemode": True}, 401),
    "other account": ({"account_id": "acct_someoneelse1"}, 401),
    "other user": ({"user_id": "usr_someoneelse"}, 401),
    # The signature holds for this endpoint, but the body asks for something else.
    "other action": ({"action": "other"}, 400),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("alteration", ALTERATIONS)
async def test_a_body_that_disagrees_with_its_signature_is_refused(
    http: httpx.AsyncClient, installed: str, endpoint: str, alteration: str
) -> None:
    change, refused_with = ALTERATIONS[alteration]
    if change.get("action") == "other":
        change = {"action": next(a for a in ENDPOINTS if a != endpoint)}
    signature = as_stripe_signs(USER, installed, False, endpoint)
    body = {**as_the_view_sends(installed, False, endpoint), **change}
    response = await ask(http, endpoint, body, signature)
    assert response.status_code == refused_with, response.text
    assert "url" not in response.json() and "economic" not in response.json()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_signature_for_another_action_is_refused(
    http: httpx.AsyncClient, installed: str, endpoint: str
) -> None:
    """Body and signature agree with each other, but not with what this endpoint does."""
    for action in (a for a in ENDPOINTS if a != endpoint):
        body = as_the_view_sends(installed, False, action)
        response = await ask(http, endpoint, body, as_stripe_signs(USER, installed, False, action))
        assert response.status_code == 401, (action, response.text)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_body_without_mode_or_action_is_malformed(
    http: httpx.AsyncClient, installed: str, endpoint: str
) -> None:
    signature = as_stripe_signs(USER, installed, False, endpoint)
    full = as_the_view_sends(installed, False, endpoint)
    for broken in (
        {k: v for k, v in full.items() if k != "livemode"},
        {k: v for k, v in full.items() if k != "action"},
        {**full, "livemode": "false"},
        {**full, "action": "delete_everything"},
    ):
        response = await ask(http, endpoint, broken, signature)
        assert response.status_code == 400, (broken, response.text)


async def test_a_status_signature_replayed_at_disconnect_changes_nothing(
    http: httpx.AsyncClient, installed: str
) -> None:
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, installed))
        )
        await browser.get(grant.callback)
    doc = await wait_for(http, installed, lambda d: d["economic"]["state"] == "connected")
    assert doc["economic"]["state"] == "connected", doc

    status_signature = as_stripe_signs(USER, installed, False, "status")
    status_body = as_the_view_sends(installed, False, "status")
    replayed = await ask(http, "disconnect", status_body, status_signature)
    relabelled = await ask(
        http, "disconnect", {**status_body, "action": "disconnect"}, status_signature
    )
    test_mode_for_live = await ask(
        http,
        "disconnect",
        as_the_view_sends(installed, True, "disconnect"),
        as_stripe_signs(USER, installed, False, "disconnect"),
    )
    assert [r.status_code for r in (replayed, relabelled, test_mode_for_live)] == [401, 401, 401]

    # The grant was still held until the merchant's own signed disconnect: that one changed it.
    mine = await ask(
        http,
        "disconnect",
        as_the_view_sends(installed, False, "disconnect"),
        as_stripe_signs(USER, installed, False, "disconnect"),
    )
    assert mine.status_code == 200 and mine.json()["changed"] is True, mine.text
