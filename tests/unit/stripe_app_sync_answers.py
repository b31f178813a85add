"""What sync answers the Stripe App's views, made by sync's own code: its view routes
(kobling_sync.view_routes) called with requests signed as Stripe signs them, over records that
sync's Outcomes wrote and e-conomic collections in the shapes e-conomic's REST API gives them.
Only the stores and the brokers are fakes. test_stripe_app_fixtures writes the answers into
stripe-app/test/fixtures/backend.json under "sync"; the app's jest tests render every one.
"""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import Request

from kobling_devkit.stripe_signing import sign, view_payload
from kobling_shared.events import account_key
from kobling_shared.mongo import Document
from kobling_sync import view_routes
from kobling_sync.brokers import Answer, Refused
from kobling_sync.outcomes import Attention, Outcomes, Skip, refusal
from kobling_sync.store import record_key

SECRET = "absec_fixture"
ACCOUNT, USER = "acct_1Kobling", "usr_1Kobling"
INSTALL = account_key(ACCOUNT, False)
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
INVOICE, SECOND, THIRD, PAYOUT = "in_1Paid", "in_2Differs", "in_3Yen", "po_1Payout"

# The merchant's e-conomic, as its REST API lists each collection (e-conomic/slate schemas:
# layouts, payment-terms, customer-groups, vat-zones, products, journals, accounts, self).
# A product's number is a string in e-conomic (products schema), every other an integer.
ECONOMIC: dict[str, Any] = {
    "/layouts": [
        {"layoutNumber": 19, "name": "Standard"},
        {"layoutNumber": 21, "name": "Faktura med logo"},
    ],
    "/payment-terms": [
        {"paymentTermsNumber": 1, "name": "Netto 8 dage", "paymentTermsType": "net"},
        {"paymentTermsNumber": 2, "name": "Løbende måned 30", "paymentTermsType": "invoiceMonth"},
        {"paymentTermsNumber": 5, "name": "Kreditkort", "paymentTermsType": "creditcard"},
    ],
    "/customer-groups": [
        {"customerGroupNumber": 1, "name": "Indenlandske kunder"},
        {"customerGroupNumber": 2, "name": "Udenlandske kunder"},
    ],
    "/vat-zones": [
        {"vatZoneNumber": 1, "name": "Domestic"},
        {"vatZoneNumber": 2, "name": "EU"},
        {"vatZoneNumber": 3, "name": "Abroad"},
        {"vatZoneNumber": 4, "name": "Domestic exempt"},
    ],
    "/products": [
        {"productNumber": "1", "name": "Abonnement"},
        {"productNumber": "2", "name": "Momsfri ydelse"},
    ],
    "/journals": [
        {"journalNumber": 1, "name": "Daglig"},
        {"journalNumber": 2, "name": "Stripe"},
    ],
    "/accounts": [
        {"accountNumber": 1000, "accountType": "heading", "name": "RESULTATOPGØRELSE"},
        {"accountNumber": 1010, "accountType": "profitAndLoss", "name": "Salg m/moms"},
        {"accountNumber": 3620, "accountType": "profitAndLoss", "name": "Gebyrer"},
        {"accountNumber": 3640, "accountType": "profitAndLoss", "name": "Kursdifferencer"},
        {"accountNumber": 5800, "accountType": "heading", "name": "Likvide beholdninger"},
        {"accountNumber": 5820, "accountType": "status", "name": "Bank"},
        {"accountNumber": 5830, "accountType": "status", "name": "Stripe (mellemregning)"},
        {"accountNumber": 5840, "accountType": "status", "name": "Afventende poster"},
        {"accountNumber": 5850, "accountType": "status", "name": "Gammel bank", "barred": True},
        {"accountNumber": 5899, "accountType": "totalFrom", "name": "Likvide i alt"},
    ],
}
SELF = {"agreementNumber": 123456, "company": {"name": "Acme ApS"}}

