"""The choice of the database door, made once where each app is built: `door(client)`.

It is the database that decides, as it always has: FerretDB names itself in buildInfo, MongoDB
does not. An app is built before its database answers (a service starts, and reports on
/readyz, while the database is away), so the door asks on first use and keeps the answer; each
need made before then becomes the chosen implementation's on its first call.
"""

from collections.abc import Callable
from typing import Any, cast

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from kobling_shared.db import ferretdb
from kobling_shared.db.mongodb import MongoDoor
from kobling_shared.db.ports import DailyCounter, Document, Door, OneTime, Subset, Versioned


async def chosen(client: AsyncMongoClient[Document]) -> Door:
    """The door for the database `client` reaches."""
    return ferretdb.FerretDoor() if await ferretdb.answers(client) else MongoDoor()


def door(client: AsyncMongoClient[Document]) -> Door:
    """The door for `client`'s database, chosen on its first use."""
    return _OnFirstUse(client)


class _OnFirstUse:
    def __init__(self, client: AsyncMongoClient[Document]) -> None:
        self._client = client
        self._door: Door | None = None

    async def door(self) -> Door:
        if self._door is None:
            self._door = await chosen(self._client)
        return self._door

    def versioned(
        self, collection: AsyncCollection[Document], give_up_after: float = 10.0
    ) -> Versioned:
        return cast(
            Versioned, _Need(self, collection, lambda d: d.versioned(collection, give_up_after))
        )

    def one_time(self, collection: AsyncCollection[Document], small: bool = True) -> OneTime:
        return cast(OneTime, _Need(self, collection, lambda d: d.one_time(collection, small)))

    def subset(
        self,
        collection: AsyncCollection[Document],
        side: str,
        where: Document,
        field: str | None = None,
    ) -> Subset:
        return cast(
            Subset, _Need(self, collection, lambda d: d.subset(collection, side, where, field))
        )

    def daily_counter(self, collection: AsyncCollection[Document], limit: int) -> DailyCounter:
        return cast(
            DailyCounter, _Need(self, collection, lambda d: d.daily_counter(collection, limit))
        )

    async def create_index(
        self, collection: AsyncCollection[Document], keys: list[tuple[str, int]]
    ) -> None:
        await (await self.door()).create_index(collection, keys)

    async def find_by_id(self, collection: AsyncCollection[Document], key: Any) -> Document | None:
        return await (await self.door()).find_by_id(collection, key)


class _Need:
    """A need made before the door was chosen: its collection at once, the rest on first call."""

    def __init__(
        self,
        chooser: _OnFirstUse,
        collection: AsyncCollection[Document],
        make: Callable[[Door], Any],
    ) -> None:
        self._chooser, self._collection, self._make = chooser, collection, make
        self._made: Any = None

    @property
    def docs(self) -> AsyncCollection[Document]:
        return self._collection

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._made is None:
                self._made = self._make(await self._chooser.door())
            return await getattr(self._made, name)(*args, **kwargs)

        return call
