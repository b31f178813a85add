"""The Stripe App's tests answer its fetches with stripe-app/test/fixtures/backend.json. Those
answers are made here from the real thing: events projected by the status service's own rules and
rendered by `merchant_view` (what /api/status answers), econ-auth's response models, and sync's
answers to the sync views (stripe_app_sync_answers: its own view routes over records its own
Outcomes wrote). When a model changes, this test fails until the fixture is regenerated, and the
regenerated fixture then fails the app's tests if the view no longer understands it.

Regenerate: KOBLING_WRITE_FIXTURES=1 uv run pytest tests/unit/test_stripe_app_fixtures.py
"""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

from kobling_econ_auth.consent_routes import NO_REQUEST, Answered
from kobling_econ_auth.routes import ConnectLink, Disconnected
from kobling_shared.events import (
    AnyEvent,
    ConflictData,
    ConnectedData,
    DisconnectedData,
    EconomicAgreementShared,
    EconomicConnected,
    EconomicConnectionFailed,
    EconomicConnectionHeld,
    EconomicDisconnected,
    EconomicJoinRequested,
    FailedData,
    HeldData,
    InstallData,
    JoinRequestData,
    StripeAppInstalled,
)
from kobling_shared.openapi import Problem
from kobling_status.projection import AccountStatus, EconomicState, project
from kobling_status.views import merchant_view
from tests.unit.stripe_app_sync_answers import sync_answers

FIXTURE = Path(__file__).parents[2] / "stripe-app" / "test" / "fixtures" / "backend.json"
ACCOUNT = "acct_1Kobling"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _envelope(n: int) -> dict[str, Any]:
    return {
        "id": f"evt_{n}",
        "source": "fixture",
        "subject": ACCOUNT,
        "livemode": False,
        "time": T0 + timedelta(minutes=n),
    }


INSTALLED = StripeAppInstalled(**_envelope(0), data=InstallData(via="oauth"))
CONNECTED = EconomicConnected(
    **_envelope(1),
    data=ConnectedData(
        sequence=1, agreement_number=123456, company_name="Acme ApS", user_name="Jane Doe"
    ),
)


def _status(*events: AnyEvent) -> dict[str, Any]:
    status: AccountStatus | None = None
    for event in events:
        status = project(status, event) or status
    assert status is not None
    return merchant_view(status)


