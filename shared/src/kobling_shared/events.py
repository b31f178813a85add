"""The events on our topics, each in a CloudEvents 1.0-shaped envelope.

Type names carry their schema version; a consumer that meets a type it does not know sends the
message to the dead-letter topic rather than guessing.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

INSTALLS_TOPIC = "stripe.app-installs.v1"
CONNECTIONS_TOPIC = "economic.connections.v1"
GRANT_USES_TOPIC = "economic.grant-uses.v1"
ACCOUNT_EVENTS_TOPIC = "stripe.account-events.v1"
SYNC_RESULTS_TOPIC = "sync.results.v1"
DEAD_LETTER_TOPIC = "kobling.dead-letter.v1"
# Not events: status's word to its other instances that it wrote accounts (kobling_status.markers).
STATUS_PROJECTED_TOPIC = "status.projected.v1"


def now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Envelope(_Model):
    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    time: datetime = Field(default_factory=now)
    subject: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$", description="Stripe account id")
    livemode: bool
    datacontenttype: Literal["application/json"] = "application/json"

    @field_validator("time")
    @classmethod
    def _to_milliseconds(cls, value: datetime) -> datetime:
        # BSON dates hold milliseconds; an event must compare equal to its own stored time.
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    @property
    def account_key(self) -> str:
        return account_key(self.subject, self.livemode)


def account_key(account_id: str, livemode: bool) -> str:
    """One install per account *and* mode: the key of everything we keep per install."""
    return f"{account_id}:{'live' if livemode else 'test'}"


# --- stripe.app-installs.v1 -------------------------------------------------------------------


class InstallData(_Model):
    via: Literal["webhook", "oauth"]
    stripe_event_id: str | None = None
    stripe_event_type: str | None = None
    account_name: str | None = Field(
        None,
        max_length=100,
        description="The name Stripe shows for the account (GET /v1/account with the install's "
        "own token), when install could read it; never a name a view request claimed",
    )


class StripeAppInstalled(_Envelope):
    type: Literal["com.kobling.stripe.app_installed.v1"] = "com.kobling.stripe.app_installed.v1"
    data: InstallData


class StripeAppUninstalled(_Envelope):
    type: Literal["com.kobling.stripe.app_uninstalled.v1"] = "com.kobling.stripe.app_uninstalled.v1"
    data: InstallData


InstallEvent = Annotated[StripeAppInstalled | StripeAppUninstalled, Field(discriminator="type")]


def install_position(event: StripeAppInstalled | StripeAppUninstalled) -> tuple[datetime, int]:
    """Where an install or uninstall stands in Stripe's order: its time, and an uninstall in the
    same instant as an install counts as the later one."""
    return (event.time, 0 if isinstance(event, StripeAppInstalled) else 1)


# --- economic.connections.v1 ------------------------------------------------------------------
# econ-auth is the only writer of a connection, so it numbers each account's connection events;
# `sequence` orders them for consumers whatever order Kafka redelivers them in.


class ConnectedData(_Model):
    sequence: int
    agreement_number: int
    company_name: str
    # The company's registration number (CVR in Denmark: e-conomic's companyIdentificationNumber);
    # vat_number is e-conomic's vatNumber, which only Swedish agreements have.
    company_identification_number: str | None = None
    vat_number: str | None = None
    user_name: str | None = None
    # e-conomic's developer agreements hold no books: connected, but nothing can sync.
    developer_agreement: bool = False
    # The Stripe Dashboard user whose signed view request started it (None: not from the view,
    # or an event from before users were carried).
    user_id: str | None = None


class FailedData(_Model):
    sequence: int
    reason: str
    detail: str | None = None


class DisconnectedData(_Model):
    sequence: int
    reason: Literal["app_uninstalled", "merchant_request", "grant_revoked", "replaced"]
    # The Stripe Dashboard user whose signed view request started it (None: not from the view,
    # or an event from before users were carried).
    user_id: str | None = None


class ConflictData(_Model):
    sequence: int
    agreement_number: int
    other_accounts: list[str]


class EconomicConnected(_Envelope):
    type: Literal["com.kobling.economic.connected.v1"] = "com.kobling.economic.connected.v1"
    data: ConnectedData


class EconomicConnectionFailed(_Envelope):
    type: Literal["com.kobling.economic.connection_failed.v1"] = (
        "com.kobling.economic.connection_failed.v1"
    )
    data: FailedData


class EconomicDisconnected(_Envelope):
    type: Literal["com.kobling.economic.disconnected.v1"] = "com.kobling.economic.disconnected.v1"
    data: DisconnectedData


class EconomicAgreementShared(_Envelope):
    """The same e-conomic agreement is connected to more than one Stripe account."""

    type: Literal["com.kobling.economic.agreement_shared.v1"] = (
        "com.kobling.economic.agreement_shared.v1"
    )
    data: ConflictData


# An e-conomic agreement already connected to another Stripe account is not joined on a grant alone
# (e-conomic does not bind its grant to our state): the newcomer's connection is held until a user
# of an account already connected to it approves (docs/reliability.md, issue 23 item 6).


class HeldData(_Model):
    sequence: int
    agreement_number: int
    company_name: str
    awaiting_accounts: list[str] = Field(
        description="The Stripe accounts already connected to the agreement, whose approval is "
        "awaited (never shown to the waiting account)"
    )
    expires_at: datetime = Field(description="When the hold is dropped if nobody answered")
    # The Stripe Dashboard user whose signed view request started the attempt.
    user_id: str | None = None


class JoinRequestData(_Model):
    sequence: int
    agreement_number: int
    company_name: str
    requesting_account: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")
    requesting_livemode: bool
    requesting_account_name: str | None = Field(
        None, description="The name Stripe knows the requesting account by, when known"
    )
    expires_at: datetime


class JoinClosedData(_Model):
    sequence: int
    requesting_account: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")
    requesting_livemode: bool
    outcome: Literal["approved", "refused", "cancelled", "expired", "withdrawn"]
    # The Dashboard user of this account who answered, when one did.
    user_id: str | None = None


class EconomicConnectionHeld(_Envelope):
    """This account's new connection waits for an account already connected to the agreement."""

    type: Literal["com.kobling.economic.connection_held.v1"] = (
        "com.kobling.economic.connection_held.v1"
    )
    data: HeldData


