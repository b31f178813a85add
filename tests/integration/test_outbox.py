"""A grant stored but its event not yet published (econ-auth died in between, or the broker was
down): the outbox relay publishes it afterwards, once."""

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import wait_for
from kobling_devkit.waiting import eventually
from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Agreement
from kobling_econ_auth.store import ConnectionStore
from kobling_shared.db.choice import door
from kobling_shared.events import CONNECTIONS_TOPIC, now

pytestmark = pytest.mark.usefixtures("stack")


async def test_an_event_left_in_the_outbox_is_published_later(
    http: httpx.AsyncClient, account: str, infra: Infra
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    store = ConnectionStore(client["kobling_econ_auth"], door(client))
    agreement = Agreement(agreement_number=777001, company_name="Outbox ApS")
    # Exactly what econ-auth writes when a grant is proven, and nothing after it: as if the
    # process had been killed between the database write and the publish.
    stored = await store.change(
        account, False, lambda conn: domain.connect(conn, "sealed", agreement, now())
    )
    assert stored is not None and len(stored.outbox) == 1
    event_id = stored.outbox[0]["id"]

    conn = await eventually(  # the relay leaves fresh events to their writer for 5 s
        lambda: store.get(account, False), lambda conn: not (conn and conn.outbox), timeout=20
    )
    assert conn is not None and conn.outbox == []
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["id"] for e in held] == [event_id]
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    assert doc["economic"]["company_name"] == "Outbox ApS"
    await client.close()
