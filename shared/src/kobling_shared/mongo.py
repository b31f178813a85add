"""The MongoDB client every service shares (PyMongo's async API; motor's successor)."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

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


class LockTimeout(Exception):
    pass


class KeyLocks:
    """Mutual exclusion per key, across processes, for a read-modify-write of one document.

    Taken by a unique insert, the one write that is atomic on MongoDB and FerretDB alike. A revision
    guard (`replace_one({"_id": k, "rev": r})`) is neither there: FerretDB runs its query and its
    update apart, and pushes down only a filter on `_id` alone, so the guard scanned the whole
    collection on every write (seconds at 40,000 connections). Held locks are few, so releasing
    by `_id` and token touches a small collection. A holder that died is overtaken after `lease`.
    """

    def __init__(self, collection: AsyncCollection[Document], lease_seconds: float = 10.0) -> None:
        self._locks, self._lease = collection, timedelta(seconds=lease_seconds)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        token = secrets.token_hex(8)
        give_up = now() + self._lease * 1.5  # long enough to overtake a holder that died
        attempt = 0
        while await insert_new(
            self._locks, [{"_id": key, "token": token, "until": now() + self._lease}]
        ):
            holder = await self._locks.find_one({"_id": key})
            if holder is not None and holder["until"] < now():
                await self._locks.delete_one({"_id": key, "token": holder["token"]})
            if now() > give_up:
                raise LockTimeout(key)
            attempt += 1
            await asyncio.sleep(min(0.001 * attempt, 0.05))
        try:
            yield
        finally:
            await self._locks.delete_one({"_id": key, "token": token})
