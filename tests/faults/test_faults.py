"""Faults survived: the broker or the database down, a service killed mid-flight. Each scenario
counts what was lost and what was duplicated; both must be zero."""

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import records_on
from kobling_devkit.merchant import (
    ECON_AUTH,
    INSTALL,
    INTERNAL,
    STATUS,
    add_app,
    connect_link,
    grant_page,
    install,
    wait_for,
)
from kobling_devkit.stack import Service, kill, start, stop_all, wait_ready
from kobling_devkit.stripe_signing import body_of, install_event, new_account, sign
from kobling_devkit.waiting import eventually, shown
from kobling_shared.events import CONNECTIONS_TOPIC, INSTALLS_TOPIC
from tests.conftest import WEBHOOK_SECRET
from tests.faults.conftest import down

pytestmark = pytest.mark.usefixtures("stack")


class StripeLikeSender:
    """Delivers a webhook and, like Stripe, retries anything but a 2xx with backoff."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http, self.refused = http, 0

    async def deliver(self, event: dict[str, Any], deadline: float) -> int:
        body = body_of(event)
        delay = 0.2
        while True:
            try:
                headers = {"Stripe-Signature": sign(body, WEBHOOK_SECRET)}
                response = await self.http.post(
                    f"{INSTALL}/stripe/webhooks", content=body, headers=headers
                )
                if 200 <= response.status_code < 300:
                    return response.status_code
                self.refused += 1
            except httpx.HTTPError:
                self.refused += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{event['id']} never accepted")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)


async def until(holds: Callable[[], bool], timeout: float, seen: Callable[[], object]) -> None:
    """Waits for `holds()`; at the deadline, fails with what `seen()` says."""

    async def check() -> bool:
        return holds()

    await eventually(check, timeout=timeout, interval=0.05, show=lambda _: seen())


async def counts_on_kafka(infra: Infra, topic: str, accounts: set[str]) -> dict[str, int]:
    counts = dict.fromkeys(accounts, 0)
    for record in await records_on(infra.kafka, topic):
        key = record.key.decode()
        if key in counts:
            counts[key] += 1
    return counts


async def test_kafka_down_webhooks_are_refused_then_land_exactly_once(http, infra: Infra) -> None:
    accounts = {new_account() for _ in range(20)}
    events = [install_event(a) for a in accounts]
    sender = StripeLikeSender(http)
    with down("kafka"):
        first = await http.post(
            f"{INSTALL}/stripe/webhooks",
            content=body_of(events[0]),
            headers={"Stripe-Signature": sign(body_of(events[0]), WEBHOOK_SECRET)},
            timeout=30,
        )
        assert first.status_code == 503
        ready = await http.get(f"{INSTALL}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["kafka"] is False
        deliveries = [
            asyncio.create_task(sender.deliver(e, time.monotonic() + 120)) for e in events
        ]
        # Every one of them refused while the broker is away, before it comes back.
        await until(lambda: sender.refused >= len(events), 60, lambda: sender.refused)
    assert sorted(await asyncio.gather(*deliveries)) == [200] * 20
    assert sender.refused > 0
    for account in accounts:
        assert (await wait_for(http, account, lambda d: d["stripe"]["installed"], timeout=30))[
            "stripe"
        ]["installed"]
    assert await counts_on_kafka(infra, INSTALLS_TOPIC, accounts) == dict.fromkeys(accounts, 1)


async def test_database_down_nothing_applied_is_lost(http, infra: Infra) -> None:
    accounts = [new_account() for _ in range(10)]
    sender = StripeLikeSender(http)
    # Five go in before the outage; the consumer is mid-stream when the database goes.
    for account in accounts[:5]:
        await sender.deliver(install_event(account), time.monotonic() + 30)
    with down("ferretdb"):
        ready = await http.get(f"{STATUS}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["mongodb"] is False
        body = body_of(install_event(accounts[5]))
        refused = await http.post(
            f"{INSTALL}/stripe/webhooks",
            content=body,
            headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
            timeout=30,
        )
        assert refused.status_code == 503
        later = [
            asyncio.create_task(sender.deliver(install_event(a), time.monotonic() + 120))
            for a in accounts[5:]
        ]
        await until(lambda: sender.refused >= len(later), 60, lambda: sender.refused)
    await asyncio.gather(*later)
    for account in accounts:
        doc = await wait_for(http, account, lambda d: d["stripe"]["installed"], timeout=30)
        assert doc and doc["stripe"]["installed"], account
    assert await counts_on_kafka(infra, INSTALLS_TOPIC, set(accounts)) == dict.fromkeys(accounts, 1)


async def test_econ_auth_killed_after_storing_a_grant_publishes_it_after_restart(
    http, account, infra: Infra, stack: dict[str, Service]
) -> None:
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"])
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        with down("kafka"):
            # The grant is proven and stored; its event cannot be published.
            back = await browser.get(grant.callback)
            assert back.status_code == 303
            kill(stack["econ-auth"])
    start(
        stack["econ-auth"], {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb}
    )
    wait_ready(stack["econ-auth"])
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "connected", timeout=30)
    assert doc["economic"]["state"] == "connected"
    # Once the relay has recorded the event as sent, no later round can publish it again.
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb)
    try:
        connections = client["kobling_econ_auth"]["connections"]

        async def outbox() -> list:
            found = await connections.find_one({"account_id": account, "livemode": False})
            return found["outbox"] if found else ["no connection"]

        await eventually(outbox, lambda left: left == [], timeout=30)
    finally:
        await client.close()
    held = [
        r for r in await records_on(infra.kafka, CONNECTIONS_TOPIC) if r.key == account.encode()
    ]
    assert len(held) == 1


async def test_readiness_follows_the_broker_away_and_back(http, account) -> None:
    services = (INSTALL, ECON_AUTH, STATUS)
    with down("kafka"):
        for url in services:
            ready = await http.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 503, (url, ready.text)
            assert ready.json()["checks"] == {"kafka": False, "mongodb": True}, url
    # Back by themselves, no restart: ready again, and an install goes all the way through.
    for url in services:
        await eventually(
            partial(http.get, f"{url}/readyz", timeout=10),
            lambda ready: ready.status_code == 200,
            timeout=60,
            show=shown,
        )
    await install(http, account)
    assert (await wait_for(http, account, lambda d: d["stripe"]["installed"], timeout=30))[
        "stripe"
    ]["installed"]
    unknown = await http.get(f"{STATUS}/v1/accounts/{new_account()}", headers=INTERNAL)
    assert unknown.status_code == 404


async def connect(http: httpx.AsyncClient, account: str) -> None:
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"])
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        await browser.get(grant.callback)
    await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")


async def test_a_rotated_key_reads_old_grants_and_seals_new_ones(
    http, infra: Infra, stack: dict[str, Service]
) -> None:
    from cryptography.fernet import Fernet
    from pymongo import AsyncMongoClient

    from kobling_shared.crypto import Unreadable
    from kobling_shared.settings import DEV_SECRETS
    from tests.integration.test_grant_keys import vault

    old_key, new_key = DEV_SECRETS["token_encryption_keys"], Fernet.generate_key().decode()
    before, after = new_account(), new_account()
    await connect(http, before)
    econ_auth = stack["econ-auth"]
    base = {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb}
    stop_all([econ_auth])
    start(econ_auth, {**base, "TOKEN_ENCRYPTION_KEYS": f"{new_key},{old_key}"})
    try:
        wait_ready(econ_auth)
        checked = await http.post(
            f"{econ_auth.url}/internal/grants/check", json={"account_id": before}, headers=INTERNAL
        )
        assert checked.json()["result"] == "valid"  # the old grant still decrypts
        await connect(http, after)
        client: AsyncMongoClient = AsyncMongoClient(infra.mongodb)
        stored = await client["kobling_econ_auth"]["connections"].find_one({"account_id": after})
        assert stored is not None
        try:
            # The new grant's data key is wrapped by the new key: the old one alone opens nothing.
            await vault(client, new_key).open(after, False, stored["grant_ciphertext"])
            with pytest.raises(Unreadable):
                await vault(client, old_key).open(after, False, stored["grant_ciphertext"])
        finally:
            await client.close()
    finally:
        stop_all([econ_auth])
        start(econ_auth, base)
        wait_ready(econ_auth)
