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


WINDOWS = ["/customers", "/invoices/drafts", "/invoices/booked", "/journals/{journal}/vouchers"]


@pytest.mark.parametrize("window", WINDOWS)
async def test_a_sync_killed_after_e_conomic_applied_a_create_books_it_once(
    http: httpx.AsyncClient, account: str, infra: Infra, sync: Service, window: str
) -> None:
    counts = await killed_in(http, account, infra, sync, window, hours_later=False)
    assert (counts["customers"], counts["booked_invoices"], counts["vouchers"]) == (1, 1, 1), counts


@pytest.mark.parametrize("window", WINDOWS[1:])
async def test_past_e_conomic_s_hour_the_marker_lookup_still_books_once(
    http: httpx.AsyncClient, account: str, infra: Infra, sync: Service, window: str
) -> None:
    """The restart comes after e-conomic forgot the Idempotency-Key: only the lookup by
    `references.other` or the entry's text stands between the retry and a second booking."""
    counts = await killed_in(http, account, infra, sync, window, hours_later=True)
    assert (counts["booked_invoices"], counts["vouchers"], counts["drafts"]) == (1, 1, 0), counts


async def test_past_the_hour_a_customer_may_come_twice_but_the_invoice_once(
    http: httpx.AsyncClient, account: str, infra: Infra, sync: Service
) -> None:
    """A customer carries no marker (docs/sync.md): the documented risk, shown."""
    counts = await killed_in(http, account, infra, sync, "/customers", hours_later=True)
    assert (counts["customers"], counts["booked_invoices"], counts["vouchers"]) == (2, 1, 1), counts


async def killed_in(
    http: httpx.AsyncClient,
    account: str,
    infra: Infra,
    sync: Service,
    window: str,
    hours_later: bool,
) -> dict[str, int]:
    """Pays an invoice, kills sync once e-conomic has applied its POST to `window`, restarts it
    (`hours_later`: after e-conomic's Idempotency-Key hour) and answers the books' counts."""
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
    if hours_later:
        aged = await http.post(
            f"{SANDBOX}/_sandbox/economic/time-passes",
            json={"agreement": agreement, "seconds": 3601},
        )
        assert aged.status_code == 200, aged.text
    await http.post(f"{SANDBOX}/_sandbox/economic/release", json={"hold": mine})
    start(sync, {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb})
    await asyncio.to_thread(wait_ready, sync)
    # Kafka gives the uncommitted event to the restarted consumer once the dead one's session
    # has expired; the record's intent makes it look before it creates.
    await state_of(http, account, invoice, "synced", timeout=120)
    return dict((await books(http, agreement))["counts"])


@pytest.fixture
def econ_auth(stack: dict[str, Service], infra: Infra) -> Iterator[Service]:
    service = stack["econ-auth"]
    yield service
    if service.process is None or service.process.poll() is not None:
        start(service, {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb})
        wait_ready(service)


async def test_a_broker_killed_while_e_conomic_booked_leaves_the_invoice_booked_once(
    http: httpx.AsyncClient, account: str, infra: Infra, econ_auth: Service
) -> None:
    """econ-auth dies with sync's booking at e-conomic (the broker's `outcome: unknown`): sync
    hears no answer, keeps its intent, and when the broker is back it finds the booking by its
    marker instead of booking again."""
    agreement = await merchant_ready(http, account)
    hold = await http.post(
        f"{SANDBOX}/_sandbox/economic/hold",
        json={"method": "POST", "path": "/invoices/booked", "agreement": agreement},
    )
    mine = hold.json()["hold"]
    invoice = (await pay(http, account))["invoice"]["id"]
    await eventually(
        lambda: held_calls(http),
        lambda held: any(h["hold"] == mine and h.get("call") for h in held),
        timeout=30,
        what="sync's booking to reach e-conomic",
    )
    kill(econ_auth)
    await http.post(f"{SANDBOX}/_sandbox/economic/release", json={"hold": mine})
    await http.post(
        f"{SANDBOX}/_sandbox/economic/time-passes", json={"agreement": agreement, "seconds": 3601}
    )
    start(econ_auth, {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb})
    await asyncio.to_thread(wait_ready, econ_auth)
    await state_of(http, account, invoice, "synced", timeout=120)
    counts = (await books(http, agreement))["counts"]
    assert (counts["booked_invoices"], counts["vouchers"]) == (1, 1), counts


async def test_a_sync_killed_after_e_conomic_took_a_payout_voucher_posts_it_once(
    http: httpx.AsyncClient, account: str, infra: Infra, sync: Service
) -> None:
    """The payout's one voucher, applied at e-conomic as sync dies, and the restart past the
    hour: found by its text (`Stripe payout po_…`), never posted twice."""
    agreement = await merchant_ready(http, account)
    invoice = (await pay(http, account))["invoice"]["id"]
    await state_of(http, account, invoice, "synced")
    journal = (await signed(http, "/api/sync/settings", account, "sync_settings")).json()[
        "settings"
    ]["journal"]
    hold = await http.post(
        f"{SANDBOX}/_sandbox/economic/hold",
        json={"method": "POST", "path": f"/journals/{journal}/vouchers", "agreement": agreement},
    )
    mine = hold.json()["hold"]
    out = await http.post(
        f"{SANDBOX}/_sandbox/stripe/payouts", json={"account": account, "livemode": False}
    )
    assert out.status_code == 200, out.text
    payout = out.json()["payout"]["id"]
    await eventually(
        lambda: held_calls(http),
        lambda held: any(h["hold"] == mine and h.get("call") for h in held),
        timeout=30,
        what="sync's payout voucher to reach e-conomic",
    )
    kill(sync)
    await http.post(f"{SANDBOX}/_sandbox/economic/release", json={"hold": mine})
    await http.post(
        f"{SANDBOX}/_sandbox/economic/time-passes", json={"agreement": agreement, "seconds": 3601}
    )
    start(sync, {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb})
    await asyncio.to_thread(wait_ready, sync)
    await state_of(http, account, payout, "synced", timeout=120)
    book = await books(http, agreement)
    posted = [v for v in book["vouchers"] if any(payout in (x["text"] or "") for x in v["lines"])]
    assert len(posted) == 1, book["vouchers"]
