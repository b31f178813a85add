"""econ-auth's MongoDB: connections (with their outbox), one-time states and used links, and the
broker's uses not yet audited. The types they exchange are the ports' (ports.py)."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_econ_auth.connection import Connection, new_connection
from kobling_econ_auth.ports import Change, PendingState
from kobling_shared.db.ports import Door
from kobling_shared.events import EconomicGrantUsed, account_key, now
from kobling_shared.mongo import Document, insert_new

USED_FOR = timedelta(hours=1)  # a used link or state is remembered this long


def _agreement(conn: Connection) -> int | None:
    """The agreement a connected connection holds; None for any other state."""
    return conn.agreement.agreement_number if conn.state == "connected" and conn.agreement else None


def _connection(doc: Document | None) -> Connection | None:
    return Connection.model_validate(doc) if doc else None


def digest(secret: str) -> str:
    """States and link nonces are stored hashed: a read of the database cannot replay them."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ConnectionStore:
    def __init__(
        self, db: AsyncDatabase[Document], door: Door, used_for: timedelta = USED_FOR
    ) -> None:
        """`door`: the database's (kobling_shared.db). `used_for`: how long a used link or state
        is remembered."""
        self._connections = db["connections"]
        self._docs = door.versioned(self._connections)
        # Connections that may hold unpublished events, so the relay never reads every
        # connection; `owes` is set on exactly those.
        self._owing = door.subset(self._connections, "outbox_pending", {"owes": True})
        # Connected connections by e-conomic agreement, to find one agreement shared by several.
        self._members = door.subset(
            self._connections,
            "agreement_members",
            {"state": "connected"},
            field="agreement.agreement_number",
        )
        self._states = door.one_time(db["states"])
        self._used = door.one_time(db["used_once"])
        self._used_for = used_for

    async def create_indexes(self) -> None:
        await self._connections.create_index([("state", ASCENDING)])
        await self._connections.create_index([("held.expires_at", ASCENDING)])
        for index in (self._owing, self._members, self._states, self._used):
            await index.create_index()

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
        """Applies `change` to the connection as stored and writes the result only if no other
        writer wrote in between (else `change` runs again on the newer one). None when nothing
        changed."""

        def on_document(doc: Document | None) -> Document | None:
            current = _connection(doc) or new_connection(account_id, livemode)
            updated = change(current)
            if updated is None:
                return None
            # `owes` marks a connection with events to publish, for the relay to find it.
            return {**updated.model_dump(), **({"owes": True} if updated.outbox else {})}

        async def before(doc: Document | None, new: Document) -> None:
            current, updated = _connection(doc), Connection.model_validate(new)
            marks = []
            if len(updated.outbox) > len(current.outbox if current else []):
                # Marked before the write: a crash between the two leaves a mark the relay
                # clears, never an event nobody looks for.
                marks.append(self._owing.add(key))
            joins = _agreement(updated)
            if joins is not None and joins != (_agreement(current) if current else None):
                # Also before the write; a member left behind by a crash is checked when read.
                marks.append(self._members.add(key, joins))
            # Two side collections, neither waiting on the other: a connect sets both at once.
            await asyncio.gather(*marks)

        async def after(doc: Document | None, new: Document) -> None:
            current = _connection(doc)
            leaves = _agreement(current) if current else None
            if leaves is not None and _agreement(Connection.model_validate(new)) != leaves:
                await self._members.remove(key, leaves)

        key = account_key(account_id, livemode)
        written = await self._docs.change(key, on_document, before, after)
        return Connection.model_validate(written) if written else None

    async def connected_elsewhere(
        self, agreement_number: int, account_id: str
    ) -> list[tuple[str, bool]]:
        """Other Stripe installs (account, livemode) holding a grant to this e-conomic agreement.
        Looked up among the connected ones only, by the agreement's members."""
        others = set()
        for member in await self._members.keys(agreement_number):
            doc = await self._connections.find_one({"_id": member})
            conn = Connection.model_validate(doc) if doc else None
            if conn and conn.account_id != account_id and _agreement(conn) == agreement_number:
                others.add((conn.account_id, conn.livemode))
        return sorted(others)

    async def connected(self) -> list[Connection]:
        docs = await self._connections.find({"state": "connected"}).to_list()
        return [Connection.model_validate(d) for d in docs]

    async def held_expired(self, at: datetime) -> list[tuple[str, bool]]:
        held = {"held.expires_at": {"$lt": at}}
        docs = await self._connections.find(held, {"account_id": 1, "livemode": 1}).to_list()
        return [(doc["account_id"], doc["livemode"]) for doc in docs]

    async def connected_accounts(self) -> AsyncIterator[tuple[str, bool]]:
        """(account, livemode) of each connected connection, streamed in the driver's batches:
        the grant check round reads keys, not a million documents at once."""
        cursor = self._connections.find({"state": "connected"}, {"account_id": 1, "livemode": 1})
        async for doc in cursor:
            yield doc["account_id"], doc["livemode"]

    async def with_outbox(self) -> list[Connection]:
        pending = []
        for key in await self._owing.keys():
            doc = await self._connections.find_one({"_id": key})
            if doc and doc.get("outbox"):
                pending.append(Connection.model_validate(doc))
            else:
                await self._owing.remove(key)
        return pending

    async def sent(self, conn: Connection, event_ids: set[str]) -> None:
        def drop(current: Connection) -> Connection | None:
            left = [e for e in current.outbox if e["id"] not in event_ids]
            return current.model_copy(update={"outbox": left}) if left != current.outbox else None

        left = await self.change(conn.account_id, conn.livemode, drop)
        if left is not None and not left.outbox:
            await self._owing.remove(account_key(conn.account_id, conn.livemode))

    # --- one-time values ------------------------------------------------------------------------

    async def use_once(self, kind: str, secret: str) -> bool:
        """True the first time `secret` is used. A unique _id makes exactly one of any number of
        concurrent callers win, on every database."""
        try:
            at = now()
            await self._used.docs.insert_one(
                {"_id": f"{kind}:{digest(secret)}", "at": at, "expires_at": at + self._used_for}
            )
        except DuplicateKeyError:
            return False
        return True

    async def was_used(self, kind: str, secret: str) -> bool:
        return await self._used.docs.find_one({"_id": f"{kind}:{digest(secret)}"}) is not None

    async def save_state(self, state: str, pending: PendingState) -> None:
        doc: dict[str, Any] = {"_id": digest(state), **pending.__dict__}
        await self._states.docs.insert_one(doc)

    async def find_state(self, state: str) -> PendingState | None:
        doc = await self._states.docs.find_one({"_id": digest(state)})
        if doc is None:
            return None
        doc.pop("_id")
        return PendingState(**doc)

    async def forget_expired(self, before: datetime) -> None:
        """States past their deadline, and used links and states kept `used_for`: longer than the
        link or state could be replayed, after which its own expiry refuses it."""
        await self._states.forget_expired(before)
        await self._used.forget_expired(before)
        await self._docs.tidy()
        await self._members.tidy()


class UnsentUses:
    """The broker's uses whose audit event is not published yet (kobling_econ_auth.audit)."""

    def __init__(self, unsent: AsyncCollection[Document]) -> None:
        self._unsent = unsent

    async def add(self, event: EconomicGrantUsed, relay_after: datetime) -> None:
        doc = {"_id": event.id, "event": event.model_dump_json(), "relay_after": relay_after}
        await self._unsent.insert_one(doc)

    async def replace(self, event: EconomicGrantUsed, relay_after: datetime) -> None:
        doc = {"event": event.model_dump_json(), "relay_after": relay_after}
        await self._unsent.replace_one({"_id": event.id}, doc)

    async def forget(self, event_id: str) -> None:
        await self._unsent.delete_one({"_id": event_id})

    async def due(self, at: datetime) -> list[EconomicGrantUsed]:
        docs = await self._unsent.find().to_list(500)
        return [
            EconomicGrantUsed.model_validate_json(doc["event"])
            for doc in docs
            if doc.get("relay_after", at) <= at
        ]
