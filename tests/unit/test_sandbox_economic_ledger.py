"""The sandbox's e-conomic books a sync writes to (issue 24; contracts E26-E37): booking drafts,
journal vouchers, marker lookups by filter, the call log, held calls and the books page."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kobling_devkit.merchant import ECONOMIC_CUSTOMER
from kobling_sandbox.app import create_app
from kobling_sandbox.config import settings
from kobling_sandbox.economic import state
from kobling_sandbox.economic_ledger import BOOKS
from kobling_sandbox.economic_state import USERS, Grant
from tests.in_process import client_of

AGREEMENT = 987002
YEAR = "2026"


@pytest.fixture
async def sandbox() -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox at its root, with a grant to a fresh agreement in the API client's headers."""
    token = f"unit-ledger-{id(object())}"
    BOOKS.pop(AGREEMENT, None)
    state.grants[token] = Grant(AGREEMENT, USERS["jane@acme.test"])
    async with client_of(create_app(), "http://sandbox") as client:
        client.headers.update(
            {
                "X-AppSecretToken": settings().economic_app_secret_token,
                "X-AgreementGrantToken": token,
            }
        )
        yield client
    state.grants.pop(token)


API = "/economic/api"


async def customer(sandbox: httpx.AsyncClient) -> int:
    made = await sandbox.post(f"{API}/customers", json=ECONOMIC_CUSTOMER)
    return int(made.json()["customerNumber"])


async def draft(sandbox: httpx.AsyncClient, number: int, other: str, net: float = 100.0) -> int:
    body = {
        "date": f"{YEAR}-11-30",
        "currency": "DKK",
        "customer": {"customerNumber": number},
        "recipient": {"name": "Hygge Kaffe ApS", "vatZone": {"vatZoneNumber": 1}},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 3},
        "references": {"other": other},
        "lines": [
            {
                "description": "Kaffe",
                "product": {"productNumber": "1"},
                "quantity": 1,
                "unitNetPrice": net,
            }
        ],
    }
    made = await sandbox.post(f"{API}/invoices/drafts", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["draftInvoiceNumber"])


