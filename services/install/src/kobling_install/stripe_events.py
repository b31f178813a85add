"""Which Stripe events mean an install or an uninstall, and the event we publish for each."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kobling_shared.events import InstallData, StripeAppInstalled, StripeAppUninstalled

SOURCE = "kobling/install"

INSTALLS = {"account.application.authorized", "apps.install.created"}
UNINSTALLS = {"account.application.deauthorized", "apps.install.deleted"}


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
        # account.application.* carry the merchant at the top; apps.install.* in the install object.
        account = self.account or self.data.object.get("account")
        return account if isinstance(account, str) else None

    @property
    def mode(self) -> bool:
        livemode = self.data.object.get("livemode")
        return livemode if isinstance(livemode, bool) else self.livemode


class NotForUs(Exception):
    """A well-formed event that maps to nothing we publish."""


def to_install_event(event: StripeEvent) -> StripeAppInstalled | StripeAppUninstalled:
    if event.type not in INSTALLS | UNINSTALLS:
        raise NotForUs(f"ignored event type {event.type}")
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
