"""The needs of kobling_shared.db.ports met on FerretDB 1.24 with its SQLite backend, the
embedded database of the demo, the developers' machines and CI. Everything Kobling does only
because of FerretDB's limits is here; leaving FerretDB is deleting this module and its two lines
in db/choice.py. The limits (read in FerretDB's sources; docs/benchmarks.md measures them):

- a filter is pushed down to SQLite only when it is `_id` alone (backends/sqlite/collection.go,
  `Query`): any other filter reads every document, and an index on other fields serves no query;
- an update runs its query and its write as two steps with no lock between them
  (internal/handler/msg_update.go), so a conditional update or findAndModify is not atomic;
  its one atomic check is a unique insert;
- no TTL index and no partial index.
"""

from datetime import date, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from kobling_shared.db import mongodb
from kobling_shared.db.ports import Change, Document
from kobling_shared.events import now
from kobling_shared.mongo import insert_new


async def answers(client: AsyncMongoClient[Document]) -> bool:
    """Whether the database is FerretDB: it names itself in buildInfo; MongoDB has no such field."""
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" in info


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


class VersionedDocs(mongodb.VersionedDocs):
    """A guarded write without an atomic conditional update. `replace_one({"_id": k, "rev": r})`
    scans the collection and can still overwrite a write that landed between its two steps, so the
    writer first claims the next revision by inserting `<key>#<rev+1>` into `<collection>_claims`:
    of any number of writers from revision `rev`, one gets the claim. It then re-reads: a writer
    whose read was stale (the revision was written, and its claim removed, since) finds a newer
    `rev` and loses. Nobody else can write the document while the claim is held, so the winner's
    plain replace by `_id` cannot overwrite anything."""

    # A claim older than this belongs to a writer that died between claiming and writing; it is
    # removed so the document can be written again. A writer stalled longer than this inside
    # those two steps is the one case this path cannot fence.
    ABANDONED_CLAIM = timedelta(seconds=30)

    def __init__(self, collection: AsyncCollection[Document], give_up_after: float = 10.0) -> None:
        super().__init__(collection, give_up_after)
        self._claims = collection.database[f"{collection.name}_claims"]

    async def _replace(self, key: str, rev: int, new: Document) -> bool:
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

    async def tidy(self) -> int:
        """Removes claims left by writers that died; a small collection."""
        result = await self._claims.delete_many({"at": {"$lt": now() - self.ABANDONED_CLAIM}})
        return result.deleted_count


class OneTime(mongodb.OneTime):
    """No TTL index, and a filter on `expires_at` reads every document. For a collection that
    stays small (records that live minutes: `small=True`) that read is cheap and `forget_expired`
    deletes by the filter. For a large one it reads the oldest records through the one query
    FerretDB does push down, a limit with no filter and no sort (insertion order, which is
    deadline order for records kept a fixed time), deletes the expired ones by `_id` and stops at
    the first batch with none expired. A record written out of deadline order behind that batch
    waits for the ones ahead of it: readers check a record's deadline themselves, so the sweep
    bounds only how long it is kept."""

    SWEEP_BATCH = 1000

    def __init__(self, collection: AsyncCollection[Document], small: bool = True) -> None:
        super().__init__(collection)
        self._small = small

    async def create_index(self) -> None:
        pass

    async def forget_expired(self, before: datetime) -> int:
        if self._small:
            return await super().forget_expired(before)
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


class Subset:
    """No partial index, so the writer keeps a small side collection by hand (`add`, `remove`).
    With a `field` the side collection holds one document per value, its `_id`, listing the keys
    that have it: a lookup by value is then one read by `_id`, where a mark per key found by its
    value read every mark (in the connect callback, a scan that grew with every connected
    merchant). The list is changed through VersionedDocs, so two keys joining one value at once
    both stay."""

    def __init__(self, side: AsyncCollection[Document], field: str | None = None) -> None:
        self._side, self._field = side, field
        self._by_value = VersionedDocs(side)

    async def create_index(self) -> None:
        pass

    async def add(self, key: str, value: Any = None) -> None:
        if self._field:
            await self._by_value.change(str(value), _listing(key, True))
        else:
            mark = {"_id": key, "at": now()}
            await self._side.replace_one({"_id": key}, mark, upsert=True)

    async def remove(self, key: str, value: Any = None) -> None:
        if self._field:
            await self._by_value.change(str(value), _listing(key, False))
        else:
            await self._side.delete_one({"_id": key})

    async def keys(self, value: Any = None) -> list[str]:
        if self._field:
            listed = await self._by_value.get(str(value))
            return list(listed["keys"]) if listed else []
        return [mark["_id"] async for mark in self._side.find({}, {"_id": 1})]

    async def tidy(self) -> int:
        """The claims on value lists left by writers that died."""
        return await self._by_value.tidy() if self._field else 0


