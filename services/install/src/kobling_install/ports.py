"""What install's webhook handler needs of the world, as protocols: store.py's MongoDB classes and
kobling_shared.kafka's publisher are the real ones (mypy checks app.py wires them in), and
tests/fakes holds in-memory ones for the unit tests."""

from datetime import datetime
from typing import Protocol

from kobling_install.store import Claim


class Ledger(Protocol):
    """Stripe event ids seen and published (WebhookLedger)."""

    async def claim(self, event_ids: list[str]) -> dict[str, Claim]: ...

    async def mark_published(self, event_ids: list[str]) -> None: ...

    async def release(self, event_id: str) -> None: ...


class Announcements(Protocol):
    """Which installs have been announced, once per generation (Installs)."""

    async def claim_announcements(
        self, keys: dict[str, str]
    ) -> dict[str, tuple[str, str | None]]: ...

    async def release_announcement(self, claim: str) -> None: ...

    async def uninstalled(self, key: str, at: datetime) -> None: ...
