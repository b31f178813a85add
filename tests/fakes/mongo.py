"""A MongoDB collection in memory, for the few calls the broker's budget and audit make: inserts
by a unique `_id`, lookups, replacements and deletions by `_id`."""

from typing import Any

from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


class FakeCursor:
    def __init__(self, docs: list[Document]) -> None:
        self._docs = docs

    async def to_list(self, length: int | None = None) -> list[Document]:
        return self._docs[:length]


class FakeCollection:
    """Each method runs without an await inside, so it is atomic as a unique insert is."""

    def __init__(self) -> None:
        self.docs: dict[Any, Document] = {}

    async def insert_one(self, doc: Document) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"duplicate _id {doc['_id']}")
        self.docs[doc["_id"]] = dict(doc)

    async def find_one(self, query: Document, projection: Any = None) -> Document | None:
        return self.docs.get(query["_id"])

    def find(self, query: Document | None = None) -> FakeCursor:
        return FakeCursor(list(self.docs.values()))

    async def replace_one(self, query: Document, doc: Document, upsert: bool = False) -> None:
        self.docs[query["_id"]] = {**doc, "_id": query["_id"]}

    async def delete_one(self, query: Document) -> None:
        self.docs.pop(query["_id"], None)