class EconomicJoinRequested(_Envelope):
    """Another Stripe account asks to join the agreement this account is connected to."""

    type: Literal["com.kobling.economic.join_requested.v1"] = (
        "com.kobling.economic.join_requested.v1"
    )
    data: JoinRequestData


class EconomicJoinClosed(_Envelope):
    """A request to join this account's agreement was answered, cancelled or dropped."""

    type: Literal["com.kobling.economic.join_closed.v1"] = "com.kobling.economic.join_closed.v1"
    data: JoinClosedData


ConnectionEvent = Annotated[
    EconomicConnected
    | EconomicConnectionFailed
    | EconomicDisconnected
    | EconomicAgreementShared
    | EconomicConnectionHeld
    | EconomicJoinRequested
    | EconomicJoinClosed,
    Field(discriminator="type"),
]

# --- economic.grant-uses.v1 -------------------------------------------------------------------
# One per call a service made through econ-auth's broker: who used whose grant for what. Never the
# body nor any token: the path is the REST path alone, its query left out.


class GrantUseData(_Model):
    caller: str
    method: str
    path: str
    status: int = Field(description="e-conomic's last status; 0 when none is known")
    duration_ms: int
    agreement_number: int | None = Field(
        None, description="None only for a refused call on an account with no agreement"
    )
    outcome: Literal["answered", "unanswered", "unknown", "refused"] = Field(
        "answered",
        description="`answered`: `status` is e-conomic's answer. `unanswered`: sent, and no "
        "answer came (whether e-conomic applied it is not known). `unknown`: econ-auth stopped "
        "while the request was out and no outcome was recorded. `refused`: the broker sent "
        "nothing; `status` is its own answer to the caller and `error` says why.",
    )
    error: str | None = Field(None, description="Why the broker refused the call")
    query_digest: str | None = Field(
        None,
        description="A keyed digest of the query (equal queries, equal digests; never the "
        "query, which can name customers)",
    )
    page_size: int | None = Field(
        None, description="The query's `pagesize`: how much a read asked for at once"
    )


class EconomicGrantUsed(_Envelope):
    type: Literal["com.kobling.economic.grant_used.v1"] = "com.kobling.economic.grant_used.v1"
    data: GrantUseData


# --- stripe.account-events.v1 -----------------------------------------------------------------
# The Stripe events of installed accounts the sync needs, verified and deduplicated by install.
# Only ids: the sync re-fetches the object through install's read-only Stripe broker and never
# trusts an event's body (DOMAIN.md). The envelope id is Stripe's event id.

ACCOUNT_EVENT_TYPES = frozenset(
    {
        "invoice.paid",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "payout.reconciliation_completed",
        "payout.paid",
        "payout.failed",
        "charge.refunded",
        "charge.dispute.created",
        "credit_note.created",
    }
)


