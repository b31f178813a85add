"""The broker's daily budget per e-conomic agreement, shared by every econ-auth instance.

Each call takes a numbered ticket, `<agreement>:<day>:<n>`, by inserting it: the unique _id lets
exactly one taker have each number, and no number above the budget is ever taken, however many
instances take at once. (A conditional `$inc` on one counter served 8 of a budget of 5 to two
instances on FerretDB, whose findAndModify is not atomic under concurrency; the unique insert is,
on MongoDB and FerretDB alike.)
"""

from dataclasses import dataclass
from datetime import date

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from kobling_shared.mongo import Document


@dataclass
class DailyBudget:
    tickets: AsyncCollection[Document]
    limit: int

    async def create_indexes(self) -> None:
        await self.tickets.create_index([("key", ASCENDING), ("n", ASCENDING)])
        await self.tickets.create_index([("day", ASCENDING)])

    async def take(self, agreement_number: int, day: date) -> int | None:
        """Takes one call from the agreement's budget for `day`; answers how many are left after
        it, or None when it was spent already."""
        key = f"{agreement_number}:{day.isoformat()}"
        last = await self.tickets.find_one({"key": key}, sort=[("n", DESCENDING)])
        n = int(last["n"]) + 1 if last else 1
        while n <= self.limit:
            try:
                await self.tickets.insert_one(
                    {"_id": f"{key}:{n}", "key": key, "n": n, "day": day.isoformat()}
                )
            except DuplicateKeyError:
                n += 1  # another caller took this one between our look and our insert
                continue
            return self.limit - n
        return None

    async def forget_before(self, day: date) -> None:
        await self.tickets.delete_many({"day": {"$lt": day.isoformat()}})
