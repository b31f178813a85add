"""The pretend Stripe's objects, per connected account and mode, as Stripe's API version
2025-03-31.basil shapes them (docs/external-contracts.md S11-S14): customers, invoices and their
payments, payment intents, charges, refunds, tax rates, balance transactions and payouts. The
flows that make them are in stripe_flows; the API that reads them in stripe_api."""

import copy
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2025-03-31.basil"
PREFIXES = {
    "cus": "customer",
    "in": "invoice",
    "inpay": "invoice_payment",
    "pi": "payment_intent",
    "ch": "charge",
    "re": "refund",
    "txr": "tax_rate",
    "txn": "balance_transaction",
    "po": "payout",
    "il": "line_item",
    "evt": "event",
}
ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """Stripe's ids: a prefix and 24 letters and digits."""
    return f"{prefix}_" + "".join(secrets.choice(ALPHABET) for _ in range(24))


def kind_of(object_id: str) -> str | None:
    return PREFIXES.get(object_id.split("_", 1)[0])


def now() -> int:
    return int(time.time())


@dataclass
class Profile:
    """What GET /v1/account tells about an account (settings.dashboard.display_name,
    business_profile.name), and the currency its balance settles in."""

    display_name: str
    business_name: str
    country: str = "DK"
    default_currency: str = "dkk"


@dataclass
class Ledger:
    """One account's objects in one mode: Stripe keeps live and test apart."""

    account: str
    livemode: bool
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → object, in order
    paid_out: dict[str, str] = field(default_factory=dict)  # balance transaction → payout

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Objects of a kind, newest first, as Stripe lists them."""
        return [o for o in reversed(self.objects.values()) if o["object"] == kind]

    def base(self, prefix: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": new_id(prefix),
            "object": PREFIXES[prefix],
            "created": now(),
            "livemode": self.livemode,
            **fields,
        }


LEDGERS: dict[tuple[str, bool], Ledger] = {}
PROFILES: dict[str, Profile] = {}


def ledger_of(account: str, livemode: bool) -> Ledger:
    return LEDGERS.setdefault((account, livemode), Ledger(account, livemode))


def profile_of(account: str) -> Profile:
    return PROFILES.setdefault(account, Profile(f"Shop {account[-4:]}", f"Shop {account[-4:]} ApS"))


def account_object(account: str, livemode: bool) -> dict[str, Any]:
    """GET /v1/account's answer, trimmed to what an app reads."""
    profile = profile_of(account)
    return {
        "id": account,
        "object": "account",
        "business_profile": {"name": profile.business_name, "url": None, "mcc": None},
        "country": profile.country,
        "default_currency": profile.default_currency,
        "email": None,
        "livemode": livemode,
        "settings": {
            "dashboard": {"display_name": profile.display_name, "timezone": "Europe/Copenhagen"}
        },
        "type": "standard",
    }


def event(ledger: Ledger, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An event of a connected account as a Connect endpoint gets it: the account on top, the
    object as it was then."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "account": ledger.account,
        "api_version": API_VERSION,
        "created": now(),
        "data": {"object": copy.deepcopy(obj)},  # as it was when the event happened
        "livemode": ledger.livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def balance_transaction(
    ledger: Ledger,
    kind: str,
    amount: int,
    currency: str,
    source: str | None,
    description: str | None,
    fee: int = 0,
    exchange_rate: float | None = None,
) -> dict[str, Any]:
    """A movement of the balance. Available at once in the sandbox (Stripe holds new funds
    for days first: not played)."""
    created = now()
    categories = {
        "charge": "charge",
        "refund": "refund",
        "payout": "payout",
        "payout_failure": "payout_reversal",
        "adjustment": "other_adjustment",
    }
    fee_details = (
        [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        if fee
        else []
    )
    return ledger.add(
        ledger.base(
            "txn",
            amount=amount,
            available_on=created,
            currency=currency,
            description=description,
            exchange_rate=exchange_rate,
            fee=fee,
            fee_details=fee_details,
            net=amount - fee,
            reporting_category=categories[kind],
            source=source,
            status="available",
            type=kind,
        )
    )
