"""The decisions about one install's e-conomic connection: pure, no I/O.

Every change returns the new connection with the events it owes the world in its outbox. The store
writes both in one document update, so a change and its events are never separated by a crash;
the relay publishes the outbox afterwards (at least once; consumers drop repeats by event id).
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, field_serializer, field_validator

from kobling_shared.events import (
    AnyEvent,
    ConflictData,
    ConnectedData,
    DisconnectedData,
    EconomicAgreementShared,
    EconomicConnected,
    EconomicConnectionFailed,
    EconomicDisconnected,
    FailedData,
    StripeAppInstalled,
    StripeAppUninstalled,
    install_position,
)

SOURCE = "kobling/econ-auth"

State = Literal["not_connected", "connected", "failed", "disconnected"]
DisconnectReason = Literal["app_uninstalled", "merchant_request", "grant_revoked", "replaced"]


class Agreement(BaseModel):
    """What e-conomic's /self says about the company a grant opens."""

    agreement_number: int
    company_name: str
    # A Danish company's CVR (e-conomic's companyIdentificationNumber); vatNumber exists only for
    # Swedish agreements.
    company_identification_number: str | None = None
    vat_number: str | None = None
    user_name: str | None = None
    developer_agreement: bool = False


class Held(BaseModel):
    """A proven grant to an agreement another Stripe account is connected to: sealed and kept, never
    lent, until a user of such an account approves (holds.py)."""

    grant_ciphertext: str
    agreement: Agreement
    held_at: datetime
    expires_at: datetime
    # The installs (account, livemode) already connected to the agreement, asked to approve.
    awaiting: list[tuple[str, bool]]
    user_id: str | None = None

    @field_serializer("awaiting")
    def _stored(self, awaiting: list[tuple[str, bool]]) -> list[dict[str, Any]]:
        # FerretDB stores no array inside an array ("nested arrays are not supported").
        return [{"account_id": account, "livemode": mode} for account, mode in awaiting]

    @field_validator("awaiting", mode="before")
    @classmethod
    def _read(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [(v["account_id"], v["livemode"]) if isinstance(v, dict) else v for v in value]
        return value


class Connection(BaseModel):
    account_id: str
    livemode: bool
    installed: bool = False
    # The name Stripe shows for the account, from its install event (never from a view request);
    # forgotten with the uninstall.
    account_name: str | None = None
    install_position: tuple[datetime, int] | None = None
    # When we applied the latest uninstall (our clock, not Stripe's): links and states minted
    # before it die.
    uninstalled_at: datetime | None = None
    state: State = "not_connected"
    grant_ciphertext: str | None = None
    agreement: Agreement | None = None
    connected_at: datetime | None = None
    sequence: int = 0
    revocation_strikes: int = 0
    checks_day: str | None = None
    checks_today: int = 0
    # The grant check round (kobling_shared.ops.every_round) that checked this grant last.
    checked_round: int | None = None
    # A connection to an agreement already connected elsewhere, waiting for its consent.
    held: Held | None = None
    outbox: list[dict[str, Any]] = []

    def _next(self) -> int:
        return self.sequence + 1

    def _with(self, event: AnyEvent, **changes: Any) -> "Connection":
        outbox = [*self.outbox, event.model_dump(mode="json")]
        return self.model_copy(update={**changes, "outbox": outbox})

    def _envelope(self) -> dict[str, Any]:
        return {"source": SOURCE, "subject": self.account_id, "livemode": self.livemode}


def new_connection(account_id: str, livemode: bool) -> Connection:
    return Connection(account_id=account_id, livemode=livemode)


def on_install_event(
    conn: Connection, event: StripeAppInstalled | StripeAppUninstalled, at: datetime
) -> Connection | None:
    """Installs and uninstalls, in Stripe's order whatever order they reach us in: the latest by
    Stripe's time decides whether the app is installed. An uninstall that arrives after a later
    reinstall still ends a grant made before it: the merchant uninstalled with that grant. `at`
    is when we apply it (our clock: the links it must kill were minted by our clock too)."""
    installing = isinstance(event, StripeAppInstalled)
    position = install_position(event)
    if conn.install_position is not None and position <= conn.install_position:
        granted_before = conn.connected_at is not None and conn.connected_at <= event.time
        if installing or not granted_before:
            return None
        return disconnect(conn, "app_uninstalled")
    conn = conn.model_copy(update={"installed": installing, "install_position": position})
    if installing:
        # An install that could not read the name (a webhook, Stripe slow) keeps the one known.
        return conn.model_copy(
            update={"account_name": event.data.account_name or conn.account_name}
        )
    # An uninstall ends a held attempt too: whoever approves it later approves nothing.
    conn = conn.model_copy(update={"uninstalled_at": at, "held": None, "account_name": None})
    return disconnect(conn, "app_uninstalled") or conn


def connect(
    conn: Connection,
    grant_ciphertext: str,
    agreement: Agreement,
    at: datetime,
    user_id: str | None = None,
) -> Connection:
    """A proven grant replaces whatever grant the install had, to the same or another company,
    and any attempt still held. `user_id`: the Dashboard user who started the attempt."""
    seq = conn._next()
    data = ConnectedData(sequence=seq, user_id=user_id, **agreement.model_dump())
    event = EconomicConnected(**conn._envelope(), time=at, data=data)
    return conn._with(
        event,
        state="connected",
        grant_ciphertext=grant_ciphertext,
        agreement=agreement,
        connected_at=event.time,
        sequence=seq,
        revocation_strikes=0,
        held=None,
    )


def may_start_grant(conn: Connection | None, started_at: datetime) -> bool:
    """A link or state minted before the latest uninstall, or for an account not installed now,
    connects nothing: whoever held it then has no claim on the install that followed."""
    if conn is None or not conn.installed:
        return False
    return conn.uninstalled_at is None or started_at > conn.uninstalled_at


def agreement_shared(conn: Connection, other_accounts: list[str]) -> Connection | None:
    """Tells this account its e-conomic company is also connected elsewhere; None when it no
    longer holds that agreement (it moved on since)."""
    if conn.state != "connected" or conn.agreement is None:
        return None
    seq = conn._next()
    data = ConflictData(
        sequence=seq,
        agreement_number=conn.agreement.agreement_number,
        other_accounts=other_accounts,
    )
    return conn._with(EconomicAgreementShared(**conn._envelope(), data=data), sequence=seq)


def fail(conn: Connection, reason: str, detail: str | None = None) -> Connection:
    seq = conn._next()
    data = FailedData(sequence=seq, reason=reason, detail=detail)
    event = EconomicConnectionFailed(**conn._envelope(), data=data)
    state: State = "connected" if conn.state == "connected" else "failed"
    return conn._with(event, state=state, sequence=seq)


def disconnect(
    conn: Connection, reason: DisconnectReason, user_id: str | None = None
) -> Connection | None:
    """Forgets the grant; None when there was no connection to end. `user_id`: the Dashboard
    user who asked, when one did."""
    if conn.state != "connected":
        return None
    seq = conn._next()
    data = DisconnectedData(sequence=seq, reason=reason, user_id=user_id)
    event = EconomicDisconnected(**conn._envelope(), data=data)
    return conn._with(
        event,
        state="disconnected",
        grant_ciphertext=None,
        sequence=seq,
        revocation_strikes=0,
    )


# "forbidden": a 403, a missing role, never a revocation; "withheld": a 401 while most grants
# are refused at once, which points at our own app secret, not at this grant.
CheckResult = Literal["valid", "revoked", "forbidden", "withheld", "unavailable"]


def after_check(conn: Connection, result: CheckResult, strikes_to_revoke: int) -> Connection | None:
    """Hysteresis: only repeated 'this grant is not valid' answers end a connection.

    5xx, 429, timeouts, 403s and 401s during a wave say nothing about the grant and never count
    against it.
    """
    if conn.state != "connected" or result not in ("valid", "revoked"):
        return None
    if result == "valid":
        return conn.model_copy(update={"revocation_strikes": 0})
    strikes = conn.revocation_strikes + 1
    if strikes < strikes_to_revoke:
        return conn.model_copy(update={"revocation_strikes": strikes})
    return disconnect(conn, "grant_revoked")


def may_check(
    conn: Connection, today: str, daily_limit: int, round_: int | None = None
) -> Connection | None:
    """Counts one /self call against the agreement's daily budget and claims the check round;
    None when the budget is spent or another instance has checked this grant in this round."""
    count = conn.checks_today if conn.checks_day == today else 0
    if count >= daily_limit or (round_ is not None and conn.checked_round == round_):
        return None
    update: dict[str, object] = {"checks_day": today, "checks_today": count + 1}
    if round_ is not None:
        update["checked_round"] = round_
    return conn.model_copy(update=update)
