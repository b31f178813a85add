"""The broker's daily budget on the real database (MONGODB_URL: FerretDB here) through the FerretDB
door's daily counter, numbered tickets (MongoDB's, one conditional `$inc`, is held to the same
contract in test_store_contract.py): shared by instances, never exceeded, and one call's ticket
costs the same on the first call of the day and the forty-thousandth. FerretDB pushes only a filter on `_id` alone down to SQLite, so a take that
asked anything else read every ticket of every agreement (40 ms a call after a few thousand)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener, CommandStartedEvent

from kobling_devkit.infra import Infra
from kobling_econ_auth.budget import DailyBudget
from kobling_shared.db.ferretdb import FerretDoor
from kobling_shared.mongo import Document

DAY = date(2026, 12, 1)
AGREEMENT = 424242


class Commands(CommandListener):
    """Every command the client sends, as (name, its filter)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name in ("find", "insert", "delete", "update", "count", "aggregate"):
            self.seen.append((event.command_name, event.command.get("filter")))

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


@pytest.fixture
async def commands() -> Commands:
    return Commands()


@pytest.fixture
async def db(infra: Infra, commands: Commands) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        infra.mongodb, tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=[commands]
    )
    await client.admin.command("ping")  # no database: the test fails here, never skips
    database = client[f"test_budget_{uuid.uuid4().hex[:8]}"]
    yield database
    await client.drop_database(database.name)
    await client.close()


def instance(db: AsyncDatabase[Document], limit: int) -> DailyBudget:
    """One econ-auth instance's budget: its own memory, the shared tickets."""
    return DailyBudget(db["broker_budget_tickets"], limit, FerretDoor())


async def test_two_instances_taking_at_once_never_exceed_the_budget(db) -> None:
    first, second = instance(db, 30), instance(db, 30)
    takers = [first, second] * 25  # 50 calls at once for 30 tickets

    left = await asyncio.gather(*(budget.take(AGREEMENT, DAY) for budget in takers))

    served = sorted(n for n in left if n is not None)
    assert served == list(range(30))  # each number once: 29 left after the first … 0 after the last
    assert left.count(None) == 20
    assert await db["broker_budget_tickets"].count_documents({}) == 30
    assert await first.take(AGREEMENT, DAY) is None and await second.take(AGREEMENT, DAY) is None


async def test_a_take_asks_the_database_by_id_alone_and_costs_one_insert(db, commands) -> None:
    busy, idle = instance(db, 45_000), instance(db, 45_000)
    for _ in range(3):
        await idle.take(AGREEMENT, DAY)
    for _ in range(600):  # the other instance serves the agreement meanwhile
        await busy.take(AGREEMENT, DAY)

    commands.seen.clear()
    assert await busy.take(AGREEMENT, DAY) == 45_000 - 604
    assert [name for name, _ in commands.seen] == ["insert"]

    commands.seen.clear()
    assert await idle.take(AGREEMENT, DAY) == 45_000 - 605  # it remembered ticket 4
    finds = [query for name, query in commands.seen if name == "find"]
    assert all(set(query) == {"_id"} for query in finds), finds
    assert len(commands.seen) < 30  # doubling, then halving, over the 600 it missed

    commands.seen.clear()
    assert await idle.take(AGREEMENT, DAY) == 45_000 - 606
    assert [name for name, _ in commands.seen] == ["insert"]


async def test_each_agreement_and_day_has_its_own_budget(db) -> None:
    budget = instance(db, 2)
    assert [await budget.take(AGREEMENT, DAY) for _ in range(3)] == [1, 0, None]
    assert await budget.take(AGREEMENT + 1, DAY) == 1
    assert await budget.take(AGREEMENT, DAY + timedelta(days=1)) == 1


async def test_a_day_s_tickets_are_forgotten_a_day_after_it(db) -> None:
    budget = instance(db, 10)
    await budget.take(AGREEMENT, DAY)
    await budget.take(AGREEMENT, DAY + timedelta(days=1))
    tickets = db["broker_budget_tickets"]
    after_the_next_day = datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC)
    assert await budget.forget_expired(after_the_next_day) == 1
    assert [doc["_id"] async for doc in tickets.find({})] == [f"{AGREEMENT}:2026-12-02:1"]
