"""What install keeps in MongoDB: published Stripe events, installs, OAuth states, tokens."""

import hashlib
from datetime import datetime
from enum import Enum

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_shared.events import now
from kobling_shared.mongo import Document


class Claim(Enum):
    NEW = "new"  # first sight of this Stripe event
    PENDING = "pending"  # seen before, but its publish was not confirmed
    DONE = "done"  # already published: a duplicate delivery


class WebhookLedger:
    """Deduplicates Stripe deliveries by event id without ever dropping an unpublished event.

    Insert-only on the hot path: FerretDB's SQLite backend makes every update or delete scan its
    collection, while inserts and lookups by _id stay fast; on MongoDB it is one write fewer.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._seen = db["stripe_events"]
        self._published = db["stripe_events_published"]

    async def claim(self, event_id: str) -> Claim:
        try:
            await self._seen.insert_one({"_id": event_id, "seen_at": now()})
        except DuplicateKeyError:
            done = await self._published.find_one({"_id": event_id}, {"_id": 1})
            return Claim.DONE if done else Claim.PENDING
        return Claim.NEW

    async def mark_published(self, event_id: str) -> None:
        try:
            await self._published.insert_one({"_id": event_id, "published_at": now()})
        except DuplicateKeyError:
            pass  # a retry of an event published before

    async def release(self, event_id: str) -> None:
        await self._seen.delete_one({"_id": event_id})


class Installs:
    """Which installs install has announced, so an OAuth install and the webhook for the same
    install publish one StripeAppInstalled between them, whichever arrives first.

    An install is announced once per "generation": the generation changes with each uninstall.
    The announcement is claimed by a unique insert, so of two racing claims exactly one wins,
    on MongoDB and on FerretDB alike.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._installs = db["installs"]
        self._announced = db["install_announcements"]

    async def claim_announcement(self, key: str, event_id: str) -> tuple[str, str | None]:
        """(claim, None) when this caller announces the install with `event_id`; otherwise
        (claim, the event id of whoever announced it)."""
        doc = await self._installs.find_one({"_id": key}, {"generation": 1})
        claim = f"{key}:{doc.get('generation', 0) if doc else 0}"
        try:
            await self._announced.insert_one({"_id": claim, "event_id": event_id, "at": now()})
        except DuplicateKeyError:
            winner = await self._announced.find_one({"_id": claim})
            return claim, str(winner["event_id"]) if winner else ""
        return claim, None

    async def release_announcement(self, claim: str) -> None:
        await self._announced.delete_one({"_id": claim})

    async def uninstalled(self, key: str, at: datetime) -> None:
        """Starts a new generation: the next install is news again."""
        await self._installs.update_one(
            {"_id": key}, {"$max": {"generation": at.timestamp()}}, upsert=True
        )


class OAuthStates:
    """Our one-time OAuth `state`s, stored hashed, spent by a unique insert (exactly one winner)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._states = db["oauth_states"]
        self._spent = db["oauth_states_spent"]

    async def save(self, state: str, livemode: bool, expires_at: datetime) -> None:
        await self._states.insert_one(
            {"_id": digest(state), "livemode": livemode, "expires_at": expires_at}
        )

    async def spend(self, state: str) -> bool:
        doc = await self._states.find_one({"_id": digest(state)})
        if doc is None or doc["expires_at"] < now():
            return False
        try:
            await self._spent.insert_one({"_id": digest(state), "at": now()})
        except DuplicateKeyError:
            return False
        return True


class TokenVault:
    """Stripe tokens per install, encrypted; `rev` guards a refresh against a concurrent one."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._tokens = db["stripe_tokens"]

    async def get(self, key: str) -> Document | None:
        return await self._tokens.find_one({"_id": key})

    async def put(self, key: str, fields: Document, expected_rev: int | None) -> bool:
        """Writes when the stored revision is still `expected_rev` (None: replace whatever)."""
        if expected_rev is None:
            current = await self.get(key)
            rev = current["rev"] if current else 0
            await self._tokens.update_one(
                {"_id": key}, {"$set": {**fields, "rev": rev + 1}}, upsert=True
            )
            return True
        result = await self._tokens.update_one(
            {"_id": key, "rev": expected_rev}, {"$set": {**fields, "rev": expected_rev + 1}}
        )
        return result.matched_count == 1


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
