"""The MongoDB client every service shares (PyMongo's async API; motor's successor)."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from kobling_shared.events import now

Document = dict[str, Any]
DUPLICATE_KEY = 11000


def make_client(url: str) -> AsyncMongoClient[Document]:
    # Short server selection: a request that cannot reach the database should fail fast (503),
    # not hang for the driver's default 30 s.
    return AsyncMongoClient(url, serverSelectionTimeoutMS=3000, tz_aware=True)


def database(client: AsyncMongoClient[Document], name: str) -> AsyncDatabase[Document]:
    return client.get_database(name)


async def ping(client: AsyncMongoClient[Document]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True


async def insert_new(collection: AsyncCollection[Document], docs: list[Document]) -> set[Any]:
    """Inserts, in one round trip, each document whose _id is not taken yet; returns the _ids that
    were taken. A unique insert is how we claim a key once, on MongoDB and FerretDB alike."""
    if not docs:
        return set()
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as error:
        failures = error.details.get("writeErrors", [])
        if any(failure.get("code") != DUPLICATE_KEY for failure in failures) or not failures:
            raise
        return {docs[failure["index"]]["_id"] for failure in failures}
    return set()


class WriteConflict(Exception):
    """A guarded write kept losing to other writers of the same document until its deadline."""


Path = Literal["auto", "mongodb", "ferretdb"]
Change = Callable[[Document | None], Document | None]
# Called with the stored document (None: absent) and the one about to replace it.
Hook = Callable[[Document | None, Document], Awaitable[None]]


async def is_ferretdb(client: AsyncMongoClient[Document]) -> bool:
    """FerretDB names itself in buildInfo; MongoDB has no such field."""
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" in info


class VersionedDocs:
    """Documents carrying a `rev`, changed by read-modify-write where each write is safe by itself:
    it lands only if the document is still at the revision it was computed from, checked by the
    database in the write itself, else the change is recomputed on the newer document. No lease,
    so a writer stalled for any time between its read and its write cannot overwrite a newer
    write (the lock this replaces could: its holder wrote unconditionally after its lease).

    On MongoDB the check is the filter of one `replace_one({"_id": k, "rev": r})`. FerretDB 1.24
    needs the other path (`path="ferretdb"`, chosen by `auto` from buildInfo); a MongoDB or replica
    set deployment never takes it, and it can be deleted with FerretDB.
    """

    # FerretDB: a claim older than this belongs to a writer that died between claiming and
    # writing; it is removed so the document can be written again. A writer stalled longer than
    # this inside those two steps is the one case the FerretDB path cannot fence.
    ABANDONED_CLAIM = timedelta(seconds=30)

    def __init__(
        self,
        collection: AsyncCollection[Document],
        path: Path = "auto",
        give_up_after: float = 10.0,
    ) -> None:
        self._docs, self._path, self._give_up_after = collection, path, give_up_after
        self._claims = collection.database[f"{collection.name}_claims"]

    async def _ferretdb(self) -> bool:
        if self._path == "auto":
            self._path = "ferretdb" if await is_ferretdb(self._docs.database.client) else "mongodb"
        return self._path == "ferretdb"

    async def get(self, key: str) -> Document | None:
        return await self._docs.find_one({"_id": key})

    async def write(self, key: str, rev: int | None, doc: Document) -> bool:
        """Writes `doc` (its `rev` field set here to the next revision) if the stored document is
        still at `rev`; `rev` None: only if there is no document yet. False when another write
        came first."""
        new = {**doc, "_id": key, "rev": (rev or 0) + 1}
        if rev is None:  # a unique insert: atomic on MongoDB and FerretDB alike
            return not await insert_new(self._docs, [new])
        if await self._ferretdb():
            return await self._write_claimed(key, rev, new)
        result = await self._docs.replace_one({"_id": key, "rev": rev}, new)
        return result.matched_count == 1

    async def _write_claimed(self, key: str, rev: int, new: Document) -> bool:
        # FerretDB 1.24 runs an update's query and its write as two steps with no lock between
        # them (internal/handler/msg_update.go), and pushes a filter down to SQLite only when it
        # is `_id` alone: `replace_one({"_id": k, "rev": r})` scans the collection and can still
        # overwrite a write that landed between the two steps. Its one atomic check is a unique
        # insert, so the writer first claims the next revision by inserting `<key>#<rev+1>`: of
        # any number of writers from revision `rev`, one gets the claim. It then re-reads: a
        # writer whose read was stale (the revision was written, and its claim removed, since)
        # finds a newer `rev` and loses. Nobody else can write the document while the claim is
        # held, so the winner's plain replace by `_id` cannot overwrite anything.
        claim = f"{key}#{rev + 1}"
        if await insert_new(self._claims, [{"_id": claim, "at": now()}]):
            await self._remove_if_abandoned(claim)
            return False
        try:
            stored = await self._docs.find_one({"_id": key}, {"rev": 1})
            if stored is None or stored.get("rev") != rev:
                return False
            await self._docs.replace_one({"_id": key}, new)
            return True
        finally:
            await self._claims.delete_one({"_id": claim})

    async def _remove_if_abandoned(self, claim: str) -> None:
        held = await self._claims.find_one({"_id": claim})
        if held is not None and held["at"] < now() - self.ABANDONED_CLAIM:
            await self._claims.delete_one({"_id": claim, "at": held["at"]})

    async def change(
        self, key: str, change: Change, before: Hook | None = None, after: Hook | None = None
    ) -> Document | None:
        """Applies `change` to the document as stored (None: absent) and writes what it answers,
        recomputing it on the newer document whenever another writer came first. Answers the
        document written, or None when `change` answered None (nothing to write). `before` runs
        ahead of each attempt's write, `after` once the write landed."""
        give_up = time.monotonic() + self._give_up_after
        attempt = 0
        while True:
            current = await self.get(key)
            updated = change(current)
            if updated is None:
                return None
            rev = None if current is None else int(current["rev"])
            if before is not None:
                await before(current, updated)
            if await self.write(key, rev, updated):
                if after is not None:
                    await after(current, updated)
                return {**updated, "_id": key, "rev": (rev or 0) + 1}
            if time.monotonic() > give_up:
                raise WriteConflict(key)
            attempt += 1
            # Jittered, growing pauses: writers that keep colliding stop colliding.
            await asyncio.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.1)))

    async def forget_abandoned_claims(self) -> int:
        """Removes claims left by writers that died (FerretDB's path); a small collection."""
        result = await self._claims.delete_many({"at": {"$lt": now() - self.ABANDONED_CLAIM}})
        return result.deleted_count
