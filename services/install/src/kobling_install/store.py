"""What install keeps in MongoDB: published Stripe events, installs, OAuth states, tokens, and
the Stripe broker's audit."""

import asyncio
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_install.ports import Claim
from kobling_shared.db.ports import Door
from kobling_shared.events import now
from kobling_shared.mongo import Document, insert_new

log = logging.getLogger(__name__)

# How long a Stripe event id is remembered: Stripe retries a
# webhook in live mode for up to three days (Stripe docs, "Webhooks": automatic retries), and
# its events, which can be resent, go back 30 days ("List all events"). A delivery later than
# this would be taken as new.
REMEMBERED = timedelta(days=30)
# How long published marks wait for more to share their insert: under load a batch of webhooks
# is flushed every ~15 ms, so two or three batches' marks go in one.
MARKS_GATHER_SECONDS = 0.03


class WebhookLedger:
    """Deduplicates Stripe deliveries by event id without ever dropping an unpublished event.

    Insert-only, and one round trip per batch of webhooks: batched inserts and lookups by _id are
    fast on every database we run on, updates and deletes are not.
    """

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        # One record per webhook for 30 days: large.
        self._seen = door.one_time(db["stripe_events"], small=False)
        self._published = door.one_time(db["stripe_events_published"], small=False)
        self._unmarked: list[str] = []  # published, their mark not yet written
        self._marking: asyncio.Task[None] | None = None

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
        if seen:
            await self.settle()  # a mark still being written would make a DONE look PENDING
        for id_ in seen:  # a redelivery: rare, so looked up one by one
            done = await self._published.docs.find_one({"_id": id_}, {"_id": 1})
            claims[id_] = Claim.DONE if done else Claim.PENDING
        return claims

    async def mark_published(self, event_ids: list[str]) -> None:
        """Writes the marks in the background, so a webhook's 200 waits for the ledger's claim
        and for Kafka, not for this third round trip: the events are on Kafka already, and a
        mark only spares a later redelivery a second publication (under the same id, which
        consumers drop). Marks of batches that come while one is written go in one insert; a
        claim that meets a redelivery waits for them (`settle`), and so does shutdown."""
        self._unmarked.extend(event_ids)
        if self._unmarked and (self._marking is None or self._marking.done()):
            self._marking = asyncio.create_task(self._mark())

    async def _mark(self) -> None:
        while self._unmarked:
            await asyncio.sleep(MARKS_GATHER_SECONDS)  # the next batches' marks join this insert
            event_ids, self._unmarked = self._unmarked, []
            at = now()
            docs = [
                {"_id": id_, "published_at": at, "expires_at": at + REMEMBERED} for id_ in event_ids
            ]
            try:
                await insert_new(self._published.docs, docs)
            except Exception:
                # Unmarked, a later redelivery goes out again under the same id: no loss.
                log.exception("published, but could not mark %d stripe events so", len(docs))

    async def settle(self) -> None:
        """Returns once every mark asked for so far is written (or given up)."""
        while self._marking is not None and not self._marking.done():
            await asyncio.shield(self._marking)

    async def release(self, event_id: str) -> None:
        await self._seen.docs.delete_one({"_id": event_id})

    async def forget_expired(self, before: datetime) -> None:
        await self._seen.forget_expired(before)
        await self._published.forget_expired(before)


