"""What happens in a connected account's Stripe when money moves, and the events Stripe sends
for it (docs/external-contracts.md S12-S22): an invoice paid by card, a refund, a charge no
invoice explains, an adjustment, an automatic payout of the available balance, a failed payout."""

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kobling_sandbox import stripe_money as money
from kobling_sandbox.stripe_objects import (
    Ledger,
    balance_transaction,
    event,
    new_id,
    now,
    profile_of,
)


class FlowError(ValueError):
    """What Stripe would refuse (the control answers 400 with it)."""


@dataclass
class Line:
    description: str
    amount: int  # the line's net, in the currency's minor units
    tax_percent: float = 0.0
    quantity: int = 1


Moved = tuple[dict[str, Any], list[dict[str, Any]]]  # the object made, and its events


def _customer(ledger: Ledger, name: str, email: str | None, country: str) -> dict[str, Any]:
    """The customer of that name, or a new one (the sandbox's merchant reuses customers)."""
    for customer in ledger.of("customer"):
        if customer["name"] == name:
            return customer
    prefix = secrets.token_hex(4).upper()  # Stripe's invoice_prefix: 8 letters and digits
    return ledger.add(
        ledger.base(
            "cus",
            address={
                "city": None,
                "country": country,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            balance=0,
            currency=None,
            email=email,
            invoice_prefix=prefix,
            metadata={},
            name=name,
            preferred_locales=[],
            tax_exempt="none",
        )
    )


def _tax_rate(ledger: Ledger, percent: float) -> dict[str, Any]:
    for rate in ledger.of("tax_rate"):
        if rate["percentage"] == percent:
            return rate
    return ledger.add(
        ledger.base(
            "txr",
            active=True,
            country="DK",
            display_name="Moms",
            inclusive=False,
            jurisdiction="DK",
            percentage=percent,
            tax_type="vat",
        )
    )


def _tax(ledger: Ledger, amount: int, percent: float) -> dict[str, Any]:
    return {
        "amount": money.percent_of(amount, percent),
        "tax_behavior": "exclusive",
        "tax_rate_details": {"tax_rate": _tax_rate(ledger, percent)["id"]},
        "taxability_reason": "standard_rated" if percent else "zero_rated",
        "taxable_amount": amount,
        "type": "tax_rate_details",
    }


def pay_invoice(
    ledger: Ledger,
    customer_name: str,
    currency: str,
    lines: list[Line],
    email: str | None = None,
    country: str = "DK",
) -> Moved:
    """A finalized invoice paid in full by card: customer, invoice with its lines and taxes,
    payment intent, charge, the charge's balance transaction with Stripe's fee, the invoice
    payment; the event is `invoice.paid`."""
    currency = currency.lower()
    if currency not in money.RATES:
        raise FlowError(f"Invalid currency: {currency}. The sandbox plays {sorted(money.RATES)}.")
    if not lines or any(line.amount <= 0 or line.quantity <= 0 for line in lines):
        raise FlowError("An invoice needs lines of positive amounts.")
    customer = _customer(ledger, customer_name, email, country)
    invoice = ledger.base("in")
    items = [_line(ledger, invoice["id"], currency, line) for line in lines]
    subtotal = sum(item["amount"] for item in items)
    taxes = _total_taxes(items)
    total = subtotal + sum(t["amount"] for t in taxes)
    paid_at = now()
    sequence = 1 + sum(1 for i in ledger.of("invoice") if i["customer"] == customer["id"])
    invoice.update(_invoice_fields(ledger, customer, currency, items, subtotal, taxes, total))
    invoice.update(number=f"{customer['invoice_prefix']}-{sequence:04d}")
    invoice["status_transitions"] = {
        "finalized_at": paid_at,
        "marked_uncollectible_at": None,
        "paid_at": paid_at,
        "voided_at": None,
    }
    ledger.add(invoice)
    charge = _card_payment(ledger, customer["id"], currency, total, f"Invoice {invoice['number']}")
    ledger.add(
        ledger.base(
            "inpay",
            amount_paid=total,
            amount_requested=total,
            currency=currency,
            invoice=invoice["id"],
            is_default=True,
            payment={"type": "payment_intent", "payment_intent": charge["payment_intent"]},
            status="paid",
            status_transitions={"canceled_at": None, "paid_at": paid_at},
        )
    )
    return invoice, [event(ledger, "invoice.paid", invoice)]


def _line(ledger: Ledger, invoice: str, currency: str, line: Line) -> dict[str, Any]:
    item = ledger.base(
        "il",
        amount=line.amount,
        currency=currency,
        description=line.description,
        discount_amounts=[],
        discountable=True,
        discounts=[],
        invoice=invoice,
        metadata={},
        parent={
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": new_id("ii"),
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
        },
        period={"end": now(), "start": now()},
        pricing={
            "type": "price_details",
            "price_details": {"price": new_id("price"), "product": new_id("prod")},
            "unit_amount_decimal": str(Decimal(line.amount) / line.quantity),
        },
        quantity=line.quantity,
        taxes=[_tax(ledger, line.amount, line.tax_percent)],
    )
    item.pop("created")  # line items carry no creation time
    return item


def _total_taxes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The invoice's taxes, one per rate: amounts and taxable amounts summed."""
    totals: dict[str, dict[str, Any]] = {}
    for item in items:
        for tax in item["taxes"]:
            rate = tax["tax_rate_details"]["tax_rate"]
            if rate not in totals:
                totals[rate] = {**tax, "amount": 0, "taxable_amount": 0}
            totals[rate]["amount"] += tax["amount"]
            totals[rate]["taxable_amount"] += tax["taxable_amount"]
    return list(totals.values())


def _invoice_fields(
    ledger: Ledger,
    customer: dict[str, Any],
    currency: str,
    items: list[dict[str, Any]],
    subtotal: int,
    taxes: list[dict[str, Any]],
    total: int,
) -> dict[str, Any]:
    profile = profile_of(ledger.account)
    lines_url = "/v1/invoices/{id}/lines"
    return {
        "account_country": profile.country,
        "account_name": profile.business_name,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": total,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_reason": "manual",
        "collection_method": "charge_automatically",
        "currency": currency,
        "customer": customer["id"],
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "ending_balance": 0,
        "lines": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": lines_url,
        },
        "metadata": {},
        "parent": None,
        "starting_balance": 0,
        "status": "paid",
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": subtotal,
        "total_taxes": taxes,
    }


