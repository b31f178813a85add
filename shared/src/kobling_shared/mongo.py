"""The MongoDB client every service shares (PyMongo's async API; motor's successor). What the
stores ask of the database beyond plain reads and inserts goes through kobling_shared.db."""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

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
    were taken. A unique insert is how we claim a key once, on every database we run on."""
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
