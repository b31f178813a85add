"""A grant stored but its event not yet published (econ-auth died in between, or the broker was
down): the outbox relay publishes it afterwards, once."""

import asyncio
import time

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Agreement
from kobling_econ_auth.store import ConnectionStore
from kobling_shared.events import CONNECTIONS_TOPIC, now
from tests.infra import Infra
from tests.kafka_topics import events_for
from tests.merchant import add_app, connect_link, grant_page, install, wait_for

pytestmark = pytest.mark.usefixtures("stack")


async def test_an_event_left_in_the_outbox_is_published_later(
    http: httpx.AsyncClient, account: str, infra: Infra
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    store = ConnectionStore(client["kobling_econ_auth"])
    agreement = Agreement(agreement_number=777001, company_name="Outbox ApS")
    # Exactly what econ-auth writes when a grant is proven, and nothing after it: as if the
    # process had been killed between the database write and the publish.
    stored = await store.change(
        account, False, lambda conn: domain.connect(conn, "sealed", agreement, now())
    )
    assert stored is not None and len(stored.outbox) == 1
    event_id = stored.outbox[0]["id"]

    deadline = time.monotonic() + 20  # the relay leaves fresh events to their writer for 5 s
    while (conn := await store.get(account, False)) and conn.outbox and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert conn is not None and conn.outbox == []
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["id"] for e in held] == [event_id]
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    assert doc["economic"]["company_name"] == "Outbox ApS"
    await client.close()


async def test_a_callbacks_event_leaves_the_outbox_after_the_answer_and_is_published_once(
    account: str, infra: Infra
) -> None:
    """The callback publishes before it answers and empties the outbox just after, well inside
    the relay's grace period: the relay never finds the event to publish it a second time."""
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    store = ConnectionStore(client["kobling_econ_auth"])
    async with httpx.AsyncClient(timeout=20) as browser:
        await install(browser, account)
        grant_url = await grant_page(browser, await connect_link(browser, account))
        grant = await add_app(browser, grant_url)
        answered = await browser.get(grant.callback)
        assert answered.status_code == 303
    deadline = time.monotonic() + 2  # RELAY_GRACE is 5 s: emptied by the callback itself
    while (conn := await store.get(account, False)) and conn.outbox and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert conn is not None and conn.state == "connected" and conn.outbox == []
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["type"] for e in held] == ["com.kobling.economic.connected.v1"]
    await client.close()
