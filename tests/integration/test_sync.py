"""The sync on the real stack: a paid invoice in the sandbox's Stripe reaches the sandbox's
e-conomic books through install's Stripe broker and econ-auth's broker, once; the totals gate,
Replay, and a payout whose clearing account returns to zero. Counted in the sandbox's own books."""

import json
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    INTERNAL,
    SANDBOX,
    STATUS,
    connected,
    installed_by_oauth,
    signed_as_view,
    status,
)
from kobling_devkit.stripe_signing import view_payload
from kobling_devkit.waiting import eventually, shown
from kobling_shared.events import ACCOUNT_EVENTS_TOPIC, SYNC_RESULTS_TOPIC

pytestmark = pytest.mark.usefixtures("stack")

SYNC = "http://127.0.0.1:8004"
ACCOUNTS = {
    "bank_account": 5820,
    "clearing_account": 5830,
    "fees_account": 7220,
    "suspense_account": 5890,
    "fx_account": 8330,
}


async def signed(
    http: httpx.AsyncClient, path: str, account: str, action: str, **extra: Any
) -> httpx.Response:
    body = view_payload({"livemode": False, "action": action, **extra}, "usr_accountant", account)
    return await http.post(f"{SYNC}{path}", content=body, headers=signed_as_view(body))


async def merchant_ready(http: httpx.AsyncClient, account: str, **changes: Any) -> int:
    """Installed (with tokens), connected, and the sync settings saved from e-conomic's own
    choices as the settings view suggests them. Answers the agreement number."""
    await installed_by_oauth(http, account)
    await connected(http, account)
    agreement = int((await status(http, account))["economic"]["agreement_number"])
    read = await signed(http, "/api/sync/settings", account, "sync_settings")
    assert read.status_code == 200, read.text
    view = read.json()
    assert not view["complete"] and "journal" in view["missing"]
    settings = {
        **view["suggestions"],
        **ACCOUNTS,
        "start_date": date.today().isoformat(),
        **changes,
    }
    saved = await signed(
        http, "/api/sync/settings/save", account, "save_sync_settings", settings=settings
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["complete"] is True
    return agreement


async def pay(
    http: httpx.AsyncClient,
    account: str,
    name: str = "Hygge Kaffe ApS",
    amount: int = 100000,
    tax: float = 25,
) -> dict[str, Any]:
    answer = await http.post(
        f"{SANDBOX}/_sandbox/stripe/invoices/pay",
        json={
            "account": account,
            "livemode": False,
            "customer_name": name,
            "currency": "dkk",
            "lines": [{"description": "Kaffebønner 10 kg", "amount": amount, "tax_percent": tax}],
        },
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def state_of(
    http: httpx.AsyncClient, account: str, object_id: str, want: str, timeout: float = 30
) -> dict[str, Any]:
    answer = await eventually(
        lambda: signed(http, "/api/sync/object", account, "sync_state", object_id=object_id),
        lambda r: r.status_code == 200 and r.json()["state"] == want,
        timeout=timeout,
        what=f"{object_id} to be {want}",
        show=shown,
    )
    return dict(answer.json())


async def books(http: httpx.AsyncClient, agreement: int) -> dict[str, Any]:
    return dict(
        (
            await http.get(f"{SANDBOX}/_sandbox/economic/books", params={"agreement": agreement})
        ).json()
    )


async def calls(http: httpx.AsyncClient, agreement: int) -> dict[str, int]:
    answer = (
        await http.get(f"{SANDBOX}/_sandbox/economic/calls", params={"agreement": agreement})
    ).json()
    return dict(answer["calls"].get(str(agreement), {}))


def balance(book: dict[str, Any], account: int) -> float:
    row = next(a for a in book["accounts"] if a["accountNumber"] == account)
    return float(row["draftBalance"])


async def test_a_paid_invoice_is_booked_with_its_payment_once(
    http: httpx.AsyncClient, account: str, infra: Infra
) -> None:
    agreement = await merchant_ready(http, account)
    paid = await pay(http, account)
    invoice = paid["invoice"]["id"]
    synced = await state_of(http, account, invoice, "synced")
    book = await books(http, agreement)
    assert book["counts"]["booked_invoices"] == 1 and book["counts"]["customers"] == 1, book[
        "counts"
    ]
    booked = book["booked_invoices"][0]
    assert booked["bookedInvoiceNumber"] == synced["booked_invoice_number"]
    assert booked["grossAmount"] == 1250.0 and booked["vatAmount"] == 250.0
    assert booked["other"] == invoice
    payment = [
        v for v in book["vouchers"] if any(invoice in (line["text"] or "") for line in v["lines"])
    ]
    assert len(payment) == 1, book["vouchers"]
    assert balance(book, ACCOUNTS["clearing_account"]) == 1250.0
    # What status projects from sync.results.v1.
    seen = await eventually(
        lambda: http.get(f"{STATUS}/v1/accounts/{account}/sync/{invoice}", headers=INTERNAL),
        lambda r: r.status_code == 200,
        timeout=15,
        what="status to project the result",
        show=shown,
    )
    assert seen.json()["state"] == "synced" and seen.json()["total"] == 125000

    # The same customer again: three e-conomic calls (draft, booking, payment), no lookups.
    before = await calls(http, agreement)
    second = (await pay(http, account))["invoice"]["id"]
    await state_of(http, account, second, "synced")
    after = await calls(http, agreement)
    spent = {
        route: n - before.get(route, 0) for route, n in after.items() if n != before.get(route, 0)
    }
    assert sum(spent.values()) <= 3, spent

    # The account event comes again (Kafka redelivers after a crash before the commit): its
    # result is published again, nothing more is booked.
    (first,) = [
        e
        for e in await events_for(infra.kafka, ACCOUNT_EVENTS_TOPIC, account)
        if e["data"]["object_id"] == invoice
    ]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            ACCOUNT_EVENTS_TOPIC, json.dumps(first).encode(), key=account.encode()
        )
    finally:
        await producer.stop()
    await eventually(
        lambda: events_for(infra.kafka, SYNC_RESULTS_TOPIC, account),
        lambda found: sum(e["data"]["object_id"] == invoice for e in found) >= 2,
        timeout=15,
        what="the result published again",
    )
    assert (await books(http, agreement))["counts"]["booked_invoices"] == 2


async def test_the_totals_gate_holds_a_draft_and_replay_books_it_after_the_fix(
    http: httpx.AsyncClient, account: str
) -> None:
    # Stripe charged no VAT, but the product e-conomic prices with is 25%: the gate must stop.
    agreement = await merchant_ready(http, account)
    invoice = (await pay(http, account, amount=40000, tax=0))["invoice"]["id"]
    held = await state_of(http, account, invoice, "needs_attention")
    assert held["reason"] == "totals_differ"
    assert held["figures"]["stripe_gross"] == 40000 and held["figures"]["economic_gross"] == 50000
    assert (await books(http, agreement))["counts"]["booked_invoices"] == 0

    # The accountant sends such sales to the VAT-exempt zone, then presses Replay.
    read = (await signed(http, "/api/sync/settings", account, "sync_settings")).json()
    exempt = next(z["number"] for z in read["choices"]["vat_zone"] if "exempt" in z["name"].lower())
    settings = {**read["settings"], "vat_zone": exempt}
    saved = await signed(
        http, "/api/sync/settings/save", account, "save_sync_settings", settings=settings
    )
    assert saved.status_code == 200, saved.text
    nonce = "0" * 31 + "1"
    replayed = await signed(
        http, "/api/sync/replay", account, "replay", object_id=invoice, nonce=nonce
    )
    assert replayed.status_code == 200, replayed.text
    synced = await state_of(http, account, invoice, "synced")
    book = await books(http, agreement)
    assert book["counts"]["booked_invoices"] == 1
    assert book["booked_invoices"][0]["bookedInvoiceNumber"] == synced["booked_invoice_number"]
    # The same signed Replay again is refused: it was spent.
    again = await signed(
        http, "/api/sync/replay", account, "replay", object_id=invoice, nonce=nonce
    )
    assert again.status_code in (200, 409)


async def test_a_payout_returns_the_clearing_account_to_zero(
    http: httpx.AsyncClient, account: str
) -> None:
    agreement = await merchant_ready(http, account)
    paid = await pay(http, account)
    await state_of(http, account, paid["invoice"]["id"], "synced")
    other = await http.post(
        f"{SANDBOX}/_sandbox/stripe/charges",
        json={
            "account": account,
            "livemode": False,
            "amount": 30000,
            "currency": "dkk",
            "description": "kiosk",
        },
    )
    assert other.status_code == 200, other.text
    refund = await http.post(
        f"{SANDBOX}/_sandbox/stripe/refunds",
        json={"account": account, "livemode": False, "charge": paid["charge"], "amount": 10000},
    )
    assert refund.status_code == 200, refund.text
    out = await http.post(
        f"{SANDBOX}/_sandbox/stripe/payouts", json={"account": account, "livemode": False}
    )
    assert out.status_code == 200, out.text
    payout = out.json()["payout"]["id"]
    booked = await state_of(http, account, payout, "synced")
    summary = booked["payout"]
    assert summary["suspense_lines"] == 2, summary  # the kiosk charge and the refund
    assert summary["suspense"] == 30000 - 10000
    book = await books(http, agreement)
    assert balance(book, ACCOUNTS["clearing_account"]) == 0.0, book["accounts"]
    assert balance(book, ACCOUNTS["suspense_account"]) == -200.0, book["accounts"]
    assert balance(book, ACCOUNTS["bank_account"]) == out.json()["payout"]["amount"] / 100
