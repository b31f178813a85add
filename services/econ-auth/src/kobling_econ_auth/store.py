"""econ-auth's MongoDB: connections (with their outbox), one-time states and used links."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_econ_auth.connection import Connection, new_connection
from kobling_shared.events import account_key, now
from kobling_shared.mongo import Document

MAX_ATTEMPTS = 20

Change = Callable[[Connection], Connection | None]


class ConcurrentUpdates(Exception):
    pass


def digest(secret: str) -> str:
    """States and link nonces are stored hashed: a read of the database cannot replay them."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class PendingState:
    account_id: str
    livemode: bool
    expires_at: datetime
    locale: str


class ConnectionStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._connections = db["connections"]
        self._states = db["states"]
        self._used = db["used_once"]
        # The keys of connections that may hold unpublished events: a small collection, so the
        # relay never scans every connection (on FerretDB a scan of thousands takes seconds).
        self._pending = db["outbox_pending"]

    async def create_indexes(self) -> None:
        await self._connections.create_index([("state", ASCENDING)])
        await self._connections.create_index([("agreement.agreement_number", ASCENDING)])

    async def get(self, account_id: str, livemode: bool) -> Connection | None:
        doc = await self._connections.find_one({"_id": account_key(account_id, livemode)})
        return Connection.model_validate(doc) if doc else None

    async def change(self, account_id: str, livemode: bool, change: Change) -> Connection | None:
        """Applies `change` to the connection as stored, retrying when another writer got there
        first (a guard on the revision read, safe on FerretDB too). None when nothing changed."""
        key = account_key(account_id, livemode)
        for _ in range(MAX_ATTEMPTS):
            doc = await self._connections.find_one({"_id": key})
            current = (
                Connection.model_validate(doc) if doc else new_connection(account_id, livemode)
            )
            updated = change(current)
            if updated is None:
                return None
            rev = doc["rev"] if doc else 0
            if len(updated.outbox) > len(current.outbox):
                # Marked before the write: a crash between the two leaves a mark the relay
                # clears, never an event nobody looks for.
                await self._mark_pending(key)
            new_doc = {"_id": key, "rev": rev + 1, **updated.model_dump()}
            if doc is None:
                try:
                    await self._connections.insert_one(new_doc)
                except DuplicateKeyError:
                    continue
            elif (
                await self._connections.replace_one({"_id": key, "rev": rev}, new_doc)
            ).matched_count == 0:
                continue
            return updated
        raise ConcurrentUpdates(key)

    async def connected_elsewhere(self, agreement_number: int, account_id: str) -> list[str]:
        """Other Stripe accounts holding a grant to this e-conomic agreement."""
        cursor = self._connections.find(
            {"agreement.agreement_number": agreement_number, "state": "connected"},
            {"account_id": 1},
        )
        return sorted({d["account_id"] async for d in cursor if d["account_id"] != account_id})

    async def connected(self) -> list[Connection]:
        docs = await self._connections.find({"state": "connected"}).to_list()
        return [Connection.model_validate(d) for d in docs]

    async def with_outbox(self) -> list[Connection]:
        pending = []
        for mark in await self._pending.find().to_list():
            doc = await self._connections.find_one({"_id": mark["_id"]})
            if doc and doc.get("outbox"):
                pending.append(Connection.model_validate(doc))
            else:
                await self._pending.delete_one({"_id": mark["_id"]})
        return pending

    async def _mark_pending(self, key: str) -> None:
        try:
            await self._pending.insert_one({"_id": key, "at": now()})
        except DuplicateKeyError:
            pass

    async def sent(self, conn: Connection, event_ids: set[str]) -> None:
        def drop(current: Connection) -> Connection | None:
            left = [e for e in current.outbox if e["id"] not in event_ids]
            return current.model_copy(update={"outbox": left}) if left != current.outbox else None

        left = await self.change(conn.account_id, conn.livemode, drop)
        if left is not None and not left.outbox:
            await self._pending.delete_one({"_id": account_key(conn.account_id, conn.livemode)})

    # --- one-time values ------------------------------------------------------------------------

    async def use_once(self, kind: str, secret: str) -> bool:
        """True the first time `secret` is used. A unique _id makes exactly one of any number of
        concurrent callers win, on MongoDB and FerretDB alike."""
        try:
            await self._used.insert_one({"_id": f"{kind}:{digest(secret)}", "at": now()})
        except DuplicateKeyError:
            return False
        return True

    async def save_state(self, state: str, pending: PendingState) -> None:
        doc: dict[str, Any] = {"_id": digest(state), **pending.__dict__}
        await self._states.insert_one(doc)

    async def find_state(self, state: str) -> PendingState | None:
        doc = await self._states.find_one({"_id": digest(state)})
        if doc is None:
            return None
        doc.pop("_id")
        return PendingState(**doc)

    async def forget_expired(self, before: datetime) -> None:
        # No TTL index: FerretDB has none, so one-time values expire by their stored deadline.
        await self._states.delete_many({"expires_at": {"$lt": before}})
