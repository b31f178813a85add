"""sync's MongoDB: one record per Stripe object it books, the merchant's settings, and which
e-conomic customer each Stripe customer became.

A record is written before each step's call (its intent) and after (its result), each write
guarded by the record's revision: an instance that lost the record to another (a rebalance, a
Replay) finds out at its next write and stops, and the event is taken up again from the stored
step."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared.db.ports import Door
from kobling_shared.events import account_key, now
from kobling_shared.mongo import Document


class Moved(OSError):
    """The record changed under this attempt: start again from what is stored. An OSError, so the
    consumer retries it as an outage rather than parking the event."""


def record_key(account_id: str, livemode: bool, object_id: str) -> str:
    return f"{account_key(account_id, livemode)}:{object_id}"


class Records:
    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._records = door.versioned(db["records"])

    async def create_indexes(self) -> None:
        docs = self._records.docs
        await docs.create_index([("account", 1), ("state", 1)])
        await docs.create_index([("account", 1), ("charges", 1)])
        await docs.create_index([("state", 1), ("updated_at", 1)])

    async def open(self, key: str, fresh: Document) -> Document:
        """The stored record, or `fresh` stored as the first."""
        current = await self._records.get(key)
        if current is not None:
            return current
        if await self._records.write(key, None, fresh):
            return {**fresh, "_id": key, "rev": 1}
        stored = await self._records.get(key)
        if stored is None:
            raise Moved(key)
        return stored

    async def get(self, key: str) -> Document | None:
        return await self._records.get(key)

    async def save(self, record: Document, **changes: Any) -> Document:
        """`record` with `changes`, written only if nobody wrote it since it was read."""
        updated = {k: v for k, v in {**record, **changes}.items() if k not in ("_id", "rev")}
        rev = int(record["rev"])
        if not await self._records.write(record["_id"], rev, updated):
            raise Moved(record["_id"])
        return {**updated, "_id": record["_id"], "rev": rev + 1}

    async def by_charge(self, account: str, charge_ids: list[str]) -> dict[str, Document]:
        """The invoice records that name these charges (or payment intents), by each id."""
        found: dict[str, Document] = {}
        cursor = self._records.docs.find({"account": account, "charges": {"$in": charge_ids}})
        async for record in cursor:
            for charge in record.get("charges", []):
                found[charge] = record
        return found

    async def of_account(
        self, account: str, state: str | None = None, limit: int = 50
    ) -> list[Document]:
        query: Document = {"account": account}
        if state:
            query["state"] = state
        cursor = self._records.docs.find(query).sort("updated_at", -1).limit(limit)
        return [record async for record in cursor]

    async def count(self, account: str, state: str, since: datetime | None = None) -> int:
        query: Document = {"account": account, "state": state}
        if since is not None:
            query["updated_at"] = {"$gte": since}
        return await self._records.docs.count_documents(query)

    async def stalled(self, before: datetime, limit: int = 100) -> list[Document]:
        """Records left pending since `before`: their service stopped or an outage held them."""
        query = {"state": "pending", "updated_at": {"$lt": before}}
        return [r async for r in self._records.docs.find(query).limit(limit)]


class SyncSettingsStore:
    """Each install's sync settings, as the merchant saved them (validated then)."""

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._settings = door.versioned(db["settings"])

    async def get(self, key: str) -> Document | None:
        return await self._settings.get(key)

    async def put(self, key: str, settings: Document) -> None:
        await self._settings.change(key, lambda _current: dict(settings))


class Customers:
    """Stripe customer → e-conomic customer number, with the name it was created under: e-conomic
    reuses a deleted customer's number, so a mapping is trusted only while the number still
    names that customer."""

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._customers = door.versioned(db["customers"])

    async def get(self, key: str) -> Document | None:
        return await self._customers.get(key)

    async def put(self, key: str, number: int, name: str) -> None:
        fields = {"number": number, "name": name, "checked_at": now()}
        await self._customers.change(key, lambda _c: fields)

    async def checked(self, key: str, at: datetime) -> None:
        await self._customers.docs.update_one({"_id": key}, {"$set": {"checked_at": at}})

    async def forget(self, key: str) -> None:
        await self._customers.docs.delete_one({"_id": key})