async def book(sandbox: httpx.AsyncClient, number: int, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = {"draftInvoice": {"draftInvoiceNumber": number}}
    return await sandbox.post(f"{API}/invoices/booked", json=body, headers=headers)


async def books(sandbox: httpx.AsyncClient) -> dict[str, Any]:
    return (await sandbox.get("/_sandbox/economic/books", params={"agreement": AGREEMENT})).json()


async def test_booking_answers_the_booked_invoice_and_removes_the_draft(sandbox) -> None:
    number = await draft(sandbox, await customer(sandbox), "in_1Stripe")
    booked = await book(sandbox, number)
    assert booked.status_code == 201, booked.text
    invoice = booked.json()
    assert invoice["bookedInvoiceNumber"] == 1 and booked.headers["location"] == invoice["self"]
    assert (invoice["netAmount"], invoice["vatAmount"], invoice["grossAmount"]) == (100, 25, 125)
    assert invoice["references"]["other"] == "in_1Stripe"
    assert (await sandbox.get(f"{API}/invoices/drafts/{number}")).status_code == 404
    assert (await sandbox.get(f"{API}/invoices/booked/1")).json()["remainder"] == 125
    again = await book(sandbox, number)  # without a key: the draft is gone
    assert again.status_code == 400
    assert again.json()["errors"]["draftInvoice"]["draftInvoiceNumber"]["errors"]


async def test_booking_twice_with_one_key_books_once_and_says_it_came_from_the_cache(
    sandbox,
) -> None:
    number = await draft(sandbox, await customer(sandbox), "in_2Stripe")
    first = await book(sandbox, number, key="sync-in_2-book")
    again = await book(sandbox, number, key="sync-in_2-book")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["x-resultfromcache"] == "true" and "x-resultfromcache" not in first.headers
    assert (await books(sandbox))["counts"]["booked_invoices"] == 1


async def test_a_marker_lookup_finds_the_draft_or_the_booked_invoice_by_references_other(
    sandbox,
) -> None:
    who = await customer(sandbox)
    await draft(sandbox, who, "in_3$A")
    await book(sandbox, await draft(sandbox, who, "in_4B"))
    found = await sandbox.get(
        f"{API}/invoices/drafts", params={"filter": "references.other$eq:in_3$$A"}
    )
    assert [d["references"]["other"] for d in found.json()["collection"]] == ["in_3$A"]
    assert "lines" not in found.json()["collection"][0]  # listings carry no lines
    refused = await sandbox.get(
        f"{API}/invoices/drafts", params={"filter": "references.other$eq:in_3$A"}
    )
    assert refused.status_code == 400 and refused.json()["message"]
    booked = await sandbox.get(
        f"{API}/invoices/booked", params={"filter": "references.other$eq:in_4B"}
    )
    assert booked.json()["pagination"]["results"] == 1
    none = await sandbox.get(
        f"{API}/invoices/booked", params={"filter": "references.other$eq:in_3$$A"}
    )
    assert none.json()["collection"] == []
    unfilterable = await sandbox.get(
        f"{API}/invoices/booked", params={"filter": "grossAmount$gt:1"}
    )
    assert unfilterable.status_code == 400


def payment_voucher(customer: int, invoice: int, text: str, amount: float = 125.0) -> dict:
    return {
        "accountingYear": {"year": YEAR},
        "entries": {
            "customerPayments": [
                {
                    "customer": {"customerNumber": customer},
                    "customerInvoice": invoice,
                    "amount": amount,
                    "date": f"{YEAR}-11-30",
                    "text": text,
                    "contraAccount": {"accountNumber": 5830},
                }
            ]
        },
    }


def payout_voucher(text: str) -> dict:
    lines = [(5820, 120.0, f"{text} payout"), (7220, 5.0, f"{text} fees")]
    return {
        "accountingYear": {"year": YEAR},
        "entries": {
            "financeVouchers": [
                {
                    "account": {"accountNumber": account},
                    "contraAccount": {"accountNumber": 5830},
                    "amount": amount,
                    "date": f"{YEAR}-12-02",
                    "text": line,
                }
                for account, amount, line in lines
            ]
        },
    }


async def test_vouchers_answer_an_array_and_the_clearing_account_returns_to_zero(sandbox) -> None:
    who = await customer(sandbox)
    invoice = (await book(sandbox, await draft(sandbox, who, "in_5"))).json()["bookedInvoiceNumber"]
    paid = await sandbox.post(
        f"{API}/journals/2/vouchers", json=payment_voucher(who, invoice, "Stripe in_5 ch_5")
    )
    assert paid.status_code == 201, paid.text
    (voucher,) = paid.json()
    assert voucher["voucherNumber"] == 1 and voucher["self"].endswith(
        f"/journals/2/vouchers/{YEAR}-1"
    )
    out = await sandbox.post(f"{API}/journals/2/vouchers", json=payout_voucher("po_5"))
    assert [v["voucherNumber"] for v in out.json()] == [2]
    summary = await books(sandbox)
    balance = {a["accountNumber"]: a for a in summary["accounts"]}
    assert balance[5830]["draftBalance"] == 0.0  # in with the payment, out with payout and fees
    assert balance[5820]["draftBalance"] == 120.0 and balance[7220]["draftBalance"] == 5.0
    assert balance[5600]["balance"] == 125.0 and balance[5600]["draftBalance"] == 0.0
    assert balance[1010]["balance"] == -100.0 and balance[6902]["balance"] == -25.0
    assert summary["customers"][0]["balance"] == 0.0
    found = await sandbox.get(f"{API}/journals/2/entries", params={"filter": "text$like:in_5"})
    assert [e["entryType"] for e in found.json()["collection"]] == ["customerPayment"]
    fetched = await sandbox.get(f"{API}/journals/2/vouchers/{YEAR}-2")
    assert len(fetched.json()["entries"]["financeVouchers"]) == 2


async def test_a_voucher_e_conomic_would_refuse_is_refused_whole(sandbox) -> None:
    bad = payout_voucher("po_6")
    bad["entries"]["financeVouchers"][1]["contraAccount"] = {"accountNumber": 5600}  # blocked
    bad["entries"]["financeVouchers"][0]["text"] = "x" * 251
    refused = await sandbox.post(f"{API}/journals/2/vouchers", json=bad)
    assert refused.status_code == 400
    errors = refused.json()["errors"]["entries"]["financeVouchers"]
    assert errors["text"]["errors"][0]["arrayIndex"] == 0
    assert errors["contraAccount"]["accountNumber"]["errors"][0]["arrayIndex"] == 1
    for change in (
        {"accountingYear": {"year": "2025"}},  # closed
        {"accountingYear": None},  # required
    ):
        again = await sandbox.post(
            f"{API}/journals/2/vouchers", json={**payout_voucher("po_6"), **change}
        )
        assert again.status_code == 400, change
    barred = payout_voucher("po_6")
    barred["entries"]["financeVouchers"][0]["account"] = {"accountNumber": 5850}
    assert (await sandbox.post(f"{API}/journals/2/vouchers", json=barred)).status_code == 400
    assert (await books(sandbox))["counts"]["entries"] == 0


async def test_settings_are_seeded_as_a_danish_company_has_them(sandbox) -> None:
    terms = (await sandbox.get(f"{API}/payment-terms")).json()["collection"]
    assert {"net", "paidInCash", "creditcard"} <= {t["paymentTermsType"] for t in terms}
    zones = (await sandbox.get(f"{API}/vat-zones")).json()["collection"]
    assert [z["name"] for z in zones] == ["Domestic", "EU", "Abroad", "Domestic exempt"]
    product = (await sandbox.get(f"{API}/products/1")).json()
    assert product["name"] == "Stripe sales" and product["productGroup"]["productGroupNumber"] == 1
    accounts = await sandbox.get(f"{API}/accounts", params={"filter": "accountType$eq:status"})
    numbers = {a["accountNumber"] for a in accounts.json()["collection"]}
    assert {5820, 5830, 5890} <= numbers and 7220 not in numbers
    assert (await sandbox.get(f"{API}/accounts/5850")).json()["barred"] is True
    years = (await sandbox.get(f"{API}/accounting-years")).json()["collection"]
    assert any(y["year"] == YEAR and "closed" not in y for y in years)
    for path in (
        "/layouts/19",
        "/customer-groups/1",
        "/vat-zones/4",
        "/journals/2",
        "/product-groups/2",
    ):
        assert (await sandbox.get(f"{API}{path}")).status_code == 200, path


async def test_every_call_is_counted_per_agreement_and_route(sandbox) -> None:
    before = (await sandbox.get("/_sandbox/economic/calls", params={"agreement": AGREEMENT})).json()
    counted = before["calls"][str(AGREEMENT)]
    who = await customer(sandbox)
    await book(sandbox, await draft(sandbox, who, "in_7"))
    await sandbox.get(f"{API}/invoices/booked/1")
    after = (await sandbox.get("/_sandbox/economic/calls", params={"agreement": AGREEMENT})).json()
    calls = after["calls"][str(AGREEMENT)]
    for route, more in (
        ("POST /customers", 1),
        ("POST /invoices/drafts", 1),
        ("POST /invoices/booked", 1),
        ("GET /invoices/booked/{number}", 1),
    ):
        assert calls.get(route, 0) - counted.get(route, 0) == more, route


async def test_a_held_call_is_applied_and_answered_only_on_release(sandbox) -> None:
    number = await draft(sandbox, await customer(sandbox), "in_8")
    hold = {"method": "POST", "path": "/invoices/booked", "agreement": AGREEMENT}
    assert (await sandbox.post("/_sandbox/economic/hold", json=hold)).status_code == 200
    call = asyncio.create_task(book(sandbox, number))
    for _ in range(200):
        held = (await sandbox.get("/_sandbox/economic/held")).json()["held"]
        if any(h["call"] for h in held):
            break
        await asyncio.sleep(0.01)
    assert [h["call"]["status"] for h in held if h["agreement"] == AGREEMENT] == [201]
    assert not call.done()
    assert (await books(sandbox))["counts"]["booked_invoices"] == 1  # applied, not answered
    assert (await sandbox.post("/_sandbox/economic/release", json={})).json()["released"] >= 1
    answered = await asyncio.wait_for(call, 5)
    assert answered.status_code == 201
    assert (await sandbox.get("/_sandbox/economic/held")).json()["held"] == []


async def test_the_books_page_shows_what_landed(sandbox) -> None:
    who = await customer(sandbox)
    invoice = (await book(sandbox, await draft(sandbox, who, "in_9"))).json()["bookedInvoiceNumber"]
    await sandbox.post(
        f"{API}/journals/2/vouchers", json=payment_voucher(who, invoice, "Stripe in_9")
    )
    page = await sandbox.get("/economic/books", params={"agreement": AGREEMENT})
    assert page.status_code == 200
    for shown in ("Hygge Kaffe ApS", "in_9", "Stripe clearing", "125.00"):
        assert shown in page.text, shown
    assert (await books(sandbox))["counts"] == {
        "customers": 1,
        "drafts": 0,
        "booked_invoices": 1,
        "vouchers": 1,
        "entries": 1,
    }


async def test_landed_counts_bookings_and_payments_per_stripe_id_with_when_each_landed(
    sandbox,
) -> None:
    who = await customer(sandbox)
    before = time.time()
    first = (await book(sandbox, await draft(sandbox, who, "in_L1"))).json()["bookedInvoiceNumber"]
    await book(sandbox, await draft(sandbox, who, "in_L2"))
    for _ in range(2):  # paid twice: what the benchmark's "nothing booked twice" must catch
        paid = await sandbox.post(
            f"{API}/journals/2/vouchers", json=payment_voucher(who, first, "Stripe in_L1")
        )
        assert paid.status_code == 201, paid.text
    answer = await sandbox.get(
        "/_sandbox/economic/landed", params={"agreement": [AGREEMENT, 987999]}
    )
    assert answer.status_code == 200, answer.text
    mine = answer.json()["agreements"][str(AGREEMENT)]
    assert (mine["booked"], mine["payments"], mine["unmatched_payments"]) == (2, 2, 0)
    one, two = mine["invoices"]["in_L1"], mine["invoices"]["in_L2"]
    assert (one["booked"], one["payments"], two["booked"], two["payments"]) == (1, 2, 1, 0)
    assert before <= one["booked_at"] <= one["paid_at"] <= time.time()
    assert two["paid_at"] is None
    # An agreement nobody called has landed nothing (and is not made by asking).
    assert answer.json()["agreements"]["987999"] == {
        "booked": 0,
        "payments": 0,
        "unmatched_payments": 0,
        "invoices": {},
    }
    assert 987999 not in BOOKS
    brief = await sandbox.get(
        "/_sandbox/economic/landed", params={"agreement": AGREEMENT, "detail": "false"}
    )
    assert brief.json()["agreements"][str(AGREEMENT)] == {
        "booked": 2,
        "payments": 2,
        "unmatched_payments": 0,
    }
