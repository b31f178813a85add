"""The decisions about joining an e-conomic agreement another Stripe account is connected to: pure,
no I/O (consent.py does the rest).

e-conomic does not bind a grant token to our state: whoever gets a victim to press "Add app" on a
grant page with our public token and their own redirectUrl holds a token that completes their own
state. So a grant to an agreement already connected elsewhere connects nothing by itself: it is
held, sealed, and never lent, until a user of an account already connected approves.
"""

from datetime import datetime, timedelta
from typing import Literal

from kobling_econ_auth.connection import Agreement, Connection, Held, connect, fail
from kobling_shared.events import (
    EconomicConnectionHeld,
    EconomicJoinClosed,
    EconomicJoinRequested,
    HeldData,
    JoinClosedData,
    JoinRequestData,
)

# A week: long enough for the other account's administrator to be away over a weekend or a short
# holiday; short enough that a grant nobody vouched for is not kept for long. The merchant can ask
# again at any time.
HOLD_FOR = timedelta(days=7)

Outcome = Literal["approved", "refused", "cancelled", "expired", "withdrawn"]
# How a hold ends without approval, answered or not; "withdrawn" is a hold the waiting install
# replaced (a new connection or hold) or lost with an uninstall, which says so itself.
Release = Literal["refused", "cancelled", "expired"]
# What the waiting account is told when its hold ends so.
REASONS: dict[Release, str] = {
    "refused": "join_refused",
    "cancelled": "join_cancelled",
    "expired": "join_expired",
}


def hold(
    conn: Connection,
    sealed: str,
    agreement: Agreement,
    awaiting: list[tuple[str, bool]],
    at: datetime,
    user_id: str | None = None,
) -> Connection:
    """Keeps a proven grant without connecting it; it replaces an earlier hold. The connection the
    install had (to another company) stands meanwhile."""
    seq = conn._next()
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)  # as the database keeps it
    held = Held(
        grant_ciphertext=sealed,
        agreement=agreement,
        held_at=at,
        expires_at=at + HOLD_FOR,
        awaiting=sorted(set(awaiting)),
        user_id=user_id,
    )
    data = HeldData(
        sequence=seq,
        agreement_number=agreement.agreement_number,
        company_name=agreement.company_name,
        awaiting_accounts=sorted({account for account, _ in awaiting}),
        expires_at=held.expires_at,
        user_id=user_id,
    )
    return conn._with(
        EconomicConnectionHeld(**conn._envelope(), time=at, data=data), held=held, sequence=seq
    )


def approve(conn: Connection, agreement_number: int, at: datetime) -> Connection | None:
    """The held grant connects; None when nothing to that agreement is held any more."""
    held = conn.held
    if held is None or held.agreement.agreement_number != agreement_number:
        return None
    return connect(conn, held.grant_ciphertext, held.agreement, at, held.user_id)


def release(
    conn: Connection, outcome: Release, agreement_number: int | None = None
) -> Connection | None:
    """Drops the held grant (its key is destroyed by the change) and tells the account why; None
    when nothing (to that agreement) is held."""
    held = conn.held
    if held is None or agreement_number not in (None, held.agreement.agreement_number):
        return None
    dropped = conn.model_copy(update={"held": None})
    return fail(dropped, REASONS[outcome])


def is_member(conn: Connection | None, agreement_number: int) -> bool:
    """Whether this install is connected to the agreement, and so may answer for it."""
    return (
        conn is not None
        and conn.installed
        and conn.state == "connected"
        and conn.agreement is not None
        and conn.agreement.agreement_number == agreement_number
    )


def join_requested(conn: Connection, waiting: Connection) -> Connection | None:
    """Asks a member of the agreement `waiting` holds; None when this install is not one."""
    held = waiting.held
    if held is None or not is_member(conn, held.agreement.agreement_number):
        return None
    seq = conn._next()
    data = JoinRequestData(
        sequence=seq,
        agreement_number=held.agreement.agreement_number,
        company_name=held.agreement.company_name,
        requesting_account=waiting.account_id,
        requesting_livemode=waiting.livemode,
        requesting_account_name=waiting.account_name,
        expires_at=held.expires_at,
    )
    return conn._with(EconomicJoinRequested(**conn._envelope(), data=data), sequence=seq)


def join_closed(
    conn: Connection, waiting: tuple[str, bool], outcome: Outcome, user_id: str | None = None
) -> Connection:
    """Tells an install asked that the request is over: answered here or elsewhere, or dropped."""
    seq = conn._next()
    data = JoinClosedData(
        sequence=seq,
        requesting_account=waiting[0],
        requesting_livemode=waiting[1],
        outcome=outcome,
        user_id=user_id,
    )
    return conn._with(EconomicJoinClosed(**conn._envelope(), data=data), sequence=seq)


def expired(conn: Connection, at: datetime) -> bool:
    return conn.held is not None and conn.held.expires_at <= at