COMPLETE: dict[str, Any] = {
    "layout": 19,
    "payment_terms": 5,
    "customer_group": 1,
    "vat_zone": 1,
    "product": "1",
    "journal": 2,
    "bank_account": 5820,
    "clearing_account": 5830,
    "fees_account": 3620,
    "suspense_account": 5840,
    "fx_account": 3640,
    "start_date": "2026-11-01",
    "products": {},
}
PARTIAL = {
    **{name: None for name in COMPLETE if name != "products"},
    "layout": 19,
    "payment_terms": 5,
    "customer_group": 1,
    "vat_zone": 1,
    "product": "1",
    "products": {},
}


@dataclass
class FakeEconomic:
    """econ-auth's broker lending e-conomic: each collection as e-conomic pages it; or a refusal,
    as the broker refuses an account that is not connected."""

    refuse: bool = False

    async def call(self, account_id: str, livemode: bool, method: str, path: str, *_: Any) -> Any:
        if self.refuse:
            raise Refused(409, "not_connected", "e-conomic is not connected for this account")
        bare = path.split("?")[0]
        if bare == "/self":
            return Answer(200, SELF)
        return Answer(200, {"collection": ECONOMIC[bare], "pagination": {"results": 1}})


@dataclass
class FakeSettings:
    stored: Document | None = None

    async def get(self, key: str) -> Document | None:
        return self.stored

    async def put(self, key: str, settings: Document) -> None:
        self.stored = dict(settings)


@dataclass
class FakeRecords:
    """sync's records in memory, written through save() as the real store writes them."""

    docs: dict[str, Document] = field(default_factory=dict)

    async def get(self, key: str) -> Document | None:
        return self.docs.get(key)

    async def save(self, record: Document, **changes: Any) -> Document:
        saved = {**record, **changes, "rev": int(record.get("rev", 0)) + 1}
        self.docs[saved["_id"]] = saved
        return saved

    async def of_account(self, account: str, state: str | None = None, limit: int = 50) -> Any:
        mine = [r for r in self.docs.values() if r["account"] == account]
        mine = [r for r in mine if state is None or r["state"] == state]
        return sorted(mine, key=lambda r: r["updated_at"], reverse=True)[:limit]

    async def count(self, account: str, state: str, since: datetime | None = None) -> int:
        # Every record here counts as today's: the fixture's times are fixed, the day is not.
        return len([r for r in self.docs.values() if r["state"] == state])


class Published:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def publish(self, event: Any) -> None:
        self.events.append(event)


@dataclass
class FakeSync:
    replayed: Document | None = None

    async def replay(self, account_id: str, livemode: bool, object_id: str) -> Document | None:
        return self.replayed


class Once:
    def __init__(self, fresh: bool = True) -> None:
        self.fresh = fresh

    async def once(self, signature_id: str) -> bool:
        return self.fresh


def _record(object_id: str, kind: str = "invoice", **fields: Any) -> Document:
    """A record as sync.work opens it, then as its steps left it."""
    return {
        "_id": record_key(ACCOUNT, False, object_id),
        "rev": 1,
        "account": INSTALL,
        "account_id": ACCOUNT,
        "livemode": False,
        "object_type": kind,
        "object_id": object_id,
        "state": "pending",
        "generation": 0,
        "results": {},
        "intents": {},
        "stripe_event_id": f"evt_{object_id}",
        "created_at": T0,
        "updated_at": T0,
        **fields,
    }


def _refused_by_economic() -> Answer:
    """e-conomic's 400 for a customer whose payment terms are gone (its validation error shape:
    the sandbox's `_invalid`, DOMAIN.md "validation errors")."""
    return Answer(
        400,
        {
            "message": "Validation error.",
            "errorCode": "E04300",
            "developerHint": "Find more information in the errors property.",
            "logId": "0HN8Q6DJ2L1E1:00000002",
            "errors": {
                "paymentTerms": {
                    "errors": [
                        {
                            "errorCode": "E06000",
                            "message": "Payment terms not found.",
                            "value": {"paymentTermsNumber": 5},
                            "developerHint": "Check 'paymentTerms.paymentTermsNumber'.",
                        }
                    ]
                }
            },
        },
    )