class AccountEventData(_Model):
    stripe_event_id: str
    stripe_event_type: str = Field(description="One of ACCOUNT_EVENT_TYPES")
    object_type: str = Field(description="Stripe's `object` of data.object: invoice, payout, …")
    object_id: str = Field(pattern=r"^[a-z]{2,5}_[A-Za-z0-9]{1,255}$")
    created: datetime = Field(description="The Stripe event's `created`")


class StripeAccountEvent(_Envelope):
    type: Literal["com.kobling.stripe.account_event.v1"] = "com.kobling.stripe.account_event.v1"
    data: AccountEventData


# --- sync.results.v1 --------------------------------------------------------------------------
# What the sync did with one Stripe object. `revision` numbers the results of one object (its sync
# record's revision): a consumer keeps the highest, whatever order they arrive in. Ids, numbers and
# amounts only (amounts in the currency's minor unit, as Stripe gives them), never a name.


class EconomicRefusal(_Model):
    """What e-conomic said when it refused, as it said it (DOMAIN.md: validation errors)."""

    status: int
    message: str | None = None
    error_code: str | None = None
    developer_hint: str | None = None
    log_id: str | None = None
    errors: dict[str, str] = Field(
        default_factory=dict, description="field path → e-conomic's message for it"
    )


class _SyncData(_Model):
    object_type: Literal["invoice", "payout"]
    object_id: str
    revision: int = Field(ge=1)
    stripe_event_id: str | None = None


class InvoiceSyncedData(_SyncData):
    customer_number: int
    booked_invoice_number: int
    voucher_number: int | None = Field(None, description="The customer payment's voucher")
    currency: str
    total: int = Field(description="Stripe's total, minor units")


class PayoutBookedData(_SyncData):
    voucher_number: int
    currency: str
    amount: int = Field(description="The payout, minor units")
    fees: int = Field(description="Stripe's fees in it, minor units")
    suspense: int = Field(description="What no synced invoice explains, minor units")
    suspense_lines: int
    flags: list[str] = Field(default_factory=list)


class NeedsAttentionData(_SyncData):
    step: str = Field(description="The step that could not finish")
    reason: str = Field(description="A code: totals_differ, economic_refused, settings_incomplete…")
    economic: EconomicRefusal | None = None
    figures: dict[str, int] = Field(
        default_factory=dict, description="e.g. the totals gate's stripe_gross, economic_gross…"
    )


class SkippedData(_SyncData):
    reason: str = Field(description="A code: zero_total, before_start, not_connected, voided…")


class InvoiceSynced(_Envelope):
    type: Literal["com.kobling.sync.invoice_synced.v1"] = "com.kobling.sync.invoice_synced.v1"
    data: InvoiceSyncedData


class PayoutBooked(_Envelope):
    type: Literal["com.kobling.sync.payout_booked.v1"] = "com.kobling.sync.payout_booked.v1"
    data: PayoutBookedData


class SyncNeedsAttention(_Envelope):
    type: Literal["com.kobling.sync.needs_attention.v1"] = "com.kobling.sync.needs_attention.v1"
    data: NeedsAttentionData


class SyncSkipped(_Envelope):
    type: Literal["com.kobling.sync.skipped.v1"] = "com.kobling.sync.skipped.v1"
    data: SkippedData


SyncResult = Annotated[
    InvoiceSynced | PayoutBooked | SyncNeedsAttention | SyncSkipped, Field(discriminator="type")
]
SYNC_RESULTS = (InvoiceSynced, PayoutBooked, SyncNeedsAttention, SyncSkipped)


AnyEvent = Annotated[
    StripeAppInstalled
    | StripeAppUninstalled
    | EconomicConnected
    | EconomicConnectionFailed
    | EconomicDisconnected
    | EconomicAgreementShared
    | EconomicConnectionHeld
    | EconomicJoinRequested
    | EconomicJoinClosed
    | EconomicGrantUsed
    | StripeAccountEvent
    | InvoiceSynced
    | PayoutBooked
    | SyncNeedsAttention
    | SyncSkipped,
    Field(discriminator="type"),
]

any_event: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(raw: bytes | str) -> AnyEvent:
    return any_event.validate_json(raw)


def topic_of(event: AnyEvent) -> str:
    if isinstance(event, StripeAppInstalled | StripeAppUninstalled):
        return INSTALLS_TOPIC
    if isinstance(event, EconomicGrantUsed):
        return GRANT_USES_TOPIC
    if isinstance(event, StripeAccountEvent):
        return ACCOUNT_EVENTS_TOPIC
    if isinstance(event, SYNC_RESULTS):
        return SYNC_RESULTS_TOPIC
    return CONNECTIONS_TOPIC
