"""Connecting e-conomic over real HTTP: econ-auth, the sandbox's e-conomic, Kafka and status."""

import html
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    ECON_AUTH,
    INTERNAL,
    SANDBOX,
    STATUS,
    add_app,
    approve_if_held,
    cancel_at_economic,
    confirm_page,
    connect_link,
    grant_page,
    install,
    press_ok,
    signed_as_view,
    status,
    view_body,
    view_headers,
    view_request,
    wait_for,
)
from kobling_shared.events import CONNECTIONS_TOPIC
from kobling_shared.links import dashboard_app_url

pytestmark = pytest.mark.usefixtures("stack")


def economic(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda doc: doc["economic"]["state"] == state


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A browser that does not follow redirects, so each hop can be checked."""
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as client:
        yield client


@pytest.fixture(autouse=True)
async def calm_economic(http: httpx.AsyncClient) -> None:
    await http.post(f"{SANDBOX}/_sandbox/reset")


async def set_self(http: httpx.AsyncClient, **behaviour: Any) -> None:
    response = await http.post(f"{SANDBOX}/_sandbox/economic/self-behaviour", json=behaviour)
    assert response.status_code == 200


async def connect(
    browser: httpx.AsyncClient, account: str, approve: bool = False, **login: Any
) -> httpx.Response:
    """Connect link, grant page, "Add app", callback: answers the callback's response.
    `approve`: a company already connected elsewhere approves the join (approve_if_held)."""
    grant_url = await grant_page(browser, await connect_link(browser, account))
    grant = await add_app(browser, grant_url, **login)
    answer = await browser.get(grant.callback)
    if approve:
        await approve_if_held(browser, account, grant.agreement)
    return answer


async def test_the_whole_connect_journey_ends_connected_to_the_company(
    browser, account, infra: Infra
) -> None:
    await install(browser, account)
    link = await connect_link(browser, account)
    assert link.startswith(f"{ECON_AUTH}/economic/connect?link=")
    grant_url = await grant_page(browser, link)
    assert grant_url.startswith(
        f"{SANDBOX}/economic/secure/api1/requestaccess.aspx?appPublicToken="
    )
    assert "redirectUrl=http%3A%2F%2F127.0.0.1%3A8002%2Feconomic%2Fcallback%2F" in grant_url
    assert "locale=en-US" in grant_url

    grant = await add_app(browser, grant_url, email=f"jane@{account}.test")
    company = f"{account.capitalize()} ApS"
    assert grant.callback.startswith(f"{ECON_AUTH}/economic/callback/")
    assert "?token=" in grant.callback and "state=" not in grant.callback
    back = await browser.get(grant.callback)
    assert back.status_code == 303
    assert back.headers["location"].startswith(f"{STATUS}/accounts/{account}?t=")
    assert grant.token not in back.headers["location"]
    assert back.headers["referrer-policy"] == "no-referrer"
    page = await browser.get(back.headers["location"])
    assert page.status_code == 200
    doc = await status(browser, account)
    agreement = doc["economic"]["agreement_number"]
    assert "Connected" in page.text and company in page.text and str(agreement) in page.text
    assert (doc["economic"]["state"], doc["economic"]["company_name"]) == ("connected", company)
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["type"] for e in held] == ["com.kobling.economic.connected.v1"]
    assert held[0]["data"]["agreement_number"] == agreement
    # A Danish company: its CVR is companyIdentificationNumber; vatNumber is Swedish only.
    assert held[0]["data"]["company_identification_number"] == f"{agreement}00"
    assert held[0]["data"]["vat_number"] is None
    assert held[0]["data"]["user_name"] == "Jane"


async def test_a_connect_link_works_once(browser, account) -> None:
    await install(browser, account)
    link = await connect_link(browser, account)
    page = await confirm_page(browser, link)
    assert (await press_ok(browser, page)).status_code == 303
    again = await browser.get(link)
    assert again.status_code == 400
    assert "expired or was already used" in again.text
    pressed_again = await press_ok(browser, page)
    assert pressed_again.status_code == 400
    assert "expired or was already used" in pressed_again.text


async def test_a_connect_link_needs_the_app_view_signature(browser, account) -> None:
    await install(browser, account)
    body = view_body(account, "connect")
    forged = await browser.post(
        f"{ECON_AUTH}/api/connect-link",
        content=body,
        headers=view_headers(account, "connect", secret="absec_x"),
    )
    unsigned = await browser.post(f"{ECON_AUTH}/api/connect-link", content=body)
    other = await browser.post(
        f"{ECON_AUTH}/api/connect-link",
        content=view_body("acct_someoneelse", "connect"),
        headers=view_headers(account, "connect"),
    )
    assert [r.status_code for r in (forged, unsigned, other)] == [401, 401, 401]
    # Signed, so past the signature, but not JSON: a 400 that changes nothing.
    broken = await browser.post(
        f"{ECON_AUTH}/api/connect-link", content=b"{not json", headers=signed_as_view(b"{not json")
    )
    assert broken.status_code == 400


async def test_an_account_without_the_app_gets_no_connect_link(browser, account) -> None:
    response = await browser.post(
        f"{ECON_AUTH}/api/connect-link",
        **view_request(account, "connect"),
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_installed"


async def test_cancelling_at_e_conomic_connects_nothing_and_a_new_try_works(
    browser, account
) -> None:
    await install(browser, account)
    backed_out = await cancel_at_economic(
        browser, await grant_page(browser, await connect_link(browser, account))
    )
    # e-conomic sends the browser back without a token: our page says so, not "state invalid".
    assert backed_out.status_code == 303
    callback = backed_out.headers["location"]
    assert callback.startswith(f"{ECON_AUTH}/economic/callback/") and "token" not in callback
    page = await browser.get(callback)
    assert page.status_code == 200 and "You cancelled connecting e-conomic" in page.text
    assert "Try again" in page.text and "expired" not in page.text
    # "Try again" leads to the app in the Dashboard (a signed request starts the next attempt):
    # the callback URL alone, which a browser's history holds, never mints a connect link.
    back_to_stripe = dashboard_app_url(f"{SANDBOX}/dashboard", "com.kobling.app", account, False)
    assert f'href="{html.escape(back_to_stripe)}"' in page.text
    assert "/economic/connect" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert (await status(browser, account))["economic"]["state"] == "not_connected"
    back = await connect(browser, account)
    assert back.status_code == 303
    assert (await wait_for(browser, account, economic("connected")))["economic"][
        "state"
    ] == "connected"


async def test_a_replayed_state_connects_nothing(browser, account) -> None:
    await install(browser, account)
    grant_url = await grant_page(browser, await connect_link(browser, account))
    grant = await add_app(browser, grant_url)
    assert (await browser.get(grant.callback)).status_code == 303
    replay = await browser.get(grant.callback)
    assert replay.status_code == 400
    assert "expired or was already used" in replay.text


async def test_a_forged_or_missing_state_connects_nothing(browser, account) -> None:
    await install(browser, account)
    grant = await add_app(browser, await grant_page(browser, await connect_link(browser, account)))
    forged = await browser.get(
        f"{ECON_AUTH}/economic/callback/made-up", params={"token": grant.token}
    )
    missing = await browser.get(f"{ECON_AUTH}/economic/callback", params={"token": grant.token})
    assert forged.status_code == 400 and missing.status_code == 400
    assert "expired or was already used" in forged.text
    assert "Start from your Stripe Dashboard" in missing.text
    assert grant.token not in forged.text + missing.text
    assert (await status(browser, account))["economic"]["state"] == "not_connected"


async def test_a_callback_with_the_state_in_its_query_gets_a_clear_page(browser, account) -> None:
    """A grant page opened before the state moved into the path comes back to the old URL: it
    connects nothing and says where to start again."""
    await install(browser, account)
    grant = await add_app(browser, await grant_page(browser, await connect_link(browser, account)))
    state = urlsplit(grant.callback).path.rsplit("/", 1)[1]
    old = await browser.get(
        f"{ECON_AUTH}/economic/callback", params={"state": state, "token": grant.token}
    )
    assert old.status_code == 400 and "started before an update of Kobling" in old.text
    assert grant.token not in old.text and state not in old.text
    doc = await wait_for(browser, account, lambda d: True)
    assert doc["economic"]["state"] == "not_connected"
    # The attempt itself is untouched: its own callback still connects.
    assert (await browser.get(grant.callback)).status_code == 303
    await wait_for(browser, account, economic("connected"))


async def test_a_state_completed_with_another_persons_token_connects_nothing(
    browser, account
) -> None:
    """The attacker's state, the victim's token: the connection-CSRF. The state was confirmed
    in the attacker's browser, so the victim's browser, which brings the victim's grant back,
    connects nothing (tests/integration/test_who_connects.py has the other ways in)."""
    victim_account, attacker_account = account, account.replace("acct_", "acct_x")
    await install(browser, attacker_account)
    lure = await grant_page(browser, await connect_link(browser, attacker_account))
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as victims_browser:
        victim_grant = await add_app(victims_browser, lure, email=f"jane@{victim_account}.test")
        landed = await victims_browser.get(victim_grant.callback)
    assert landed.status_code == 400
    assert "Start again from your Stripe Dashboard" in landed.text
    assert (await status(browser, attacker_account))["economic"]["state"] == "not_connected"


async def test_e_conomic_failing_then_recovering(browser, http, account) -> None:
    await install(browser, account)
    await set_self(http, mode="error500")
    back = await connect(browser, account)
    assert back.status_code == 303
    failed = await wait_for(browser, account, economic("failed"))
    assert (failed["economic"]["state"], failed["economic"]["reason"]) == (
        "failed",
        "economic_unavailable",
    )
    page = await browser.get(back.headers["location"])
    assert "e-conomic did not answer" in page.text and "Try again" in page.text

    await set_self(http, mode="ok")
    await connect(browser, account)
    assert (await wait_for(browser, account, economic("connected")))["economic"][
        "state"
    ] == "connected"


async def test_rate_limits_are_retried_within_bounds(browser, http, account) -> None:
    await install(browser, account)
    await set_self(http, mode="rate_limited", times=2, retry_after=1)
    await connect(browser, account)
    assert (await wait_for(browser, account, economic("connected")))["economic"][
        "state"
    ] == "connected"
    assert (await http.get(f"{SANDBOX}/_sandbox/economic/calls")).json()["self_calls"] == 3


async def test_a_grant_e_conomic_refuses_is_not_stored(browser, http, account) -> None:
    await install(browser, account)
    grant = await add_app(browser, await grant_page(browser, await connect_link(browser, account)))
    await revoke(http, grant.agreement)
    await browser.get(grant.callback)
    failed = await wait_for(browser, account, economic("failed"))
    assert failed["economic"]["reason"] == "grant_rejected"


async def revoke(http: httpx.AsyncClient, agreement: int) -> None:
    response = await http.post(
        f"{SANDBOX}/_sandbox/economic/revoke", json={"agreement_number": agreement}
    )
    assert response.json()["revoked"] >= 1


async def check(http: httpx.AsyncClient, account: str) -> dict[str, Any]:
    response = await http.post(
        f"{ECON_AUTH}/internal/grants/check", json={"account_id": account}, headers=INTERNAL
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_revoked_grant_is_found_by_the_check_only_after_repeated_refusals(
    browser, http, account
) -> None:
    await install(browser, account)
    await connect(browser, account)
    agreement = (await wait_for(browser, account, economic("connected")))["economic"][
        "agreement_number"
    ]
    assert (await check(http, account))["result"] == "valid"

    await set_self(http, mode="error500")
    outage = await check(http, account)
    assert (outage["result"], outage["state"], outage["revocation_strikes"]) == (
        "unavailable",
        "connected",
        0,
    )
    await set_self(http, mode="ok")

    await revoke(http, agreement)
    first, second = await check(http, account), await check(http, account)
    assert (first["state"], second["state"]) == ("connected", "connected")
    third = await check(http, account)
    assert (third["result"], third["state"]) == ("revoked", "disconnected")
    gone = await wait_for(browser, account, economic("disconnected"))
    assert gone["economic"]["reason"] == "grant_revoked"


async def test_reconnecting_to_another_company_replaces_the_grant(browser, account) -> None:
    await install(browser, account)
    await connect(browser, account, True, email="accountant@books.test", company=234567)
    await wait_for(browser, account, lambda d: d["economic"].get("agreement_number") == 234567)
    await connect(browser, account, True, email="accountant@books.test", company=345678)
    doc = await wait_for(
        browser, account, lambda d: d["economic"].get("agreement_number") == 345678
    )
    assert (doc["economic"]["state"], doc["economic"]["company_name"]) == (
        "connected",
        "Fjord Handel A/S",
    )


async def test_disconnecting_forgets_the_grant(browser, account, infra: Infra) -> None:
    await install(browser, account)
    await connect(browser, account)
    await wait_for(browser, account, economic("connected"))
    response = await browser.post(
        f"{ECON_AUTH}/api/disconnect",
        **view_request(account, "disconnect"),
    )
    assert (
        response.status_code == 200 and "Settings → Extensions → Apps" in response.json()["message"]
    )
    doc = await wait_for(browser, account, economic("disconnected"))
    assert doc["economic"]["reason"] == "merchant_request"
    unsigned = await browser.post(
        f"{ECON_AUTH}/api/disconnect", content=view_body(account, "disconnect")
    )
    assert unsigned.status_code == 401


async def test_uninstalling_the_app_deletes_the_grant(browser, http, account, infra: Infra) -> None:
    await install(browser, account)
    await connect(browser, account)
    await wait_for(browser, account, economic("connected"))
    sent = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks",
        json={"type": "account.application.deauthorized", "account": account, "livemode": False},
    )
    assert sent.json()["status_code"] == 200
    doc = await wait_for(
        browser,
        account,
        lambda d: d["economic"]["state"] == "disconnected" and not d["stripe"]["installed"],
    )
    assert doc["economic"]["reason"] == "app_uninstalled"
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert held[-1]["data"]["reason"] == "app_uninstalled"


async def test_one_agreement_on_two_stripe_accounts_is_surfaced(browser, account) -> None:
    first, second = account, account.replace("acct_", "acct_y")
    for merchant in (first, second):
        await install(browser, merchant)
        await connect(browser, merchant, True, email=f"owner@{first}.test")
    doc = await wait_for(
        browser, second, lambda d: d["economic"].get("warning") == "agreement_shared"
    )
    assert doc["economic"]["shared_with"] == [first]
    page = await browser.get(
        (await connect(browser, second, email=f"owner@{first}.test")).headers["location"]
    )
    assert "also connected to 1 other Stripe account(s)" in page.text
    assert first not in page.text  # whose accounts they are stays with operators


async def test_fifty_callbacks_with_one_state_connect_once(browser, account, infra: Infra) -> None:
    import asyncio

    await install(browser, account)
    grant = await add_app(browser, await grant_page(browser, await connect_link(browser, account)))
    answers = await asyncio.gather(*(browser.get(grant.callback) for _ in range(50)))
    assert sorted(r.status_code for r in answers) == [303] + [400] * 49
    await wait_for(browser, account, economic("connected"))
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["type"] for e in held] == ["com.kobling.economic.connected.v1"]


async def test_e_conomic_too_slow_gives_a_clear_page_and_no_stuck_state(
    browser, http, account
) -> None:
    await install(browser, account)
    await set_self(http, mode="slow", delay_seconds=4)
    back = await connect(browser, account)
    failed = await wait_for(browser, account, economic("failed"))
    assert failed["economic"]["reason"] == "economic_unavailable"
    assert "Try again" in (await browser.get(back.headers["location"])).text
    await set_self(http, mode="ok")
    await connect(browser, account)
    assert (await wait_for(browser, account, economic("connected")))["economic"][
        "state"
    ] == "connected"
