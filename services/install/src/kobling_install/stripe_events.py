"""Which Stripe events mean an install or an uninstall, which ones the sync needs, and the event
we publish for each."""

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kobling_shared.events import (
    ACCOUNT_EVENT_TYPES,
    AccountEventData,
    InstallData,
    StripeAccountEvent,
    StripeAppInstalled,
    StripeAppUninstalled,
)

SOURCE = "kobling/install"

INSTALLS = {"account.application.authorized"}
UNINSTALLS = {"account.application.deauthorized"}
# Stripe sends apps.install.* to the app developer's own account endpoint, never to this Connect
# endpoint (docs.stripe.com/api/apps/installs; contracts S9). We do not depend on them: an install
# is known from the OAuth code exchange and account.application.authorized, an uninstall from
# account.application.deauthorized. One that reaches us anyway is acknowledged and ignored.
DEVELOPER_ENDPOINT_ONLY = "apps.install."


class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    object: dict[str, Any]


class StripeEvent(BaseModel):
    """The part of a Stripe event we read; Stripe adds fields freely, so the rest is ignored."""

    model_config = ConfigDict(extra="ignore")
    id: str
    type: str
    livemode: bool
    # Unix seconds up to the year 9999: beyond it no datetime holds it, and the event is garbage.
    created: int = Field(ge=0, le=253_402_300_799)
    account: str | None = None
    data: StripeEventData

    @property
    def merchant(self) -> str | None:
        # account.application.* carry the merchant at the top.
        return self.account

    @property
    def application(self) -> str | None:
        """The app the event is about: the application object of account.application.*."""
        obj = self.data.object
        app = obj.get("id") if obj.get("object") == "application" else None
        return app if isinstance(app, str) else None

    @property
    def mode(self) -> bool:
        # An object that says live makes the event live, whatever the top says (contracts S3).
        livemode = self.data.object.get("livemode")
        return livemode if isinstance(livemode, bool) else self.livemode


class NotForUs(Exception):
    """A well-formed event that maps to nothing we publish."""


Published = StripeAppInstalled | StripeAppUninstalled | StripeAccountEvent


def to_event(event: StripeEvent, applications: frozenset[str]) -> Published:
    """What we publish for a verified Stripe event; NotForUs when nothing."""
    if event.type in ACCOUNT_EVENT_TYPES:
        return to_account_event(event)
    return to_install_event(event, applications)


def to_account_event(event: StripeEvent) -> StripeAccountEvent:
    """Ids only: the sync re-fetches the object through the Stripe broker and never trusts the
    body Stripe sent (DOMAIN.md), so nothing else of `data.object` is carried."""
    if event.type not in ACCOUNT_EVENT_TYPES:
        raise NotForUs(f"ignored event type {event.type}")
    if event.account is None:
        raise NotForUs("event names no connected account")
    obj = event.data.object
    created = datetime.fromtimestamp(event.created, UTC)
    try:
        return StripeAccountEvent(
            id=event.id,  # Stripe's: a redelivery keeps it, so consumers can drop it
            source=SOURCE,
            time=created,
            subject=event.account,
            livemode=event.mode,
            data=AccountEventData(
                stripe_event_id=event.id,
                stripe_event_type=event.type,
                object_type=obj.get("object"),
                object_id=obj.get("id"),
                created=created,
            ),
        )
    except ValidationError:
        # Signed by Stripe, but not the shape the sync can re-fetch: a 200 and a log line, as
        # a 503 would have Stripe send the same event for days (and hold up its whole batch).
        raise NotForUs("malformed: no account, object or id we can use") from None


def to_install_event(
    event: StripeEvent, applications: frozenset[str]
) -> StripeAppInstalled | StripeAppUninstalled:
    """Our event for Stripe's; `applications` are the ids that name our app (another app's
    install on the same account is not ours to announce, nor its uninstall ours to act on)."""
    if event.type.startswith(DEVELOPER_ENDPOINT_ONLY):
        raise NotForUs(f"{event.type} is the developer endpoint's; installs come from OAuth")
    if event.type not in INSTALLS | UNINSTALLS:
        raise NotForUs(f"ignored event type {event.type}")
    if event.application not in applications:
        raise NotForUs("event for another application")
    account = event.merchant
    if account is None:
        raise NotForUs("event names no connected account")
    # The envelope id is Stripe's: a redelivered event keeps its id, so consumers can drop it.
    fields: dict[str, Any] = {
        "id": event.id,
        "source": SOURCE,
        "time": datetime.fromtimestamp(event.created, UTC),
        "subject": account,
        "livemode": event.mode,
        "data": InstallData(via="webhook", stripe_event_id=event.id, stripe_event_type=event.type),
    }
    if event.type in INSTALLS:
        return StripeAppInstalled(**fields)
    return StripeAppUninstalled(**fields)


# Stripe's authorization code lives five minutes: the OAuth redirect that completes an install
# reaches us within that (and some slack) of Stripe creating the install's event.
PAIRING_WINDOW = timedelta(minutes=6)


def same_install(webhook_created: datetime, oauth_at: datetime) -> bool:
    """Whether the OAuth redirect we took at `oauth_at` and an install webhook created at
    `webhook_created` can be the same install, so that only the first of them is published.

    Skipping either never changes where a consumer ends, since each keeps the latest event by
    time: a webhook install is skipped only for a published OAuth install at or after it; an
    OAuth install only when a webhook install was published, and if that webhook was for an
    earlier install, this install's own webhook is still to come and is published."""
    return webhook_created <= oauth_at <= webhook_created + PAIRING_WINDOW


def webhook_is_news(
    event: StripeAppInstalled | StripeAppUninstalled, oauth_at: datetime | None
) -> bool:
    """Every distinct install and uninstall is news, but for the webhook of an install the OAuth
    redirect announced already (`oauth_at`: the latest OAuth install of that account and mode)."""
    paired = oauth_at is not None and same_install(event.time, oauth_at)
    return not (isinstance(event, StripeAppInstalled) and paired)


def oauth_is_news(installed_at: datetime, webhook_at: datetime | None) -> bool:
    """An OAuth install is news unless the webhook of the same install was published already
    (`webhook_at`: when the latest install webhook published for the account and mode was
    created)."""
    return webhook_at is None or not same_install(webhook_at, installed_at)
