"""The broker's daily budget per e-conomic agreement, shared by every econ-auth instance: one
daily counter per agreement (kobling_shared.db.ports.DailyCounter), never above the budget however
many instances take at once. Its count of a day is forgotten a day after the day.

A caller's own share of the day (its scope's `daily_share`) is a budget of its own in the same
collection, its counters named `<caller>/` before the agreement."""

from dataclasses import dataclass
from datetime import date, datetime

from pymongo.asynchronous.collection import AsyncCollection

from kobling_econ_auth.scopes import Scope
from kobling_shared.db.ports import Door
from kobling_shared.mongo import Document


@dataclass
class DailyBudget:
    tickets: AsyncCollection[Document]
    limit: int
    door: Door
    # `<caller>/` for a caller's share; the agreement's budget has none, so its counters keep
    # their names.
    name: str = ""

    def __post_init__(self) -> None:
        self._counter = self.door.daily_counter(self.tickets, self.limit)

    async def create_indexes(self) -> None:
        await self._counter.create_index()

    async def take(self, agreement_number: int, day: date) -> int | None:
        """Takes one call from the agreement's budget for `day`; answers how many are left after
        it, or None when it was spent already."""
        return await self._counter.take(f"{self.name}{agreement_number}", day)

    async def forget_expired(self, before: datetime) -> int:
        """The counts of days over for a day or more."""
        return await self._counter.forget_expired(before)


def caller_shares(budget: DailyBudget, scopes: dict[str, Scope]) -> dict[str, DailyBudget]:
    """A budget per caller whose scope gives it less than the whole day, beside `budget`."""
    return {
        caller: DailyBudget(
            budget.tickets, int(scope.daily_share * budget.limit), budget.door, name=f"{caller}/"
        )
        for caller, scope in scopes.items()
        if scope.daily_share < 1
    }
