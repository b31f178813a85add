"""The per-key lock that guards read-modify-write on FerretDB and MongoDB alike."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared.events import now
from kobling_shared.mongo import Document, KeyLocks, LockTimeout
from tests.infra import Infra


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb, tz_aware=True)
    database = client[f"test_locks_{uuid.uuid4().hex[:8]}"]
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_writers_holding_the_lock_lose_no_update(db: AsyncDatabase[Document]) -> None:
    locks, counters = KeyLocks(db["locks"]), db["counters"]
    await counters.insert_one({"_id": "k", "n": 0})

    async def increment() -> None:
        async with locks.hold("k"):
            doc = await counters.find_one({"_id": "k"})
            assert doc is not None
            await asyncio.sleep(0.005)  # a read-modify-write that would interleave without it
            await counters.replace_one({"_id": "k"}, {"n": doc["n"] + 1})

    await asyncio.gather(*(increment() for _ in range(20)))

    assert await counters.find_one({"_id": "k"}) == {"_id": "k", "n": 20}
    assert await db["locks"].count_documents({}) == 0


async def test_a_lock_left_by_a_holder_that_died_is_overtaken(db: AsyncDatabase[Document]) -> None:
    # A short lease: a waiter gives up after 1.5 s, so a lock that is not overtaken fails fast.
    locks = KeyLocks(db["locks"], lease_seconds=1.0)
    await db["locks"].insert_one({"_id": "k", "token": "dead", "until": now() - timedelta(1)})
    async with locks.hold("k"):
        held = await db["locks"].find_one({"_id": "k"})
    assert held is not None and held["token"] != "dead"


async def test_a_lock_whose_holder_is_alive_is_not_overtaken(db: AsyncDatabase[Document]) -> None:
    locks = KeyLocks(db["locks"], lease_seconds=1.0)
    alive = {"_id": "k", "token": "alive", "until": now() + timedelta(hours=1)}
    await db["locks"].insert_one(alive)
    with pytest.raises(LockTimeout):
        async with locks.hold("k"):
            pass
    assert await db["locks"].find_one({"_id": "k"}, {"_id": 0, "token": 1}) == {"token": "alive"}
