"""The broker's daily budget per e-conomic agreement, one counter in the database that every
econ-auth instance takes from: a conditional increment, so two instances cannot both take the
last call."""

from dataclasses import dataclass
from datetime import date

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from kobling_shared.mongo import Document


@dataclass
class DailyBudget:
    counters: AsyncCollection[Document]
    limit: int

    async def take(self, agreement_number: int, day: date) -> int | None:
        """Takes one call from the agreement's budget for `day`; answers how many are left after
        it, or None when it was spent already."""
        key = f"{agreement_number}:{day.isoformat()}"
        for _ in range(2):
            try:
                doc = await self.counters.find_one_and_update(
                    {"_id": key, "used": {"$lt": self.limit}},
                    {"$inc": {"used": 1}, "$setOnInsert": {"day": day.isoformat()}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Either spent (the filter missed an existing counter, and the upsert collided
                # with it) or two first calls raced to create it: a second try tells them apart.
                continue
            return max(0, self.limit - int(doc["used"])) if doc else None
        return None

    async def left(self, agreement_number: int, day: date) -> int:
        doc = await self.counters.find_one({"_id": f"{agreement_number}:{day.isoformat()}"})
        return max(0, self.limit - int(doc["used"] if doc else 0))

    async def forget_before(self, day: date) -> None:
        await self.counters.delete_many({"day": {"$lt": day.isoformat()}})