def _backend_answers() -> dict[str, Any]:
    statuses = {
        "not_connected": _status(INSTALLED),
        "connected": _status(INSTALLED, CONNECTED),
        "developer_agreement": _status(
            INSTALLED,
            EconomicConnected(
                **_envelope(1),
                data=ConnectedData(
                    sequence=1,
                    agreement_number=654321,
                    company_name="Developer ApS",
                    developer_agreement=True,
                ),
            ),
        ),
        "agreement_shared": _status(
            INSTALLED,
            CONNECTED,
            EconomicAgreementShared(
                **_envelope(2),
                data=ConflictData(
                    sequence=2, agreement_number=123456, other_accounts=["acct_1Other"]
                ),
            ),
        ),
        # Waiting for the consent of the Stripe account already connected to the company.
        "awaiting_consent": _status(
            INSTALLED,
            EconomicConnectionHeld(
                **_envelope(1),
                data=HeldData(
                    sequence=1,
                    agreement_number=123456,
                    company_name="Acme ApS",
                    awaiting_accounts=["acct_1Other"],
                    expires_at=T0 + timedelta(days=7, minutes=1),
                ),
            ),
        ),
        # Connected, and another Stripe account asks to join the company.
        "join_requested": _status(
            INSTALLED,
            CONNECTED,
            EconomicJoinRequested(
                **_envelope(2),
                data=JoinRequestData(
                    sequence=2,
                    agreement_number=123456,
                    company_name="Acme ApS",
                    requesting_account="acct_1Newcomer",
                    requesting_livemode=False,
                    requesting_account_name="Newcomer Studio",
                    expires_at=T0 + timedelta(days=7, minutes=2),
                ),
            ),
        ),
        "join_refused": _status(
            INSTALLED,
            EconomicConnectionFailed(
                **_envelope(1), data=FailedData(sequence=1, reason="join_refused")
            ),
        ),
        "join_cancelled": _status(
            INSTALLED,
            EconomicConnectionFailed(
                **_envelope(1), data=FailedData(sequence=1, reason="join_cancelled")
            ),
        ),
        "failed": _status(
            INSTALLED,
            EconomicConnectionFailed(
                **_envelope(1), data=FailedData(sequence=1, reason="grant_rejected")
            ),
        ),
        "disconnected": _status(
            INSTALLED,
            CONNECTED,
            EconomicDisconnected(
                **_envelope(2), data=DisconnectedData(sequence=2, reason="merchant_request")
            ),
        ),
        "revoked": _status(
            INSTALLED,
            CONNECTED,
            EconomicDisconnected(
                **_envelope(2), data=DisconnectedData(sequence=2, reason="grant_revoked")
            ),
        ),
    }
    link = ConnectLink(
        url="http://127.0.0.1:8002/economic/connect?link=fixture",
        expires_at=T0 + timedelta(minutes=15),
    )
    gone = Disconnected(
        state="disconnected",
        changed=True,
        message="Kobling no longer holds a grant for your e-conomic company.",
    )
    not_installed = Problem(
        error="not_installed", message="Kobling is not installed on this account"
    )
    answered = Answered(outcome="approved", message="The Stripe account is connected too.")
    return {
        "answered": answered.model_dump(mode="json"),
        "no_join_request": NO_REQUEST,
        "status": statuses,
        "not_installed": not_installed.model_dump(mode="json"),
        "connect_link": link.model_dump(mode="json"),
        "disconnected": gone.model_dump(mode="json"),
        "sync": sync_answers(),
    }


def _rendered(answers: dict[str, Any]) -> str:
    return json.dumps(answers, indent=2, ensure_ascii=False) + "\n"


def test_the_stripe_app_fixtures_are_what_the_backend_answers() -> None:
    expected = _rendered(_backend_answers())
    if os.environ.get("KOBLING_WRITE_FIXTURES") == "1":
        FIXTURE.write_text(expected)
    assert FIXTURE.read_text() == expected, (
        "stripe-app/test/fixtures/backend.json is stale: regenerate it (see this file's docstring)"
    )


def test_the_fixtures_hold_every_state_the_view_must_show() -> None:
    states = {s["economic"]["state"] for s in _backend_answers()["status"].values()}
    assert states == set(get_args(EconomicState))


def test_the_sync_fixtures_hold_every_state_an_invoice_and_a_payout_can_show() -> None:
    sync = _backend_answers()["sync"]
    shown = {answer["body"]["state"] for answer in sync["object"].values()}
    assert shown == {"unknown", "pending", "synced", "needs_attention", "skipped"}
    reasons = {answer["body"]["reason"] for answer in sync["object"].values()}
    assert {"totals_differ", "economic_refused", "before_start"} <= reasons
    assert sync["object"]["totals_differ"]["body"]["figures"]["economic_gross"] == 100000
    assert sync["object"]["economic_refused"]["body"]["economic"]["errors"] == {
        "paymentTerms": "Payment terms not found."
    }
    assert sync["replay"]["replayed"]["body"]["state"] == "synced"
    assert {a["status"] for a in sync["save"].values()} == {200, 409, 422}
    errors = sync["save"]["refused_by_economic"]["body"]["errors"]
    assert errors == {
        "layout": "not_found:99",
        "fees_account": "no_entries:1000",
        "accounts": "same_account_twice",
    }
    # Headings, totals and barred accounts are not offered.
    offered = {c["number"] for c in sync["settings"]["fresh"]["body"]["choices"]["bank_account"]}
    assert offered == {1010, 3620, 3640, 5820, 5830, 5840}
