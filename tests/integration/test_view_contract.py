"""The signed-request contract between our Stripe App view and the backend, over real HTTP against
the running status and econ-auth: what the view signs with fetchStripeSignature({livemode, action})
is accepted, and nothing else is. Stripe's side is written out here as Stripe documents it
(`JSON.stringify({...payload, user_id, account_id})`: the view's fields first, then user_id, then
account_id) and sent as those very bytes, not through the backend's own code, so a backend that
rebuilt or re-serialised the payload would fail here."""

import json
from typing import Any

import httpx
import pytest

from kobling_devkit.merchant import (
    ECON_AUTH,
    STATUS,
    add_app,
    connect_link,
    grant_page,
    install,
    wait_for,
)
from kobling_devkit.stripe_signing import sign
from tests.conftest import APP_SECRET

pytestmark = pytest.mark.usefixtures("stack")

USER = "usr_contract"
ENDPOINTS = {
    "status": f"{STATUS}/api/status",
    "connect": f"{ECON_AUTH}/api/connect-link",
    "disconnect": f"{ECON_AUTH}/api/disconnect",
}


def stripes_string(body: dict[str, Any]) -> str:
    """JavaScript's JSON.stringify of `body`, keys in their order: what Stripe signs."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def as_the_view_sends(account: str, livemode: bool, action: str) -> dict[str, Any]:
    """{...payload, user_id, account_id} for fetchStripeSignature({livemode, action})."""
    return {"livemode": livemode, "action": action, "user_id": USER, "account_id": account}


def as_stripe_signs(user: str, account: str, livemode: bool, action: str) -> str:
    """The Stripe-Signature the view gets from fetchStripeSignature({livemode, action})."""
    extra = {"livemode": livemode, "action": action}
    return sign(stripes_string({**extra, "user_id": user, "account_id": account}), APP_SECRET)


async def ask(
    http: httpx.AsyncClient, endpoint: str, body: dict[str, Any] | str, signature: str | None
) -> httpx.Response:
    """Posts the body as the view does: the string itself, never re-encoded by httpx."""
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["Stripe-Signature"] = signature
    content = body if isinstance(body, str) else stripes_string(body)
    return await http.post(ENDPOINTS[endpoint], content=content, headers=headers)


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
    # What the body claims, against a signature over (USER, account, test mode, endpoint action):
    # any byte changed after signing is a body Stripe did not sign.
    "other mode": ({"livemode": True}, 401),
    "other account": ({"account_id": "acct_someoneelse1"}, 401),
    "other user": ({"user_id": "usr_someoneelse"}, 401),
    "other action": ({"action": "other"}, 401),
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
async def test_the_old_order_user_id_first_is_refused(
    http: httpx.AsyncClient, installed: str, endpoint: str
) -> None:
    """What Kobling once rebuilt and its sandbox signed; the real Dashboard never signs it."""
    stripe_order = as_the_view_sends(installed, False, endpoint)
    old = {k: stripe_order[k] for k in ("user_id", "account_id", "livemode", "action")}
    signed_old = sign(stripes_string(old), APP_SECRET)
    signed_stripe = as_stripe_signs(USER, installed, False, endpoint)
    assert (await ask(http, endpoint, stripe_order, signed_old)).status_code == 401
    assert (await ask(http, endpoint, old, signed_stripe)).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_the_same_json_with_other_bytes_is_refused(
    http: httpx.AsyncClient, installed: str, endpoint: str
) -> None:
    """The backend verifies the bytes received, not its own re-serialisation of them."""
    spaced = json.dumps(as_the_view_sends(installed, False, endpoint))
    response = await ask(http, endpoint, spaced, as_stripe_signs(USER, installed, False, endpoint))
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_signed_body_without_mode_or_action_is_malformed(
    http: httpx.AsyncClient, installed: str, endpoint: str
) -> None:
    """Each body signed over itself, so the signature holds and the shape is what is judged."""
    full = as_the_view_sends(installed, False, endpoint)
    for broken in (
        {k: v for k, v in full.items() if k != "livemode"},
        {k: v for k, v in full.items() if k != "action"},
        {**full, "livemode": "false"},
        {**full, "action": "delete_everything"},
        {**full, "extra": True},
    ):
        response = await ask(http, endpoint, broken, sign(stripes_string(broken), APP_SECRET))
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


@pytest.mark.parametrize("endpoint", ["connect", "disconnect"])
async def test_a_signed_request_replayed_mints_and_changes_nothing(
    http: httpx.AsyncClient, installed: str, endpoint: str
) -> None:
    """Stripe's signature holds for 300 s: a captured connect or disconnect is spent by its
    first use, so its replay mints no link and disconnects nobody again."""
    body = as_the_view_sends(installed, False, endpoint)
    signature = as_stripe_signs(USER, installed, False, endpoint)
    first = await ask(http, endpoint, body, signature)
    replayed = await ask(http, endpoint, body, signature)
    assert first.status_code == 200, first.text
    assert replayed.status_code == 409, replayed.text
    assert replayed.json()["error"] == "signature_used" and "url" not in replayed.json()
