"""The MongoDB client every service shares (PyMongo's async API; motor's successor)."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
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


async def find_by_id(collection: AsyncCollection[Document], key: Any) -> Document | None:
    """The document with `_id` `key`, or None: what `find_one({"_id": key})` answers, for less of
    the driver's CPU. `find_one` builds a cursor and its query object for every call, for a reply
    that is one batch anyway: the plain `find` command took 50 to 100 µs (about 15%) less CPU a
    read, 64 reads at once on FerretDB (docs/benchmarks-analysis.md, status reads). Unlike
    `find_one`, a command is not retried after a network error (PyMongo retries no run_command):
    such a read fails where `find_one` would have tried once more."""
    reply = await collection.database.command(
        {"find": collection.name, "filter": {"_id": key}, "limit": 1, "singleBatch": True},
        codec_options=collection.codec_options,  # the client's tz_aware, not the command default
        read_preference=collection.read_preference,
    )
    batch: list[Document] = reply["cursor"]["firstBatch"]
    return batch[0] if batch else None


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


class _Adapter:
    """Picks, once, whether a collection lives on FerretDB, whose limits some writes and
    lookups work around (each workaround names the behaviour); MongoDB takes the plain way."""

    def __init__(self, collection: AsyncCollection[Document], path: Path = "auto") -> None:
        self._docs, self._path = collection, path

    @property
    def docs(self) -> AsyncCollection[Document]:
        return self._docs

    async def _ferretdb(self) -> bool:
        if self._path == "auto":
            self._path = "ferretdb" if await is_ferretdb(self._docs.database.client) else "mongodb"
        return self._path == "ferretdb"


class SecondaryIndex(_Adapter):
    """An index on fields other than `_id`, created on MongoDB only. FerretDB 1.24 on SQLite
    pushes down no filter but `_id` alone (backends/sqlite/collection.go, `Query`), so there such
    an index serves no query, while every insert still updates it at a random place of its
    B-tree: on a rebuild it was a third of the database's CPU per event, and the share that grew
    with the collection (docs/benchmarks.md, "Rebuilding the read model")."""

    async def create(self, keys: list[tuple[str, int]]) -> None:
        if not await self._ferretdb():
            await self._docs.create_index(keys)


class VersionedDocs(_Adapter):
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
        super().__init__(collection, path)
        self._give_up_after = give_up_after
        self._claims = collection.database[f"{collection.name}_claims"]

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


class Expiring(_Adapter):
    """One-time records that are deleted once past the deadline each holds in `expires_at`.

    On MongoDB a TTL index deletes them by itself, and the same index serves `forget_expired`.
    FerretDB 1.24 has no TTL index, and a filter on `expires_at` reads every document (it pushes
    down only a filter on `_id` alone). For a collection that stays small (records that live
    minutes: `small=True`) that read is cheap and `forget_expired` deletes by the filter. For a
    large one it reads the oldest records through the one query FerretDB does push down, a
    limit with no filter and no sort (insertion order, which is deadline order for records kept a
    fixed time), deletes the expired ones by `_id` and stops at the first batch with none expired.
    A record written out of deadline order behind that batch waits for the ones ahead of it:
    readers check a record's deadline themselves, so the sweep bounds only how long it is kept.
    """

    SWEEP_BATCH = 1000

    def __init__(
        self, collection: AsyncCollection[Document], path: Path = "auto", small: bool = True
    ) -> None:
        super().__init__(collection, path)
        self._small = small

    async def create_index(self) -> None:
        if not await self._ferretdb():
            await self._docs.create_index("expires_at", expireAfterSeconds=0)

    async def forget_expired(self, before: datetime) -> int:
        if self._small or not await self._ferretdb():
            return (await self._docs.delete_many({"expires_at": {"$lt": before}})).deleted_count
        forgotten, batch = 0, 1  # the oldest alone first: most sweeps find nothing expired
        while True:
            oldest = await self._docs.find({}, {"expires_at": 1}).limit(batch).to_list()
            batch = self.SWEEP_BATCH
            # A record from before deadlines were stored has none: expired here (FerretDB only
            # serves development); on MongoDB the TTL index passes it by.
            expired = [doc["_id"] for doc in oldest if doc.get("expires_at", before) <= before]
            for key in expired:
                await self._docs.delete_one({"_id": key})
            forgotten += len(expired)
            if len(expired) < max(len(oldest), 1) or not expired:
                return forgotten


class Subset(_Adapter):
    """The keys of the documents of a collection that match `where`, found without reading the
    rest, optionally by the value of one `field`.

    On MongoDB that is a partial index over `where`, and `keys` queries the collection itself.
    FerretDB 1.24 has no partial index and reads every document for a filter that is not `_id`
    alone, so there the writer keeps a small side collection by hand: `add` before the write
    that makes a document match, `remove` after the write that makes it stop; a mark left by a
    crash between the two is harmless, since readers check the document itself. With a `field`
    the side collection holds one document per value, its `_id`, listing the keys that have it:
    a lookup by value is then one read by `_id`, where a mark per key found by its value read
    every mark (in the connect callback, a scan that grew with every connected merchant). The
    list is changed through VersionedDocs, so two keys joining one value at once both stay.
    """

    def __init__(
        self,
        collection: AsyncCollection[Document],
        side: str,
        where: Document,
        field: str | None = None,
        path: Path = "auto",
    ) -> None:
        super().__init__(collection, path)
        self._side, self._where, self._field = collection.database[side], where, field
        self._by_value = VersionedDocs(self._side, "ferretdb")

    async def create_index(self) -> None:
        if not await self._ferretdb():
            await self._docs.create_index(
                self._field or next(iter(self._where)), partialFilterExpression=self._where
            )

    async def add(self, key: str, value: Any = None) -> None:
        if not await self._ferretdb():
            return
        if self._field:
            await self._by_value.change(str(value), _listing(key, True))
        else:
            mark = {"_id": key, "at": now()}
            await self._side.replace_one({"_id": key}, mark, upsert=True)

    async def remove(self, key: str, value: Any = None) -> None:
        """`value`: the one `key` had, for a subset by `field`."""
        if not await self._ferretdb():
            return
        if self._field:
            await self._by_value.change(str(value), _listing(key, False))
        else:
            await self._side.delete_one({"_id": key})

    async def forget_abandoned_claims(self) -> int:
        """The claims on value lists left by writers that died (FerretDB's path)."""
        if self._field and await self._ferretdb():
            return await self._by_value.forget_abandoned_claims()
        return 0

    async def keys(self, value: Any = None) -> list[str]:
        if await self._ferretdb():
            if self._field:
                listed = await self._by_value.get(str(value))
                return list(listed["keys"]) if listed else []
            return [mark["_id"] async for mark in self._side.find({}, {"_id": 1})]
        query = {**self._where, **({self._field: value} if self._field else {})}
        return [doc["_id"] async for doc in self._docs.find(query, {"_id": 1})]


def _listing(key: str, present: bool) -> Change:
    """A change to a value's list of keys that has `key` in it (present) or not; None when the
    list is that already."""

    def change(doc: Document | None) -> Document | None:
        listed = list((doc or {}).get("keys", []))
        if (key in listed) == present:
            return None
        return {"keys": [*listed, key] if present else [k for k in listed if k != key]}

    return change
