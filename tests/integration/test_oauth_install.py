"""The OAuth install through the sandbox's Stripe: our state, the code exchange, the redirects."""

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import INSTALL, SANDBOX, STATUS, wait_for
from kobling_devkit.stripe_signing import body_of, install_event, sign
from kobling_shared.crypto import TokenCipher
from kobling_shared.events import INSTALLS_TOPIC, account_key, now
from kobling_shared.links import dashboard_app_url
from kobling_shared.settings import DEV_SECRETS

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as client:
        yield client


async def authorize(
    browser: httpx.AsyncClient,
    authorize_url: str,
    account: str,
    decision: str = "allow",
    webhook: str = "now",
) -> httpx.Response:
    """Stripe's authorize page: the merchant picks the account and presses Connect (or Cancel).
    The link's client id decides the mode."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    form = {**query, "account": account, "decision": decision, "webhook": webhook}
    answer = await browser.post(f"{SANDBOX}/oauth/v2/authorize", data=form)
    assert answer.status_code == 303, answer.text
    return await browser.get(answer.headers["location"])


async def held_install_webhook(browser: httpx.AsyncClient, account: str) -> str:
    held = (
        await browser.get(f"{SANDBOX}/_sandbox/stripe/webhooks/held", params={"account": account})
    ).json()
    assert len(held["event_ids"]) == 1, held
    return str(held["event_ids"][0])


async def deliver_held(browser: httpx.AsyncClient, event_id: str) -> None:
    sent = await browser.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks/deliver", json={"event_ids": [event_id]}
    )
    assert sent.json()["status_codes"][event_id] == [200]


async def test_an_install_we_started_leads_to_the_onboarding_page(
    browser, account, infra: Infra
) -> None:
    start = await browser.get(f"{INSTALL}/stripe/install")
    assert start.status_code == 303 and "state=" in start.headers["location"]
    # Stripe's install webhook comes after the redirect this time.
    back = await authorize(browser, start.headers["location"], account, webhook="held")
    assert back.status_code == 303
    assert back.headers["location"].startswith(f"{STATUS}/accounts/{account}?t=")
    page = await browser.get(back.headers["location"])
    assert "Kobling is installed" in page.text and "Connect e-conomic" in page.text
    doc = await wait_for(browser, account, lambda d: d["stripe"]["installed"])
    assert doc["stripe"]["installed"] is True
    await deliver_held(browser, await held_install_webhook(browser, account))
    # The redirect and the webhook Stripe sends for the same install: one event between them.
    held = await events_for(infra.kafka, INSTALLS_TOPIC, account)
    assert [e["data"]["via"] for e in held] == ["oauth"], held


async def test_an_install_whose_webhook_came_first_publishes_once(
    browser, account, infra: Infra
) -> None:
    start = await browser.get(f"{INSTALL}/stripe/install")
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    form = {**query, "account": account, "decision": "allow", "webhook": "held"}
    answer = await browser.post(f"{SANDBOX}/oauth/v2/authorize", data=form)
    webhook = await held_install_webhook(browser, account)
    await deliver_held(browser, webhook)
    back = await browser.get(answer.headers["location"])
    assert back.status_code == 303
    # The merchant's page waits for the webhook's event, the one that announced the install.
    assert f"after={webhook}" in back.headers["location"]
    held = await events_for(infra.kafka, INSTALLS_TOPIC, account)
    assert [e["id"] for e in held] == [webhook], held


async def test_a_marketplace_install_without_our_state_never_hands_out_a_connect_link(
    browser, account
) -> None:
    marketplace = await browser.get(f"{SANDBOX}/")
    authorize_url = marketplace.text.split('href="')[1].split('"')[0].replace("&amp;", "&")
    back = await authorize(browser, f"{SANDBOX}{authorize_url}", account)
    assert back.status_code == 303
    target = back.headers["location"]
    assert target == (
        f"{SANDBOX}/dashboard/{account}/test/dashboard"
        "?apps[com.kobling.app][drawer]=stripe.dashboard.drawer.default"
    )
    assert "connect" not in target and "t=" not in target


async def test_a_cancelled_install_says_so_and_installs_nothing(browser, account) -> None:
    start = await browser.get(f"{INSTALL}/stripe/install")
    back = await authorize(browser, start.headers["location"], account, decision="deny")
    assert back.status_code == 400 and "Kobling was not installed" in back.text
    assert (await browser.get(f"{STATUS}/v1/accounts/{account}")).status_code == 401


async def test_a_replayed_code_or_state_installs_nothing_more(browser, account) -> None:
    start = await browser.get(f"{INSTALL}/stripe/install")
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    form = {**query, "account": account, "decision": "allow"}
    answer = await browser.post(f"{SANDBOX}/oauth/v2/authorize", data=form)
    callback = answer.headers["location"]
    assert (await browser.get(callback)).status_code == 303
    replay = await browser.get(callback)
    assert replay.status_code == 400 and "expired" in replay.text
    code = parse_qs(urlsplit(callback).query)["code"][0]
    stateless = await browser.get(f"{INSTALL}/stripe/oauth/callback", params={"code": code})
    assert stateless.status_code == 400 and "This authorization has expired" in stateless.text


async def test_access_tokens_refresh_and_rotation_never_loses_the_refresh_token(
    browser, account, infra: Infra
) -> None:
    """Two install processes refresh one install's expired token at once (each with its own
    database client, so only the cross-process guard stands between them): both get a working
    token, and the vault keeps the refresh token that Stripe still honours."""
    start = await browser.get(f"{INSTALL}/stripe/install")
    await authorize(browser, start.headers["location"], account)
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    tokens = client["kobling_install"]["stripe_tokens"]
    key = account_key(account, False)
    try:
        stored = await tokens.find_one({"_id": key})
        assert stored and not stored["refresh_token"].startswith("rt_")
        await tokens.update_one({"_id": key}, {"$set": {"access_expires_at": now()}})
        first, second = await race(account, infra, racers=2)
        assert first.startswith("token sk_test_") and first == second, (first, second)
        # The refresh token kept is the live one: one more refresh still works.
        await tokens.update_one({"_id": key}, {"$set": {"access_expires_at": now()}})
        (third,) = await race(account, infra, racers=1)
        assert third.startswith("token sk_test_") and third != first, third
    finally:
        await client.close()


async def race(account: str, infra: Infra, racers: int) -> list[str]:
    """`racers` processes ask for the access token together; answers what each printed."""
    env = {**os.environ, "MONGODB_URL": infra.mongodb}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.refresher",
            account,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for _ in range(racers)
    ]
    for process in processes:  # each has its clients open: start them together
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
    answers = await asyncio.wait_for(
        asyncio.gather(*(process.communicate(b"go\n") for process in processes)), 60
    )
    return [out.decode().strip() for out, _ in answers]


async def stripe_tokens_of(infra: Infra, account: str, livemode: bool) -> dict | None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    try:
        found = await client["kobling_install"]["stripe_tokens"].find_one(
            {"_id": account_key(account, livemode)}
        )
        return dict(found) if found else None
    finally:
        await client.close()


@pytest.mark.parametrize("mode", ["live", "test"])
async def test_the_code_is_exchanged_with_the_key_of_the_install_s_mode(
    browser, account, infra: Infra, mode: str
) -> None:
    """Stripe knows a live install's code only under the live key, a test one's only under the
    test key: an install we started carries its mode in the state."""
    livemode = mode == "live"
    start = await browser.get(f"{INSTALL}/stripe/install", params={"livemode": livemode})
    back = await authorize(browser, start.headers["location"], account)
    assert back.status_code == 303, back.text
    assert back.headers["location"].startswith(f"{STATUS}/accounts/{account}?t=")
    doc = await wait_for(browser, account, lambda d: d["stripe"]["installed"], livemode=livemode)
    assert doc["livemode"] is livemode
    assert await stripe_tokens_of(infra, account, livemode) is not None


async def test_a_marketplace_install_in_either_mode_finds_its_key(browser, account) -> None:
    """Without our state the mode is unknown: the live key first, then the test key."""
    marketplace = await browser.get(f"{SANDBOX}/")
    # "Install app" (test mode), then "Install in live mode": each mode has its own client id.
    links = [p.split('"')[0].replace("&amp;", "&") for p in marketplace.text.split('href="')[1:3]]
    for authorize_url, livemode in zip(links, (False, True), strict=True):
        back = await authorize(browser, f"{SANDBOX}{authorize_url}", account)
        assert back.status_code == 303, back.text
        assert back.headers["location"] == dashboard_app_url(
            f"{SANDBOX}/dashboard", "com.kobling.app", account, livemode
        )


async def test_an_uninstall_deletes_the_install_s_stripe_tokens(
    browser, http, account, infra: Infra
) -> None:
    start = await browser.get(f"{INSTALL}/stripe/install")
    await authorize(browser, start.headers["location"], account)
    assert await stripe_tokens_of(infra, account, False) is not None
    # An uninstall from before this install, delivered late, leaves the tokens alone.
    stale = body_of(
        install_event(
            account, kind="account.application.deauthorized", created=int(time.time()) - 3600
        )
    )
    headers = {"Stripe-Signature": sign(stale, DEV_SECRETS["stripe_test_webhook_secret"])}
    assert (
        await http.post(f"{INSTALL}/stripe/webhooks", content=stale, headers=headers)
    ).status_code == 200
    assert await stripe_tokens_of(infra, account, False) is not None
    sent = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks",
        json={"type": "account.application.deauthorized", "account": account, "livemode": False},
    )
    assert sent.json()["status_code"] == 200
    assert await stripe_tokens_of(infra, account, False) is None


async def test_reseal_moves_every_stripe_token_under_the_newest_key(
    browser, account, infra: Infra
) -> None:
    import base64
    import os
    import subprocess
    import sys

    from kobling_shared.crypto import InvalidToken
    from kobling_shared.settings import DEV_SECRETS

    start = await browser.get(f"{INSTALL}/stripe/install")
    await authorize(browser, start.headers["location"], account)
    old, new = DEV_SECRETS["token_encryption_keys"], base64.urlsafe_b64encode(os.urandom(32))

    def reseal(keys: str) -> str:
        env = {**os.environ, "MONGODB_URL": infra.mongodb, "TOKEN_ENCRYPTION_KEYS": keys}
        ran = subprocess.run(
            [sys.executable, "-m", "kobling_install.reseal"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr
        return ran.stdout

    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    tokens = client["kobling_install"]["stripe_tokens"]
    try:
        out = reseal(f"{new.decode()},{old}")
        assert int(out.split("tokens of ")[1].split(" ")[0]) >= 1, out
        stored = await tokens.find_one({"_id": account_key(account, False)})
        assert stored is not None
        assert TokenCipher(new.decode()).decrypt(stored["refresh_token"]).startswith("rt_")
        with pytest.raises(InvalidToken):
            TokenCipher(old).decrypt(stored["access_token"])
        assert reseal(f"{new.decode()},{old}").startswith("re-sealed the Stripe tokens of 0 ")
    finally:
        reseal(f"{old},{new.decode()}")  # back under the key the running stack holds
        await client.close()
