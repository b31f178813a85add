"""What install keeps in MongoDB: published Stripe events, installs, OAuth states, tokens."""

import hashlib
from datetime import datetime, timedelta
from enum import Enum

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_shared.events import now
from kobling_shared.mongo import Document, Expiring, Path, VersionedDocs, insert_new

# How long a Stripe event id and an install's announcement are remembered: Stripe retries a
# webhook in live mode for up to three days (Stripe docs, "Webhooks": automatic retries), and
# its events, which can be resent, go back 30 days ("List all events"). A delivery later than
# this would be taken as new.
REMEMBERED = timedelta(days=30)


class Claim(Enum):
    NEW = "new"  # first sight of this Stripe event
    PENDING = "pending"  # seen before, but its publish was not confirmed
    DONE = "done"  # already published: a duplicate delivery


class WebhookLedger:
    """Deduplicates Stripe deliveries by event id without ever dropping an unpublished event.

    Insert-only, and one round trip per batch of webhooks: FerretDB's SQLite backend makes
    updates and deletes slow, while batched inserts and lookups by _id stay fast.
    """

    def __init__(self, db: AsyncDatabase[Document], path: Path = "auto") -> None:
        # One record per webhook for 30 days: large.
        self._seen = Expiring(db["stripe_events"], path, small=False)
        self._published = Expiring(db["stripe_events_published"], path, small=False)

    async def create_indexes(self) -> None:
        await self._seen.create_index()
        await self._published.create_index()

    async def claim(self, event_ids: list[str]) -> dict[str, Claim]:
        at = now()
        seen = await insert_new(
            self._seen.docs,
            [{"_id": id_, "seen_at": at, "expires_at": at + REMEMBERED} for id_ in event_ids],
        )
        claims = dict.fromkeys(event_ids, Claim.NEW)
        for id_ in seen:  # a redelivery: rare, so looked up one by one
            done = await self._published.docs.find_one({"_id": id_}, {"_id": 1})
            claims[id_] = Claim.DONE if done else Claim.PENDING
        return claims

    async def mark_published(self, event_ids: list[str]) -> None:
        at = now()
        await insert_new(
            self._published.docs,
            [{"_id": id_, "published_at": at, "expires_at": at + REMEMBERED} for id_ in event_ids],
        )

    async def release(self, event_id: str) -> None:
        await self._seen.docs.delete_one({"_id": event_id})

    async def forget_expired(self, before: datetime) -> None:
        await self._seen.forget_expired(before)
        await self._published.forget_expired(before)


class Installs:
    """Which installs install has announced, so an OAuth install and the webhook for the same
    install publish one StripeAppInstalled between them, whichever arrives first.

    An install is announced once per "generation": the generation changes with each uninstall.
    The announcement is claimed by a unique insert, so of two racing claims exactly one wins,
    on MongoDB and on FerretDB alike.
    """

    def __init__(self, db: AsyncDatabase[Document], path: Path = "auto") -> None:
        self._installs = db["installs"]
        self._announced = Expiring(db["install_announcements"], path)

    async def create_indexes(self) -> None:
        await self._announced.create_index()

    async def forget_expired(self, before: datetime) -> None:
        await self._announced.forget_expired(before)

    async def claim_announcement(self, key: str, event_id: str) -> tuple[str, str | None]:
        """(claim, None) when this caller announces the install with `event_id`; otherwise
        (claim, the event id of whoever announced it)."""
        return (await self.claim_announcements({event_id: key}))[event_id]

    async def claim_announcements(self, keys: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        """claim_announcement for many installs at once, by announcing event id."""
        # Only installs uninstalled before have a document: on FerretDB, which scans for $in,
        # this collection stays small; on MongoDB it is an index lookup.
        found = self._installs.find({"_id": {"$in": list(set(keys.values()))}}, {"generation": 1})
        generations = {doc["_id"]: doc.get("generation", 0) async for doc in found}
        claims = {event_id: f"{key}:{generations.get(key, 0)}" for event_id, key in keys.items()}
        at = now()
        taken = await insert_new(
            self._announced.docs,
            [
                {"_id": claim, "event_id": event_id, "at": at, "expires_at": at + REMEMBERED}
                for event_id, claim in claims.items()
            ],
        )
        answers: dict[str, tuple[str, str | None]] = {}
        for event_id, claim in claims.items():
            winner = None
            if claim in taken:
                doc = await self._announced.docs.find_one({"_id": claim})
                winner = str(doc["event_id"]) if doc else ""
            answers[event_id] = (claim, winner)
        return answers

    async def release_announcement(self, claim: str) -> None:
        await self._announced.docs.delete_one({"_id": claim})

    async def uninstalled(self, key: str, at: datetime) -> None:
        """Starts a new generation: the next install is news again."""
        await self._installs.update_one(
            {"_id": key}, {"$max": {"generation": at.timestamp()}}, upsert=True
        )


class OAuthStates:
    """Our one-time OAuth `state`s, stored hashed, spent by a unique insert (exactly one winner).
    Both expire by their stored deadline (`forget_expired`): FerretDB has no TTL index."""

    def __init__(self, db: AsyncDatabase[Document], path: Path = "auto") -> None:
        self._states = Expiring(db["oauth_states"], path)
        self._spent = Expiring(db["oauth_states_spent"], path)

    async def create_indexes(self) -> None:
        await self._states.create_index()
        await self._spent.create_index()

    async def save(self, state: str, livemode: bool, expires_at: datetime, browser: str) -> None:
        """`browser`: the digest of the id of the browser that asked (kobling_shared.binding)."""
        await self._states.docs.insert_one(
            {
                "_id": digest(state),
                "livemode": livemode,
                "expires_at": expires_at,
                "browser": browser,
            }
        )

    async def browser_of(self, state: str) -> str | None:
        """The browser digest a live state was issued to; None for an unknown or expired one."""
        doc = await self._states.docs.find_one({"_id": digest(state)})
        if doc is None or doc["expires_at"] < now():
            return None
        return str(doc.get("browser", ""))

    async def spend(self, state: str) -> bool:
        doc = await self._states.docs.find_one({"_id": digest(state)})
        if doc is None or doc["expires_at"] < now():
            return False
        try:
            await self._spent.docs.insert_one(
                {"_id": digest(state), "at": now(), "expires_at": doc["expires_at"]}
            )
        except DuplicateKeyError:
            return False
        return True

    async def forget_expired(self, before: datetime) -> None:
        # Past its deadline a state is refused whether or not it was spent, so both records go.
        await self._states.forget_expired(before)
        await self._spent.forget_expired(before)


class TokenVault:
    """Stripe tokens per install, encrypted; `rev` guards a refresh against a concurrent one."""

    def __init__(self, db: AsyncDatabase[Document], path: Path = "auto") -> None:
        self._tokens = VersionedDocs(db["stripe_tokens"], path)

    async def get(self, key: str) -> Document | None:
        return await self._tokens.get(key)

    async def put(self, key: str, fields: Document, expected_rev: int | None) -> bool:
        """Writes when the stored revision is still `expected_rev` (None: replace whatever)."""
        if expected_rev is None:

            def merge(current: Document | None) -> Document:
                return {**(current or {}), **fields}

            await self._tokens.change(key, merge)
            return True
        current = await self._tokens.get(key)
        if current is None or current["rev"] != expected_rev:
            return False
        return await self._tokens.write(key, expected_rev, {**current, **fields})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
