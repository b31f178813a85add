"""Issue 23 item 6 on the real stack: a second Stripe account completing e-conomic's grant for a
company already connected to another account is held (never lent) until a user of the connected
account approves; refusing ends it. The attack: e-conomic does not bind its token to our state, so
a token for the victim's company can complete someone else's connect."""

import httpx
import pytest

from kobling_devkit.merchant import (
    ECON_AUTH,
    add_app,
    connect_link,
    connected,
    grant_page,
    install,
    view_request,
    wait_for,
)
from tests.integration.test_broker import through_broker

pytestmark = pytest.mark.usefixtures("stack")


async def test_a_second_account_on_a_connected_company_is_held_until_approved(
    http: httpx.AsyncClient, account: str
) -> None:
    victim, attacker = account, account.replace("acct_", "acct_z")
    email = f"owner@{victim[5:]}.test"
    await install(http, victim)
    grant = await connected(http, victim, email=email)
    await install(http, attacker)
    second = await add_app(
        http, await grant_page(http, await connect_link(http, attacker)), email=email
    )
    assert second.agreement == grant.agreement
    assert (await http.get(second.callback)).status_code == 303

    doc = await wait_for(http, attacker, lambda d: bool(d["economic"].get("awaiting_consent")))
    assert doc["economic"]["state"] != "connected"
    assert doc["economic"]["awaiting_consent"]["agreement_number"] == grant.agreement
    lent = await through_broker(http, attacker, "/self")
    assert lent.status_code == 409 and lent.json()["error"] == "awaiting_consent", lent.text
    asked = await wait_for(http, victim, lambda d: bool(d["economic"].get("join_requests")))
    assert [r["account_id"] for r in asked["economic"]["join_requests"]] == [attacker]

    refused = await http.post(
        f"{ECON_AUTH}/api/join/refuse",
        **view_request(victim, "refuse_join", waiting=(attacker, False)),
    )
    assert refused.status_code == 200, refused.text
    doc = await wait_for(http, attacker, lambda d: d["economic"]["state"] == "failed")
    assert doc["economic"]["reason"] == "join_refused"
    assert (await through_broker(http, attacker, "/self")).status_code == 409
    # The victim's own connection never moved.
    assert (await through_broker(http, victim, "/self")).json()["status"] == 200


async def test_an_approved_join_connects_the_second_account(
    http: httpx.AsyncClient, account: str
) -> None:
    first, second = account, account.replace("acct_", "acct_w")
    email = f"owner@{first[5:]}.test"
    await install(http, first)
    await connected(http, first, email=email)
    await install(http, second)
    # connected() approves from the connected account, as its user would in the app view.
    await connected(http, second, email=email)
    assert (await through_broker(http, second, "/self")).json()["status"] == 200
