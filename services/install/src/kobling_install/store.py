"""What install keeps in MongoDB: the ledger of Stripe events it has published."""

from enum import Enum

from kobling_shared.events import now
from kobling_shared.mongo import Document
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


class Claim(Enum):
    NEW = "new"  # first sight of this Stripe event
    PENDING = "pending"  # seen before, but its publish was not confirmed
    DONE = "done"  # already published: a duplicate delivery


class WebhookLedger:
    """Deduplicates Stripe deliveries by event id without ever dropping an unpublished event."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._events = db["stripe_events"]

    async def claim(self, event_id: str) -> Claim:
        try:
            await self._events.insert_one({"_id": event_id, "published": False, "seen_at": now()})
        except DuplicateKeyError:
            doc = await self._events.find_one({"_id": event_id}, {"published": 1})
            return Claim.DONE if doc and doc.get("published") else Claim.PENDING
        return Claim.NEW

    async def mark_published(self, event_id: str) -> None:
        await self._events.update_one(
            {"_id": event_id}, {"$set": {"published": True, "published_at": now()}}
        )

    async def release(self, event_id: str) -> None:
        await self._events.delete_one({"_id": event_id, "published": False})
