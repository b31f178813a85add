"""Who can connect what: the connection-CSRF attacks of issue 12, each played over real HTTP
with two browsers (two cookie jars) against the running services, Kafka and the database.

The attacker holds a Stripe account of their own and wants a victim's e-conomic books connected
to it. Each test is one way they could try, and asserts what the victim sees and what got stored.
"""

import re
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    ECON_AUTH,
    INSTALL,
    SANDBOX,
    STATUS,
    add_app,
    approve_if_held,
    confirm_page,
    connect_link,
    grant_page,
    install,
    press_ok,
    view_request,
    wait_for,
)
from kobling_devkit.stripe_signing import body_of, install_event, new_account, sign
from kobling_devkit.waiting import eventually, shown
from kobling_shared.events import CONNECTIONS_TOPIC
from kobling_shared.settings import DEV_SECRETS

pytestmark = pytest.mark.usefixtures("stack")

START_AGAIN = "Start again from your Stripe Dashboard"


def _browser() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=20, follow_redirects=False)


@pytest.fixture
async def attacker() -> AsyncIterator[httpx.AsyncClient]:
    async with _browser() as client:
        yield client


@pytest.fixture
async def victim() -> AsyncIterator[httpx.AsyncClient]:
    async with _browser() as client:
        yield client


@pytest.fixture(autouse=True)
async def calm_economic(http: httpx.AsyncClient) -> None:
    await http.post(f"{SANDBOX}/_sandbox/reset")