async def _records() -> tuple[FakeRecords, dict[str, Document]]:
    """Each state an object can end in, as sync's Outcomes write it."""
    records = FakeRecords()
    outcomes = Outcomes(records, Published())  # type: ignore[arg-type]

    async def at(minutes: int, end: Any) -> Document:
        with patch("kobling_sync.outcomes.now", return_value=T0 + timedelta(minutes=minutes)):
            done: Document = await end
        return done

    booked = {"customer": 12, "draft": None, "book": 1001, "payment": 501}
    paid = dict(currency="dkk", total=125000, charges=["ch_1Paid", "pi_1Paid"])
    synced = await at(
        1,
        outcomes.synced_invoice(_record(INVOICE, results=booked, step="payment", **paid)),
    )
    draft = {"number": 7, "gross": 1000.0, "vat": 0.0}
    differs = await at(
        3,
        outcomes.attention(
            _record(SECOND, results={"customer": 13, "draft": draft}, step="draft", **paid),
            Attention(
                "draft",
                "totals_differ",
                figures={
                    "stripe_gross": 125000,
                    "economic_gross": 100000,
                    "stripe_vat": 25000,
                    "economic_vat": 0,
                    "draft_invoice_number": 7,
                },
            ),
        ),
    )
    yen = await at(
        2,
        outcomes.attention(
            _record(
                THIRD,
                results={"customer": 14, "draft": {"number": 8, "gross": 10000, "vat": 0}},
                step="draft",
                currency="jpy",
                total=11000,
            ),
            Attention(
                "draft",
                "totals_differ",
                figures={
                    "stripe_gross": 11000,
                    "economic_gross": 10000,
                    "stripe_vat": 1000,
                    "economic_vat": 0,
                    "draft_invoice_number": 8,
                },
            ),
        ),
    )
    refused = await at(
        4,
        outcomes.attention(
            _record("in_4Refused", currency="dkk", total=50000),
            Attention("customer", "economic_refused", refusal(_refused_by_economic())),
        ),
    )
    skipped = await at(5, outcomes.skipped(_record("in_5Early"), Skip("before_start")))
    pending = _record(
        "in_6Working",
        results={"customer": 12},
        intents={"customer": {"key": "kobling-sync-fixture", "at": T0}, "draft": {"at": T0}},
        step="customer",
        updated_at=T0 + timedelta(minutes=6),
        **paid,
    )
    records.docs[pending["_id"]] = pending
    payout = {
        "currency": "dkk",
        "amount": 98765,
        "fees": 1235,
        "suspense": -5000,
        "suspense_lines": 1,
        "flags": [],
        "voucher_number": 42,
    }
    voucher = {"voucher": 42}
    booked_payout = await at(
        7,
        outcomes.booked_payout(
            _record(PAYOUT, "payout", results=voucher, currency="dkk", total=98765), payout
        ),
    )
    year_closed = await at(
        8,
        outcomes.attention(
            _record("po_2Closed", "payout", currency="dkk", total=20000),
            Attention("payment", "accounting_year_closed"),
        ),
    )
    # Replay of the second invoice after the merchant fixed the VAT zone: a new generation books.
    rebooked = {"customer": 13, "book": 1002, "payment": 502}
    replayed = await at(
        9,
        outcomes.synced_invoice(
            {**differs, "generation": 1, "results": rebooked, "step": "payment"}
        ),
    )
    records.docs[differs["_id"]] = differs  # the summary below is from before the Replay
    shown = {
        "synced": synced,
        "totals_differ": differs,
        "totals_differ_zero_decimal": yen,
        "economic_refused": refused,
        "skipped": skipped,
        "pending": pending,
        "payout_booked": booked_payout,
        "payout_needs_attention": year_closed,
        "replayed": replayed,
    }
    return records, shown


