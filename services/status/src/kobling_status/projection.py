"""The read model's rules: how each event changes an account's status, whatever the order.

Events reach us twice, late, and across two topics in no order. Each section of the status keeps
the position of the last event it took (Stripe's event time for installs, econ-auth's sequence for
connections) and takes only a newer one, so duplicates and stale events change nothing and every
order of delivery converges to the same document.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kobling_shared.events import (
    AnyEvent,
    EconomicAgreementShared,
    EconomicConnected,
    EconomicConnectionFailed,
    EconomicConnectionHeld,
    EconomicDisconnected,
    EconomicJoinClosed,
    EconomicJoinRequested,
    StripeAppInstalled,
    StripeAppUninstalled,
    install_position,
)

EconomicState = Literal["not_connected", "connected", "failed", "disconnected"]


class StripeSection(BaseModel):
    installed: bool = False
    installed_at: datetime | None = None
    uninstalled_at: datetime | None = None
    # (event time, rank): an uninstall in the same second as an install is the later one.
    position: tuple[datetime, int] | None = None


class AwaitingConsent(BaseModel):
    """This account's connection to a company another Stripe account is connected to, waiting for
    that account's approval. Never names the other account."""

    agreement_number: int
    company_name: str
    expires_at: datetime


class JoinRequest(BaseModel):
    """Another Stripe account asks to join the company this account is connected to."""

    account_id: str
    livemode: bool
    account_name: str | None = None  # the name Stripe knows it by, when known
    agreement_number: int
    company_name: str
    requested_at: datetime
    expires_at: datetime


class EconomicSection(BaseModel):
    state: EconomicState = "not_connected"
    since: datetime | None = None
    agreement_number: int | None = None
    company_name: str | None = None
    company_identification_number: str | None = None  # CVR for a Danish company
    vat_number: str | None = None  # Swedish agreements only
    user_name: str | None = None
    connected_at: datetime | None = None
    reason: str | None = None
    warning: str | None = None
    shared_with: list[str] = []
    # A developer agreement (no books): connected, with a warning that nothing can sync.
    developer_agreement: bool = False
    awaiting_consent: AwaitingConsent | None = None
    join_requests: list[JoinRequest] = []
    sequence: int = 0


class AccountStatus(BaseModel):
    account_id: str
    livemode: bool
    updated_at: datetime
    # Factories, not instances: pydantic deep-copies an instance default for every status it
    # builds, which was a tenth of a rebuild's CPU.
    stripe: StripeSection = Field(default_factory=StripeSection)
    economic: EconomicSection = Field(default_factory=EconomicSection)


def project(current: AccountStatus | None, event: AnyEvent) -> AccountStatus | None:
    """The account's status after `event`, or None when the event changes nothing."""
    status = current or AccountStatus(
        account_id=event.subject, livemode=event.livemode, updated_at=event.time
    )
    if isinstance(event, StripeAppInstalled | StripeAppUninstalled):
        stripe = _stripe(status.stripe, event)
        if stripe is None:
            return None
        return status.model_copy(update={"stripe": stripe, "updated_at": _later(status, event)})
    economic = _economic(status.economic, event)
    if economic is None:
        return None
    return status.model_copy(update={"economic": economic, "updated_at": _later(status, event)})


def _later(status: AccountStatus, event: AnyEvent) -> datetime:
    return max(status.updated_at, event.time)


def _stripe(
    section: StripeSection, event: StripeAppInstalled | StripeAppUninstalled
) -> StripeSection | None:
    installing = isinstance(event, StripeAppInstalled)
    position = install_position(event)
    if section.position is not None and position <= section.position:
        return None
    if installing:
        return section.model_copy(
            update={"installed": True, "installed_at": event.time, "position": position}
        )
    return section.model_copy(
        update={"installed": False, "uninstalled_at": event.time, "position": position}
    )


def _economic(section: EconomicSection, event: AnyEvent) -> EconomicSection | None:
    data = event.data
    sequence = getattr(data, "sequence", None)
    if sequence is None or sequence <= section.sequence:
        return None
    match event:
        case EconomicConnected(data=connected):
            return EconomicSection(
                state="connected",
                since=event.time,
                agreement_number=connected.agreement_number,
                company_name=connected.company_name,
                company_identification_number=connected.company_identification_number,
                vat_number=connected.vat_number,
                user_name=connected.user_name,
                developer_agreement=connected.developer_agreement,
                connected_at=event.time,
                # Requests to join the company it is (still) connected to still wait.
                join_requests=[
                    r
                    for r in section.join_requests
                    if r.agreement_number == connected.agreement_number
                ],
                sequence=sequence,
            )
        case EconomicConnectionFailed(data=failed):
            # A held attempt ends with a failure of its own; any other leaves it waiting.
            awaiting = None if failed.reason.startswith("join_") else section.awaiting_consent
            # A failed attempt to reconnect does not undo a connection that still stands.
            if section.state == "connected":
                return section.model_copy(
                    update={"sequence": sequence, "awaiting_consent": awaiting}
                )
            return EconomicSection(
                state="failed",
                since=event.time,
                reason=failed.reason,
                awaiting_consent=awaiting,
                sequence=sequence,
            )
        case EconomicDisconnected(data=disconnected):
            uninstalled = disconnected.reason == "app_uninstalled"
            return EconomicSection(
                state="disconnected",
                since=event.time,
                reason=disconnected.reason,
                awaiting_consent=None if uninstalled else section.awaiting_consent,
                sequence=sequence,
            )
        case EconomicConnectionHeld(data=held):
            awaiting = AwaitingConsent(
                agreement_number=held.agreement_number,
                company_name=held.company_name,
                expires_at=held.expires_at,
            )
            return section.model_copy(update={"awaiting_consent": awaiting, "sequence": sequence})
        case EconomicJoinRequested(data=asked):
            request = JoinRequest(
                account_id=asked.requesting_account,
                livemode=asked.requesting_livemode,
                account_name=asked.requesting_account_name,
                agreement_number=asked.agreement_number,
                company_name=asked.company_name,
                requested_at=event.time,
                expires_at=asked.expires_at,
            )
            requests = [*_without(section, asked.requesting_account, asked.requesting_livemode)]
            return section.model_copy(
                update={"join_requests": [*requests, request], "sequence": sequence}
            )
        case EconomicJoinClosed(data=closed):
            left = _without(section, closed.requesting_account, closed.requesting_livemode)
            return section.model_copy(update={"join_requests": left, "sequence": sequence})
        case EconomicAgreementShared(data=shared):
            return section.model_copy(
                update={
                    "warning": "agreement_shared",
                    "shared_with": shared.other_accounts,
                    "sequence": sequence,
                }
            )
    return None


def _without(section: EconomicSection, account_id: str, livemode: bool) -> list[JoinRequest]:
    return [
        r for r in section.join_requests if (r.account_id, r.livemode) != (account_id, livemode)
    ]