async def send(http: httpx.AsyncClient, account: str, kind: str, created: int) -> None:
    body = body_of(install_event(account, kind=kind, created=created))
    headers = {"Stripe-Signature": sign(body, DEV_SECRETS["stripe_webhook_secret"])}
    response = await http.post(f"{INSTALL}/stripe/webhooks", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_grant_page_url_sent_to_a_victim_connects_nothing(
    attacker, victim, account, infra: Infra
) -> None:
    # The attacker starts a connection for their own account, stops before e-conomic and sends
    # the grant page URL (with our state in its redirect) to the victim, who adds the app.
    await install(attacker, account)
    lure = await grant_page(attacker, await connect_link(attacker, account))
    grant = await add_app(victim, lure)
    landed = await victim.get(grant.callback)

    assert landed.status_code == 400
    assert START_AGAIN in landed.text and grant.token not in landed.text
    # Read once the install is projected: the connect link no longer trails it by a poll.
    projected = await wait_for(victim, account, lambda doc: True)
    assert projected["economic"]["state"] == "not_connected"
    assert await events_for(infra.kafka, CONNECTIONS_TOPIC, account) == []
    # The state was not spent by the wrong browser: the one that started can still finish.
    own = await add_app(attacker, lure)
    assert (await attacker.get(own.callback)).status_code == 303


async def test_a_connect_link_names_the_account_before_anything_happens(
    attacker, victim, account
) -> None:
    # A fresh link from the attacker's own app view, sent to a victim: opening it changes
    # nothing, and the page says whose Stripe account would be connected.
    await install(attacker, account)
    page = await confirm_page(victim, await connect_link(attacker, account))
    assert account in page.text and "If this is not your Stripe account" in page.text
    assert "roles include the role Kobling requires" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    # Read once the install is projected: the connect link no longer trails it by a poll.
    projected = await wait_for(victim, account, lambda doc: True)
    assert projected["economic"]["state"] == "not_connected"


async def test_another_sites_form_cannot_press_ok(attacker, victim, account) -> None:
    # The attacker's site auto-submits the confirmation form in the victim's browser. A
    # cross-site POST carries no SameSite=Lax cookie, so the victim's browser presents none.
    await install(attacker, account)
    link = await connect_link(attacker, account)
    forged = await victim.post(f"{ECON_AUTH}/economic/connect", data={"link": link})
    assert forged.status_code == 400 and START_AGAIN in forged.text
    # A confirm value copied from the attacker's own page does not fit the victim's cookie.
    attacker_page = await confirm_page(attacker, link)
    await confirm_page(victim, link)
    copied = dict(re.findall(r'name="(\w+)" value="([^"]*)"', attacker_page.text))
    stolen = await victim.post(f"{ECON_AUTH}/economic/connect", data=copied)
    assert stolen.status_code == 400 and START_AGAIN in stolen.text
    # Neither spent the link: its own browser still goes on to e-conomic.
    assert (await press_ok(attacker, attacker_page)).status_code == 303


async def test_an_oauth_install_url_sent_to_a_victim_installs_nothing(
    attacker, victim, infra: Infra
) -> None:
    # The attacker authorizes their own account and stops at the redirect back to us.
    account = new_account()
    start = await attacker.get(f"{INSTALL}/stripe/install")
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    form = {**query, "account": account, "decision": "allow"}
    authorized = await attacker.post(f"{SANDBOX}/oauth/v2/authorize", data=form)
    lure = authorized.headers["location"]
    assert "code=" in lure and "state=" in lure

    landed = await victim.get(lure)
    assert landed.status_code == 400 and START_AGAIN in landed.text
    assert "/accounts/" not in landed.text
    # The victim's visit exchanged nothing: Stripe's code is single use, and the attacker's own
    # browser can still spend it. (Stripe's install webhook for the attacker's account may land
    # on the topic meanwhile: that is the attacker's own install, not the victim's doing.)
    own = await attacker.get(lure)
    assert own.status_code == 303
    assert own.headers["location"].startswith(f"{STATUS}/accounts/{account}?")


async def test_the_merchant_page_is_read_only_and_short_lived(attacker, account) -> None:
    await install(attacker, account)
    await wait_for(attacker, account, lambda d: d["stripe"]["installed"])
    signer = URLSafeTimedSerializer(DEV_SECRETS["page_link_key"], salt="kobling.status-page")
    fresh = signer.dumps({"a": account, "l": False})
    page = await attacker.get(f"{STATUS}/accounts/{account}", params={"t": fresh})
    assert page.status_code == 200 and "Connect e-conomic" in page.text
    # It mints nothing: no connect link, no disconnect form, no link to a fresh page.
    assert "/economic/connect" not in page.text and "<form" not in page.text
    assert "t=" not in page.text.split("<main>")[1]
    # The old way to disconnect from the page is gone: actions are signed view requests.
    assert (await attacker.post(f"{ECON_AUTH}/economic/disconnect")).status_code in (404, 405)

    class Stale(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 16 * 60

    stale = URLSafeTimedSerializer(
        DEV_SECRETS["page_link_key"], salt="kobling.status-page", signer=Stale
    )
    old = await attacker.get(
        f"{STATUS}/accounts/{account}", params={"t": stale.dumps({"a": account, "l": False})}
    )
    assert old.status_code == 410 and account not in old.text


async def until_econ_auth_answers(http: httpx.AsyncClient, account: str, code: int) -> None:
    """econ-auth consumes installs on its own: its connect-link answer shows what it applied."""
    await eventually(
        lambda: http.post(f"{ECON_AUTH}/api/connect-link", **view_request(account, "connect")),
        lambda answer: answer.status_code == code,
        timeout=20,
        what=f"econ-auth did not answer {code}",
        show=shown,
    )


async def test_after_an_uninstall_nothing_minted_before_it_connects(victim, account) -> None:
    # Stripe's `created` has seconds: the three events are a second apart, as real ones are.
    t = int(time.time())
    await send(victim, account, "account.application.authorized", t - 2)
    link = await connect_link(victim, account)
    confirmed = await grant_page(victim, await connect_link(victim, account))
    await send(victim, account, "account.application.deauthorized", t - 1)
    await until_econ_auth_answers(victim, account, 404)  # it has applied the uninstall
    await send(victim, account, "account.application.authorized", t)
    await until_econ_auth_answers(victim, account, 200)

    opened = await victim.get(link)
    assert opened.status_code == 400 and "expired or was already used" in opened.text
    grant = await add_app(victim, confirmed)
    landed = await victim.get(grant.callback)
    assert landed.status_code == 400
    # Read once the install is projected: the connect link no longer trails it by a poll.
    projected = await wait_for(victim, account, lambda doc: True)
    assert projected["economic"]["state"] == "not_connected"
    # A link minted after the reinstall works.
    fresh = await add_app(victim, await grant_page(victim, await connect_link(victim, account)))
    assert (await victim.get(fresh.callback)).status_code == 303


async def test_a_shared_company_is_told_to_both_and_names_neither(
    attacker, victim, account
) -> None:
    first, second = account, new_account()
    email = f"owner@{first[5:]}.test"
    for browser, who in ((victim, first), (attacker, second)):
        await install(browser, who)
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, who)), email=email
        )
        assert (await browser.get(grant.callback)).status_code == 303
        await approve_if_held(victim, who, grant.agreement)

    for who, other in ((first, second), (second, first)):
        doc = await wait_for(
            victim, who, lambda d: d["economic"].get("warning") == "agreement_shared"
        )
        assert doc["economic"]["warning"] == "agreement_shared"
        view = await victim.post(
            f"{STATUS}/api/status",
            **view_request(who, "status"),
        )
        assert view.status_code == 200
        assert view.json()["economic"]["shared_with_count"] == 1
        assert other not in view.text
