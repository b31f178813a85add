"""install's stores in memory, with the semantics of their MongoDB versions in store.py."""

from datetime import datetime

from kobling_install.store import Claim


class DatabaseDown(Exception):
    pass


class FakeLedger:
    """Satisfies kobling_install.ports.Ledger, as WebhookLedger: seen ids, published ids."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.published: set[str] = set()
        self.fail_marking = False

    async def claim(self, event_ids: list[str]) -> dict[str, Claim]:
        claims = {}
        for id_ in event_ids:
            if id_ in self.seen:
                claims[id_] = Claim.DONE if id_ in self.published else Claim.PENDING
            else:
                self.seen.add(id_)
                claims[id_] = Claim.NEW
        return claims

    async def mark_published(self, event_ids: list[str]) -> None:
        if self.fail_marking:
            raise DatabaseDown("mark_published")
        self.published.update(event_ids)

    async def release(self, event_id: str) -> None:
        self.seen.discard(event_id)


class FakeAnnouncements:
    """Satisfies kobling_install.ports.Announcements, as Installs: one announcement per install
    and generation, claimed by whoever comes first."""

    def __init__(self) -> None:
        self.generations: dict[str, float] = {}
        self.announced: dict[str, str] = {}  # claim -> the announcing event id

    async def claim_announcement(self, key: str, event_id: str) -> tuple[str, str | None]:
        return (await self.claim_announcements({event_id: key}))[event_id]

    async def claim_announcements(self, keys: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        answers: dict[str, tuple[str, str | None]] = {}
        for event_id, key in keys.items():
            claim = f"{key}:{self.generations.get(key, 0)}"
            winner = self.announced.get(claim)
            if winner is None:
                self.announced[claim] = event_id
            answers[event_id] = (claim, winner)
        return answers

    async def release_announcement(self, claim: str) -> None:
        self.announced.pop(claim, None)

    async def uninstalled(self, key: str, at: datetime) -> None:
        self.generations[key] = max(self.generations.get(key, 0), at.timestamp())
