"""The needs of kobling_shared.db.ports met by MongoDB itself: a guarded `replace_one`, TTL and
partial indexes, a conditional `$inc`.

No mongod runs on the development machines or in CI (they run the embedded database, and take
its door, named in db/choice.py); this one is exercised in docker-compose (the official `mongo`
image) and production, and by tests/integration/test_store_contract.py's `mongodb` door wherever
MONGODB_URL names a real MongoDB. Check there: `docker compose up`, then
`MONGODB_URL=mongodb://127.0.0.1:27017 uv run pytest tests/integration/test_store_contract.py
tests/integration/test_broker_budget.py`, and that `db.<collection>.getIndexes()` shows the TTL
(`expires_at`, expireAfterSeconds 0) and partial indexes.
"""

import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from kobling_shared.db.ports import Change, Document, Hook, WriteConflict
from kobling_shared.mongo import insert_new

# A day's count is kept a day longer than the day lasts: past that nobody asks for that day.
KEPT_AFTER_THE_DAY = timedelta(days=1)


def day_over(day: date) -> datetime:
    """When a count for `day` may be forgotten."""
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1) + KEPT_AFTER_THE_DAY


class VersionedDocs:
    """kobling_shared.db.ports.Versioned: the check is the filter of one
    `replace_one({"_id": k, "rev": r})`."""

    def __init__(self, collection: AsyncCollection[Document], give_up_after: float = 10.0) -> None:
        self._docs, self._give_up_after = collection, give_up_after

    @property
    def docs(self) -> AsyncCollection[Document]:
        return self._docs

    async def get(self, key: str) -> Document | None:
        return await self._docs.find_one({"_id": key})

    async def write(self, key: str, rev: int | None, doc: Document) -> bool:
        new = {**doc, "_id": key, "rev": (rev or 0) + 1}
        if rev is None:  # a unique insert
            return not await insert_new(self._docs, [new])
        return await self._replace(key, rev, new)

    async def _replace(self, key: str, rev: int, new: Document) -> bool:
        result = await self._docs.replace_one({"_id": key, "rev": rev}, new)
        return result.matched_count == 1

    async def change(
        self, key: str, change: Change, before: Hook | None = None, after: Hook | None = None
    ) -> Document | None:
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

    async def tidy(self) -> int:
        return 0  # a write is one command: a writer that dies leaves nothing behind


class OneTime:
    """kobling_shared.db.ports.OneTime: a TTL index deletes the records by itself, and the same
    index serves `forget_expired`."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._docs = collection

    @property
    def docs(self) -> AsyncCollection[Document]:
        return self._docs

    async def create_index(self) -> None:
        await self._docs.create_index("expires_at", expireAfterSeconds=0)

    async def forget_expired(self, before: datetime) -> int:
        return (await self._docs.delete_many({"expires_at": {"$lt": before}})).deleted_count


class Subset:
    """kobling_shared.db.ports.Subset: a partial index over `where`; `keys` queries the collection
    itself, so `add` and `remove` have nothing to do."""

    def __init__(
        self, collection: AsyncCollection[Document], where: Document, field: str | None = None
    ) -> None:
        self._docs, self._where, self._field = collection, where, field

    async def create_index(self) -> None:
        await self._docs.create_index(
            self._field or next(iter(self._where)), partialFilterExpression=self._where
        )

    async def add(self, key: str, value: Any = None) -> None:
        pass

    async def remove(self, key: str, value: Any = None) -> None:
        pass

    async def keys(self, value: Any = None) -> list[str]:
        query = {**self._where, **({self._field: value} if self._field else {})}
        return [doc["_id"] async for doc in self._docs.find(query, {"_id": 1})]

    async def tidy(self) -> int:
        return 0


class DailyCounter:
    """kobling_shared.db.ports.DailyCounter: one document per key and day, taken from by a `$inc`
    conditional on the count being under the limit. When the limit is reached the filter matches
    nothing and the upsert collides with the document on `_id`: spent. A TTL index forgets it."""

    def __init__(self, collection: AsyncCollection[Document], limit: int) -> None:
        self._docs, self._limit = collection, limit

    async def create_index(self) -> None:
        await self._docs.create_index("expires_at", expireAfterSeconds=0)

    async def take(self, key: str, day: date) -> int | None:
        if self._limit <= 0:
            return None
        try:
            counted = await self._docs.find_one_and_update(
                {"_id": f"{key}:{day.isoformat()}", "taken": {"$lt": self._limit}},
                {"$inc": {"taken": 1}, "$setOnInsert": {"expires_at": day_over(day)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None
        assert counted is not None  # an upsert answers the document it wrote
        return self._limit - int(counted["taken"])

    async def forget_expired(self, before: datetime) -> int:
        return (await self._docs.delete_many({"expires_at": {"$lt": before}})).deleted_count


class MongoDoor:
    """kobling_shared.db.ports.Door on MongoDB."""

    def versioned(
        self, collection: AsyncCollection[Document], give_up_after: float = 10.0
    ) -> VersionedDocs:
        return VersionedDocs(collection, give_up_after)

    def one_time(self, collection: AsyncCollection[Document], small: bool = True) -> OneTime:
        return OneTime(collection)

    def subset(
        self,
        collection: AsyncCollection[Document],
        side: str,
        where: Document,
        field: str | None = None,
    ) -> Subset:
        return Subset(collection, where, field)

    def daily_counter(self, collection: AsyncCollection[Document], limit: int) -> DailyCounter:
        return DailyCounter(collection, limit)

    async def create_index(
        self, collection: AsyncCollection[Document], keys: list[tuple[str, int]]
    ) -> None:
        await collection.create_index(keys)

    async def find_by_id(self, collection: AsyncCollection[Document], key: Any) -> Document | None:
        return await collection.find_one({"_id": key})
