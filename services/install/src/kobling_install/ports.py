"""What install's webhook handler needs of the world, as protocols: store.py's MongoDB classes and
kobling_shared.kafka's publisher are the real ones (mypy checks app.py wires them in), and
tests/fakes holds in-memory ones for the unit tests."""

from datetime import datetime
from enum import Enum
from typing import Any, Protocol


class Claim(Enum):
    """What the ledger knows of a Stripe event id."""

    NEW = "new"  # first sight of this Stripe event
    PENDING = "pending"  # seen before, but its publish was not confirmed
    DONE = "done"  # already published: a duplicate delivery


class Ledger(Protocol):
    """Stripe event ids seen and published (WebhookLedger)."""

    async def claim(self, event_ids: list[str]) -> dict[str, Claim]: ...

    async def mark_published(self, event_ids: list[str]) -> None: ...

    async def release(self, event_id: str) -> None: ...


class Announcements(Protocol):
    """When each install was last announced, by the OAuth redirect and by a webhook (Installs)."""

    async def oauth_announced(self, keys: list[str]) -> dict[str, datetime]: ...

    async def announced_by_webhooks(self, latest: dict[str, tuple[datetime, str]]) -> None: ...

    async def unannounce_webhook(self, key: str, event_id: str) -> None: ...


class States(Protocol):
    """Our one-time OAuth states (OAuthStates)."""

    async def save(
        self, state: str, livemode: bool, expires_at: datetime, browser: str
    ) -> None: ...

    async def browser_of(self, state: str) -> str | None: ...

    async def spend(self, state: str) -> bool | None: ...

    async def outstanding(self) -> int: ...


class Tokens(Protocol):
    """The install's Stripe tokens (TokenVault): an uninstall forgets them."""

    async def forget(self, key: str, uninstalled_at: datetime) -> None: ...


class BrokerUses(Protocol):
    """The Stripe broker's audit (StripeBrokerUses): a document per call, recorded before the
    call leaves and settled with its answer, so a call cut short still shows."""

    async def record(self, use: dict[str, Any]) -> None: ...

    async def settle(self, use_id: str, result: dict[str, Any]) -> None: ...
