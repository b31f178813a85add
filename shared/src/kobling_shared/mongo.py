"""The MongoDB client every service shares (PyMongo's async API; motor's successor)."""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


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