def _card_payment(
    ledger: Ledger, customer: str | None, currency: str, amount: int, description: str
) -> dict[str, Any]:
    """A succeeded payment intent and its charge, settled into the balance with Stripe's fee."""
    intent = ledger.base(
        "pi",
        amount=amount,
        amount_received=amount,
        currency=currency,
        customer=customer,
        description=description,
        metadata={},
        payment_method_types=["card"],
        status="succeeded",
    )
    charge = ledger.base("ch")
    settlement = profile_of(ledger.account).default_currency
    settled, rate = money.settle(amount, currency, settlement)
    fee = money.card_fee(settled, converted=rate is not None)
    txn = balance_transaction(
        ledger, "charge", settled, settlement, charge["id"], description, fee, rate
    )
    charge.update(
        amount=amount,
        amount_captured=amount,
        amount_refunded=0,
        balance_transaction=txn["id"],
        captured=True,
        currency=currency,
        customer=customer,
        description=description,
        metadata={},
        paid=True,
        payment_intent=intent["id"],
        payment_method_details={
            "type": "card",
            "card": {"brand": "visa", "country": "DK", "last4": "4242"},
        },
        refunded=False,
        status="succeeded",
    )
    intent["latest_charge"] = charge["id"]
    ledger.add(intent)
    return ledger.add(charge)


def unsynced_charge(ledger: Ledger, amount: int, currency: str, description: str) -> Moved:
    """A card payment that no invoice explains (a Payment Link, a terminal sale)."""
    if currency.lower() not in money.RATES or amount <= 0:
        raise FlowError("A charge needs a positive amount in a currency the sandbox plays.")
    charge = _card_payment(ledger, None, currency.lower(), amount, description)
    return charge, [event(ledger, "charge.succeeded", charge)]


