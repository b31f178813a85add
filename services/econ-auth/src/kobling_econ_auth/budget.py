"""The broker's daily budget per e-conomic agreement, shared by every econ-auth instance.

Each call takes a numbered ticket, `<agreement>:<day>:<n>`, by inserting it: the unique _id lets
exactly one taker have each number, and no number above the budget is ever taken, however many
instances take at once. (A conditional `$inc` on one counter served 8 of a budget of 5 to two
instances on FerretDB, whose findAndModify is not atomic under concurrency; the unique insert is,
on MongoDB and FerretDB alike.)

Which number to try is only a guess, and a wrong one costs time, never the limit. Each instance
remembers the next number per agreement and day, so a call costs one insert. The numbers taken
are 1 to m with no gap (every taker inserts the first free number at or above one it saw taken),
so where the remembered number is stale or unknown the first free one is found by looking up
single tickets by `_id`, doubling the stride, then halving it: a few dozen lookups at most.
(Asking for the highest taken number instead reads every ticket on FerretDB, which pushes only a
filter on `_id` alone down to SQLite: 40 ms a call after a few thousand calls, 400 ms with 8 at
once, and growing all day.)
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from kobling_shared.db.ports import Door
from kobling_shared.mongo import Document

# A day's tickets are kept a day longer than it lasts: past that no taker asks for that day.
KEPT_AFTER_THE_DAY = timedelta(days=1)


@dataclass
class DailyBudget:
    tickets: AsyncCollection[Document]
    limit: int
    door: Door
    # The number to try next, by `<agreement>:<day>`; only a guess (see the module's note).
    _next: dict[str, int] = field(default_factory=dict)
    _day: date | None = None

    def __post_init__(self) -> None:
        # Tickets are inserted in the order of their day: the sweep of the oldest suits them.
        self._expiring = self.door.one_time(self.tickets, small=False)

    async def create_indexes(self) -> None:
        await self._expiring.create_index()

    async def take(self, agreement_number: int, day: date) -> int | None:
        """Takes one call from the agreement's budget for `day`; answers how many are left after
        it, or None when it was spent already."""
        if day != self._day:  # what was remembered of other days is of no use any more
            self._day, self._next = day, {}
        key = f"{agreement_number}:{day.isoformat()}"
        n = self._next.get(key) or await self._first_free(key, 1)
        expires_at = datetime.combine(day, time(), UTC) + timedelta(days=1) + KEPT_AFTER_THE_DAY
        while n <= self.limit:
            # Claimed here before the insert, so this instance's concurrent takers try others.
            self._next[key] = max(self._next.get(key, 0), n + 1)
            try:
                await self.tickets.insert_one({"_id": f"{key}:{n}", "expires_at": expires_at})
            except DuplicateKeyError:
                # Another instance took it: its takers may be far ahead of what we remembered.
                n = await self._first_free(key, max(n + 1, self._next[key]))
                continue
            return self.limit - n
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
        if n > self.limit:
            return False
        return await self.tickets.find_one({"_id": f"{key}:{n}"}, {"_id": 1}) is not None

    async def forget_expired(self, before: datetime) -> int:
        """Tickets of days over for a day or more (a TTL index does this on MongoDB)."""
        return await self._expiring.forget_expired(before)
