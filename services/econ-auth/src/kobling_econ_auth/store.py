"""econ-auth's MongoDB: connections (with their outbox), one-time states and used links."""

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_econ_auth.connection import Connection, new_connection
from kobling_shared.events import account_key, now
from kobling_shared.mongo import Document, KeyLocks, insert_new

Change = Callable[[Connection], Connection | None]


class Taken(Enum):
    TAKEN = "taken"  # the connection was created by another writer since we read


TAKEN = Taken.TAKEN


def _agreement(conn: Connection) -> int | None:
    """The agreement a connected connection holds; None for any other state."""
    return conn.agreement.agreement_number if conn.state == "connected" and conn.agreement else None


def digest(secret: str) -> str:
    """States and link nonces are stored hashed: a read of the database cannot replay them."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class PendingState:
    account_id: str
    livemode: bool
    expires_at: datetime
    locale: str
    # The digest of the browser id (kobling_shared.binding) of the browser that confirmed; a
    # state saved before browsers were bound has none, and no browser matches it.
    browser: str = ""
    # When the connect link behind it was minted: an uninstall after that kills the state.
    started_at: datetime | None = None


class ConnectionStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._connections = db["connections"]
        self._states = db["states"]
        self._used = db["used_once"]
        # The keys of connections that may hold unpublished events: a small collection, so the
        # relay never scans every connection (on FerretDB a scan of thousands takes seconds).
        self._pending = db["outbox_pending"]
        # Connected connections by e-conomic agreement, to find one agreement shared by several.
        self._members = db["agreement_members"]
        self._locks = KeyLocks(db["connection_locks"])

    async def create_indexes(self) -> None:
        await self._connections.create_index([("state", ASCENDING)])
        await self._members.create_index([("agreement", ASCENDING)])

    async def get(self, account_id: str, livemode: bool) -> Connection | None:
        doc = await self._connections.find_one({"_id": account_key(account_id, livemode)})
        return Connection.model_validate(doc) if doc else None

    async def create(self, connections: list[Connection]) -> set[str]:
        """Writes new connections with one insert; answers the keys that exist already. Only for
        connections with nothing to publish and no grant (a first install)."""
        assert not any(conn.outbox or conn.agreement for conn in connections)
        docs = [
            {"_id": account_key(c.account_id, c.livemode), "rev": 1, **c.model_dump()}
            for c in connections
        ]
        return await insert_new(self._connections, docs)

    async def change(self, account_id: str, livemode: bool, change: Change) -> Connection | None:
        """Applies `change` to the connection as stored, with no other writer between our read
        and our write. None when nothing changed.

        A connection's first write (an install) takes no lock: of racing inserts the unique _id
        lets one win, and the others go on under the lock like any later change."""
        key = account_key(account_id, livemode)
        if await self._connections.find_one({"_id": key}, {"_id": 1}) is None:
            written = await self._write(key, None, account_id, livemode, change)
            if written is not TAKEN:
                return written
        async with self._locks.hold(key):
            while True:
                doc = await self._connections.find_one({"_id": key})
                written = await self._write(key, doc, account_id, livemode, change)
                if written is not TAKEN:  # else created without the lock since our read
                    return written

    async def _write(
        self, key: str, doc: Document | None, account_id: str, livemode: bool, change: Change
    ) -> Connection | Taken | None:
        current = Connection.model_validate(doc) if doc else new_connection(account_id, livemode)
        updated = change(current)
        if updated is None:
            return None
        if len(updated.outbox) > len(current.outbox):
            # Marked before the write: a crash between the two leaves a mark the relay
            # clears, never an event nobody looks for.
            await self._mark_pending(key)
        joins, leaves = _agreement(updated), _agreement(current)
        if joins is not None and joins != leaves:
            # Also before the write; a member left behind by a crash is checked when read.
            await insert_new(self._members, [{"_id": key, "agreement": joins}])
        new_doc = {"_id": key, "rev": (doc["rev"] if doc else 0) + 1, **updated.model_dump()}
        if doc is None:
            if await insert_new(self._connections, [new_doc]):
                return TAKEN
        else:
            await self._connections.replace_one({"_id": key}, new_doc)
        if leaves is not None and joins != leaves:
            await self._members.delete_one({"_id": key})
        return updated

    async def connected_elsewhere(
        self, agreement_number: int, account_id: str
    ) -> list[tuple[str, bool]]:
        """Other Stripe installs (account, livemode) holding a grant to this e-conomic agreement.
        Looked up among the connected ones only: on FerretDB a query on connections scans them
        all."""
        others = set()
        async for member in self._members.find({"agreement": agreement_number}):
            doc = await self._connections.find_one({"_id": member["_id"]})
            conn = Connection.model_validate(doc) if doc else None
            if conn and conn.account_id != account_id and _agreement(conn) == agreement_number:
                others.add((conn.account_id, conn.livemode))
        return sorted(others)

    async def connected(self) -> list[Connection]:
        docs = await self._connections.find({"state": "connected"}).to_list()
        return [Connection.model_validate(d) for d in docs]

    async def connected_accounts(self) -> AsyncIterator[tuple[str, bool]]:
        """(account, livemode) of each connected connection, streamed in the driver's batches:
        the grant check round reads keys, not a million documents at once."""
        cursor = self._connections.find({"state": "connected"}, {"account_id": 1, "livemode": 1})
        async for doc in cursor:
            yield doc["account_id"], doc["livemode"]

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

    async def was_used(self, kind: str, secret: str) -> bool:
        return await self._used.find_one({"_id": f"{kind}:{digest(secret)}"}) is not None

    async def save_state(self, state: str, pending: PendingState) -> None:
        doc: dict[str, Any] = {"_id": digest(state), **pending.__dict__}
        await self._states.insert_one(doc)

    async def find_state(self, state: str) -> PendingState | None:
        doc = await self._states.find_one({"_id": digest(state)})
        if doc is None:
            return None
        doc.pop("_id")
        return PendingState(**doc)

    async def forget_expired(self, before: datetime, used_for: timedelta) -> None:
        """No TTL index: FerretDB has none, so one-time values expire by their stored deadline.
        A used link or state is kept `used_for`: longer than the link or state could be
        replayed, after which its own expiry refuses it."""
        await self._states.delete_many({"expires_at": {"$lt": before}})
        await self._used.delete_many({"at": {"$lt": before - used_for}})