def _listing(key: str, present: bool) -> Change:
    """A change to a value's list of keys that has `key` in it (present) or not; None when the
    list is that already."""

    def change(doc: Document | None) -> Document | None:
        listed = list((doc or {}).get("keys", []))
        if (key in listed) == present:
            return None
        return {"keys": [*listed, key] if present else [k for k in listed if k != key]}

    return change


class DailyCounter:
    """A conditional `$inc` on one counter served 8 of a limit of 5 to two instances (findAndModify
    is not atomic here). So each take is a numbered ticket, `<key>:<day>:<n>`, taken by inserting
    it: the unique `_id` lets exactly one taker have each number, and no number above the limit is
    ever taken, however many instances take at once.

    Which number to try is only a guess, and a wrong one costs time, never the limit. Each
    instance remembers the next number per key and day, so a take costs one insert. The numbers
    taken are 1 to m with no gap (every taker inserts the first free number at or above one it
    saw taken), so where the remembered number is stale or unknown the first free one is found by
    looking up single tickets by `_id`, doubling the stride, then halving it: a few dozen lookups
    at most. (Asking for the highest taken number instead reads every ticket: 40 ms a call after
    a few thousand calls, 400 ms with 8 at once, and growing all day.)"""

    def __init__(self, tickets: AsyncCollection[Document], limit: int) -> None:
        self._tickets, self._limit = tickets, limit
        # Tickets are inserted in the order of their day: the sweep of the oldest suits them.
        self._expiring = OneTime(tickets, small=False)
        # The number to try next, by `<key>:<day>`; only a guess.
        self._next: dict[str, int] = {}
        self._day: date | None = None

    async def create_index(self) -> None:
        pass

    async def take(self, key: str, day: date) -> int | None:
        if day != self._day:  # what was remembered of other days is of no use any more
            self._day, self._next = day, {}
        key = f"{key}:{day.isoformat()}"
        n = self._next.get(key) or await self._first_free(key, 1)
        expires_at = mongodb.day_over(day)
        while n <= self._limit:
            # Claimed here before the insert, so this instance's concurrent takers try others.
            self._next[key] = max(self._next.get(key, 0), n + 1)
            try:
                await self._tickets.insert_one({"_id": f"{key}:{n}", "expires_at": expires_at})
            except DuplicateKeyError:
                # Another instance took it: its takers may be far ahead of what we remembered.
                n = await self._first_free(key, max(n + 1, self._next[key]))
                continue
            return self._limit - n
        return None

    async def _first_free(self, key: str, start: int) -> int:
        """The first free number at or above `start` (numbers above the limit count as free)."""
        if not await self._taken(key, start):
            return start
        taken, stride = start, 1
        while await self._taken(key, taken + stride):
            taken, stride = taken + stride, stride * 2
        free = taken + stride
        while free - taken > 1:
            middle = (taken + free) // 2
            if await self._taken(key, middle):
                taken = middle
            else:
                free = middle
        return free

    async def _taken(self, key: str, n: int) -> bool:
        if n > self._limit:
            return False
        return await self._tickets.find_one({"_id": f"{key}:{n}"}, {"_id": 1}) is not None

    async def forget_expired(self, before: datetime) -> int:
        return await self._expiring.forget_expired(before)


class FerretDoor:
    """kobling_shared.db.ports.Door on FerretDB 1.24 (SQLite)."""

    def versioned(
        self, collection: AsyncCollection[Document], give_up_after: float = 10.0
    ) -> VersionedDocs:
        return VersionedDocs(collection, give_up_after)

    def one_time(self, collection: AsyncCollection[Document], small: bool = True) -> OneTime:
        return OneTime(collection, small)

    def subset(
        self,
        collection: AsyncCollection[Document],
        side: str,
        where: Document,
        field: str | None = None,
    ) -> Subset:
        return Subset(collection.database[side], field)

    def daily_counter(self, collection: AsyncCollection[Document], limit: int) -> DailyCounter:
        return DailyCounter(collection, limit)

    async def create_index(
        self, collection: AsyncCollection[Document], keys: list[tuple[str, int]]
    ) -> None:
        # Such an index serves no query here, while every insert still updates it at a random
        # place of its B-tree: on a rebuild it was a third of the database's CPU per event, and
        # the share that grew with the collection (docs/benchmarks.md, "Rebuilding the read
        # model").
        pass

    async def find_by_id(self, collection: AsyncCollection[Document], key: Any) -> Document | None:
        return await find_by_id(collection, key)
