"""A request costs a small, fixed amount of database work however it waits, and one-time records
do not pile up: measured on the running stack, reads counted by the database itself."""

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.merchant import ECON_AUTH, STATUS, install, view_request
from kobling_devkit.stripe_signing import body_of, install_event, sign
from kobling_shared.events import now
from kobling_shared.links import status_page_url
from kobling_shared.settings import DEV_SECRETS

pytestmark = pytest.mark.usefixtures("stack")

LINK_KEY = DEV_SECRETS["page_link_key"]


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    yield client
    await client.close()


async def finds(db: AsyncMongoClient) -> int:
    """Every find the database has answered since it started (MongoDB and FerretDB alike)."""
    status = await db.admin.command("serverStatus")
    return int(status["metrics"]["commands"]["find"]["total"])


async def test_a_page_waiting_for_an_event_reads_a_few_times_not_in_a_loop(
    http: httpx.AsyncClient, db: AsyncMongoClient, account: str
) -> None:
    await install(http, account)
    page = status_page_url(STATUS, LINK_KEY, account, False, after="evt_never_published")
    before = await finds(db)
    started = time.monotonic()
    response = await http.get(page)
    held = time.monotonic() - started
    spent = await finds(db) - before
    assert response.status_code == 200
    assert held >= 1.5  # it did wait for the event, then let the page refresh itself
    assert 'http-equiv="refresh"' in response.text
    # Four reads for the event, one for the account, and what the services do meanwhile.
    assert spent <= 12, spent


async def test_a_page_waiting_for_an_event_answers_as_soon_as_it_is_projected(
    http: httpx.AsyncClient, account: str
) -> None:
    event = install_event(account)
    page = status_page_url(STATUS, LINK_KEY, account, False, after=event["id"])
    waiting = asyncio.create_task(http.get(page))
    await asyncio.sleep(1.05)  # just past its third read: the last one is at 2 s
    body = body_of(event)
    headers = {"Stripe-Signature": sign(body, DEV_SECRETS["stripe_webhook_secret"])}
    sent = time.monotonic()
    await http.post("http://127.0.0.1:8001/stripe/webhooks", content=body, headers=headers)
    response = await waiting
    assert response.status_code == 200
    assert 'http-equiv="refresh"' not in response.text  # it shows the install, no waiting
    # Woken by the projection (tens of ms), not found by its last read (at 2 s, 0.95 s on).
    assert time.monotonic() - sent < 0.75, time.monotonic() - sent


async def test_a_connect_link_for_an_install_not_yet_seen_reads_a_few_times(
    http: httpx.AsyncClient, db: AsyncMongoClient, account: str
) -> None:
    before = await finds(db)
    response = await http.post(
        f"{ECON_AUTH}/api/connect-link",
        **view_request(account, "connect"),
    )
    spent = await finds(db) - before
    assert response.status_code == 404 and response.json()["error"] == "not_installed"
    assert spent <= 10, spent


async def test_many_waiting_pages_from_one_client_leave_webhooks_served(
    db: AsyncMongoClient, account: str
) -> None:
    """A hundred pages at once, each waiting for an event that never comes: past a cap the
    waits end at once, so the database work stays bounded and webhooks go on being taken."""
    pages = [
        status_page_url(STATUS, LINK_KEY, account, False, after=f"evt_never_{n}")
        for n in range(100)
    ]
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        before = await finds(db)
        burst = asyncio.gather(*(client.get(page) for page in pages))
        await asyncio.sleep(0.3)
        body = body_of(install_event(account))
        headers = {"Stripe-Signature": sign(body, DEV_SECRETS["stripe_webhook_secret"])}
        sent = time.monotonic()
        webhook = await client.post(
            "http://127.0.0.1:8001/stripe/webhooks", content=body, headers=headers
        )
        acknowledged = time.monotonic() - sent
        answers = await burst
        spent = await finds(db) - before
    assert webhook.status_code == 200 and acknowledged < 2.0, acknowledged
    assert all(a.status_code == 200 for a in answers)
    # At most 64 pages wait (4 reads each); the rest read once; each reads its account once.
    assert spent <= 64 * 4 + 36 + 100 + 20, spent


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def test_one_time_records_are_deleted_once_they_can_no_longer_be_used(
    db: AsyncMongoClient, account: str
) -> None:
    """The services delete them on a timer by their stored deadline: FerretDB has no TTL index."""
    past, hour_ago, later = now() - timedelta(minutes=1), now() - timedelta(hours=2), now()
    later += timedelta(minutes=5)
    install_db, econ_db = db["kobling_install"], db["kobling_econ_auth"]
    stale = {
        "oauth state": (install_db["oauth_states"], {"livemode": False, "expires_at": past}),
        "spent oauth state": (
            install_db["oauth_states_spent"],
            {"at": hour_ago, "expires_at": past},
        ),
        "connect state": (
            econ_db["states"],
            {"account_id": account, "livemode": False, "expires_at": past, "locale": "en-GB"},
        ),
        "used link": (econ_db["used_once"], {"at": hour_ago, "expires_at": past}),
    }
    live = {
        "oauth state": (install_db["oauth_states"], {"livemode": False, "expires_at": later}),
        "used link": (econ_db["used_once"], {"at": now(), "expires_at": later}),
    }
    for name, (collection, doc) in stale.items():
        await collection.insert_one({"_id": digest(f"stale {name} {account}"), **doc})
    for name, (collection, doc) in live.items():
        await collection.insert_one({"_id": digest(f"live {name} {account}"), **doc})

    deadline = time.monotonic() + 30
    left = set(stale)
    while left and time.monotonic() < deadline:
        for name in list(left):
            collection = stale[name][0]
            if await collection.find_one({"_id": digest(f"stale {name} {account}")}) is None:
                left.discard(name)
        await asyncio.sleep(0.5)
    assert left == set(), f"never deleted: {left}"
    for name, (collection, _) in live.items():
        assert await collection.find_one({"_id": digest(f"live {name} {account}")}), name
