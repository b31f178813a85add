"""sync SIGKILLed in each crash window: e-conomic applied the create, and sync died before it
stored the result. After the restart the books hold exactly one customer, one booked invoice and
one payment, counted in the sandbox's own books (docs/sync.md, "Exactly once")."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.stack import Service, kill, start, wait_ready
from kobling_devkit.waiting import eventually
from tests.integration.test_sync import books, merchant_ready, pay, signed, state_of

pytestmark = pytest.mark.usefixtures("stack")
SANDBOX = "http://127.0.0.1:8010"


@pytest.fixture
def sync(stack: dict[str, Service], infra: Infra) -> Iterator[Service]:
    service = stack["sync"]
    yield service
    if service.process is None or service.process.poll() is not None:  # left dead by a failure
        start(service, {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb})
        wait_ready(service)


async def held_calls(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return list((await http.get(f"{SANDBOX}/_sandbox/economic/held")).json().get("held", []))


@pytest.mark.parametrize(
    "window", ["/customers", "/invoices/drafts", "/invoices/booked", "/journals/{journal}/vouchers"]
)
async def test_a_sync_killed_after_e_conomic_applied_a_create_books_it_once(
    http: httpx.AsyncClient, account: str, infra: Infra, sync: Service, window: str
) -> None:
    agreement = await merchant_ready(http, account)
    journal = (await signed(http, "/api/sync/settings", account, "sync_settings")).json()[
        "settings"
    ]["journal"]
    path = window.format(journal=journal)
    hold = await http.post(
        f"{SANDBOX}/_sandbox/economic/hold",
        json={"method": "POST", "path": path, "agreement": agreement},
    )
    assert hold.status_code == 200, hold.text
    mine = hold.json()["hold"]
    invoice = (await pay(http, account))["invoice"]["id"]
    await eventually(
        lambda: held_calls(http),
        lambda held: any(h["hold"] == mine and h.get("call") for h in held),
        timeout=30,
        what=f"sync's POST {path} to reach e-conomic",
    )
    kill(sync)  # e-conomic applied it; sync never heard back
    await http.post(f"{SANDBOX}/_sandbox/economic/release", json={"hold": mine})
    start(sync, {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb})
    await asyncio.to_thread(wait_ready, sync)
    # Kafka gives the uncommitted event to the restarted consumer once the dead one's session
    # has expired; the record's intent makes it look before it creates.
    await state_of(http, account, invoice, "synced", timeout=120)
    counts = (await books(http, agreement))["counts"]
    assert (counts["customers"], counts["booked_invoices"], counts["vouchers"]) == (1, 1, 1), counts