class Installs:
    """When each install was last announced, by the OAuth redirect and by a webhook, so that the
    two signals of one install publish one StripeAppInstalled between them (see same_install).

    Both collections hold one document per install key. The OAuth one stays small (installs are
    rare next to webhooks), so a batch of webhooks looks it up with one `$in`; the webhook one is
    only ever read by `_id`, and written by a batched insert (a reinstall, rare, by update)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._oauth = db["oauth_installs"]
        self._webhook = db["webhook_installs"]

    async def oauth_announced(self, keys: list[str]) -> dict[str, datetime]:
        if not keys:
            return {}
        found = self._oauth.find({"_id": {"$in": list(set(keys))}})
        return {doc["_id"]: doc["at"] async for doc in found}

    async def webhook_announced(self, key: str) -> tuple[datetime, str] | None:
        """When the latest install webhook published for `key` was created, and its event id."""
        doc = await self._webhook.find_one({"_id": key})
        return (doc["at"], doc["event_id"]) if doc else None

    async def announced_by_oauth(self, key: str, at: datetime) -> None:
        await self._oauth.update_one({"_id": key}, {"$max": {"at": at}}, upsert=True)

    async def unannounce_oauth(self, key: str, at: datetime) -> None:
        """Takes back an OAuth announcement whose event could not be published."""
        await self._oauth.delete_one({"_id": key, "at": at})

    async def unannounce_webhook(self, key: str, event_id: str) -> None:
        """Takes back a webhook announcement whose event could not be published."""
        await self._webhook.delete_one({"_id": key, "event_id": event_id})

    async def announced_by_webhooks(self, latest: dict[str, tuple[datetime, str]]) -> None:
        """Records, per install key, the latest install webhook about to be published."""
        docs = [{"_id": k, "at": at, "event_id": id_} for k, (at, id_) in latest.items()]
        for key in await insert_new(self._webhook, docs):  # a reinstall: rare
            at, event_id = latest[key]
            await self._webhook.update_one(
                {"_id": key, "at": {"$lt": at}}, {"$set": {"at": at, "event_id": event_id}}
            )


class OAuthStates:
    """Our one-time OAuth `state`s, stored hashed, spent by a unique insert (exactly one winner).
    Both expire by their stored deadline (one-time records, kobling_shared.db)."""

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._states = door.one_time(db["oauth_states"])
        self._spent = door.one_time(db["oauth_states_spent"])

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

    async def spend(self, state: str) -> bool | None:
        """The state's mode (livemode), the first time it is spent; None when it is unknown,
        expired or spent already."""
        doc = await self._states.docs.find_one({"_id": digest(state)})
        if doc is None or doc["expires_at"] < now():
            return None
        try:
            await self._spent.docs.insert_one(
                {"_id": digest(state), "at": now(), "expires_at": doc["expires_at"]}
            )
        except DuplicateKeyError:
            return None
        return bool(doc["livemode"])

    async def outstanding(self) -> int:
        """About how many states may still come back: the sweep deletes expired ones every few
        seconds, so every record counts; one read of the collection's metadata, not its records."""
        return await self._states.docs.estimated_document_count()

    async def forget_expired(self, before: datetime) -> None:
        # Past its deadline a state is refused whether or not it was spent, so both records go.
        await self._states.forget_expired(before)
        await self._spent.forget_expired(before)


class TokenVault:
    """Stripe tokens per install, encrypted; `rev` guards a refresh against a concurrent one."""

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._tokens = door.versioned(db["stripe_tokens"])

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

    async def forget(self, key: str, uninstalled_at: datetime) -> None:
        """Deletes the install's tokens, unless they came from an install after this uninstall
        (a late uninstall must not take a reinstall's tokens)."""
        await self._tokens.docs.delete_one({"_id": key, "installed_at": {"$lte": uninstalled_at}})


# As long as the e-conomic broker's audit topic keeps its uses: as long as anyone would ask who
# read a merchant's Stripe account.
AUDIT_KEPT = timedelta(days=365)


class StripeBrokerUses:
    """One document per use of the Stripe broker (`stripe_broker_uses`), each kept AUDIT_KEPT:
    who, whose, which read, Stripe's status and how long it took. Never a token or a body."""

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._uses = door.one_time(db["stripe_broker_uses"], small=False)

    async def create_indexes(self) -> None:
        await self._uses.create_index()

    async def record(self, use: dict[str, Any]) -> None:
        await self._uses.docs.insert_one({**use, "expires_at": use["at"] + AUDIT_KEPT})

    async def settle(self, use_id: str, result: dict[str, Any]) -> None:
        await self._uses.docs.update_one({"_id": use_id}, {"$set": result})

    async def forget_expired(self, before: datetime) -> None:
        await self._uses.forget_expired(before)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
