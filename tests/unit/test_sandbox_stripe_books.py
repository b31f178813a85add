"""The sandbox's Stripe plays the objects a sync reads (issue 24; contracts S11-S25): paid
invoices with their payments, charges and balance transactions, refunds, adjustments, payouts
and their reconciliation, read with the install's access token, and the events it sends."""

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kobling_sandbox import stripe
from kobling_sandbox.app import create_app
from kobling_sandbox.stripe_objects import API_VERSION
from tests.in_process import client_of


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The events the sandbox posts to install, which answers 200."""
    events: list[dict[str, Any]] = []

    async def post_event(event: dict[str, Any], attempts: int = 1) -> int:
        events.append(event)
        return 200

    monkeypatch.setattr(stripe, "post_event", post_event)
    monkeypatch.setenv("STATUS_PUBLIC_URL", "http://127.0.0.1:9")  # the Dashboard finds no status
    monkeypatch.setenv("SYNC_URL", "http://127.0.0.1:9")  # nor sync, for the invoice's panel
    return events


@pytest.fixture
async def sandbox(sent) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(create_app(), "http://sandbox") as client:
        yield client


@pytest.fixture
def account() -> str:
    return "acct_unit" + secrets.token_hex(6)


async def token(sandbox: httpx.AsyncClient, account: str, livemode: bool = False) -> dict[str, str]:
    made = await sandbox.post(
        "/_sandbox/stripe/access-token", json={"account": account, "livemode": livemode}
    )
    return {"Authorization": f"Bearer {made.json()['access_token']}"}


async def pay(sandbox: httpx.AsyncClient, account: str, **how: Any) -> dict[str, Any]:
    body = {
        "account": account,
        "customer_name": "Hygge Kaffe ApS",
        "currency": "dkk",
        "lines": [
            {"description": "Kaffebønner", "amount": 10000, "tax_percent": 25},
            {"description": "Kursus", "amount": 5000, "tax_percent": 25},
        ],
        **how,
    }
    paid = await sandbox.post("/_sandbox/stripe/invoices/pay", json=body)
    assert paid.status_code == 200, paid.text
    return paid.json()


async def test_a_paid_invoice_reads_back_as_basil_shapes_it(sandbox, sent, account) -> None:
    paid = await pay(sandbox, account)
    auth = await token(sandbox, account)
    invoice = (await sandbox.get(f"/v1/invoices/{paid['invoice']['id']}", headers=auth)).json()
    assert invoice["id"].startswith("in_") and invoice["status"] == "paid"
    assert (invoice["subtotal"], invoice["total"], invoice["amount_paid"]) == (15000, 18750, 18750)
    (tax,) = invoice["total_taxes"]
    assert (tax["amount"], tax["taxable_amount"], tax["tax_behavior"]) == (3750, 15000, "exclusive")
    assert tax["tax_rate_details"]["tax_rate"].startswith("txr_")
    line = invoice["lines"]["data"][0]
    assert line["taxes"][0]["amount"] == 2500 and line["pricing"]["price_details"]["price"]
    assert (
        invoice["customer_name"] == "Hygge Kaffe ApS" and invoice["status_transitions"]["paid_at"]
    )
    assert not {"charge", "payment_intent", "paid"} & set(invoice)  # gone since basil
    (event,) = sent
    assert (event["type"], event["account"], event["livemode"]) == ("invoice.paid", account, False)
    assert event["api_version"] == API_VERSION and event["data"]["object"]["id"] == invoice["id"]


async def test_the_payment_leads_to_the_charge_its_balance_transaction_and_the_fee(
    sandbox, account
) -> None:
    paid = await pay(sandbox, account)
    auth = await token(sandbox, account)
    listed = await sandbox.get(
        "/v1/invoice_payments",
        params={"invoice": paid["invoice"]["id"], "expand[]": "data.payment.payment_intent"},
        headers=auth,
    )
    (payment,) = listed.json()["data"]
    assert payment["payment"]["type"] == "payment_intent" and payment["amount_paid"] == 18750
    intent = payment["payment"]["payment_intent"]
    assert intent["object"] == "payment_intent" and intent["latest_charge"] == paid["charge"]
    charge = await sandbox.get(
        f"/v1/charges/{paid['charge']}", params={"expand[0]": "balance_transaction"}, headers=auth
    )
    txn = charge.json()["balance_transaction"]
    # Stripe's Danish price for a standard EEA card: 1.5 % + 1.80 kr.
    assert (txn["type"], txn["amount"], txn["fee"], txn["net"]) == ("charge", 18750, 461, 18289)
    assert txn["fee_details"][0]["type"] == "stripe_fee" and txn["exchange_rate"] is None
    refused = await sandbox.get(
        f"/v1/charges/{paid['charge']}", params={"expand[]": "refunds.data"}, headers=auth
    )
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"


async def test_a_zero_decimal_currency_is_whole_units_settled_in_dkk_at_stripe_s_rate(
    sandbox, account
) -> None:
    lines = [{"description": "Matcha", "amount": 10000, "tax_percent": 0}]
    paid = await pay(sandbox, account, currency="JPY", lines=lines)
    assert (paid["invoice"]["currency"], paid["invoice"]["total"]) == ("jpy", 10000)
    auth = await token(sandbox, account)
    txn = (
        await sandbox.get(f"/v1/balance_transactions/{paid['balance_transaction']}", headers=auth)
    ).json()
    assert (txn["currency"], txn["amount"], txn["exchange_rate"]) == ("dkk", 45120, 0.04512)
    assert txn["fee"] == round(45120 * 0.035) + 180  # 1.5 % + 2 % conversion + 1.80 kr


async def test_only_a_token_minted_for_the_account_and_mode_reads_it(sandbox, account) -> None:
    paid = await pay(sandbox, account)
    path = f"/v1/invoices/{paid['invoice']['id']}"
    assert (await sandbox.get(path)).status_code == 401
    unknown = await sandbox.get(path, headers={"Authorization": "Bearer sk_test_nothing_we_minted"})
    assert unknown.status_code == 401
    assert unknown.json()["error"]["message"].startswith("Invalid API Key provided")
    assert "nothing_we_minted" not in unknown.text  # Stripe masks the key
    other = await sandbox.get(path, headers=await token(sandbox, "acct_someoneelse"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "resource_missing"
    live = await sandbox.get(path, headers=await token(sandbox, account, livemode=True))
    assert live.status_code == 404  # test-mode objects are not live ones
    auth = await token(sandbox, account)
    clock = stripe.state_.clock
    stripe.state_.clock = lambda: clock() + 3601  # an access token lives an hour
    try:
        expired = await sandbox.get(path, headers=auth)
    finally:
        stripe.state_.clock = clock
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "api_key_expired"


async def test_lists_page_newest_first_with_has_more_and_starting_after(sandbox, account) -> None:
    made = [(await pay(sandbox, account))["invoice"]["id"] for _ in range(3)]
    auth = await token(sandbox, account)
    first = (await sandbox.get("/v1/invoices", params={"limit": 2}, headers=auth)).json()
    assert [i["id"] for i in first["data"]] == made[::-1][:2] and first["has_more"] is True
    rest = await sandbox.get(
        "/v1/invoices", params={"limit": 2, "starting_after": first["data"][-1]["id"]}, headers=auth
    )
    assert [i["id"] for i in rest.json()["data"]] == [made[0]] and rest.json()["has_more"] is False
    assert (
        await sandbox.get("/v1/invoices", params={"limit": 101}, headers=auth)
    ).status_code == 400
    numbers = [i["number"] for i in first["data"]]
    assert numbers[0].endswith("-0003") and numbers[1].endswith("-0002")  # one customer, reused
    account_body = (await sandbox.get("/v1/account", headers=auth)).json()
    assert (
        account_body["settings"]["dashboard"]["display_name"]
        and account_body["business_profile"]["name"]
    )


async def test_a_payout_names_its_transactions_and_they_sum_to_it(sandbox, sent, account) -> None:
    paid = await pay(sandbox, account)
    refund = await sandbox.post(
        "/_sandbox/stripe/refunds",
        json={"account": account, "charge": paid["charge"], "amount": 5000},
    )
    assert refund.status_code == 200, refund.text
    other = await sandbox.post(
        "/_sandbox/stripe/charges", json={"account": account, "amount": 20000}
    )
    adjusted = await sandbox.post(
        "/_sandbox/stripe/adjustments", json={"account": account, "amount": -1500}
    )
    sent.clear()
    out = await sandbox.post("/_sandbox/stripe/payouts", json={"account": account})
    payout = out.json()["payout"]
    assert payout["automatic"] is True and payout["status"] == "paid"
    assert [e["type"] for e in sent] == ["payout.paid", "payout.reconciliation_completed"]
    auth = await token(sandbox, account)
    listed = (
        await sandbox.get(
            "/v1/balance_transactions", params={"payout": payout["id"], "limit": 100}, headers=auth
        )
    ).json()
    kinds = sorted(t["type"] for t in listed["data"])
    assert kinds == ["adjustment", "charge", "charge", "payout", "refund"]
    moved = [t for t in listed["data"] if t["type"] != "payout"]
    assert sum(t["net"] for t in moved) == payout["amount"]
    assert sum(t["net"] for t in listed["data"]) == 0  # the payout's own transaction takes it out
    sources = {t["source"] for t in moved}
    assert {paid["charge"], refund.json()["refund"]["id"], other.json()["charge"]["id"]} <= sources
    assert adjusted.json()["balance_transaction"]["source"] is None
    refunded = (await sandbox.get(f"/v1/charges/{paid['charge']}", headers=auth)).json()
    assert refunded["amount_refunded"] == 5000 and refunded["refunded"] is False
    empty = await sandbox.post("/_sandbox/stripe/payouts", json={"account": account})
    assert empty.status_code == 400  # nothing left to pay out


async def test_a_manual_payout_cannot_list_its_transactions(sandbox, sent, account) -> None:
    await pay(sandbox, account)
    sent.clear()
    out = await sandbox.post(
        "/_sandbox/stripe/payouts", json={"account": account, "automatic": False}
    )
    payout = out.json()["payout"]
    assert payout["reconciliation_status"] == "not_applicable"
    assert [e["type"] for e in sent] == ["payout.paid"]
    refused = await sandbox.get(
        "/v1/balance_transactions",
        params={"payout": payout["id"]},
        headers=await token(sandbox, account),
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "payout"


async def test_a_failed_payout_returns_its_money_to_the_balance(sandbox, sent, account) -> None:
    await pay(sandbox, account)
    payout = (await sandbox.post("/_sandbox/stripe/payouts", json={"account": account})).json()[
        "payout"
    ]
    sent.clear()
    failed = await sandbox.post(
        "/_sandbox/stripe/payouts/fail", json={"account": account, "payout": payout["id"]}
    )
    assert failed.json()["payout"]["status"] == "failed" and [e["type"] for e in sent] == [
        "payout.failed"
    ]
    again = (await sandbox.post("/_sandbox/stripe/payouts", json={"account": account})).json()[
        "payout"
    ]
    assert again["amount"] == payout["amount"]


async def test_events_can_be_held_and_delivered_late(sandbox, sent, account) -> None:
    paid = await pay(sandbox, account, hold=True)
    assert sent == [] and paid["status_codes"] == [None]
    held = (await sandbox.get("/_sandbox/stripe/webhooks/held", params={"account": account})).json()
    assert held["event_ids"] == paid["event_ids"]
    await sandbox.post(
        "/_sandbox/stripe/webhooks/deliver", json={"event_ids": paid["event_ids"], "times": 2}
    )
    assert [e["type"] for e in sent] == ["invoice.paid", "invoice.paid"]


async def test_the_dashboard_pays_an_invoice_pays_out_and_shows_the_invoice_page(
    sandbox, sent, account
) -> None:
    form = {
        "account": account,
        "customer": "Café Øst",
        "description": "Latte",
        "amount": "40,00",
        "vat": "25",
    }
    assert (await sandbox.post("/dashboard/pay-invoice", data=form)).status_code == 303
    page = await sandbox.get(f"/dashboard/{account}/test/dashboard")
    assert "Pay an invoice" in page.text and "Pay out" in page.text and "50.00 DKK" in page.text
    (link,) = [
        part.split('"')[0] for part in page.text.split('href="')[1:] if "/invoices/in_" in part
    ]
    invoice = await sandbox.get(link)
    assert (
        invoice.status_code == 200
        and 'id="app-panel"' in invoice.text
        and "Café Øst" in invoice.text
    )
    assert (await sandbox.post("/dashboard/payout", data={"account": account})).status_code == 303
    assert [e["type"] for e in sent][-2:] == ["payout.paid", "payout.reconciliation_completed"]
