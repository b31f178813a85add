"""What the stores ask of the database, named by the need, not by the database's quirks.

A store gets a `Door` where its app is built (kobling_shared.db.choice) and asks it for each
need; the door's implementation (db/mongodb.py, or the embedded demo database's, named in
db/choice.py) decides how the need is met. Every implementation is held to
tests/integration/test_store_contract.py.
"""

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from kobling_shared.mongo import Document

Change = Callable[[Document | None], Document | None]
# Called with the stored document (None: absent) and the one about to replace it.
Hook = Callable[[Document | None, Document], Awaitable[None]]


class WriteConflict(PyMongoError):
    """A guarded write kept losing to other writers of the same document until its deadline: an
    error of the database, passing like the others (MongoDB's own WriteConflict is one too), so a
    consumer retries it as it retries any database error."""


class Versioned(Protocol):
    """Documents carrying a `rev`, changed by read-modify-write where each write lands only if
    the document is still at the revision it was computed from (checked by the database in the
    write itself), else the change is recomputed on the newer document. No lease: a writer stalled
    between its read and its write cannot overwrite a newer write."""

    @property
    def docs(self) -> AsyncCollection[Document]: ...

    async def get(self, key: str) -> Document | None: ...

    async def write(self, key: str, rev: int | None, doc: Document) -> bool:
        """Writes `doc` (its `rev` set to the next revision) if the stored document is still at
        `rev`; `rev` None: only if there is none yet. False when another write came first."""
        ...

    async def change(
        self, key: str, change: Change, before: Hook | None = None, after: Hook | None = None
    ) -> Document | None:
        """Applies `change` to the document as stored (None: absent) and writes what it answers,
        recomputing it on the newer document whenever another writer came first (WriteConflict
        past the deadline). Answers the document written, or None when `change` answered None.
        `before` runs ahead of each attempt's write, `after` once the write landed."""
        ...

    async def tidy(self) -> int:
        """Removes what writers that died mid-write left behind; how many were removed."""
        ...


class OneTime(Protocol):
    """One-time records, each holding its deadline in `expires_at`, deleted once past it.
    Readers check a record's deadline themselves: deletion only bounds how long it is kept."""

    @property
    def docs(self) -> AsyncCollection[Document]: ...

    async def create_index(self) -> None: ...

    async def forget_expired(self, before: datetime) -> int: ...


class Subset(Protocol):
    """The keys of a collection's documents that match a filter, found without reading the rest,
    optionally by the value of one field: an index kept beside the collection. The writer calls
    `add` before the write that makes a document match and `remove` after the write that makes it
    stop; readers check the document itself, so a mark left by a crash between the two is
    harmless."""

    async def create_index(self) -> None: ...

    async def add(self, key: str, value: Any = None) -> None: ...

    async def remove(self, key: str, value: Any = None) -> None:
        """`value`: the one `key` had, for a subset by field."""
        ...

    async def keys(self, value: Any = None) -> list[str]: ...

    async def tidy(self) -> int:
        """Removes what writers that died mid-write left behind."""
        ...


class DailyCounter(Protocol):
    """A count per key and day shared by every instance, never above its limit however many
    instances take at once."""

    async def create_index(self) -> None: ...

    async def take(self, key: str, day: date) -> int | None:
        """Takes one from `key`'s count for `day`; how many are left after it, or None when
        the limit was reached already."""
        ...

    async def forget_expired(self, before: datetime) -> int:
        """Forgets the counts of days over for a day or more."""
        ...


class Door(Protocol):
    """Makes each need for a collection, and answers the reads and indexes stores share."""

    def versioned(
        self, collection: AsyncCollection[Document], give_up_after: float = 10.0
    ) -> Versioned: ...

    def one_time(self, collection: AsyncCollection[Document], small: bool = True) -> OneTime:
        """`small`: a collection of records that live minutes (else: days, and many)."""
        ...

    def subset(
        self,
        collection: AsyncCollection[Document],
        side: str,
        where: Document,
        field: str | None = None,
    ) -> Subset:
        """`side`: the name a side collection may take, where the database needs one."""
        ...

    def daily_counter(self, collection: AsyncCollection[Document], limit: int) -> DailyCounter: ...

    async def create_index(
        self, collection: AsyncCollection[Document], keys: list[tuple[str, int]]
    ) -> None:
        """An index on fields other than `_id`, where the database uses one."""
        ...

    async def find_by_id(self, collection: AsyncCollection[Document], key: Any) -> Document | None:
        """The document with `_id` `key`, or None: the read behind every page view."""
        ...