def refund(ledger: Ledger, charge_id: str, amount: int | None = None) -> Moved:
    """A refund of (part of) a charge: its own negative balance transaction; Stripe keeps the
    fee of the original payment."""
    charge = ledger.objects.get(charge_id)
    if charge is None or charge["object"] != "charge":
        raise FlowError(f"No such charge: '{charge_id}'")
    amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
    if amount <= 0 or amount > charge["amount"] - charge["amount_refunded"]:
        raise FlowError("Refund amount is greater than the unrefunded amount of the charge.")
    original = ledger.objects[charge["balance_transaction"]]
    refund_ = ledger.base(
        "re",
        amount=amount,
        charge=charge_id,
        currency=charge["currency"],
        metadata={},
        payment_intent=charge["payment_intent"],
        reason=None,
        status="succeeded",
    )
    settled, rate = money.settle(amount, charge["currency"], original["currency"])
    txn = balance_transaction(
        ledger,
        "refund",
        -settled,
        original["currency"],
        refund_["id"],
        "REFUND FOR CHARGE",
        0,
        rate,
    )
    refund_["balance_transaction"] = txn["id"]
    ledger.add(refund_)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    return refund_, [event(ledger, "charge.refunded", charge)]


def adjustment(ledger: Ledger, amount: int, description: str) -> Moved:
    """A balance adjustment Stripe makes (a correction, a fee rebate): no event."""
    if amount == 0:
        raise FlowError("An adjustment needs an amount.")
    currency = profile_of(ledger.account).default_currency
    return balance_transaction(ledger, "adjustment", amount, currency, None, description), []


def pay_out(ledger: Ledger, automatic: bool = True) -> Moved:
    """A payout of every available balance transaction not yet paid out. An automatic one
    names its transactions (`GET /v1/balance_transactions?payout=`) once reconciled; the events
    are `payout.paid` and then `payout.reconciliation_completed` (a manual one: `payout.paid`)."""
    currency = profile_of(ledger.account).default_currency
    included = [
        t
        for t in ledger.of("balance_transaction")
        if t["id"] not in ledger.paid_out and t["type"] != "payout" and t["status"] == "available"
    ]
    amount = sum(t["net"] for t in included)
    if amount <= 0:
        raise FlowError("You have insufficient funds in your Stripe account for this payout.")
    payout = ledger.base(
        "po",
        amount=amount,
        arrival_date=now() + 2 * 86400,
        automatic=automatic,
        currency=currency,
        description="STRIPE PAYOUT",
        destination="ba_sandbox",
        failure_balance_transaction=None,
        failure_code=None,
        failure_message=None,
        metadata={},
        method="standard",
        original_payout=None,
        reconciliation_status="in_progress" if automatic else "not_applicable",
        reversed_by=None,
        source_type="card",
        statement_descriptor=None,
        status="paid",
        type="bank_account",
    )
    txn = balance_transaction(ledger, "payout", -amount, currency, payout["id"], "STRIPE PAYOUT")
    payout["balance_transaction"] = txn["id"]
    ledger.add(payout)
    for t in [*included, txn]:
        ledger.paid_out[t["id"]] = payout["id"]
    events = [event(ledger, "payout.paid", dict(payout))]
    if automatic:
        payout["reconciliation_status"] = "completed"
        events.append(event(ledger, "payout.reconciliation_completed", dict(payout)))
    return payout, events


def fail_payout(ledger: Ledger, payout_id: str) -> Moved:
    """The bank returned the payout: its amount comes back to the balance (a `payout_failure`
    transaction, available for the next payout) and the event is `payout.failed`."""
    payout = ledger.objects.get(payout_id)
    if payout is None or payout["object"] != "payout":
        raise FlowError(f"No such payout: '{payout_id}'")
    if payout["status"] == "failed":
        raise FlowError("This payout has already failed.")
    back = balance_transaction(
        ledger,
        "payout_failure",
        payout["amount"],
        payout["currency"],
        payout_id,
        "STRIPE PAYOUT FAILURE",
    )
    payout.update(
        status="failed",
        failure_code="account_closed",
        failure_message="The bank account has been closed.",
        failure_balance_transaction=back["id"],
    )
    return payout, [event(ledger, "payout.failed", dict(payout))]