def _request(action: str, deps: Any, **extra: Any) -> Request:
    body = view_payload({"livemode": False, "action": action, **extra}, USER, ACCOUNT)
    headers = [(b"stripe-signature", sign(body, SECRET).encode())]
    state = SimpleNamespace(settings=SimpleNamespace(stripe_app_secret=SECRET), deps=deps)
    scope = {
        "type": "http",
        "method": "POST",
        "headers": headers,
        "app": SimpleNamespace(state=state),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    return Request(scope, receive)


async def _answer(route: Any, action: str, deps: Any, **extra: Any) -> dict[str, Any]:
    """The route's answer as FastAPI sends it: its status and JSON body."""
    try:
        result = await route(_request(action, deps, **extra))
    except HTTPException as refused:
        return {"status": refused.status_code, "body": {"detail": refused.detail}}
    if isinstance(result, JSONResponse):
        return {"status": result.status_code, "body": json.loads(bytes(result.body))}
    assert isinstance(result, BaseModel)
    return {"status": 200, "body": result.model_dump(mode="json")}


def _deps(**parts: Any) -> SimpleNamespace:
    defaults: dict[str, Any] = {
        "economic": FakeEconomic(),
        "settings": FakeSettings(),
        "records": FakeRecords(),
        "sync": FakeSync(),
        "spent": Once(),
    }
    return SimpleNamespace(**{**defaults, **parts})


async def _sync_answers() -> dict[str, Any]:
    records, shown = await _records()
    settings, save = view_routes.read_settings, view_routes.save_settings
    fresh_choices = {
        "fresh": await _answer(settings, "sync_settings", _deps()),
        "partial": await _answer(settings, "sync_settings", _deps(settings=FakeSettings(PARTIAL))),
        "complete": await _answer(
            settings, "sync_settings", _deps(settings=FakeSettings(COMPLETE))
        ),
        "not_connected": await _answer(
            settings, "sync_settings", _deps(economic=FakeEconomic(refuse=True))
        ),
    }
    for answer in fresh_choices.values():
        # Suggested as "today" by sync; fixed here so the fixture is the same every day.
        if "suggestions" in answer["body"]:
            answer["body"]["suggestions"]["start_date"] = "2026-11-23"
    wrong = {**COMPLETE, "layout": 99, "fees_account": 1000, "suspense_account": 5820}
    saved = {
        "saved": await _answer(save, "save_sync_settings", _deps(), settings=COMPLETE),
        "saved_partial": await _answer(save, "save_sync_settings", _deps(), settings=PARTIAL),
        "refused_by_economic": await _answer(save, "save_sync_settings", _deps(), settings=wrong),
        "refused_types": await _answer(
            save,
            "save_sync_settings",
            _deps(),
            settings={**PARTIAL, "layout": "nineteen", "start_date": "soon", "colour": "red"},
        ),
        "not_connected": await _answer(
            save, "save_sync_settings", _deps(economic=FakeEconomic(refuse=True)), settings=COMPLETE
        ),
    }
    objects = {
        "unknown": await _answer(
            view_routes.object_state, "sync_state", _deps(records=records), object_id="in_0Unpaid"
        )
    }
    for name, record in shown.items():
        if name == "replayed":
            continue
        only = FakeRecords({record["_id"]: record})
        objects[name] = await _answer(
            view_routes.object_state,
            "sync_state",
            _deps(records=only),
            object_id=record["object_id"],
        )
    replay = {
        "replayed": await _answer(
            view_routes.replay,
            "replay",
            _deps(sync=FakeSync(shown["replayed"])),
            nonce="0" * 32,
            object_id=SECOND,
        ),
        "used": await _answer(
            view_routes.replay, "replay", _deps(spent=Once(False)), nonce="1" * 32, object_id=SECOND
        ),
    }
    summary = {
        "on": await _answer(
            view_routes.summary,
            "sync_summary",
            _deps(settings=FakeSettings(COMPLETE), records=records),
        ),
        "off": await _answer(
            view_routes.summary, "sync_summary", _deps(settings=FakeSettings(PARTIAL))
        ),
        "quiet": await _answer(
            view_routes.summary,
            "sync_summary",
            _deps(
                settings=FakeSettings(COMPLETE),
                records=FakeRecords(
                    {k: v for k, v in records.docs.items() if v["state"] == "synced"}
                ),
            ),
        ),
    }
    return {
        "settings": fresh_choices,
        "save": saved,
        "object": objects,
        "replay": replay,
        "summary": summary,
    }


def sync_answers() -> dict[str, Any]:
    return asyncio.run(_sync_answers())
