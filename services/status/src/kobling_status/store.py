"""The read model in MongoDB: one document per (account, mode), and each account's timeline.

New accounts are written by a unique insert; an account already there is read and replaced only if
still at the revision read (kobling_shared.db.ports.Versioned), so two writers at once cannot lose
either's event.
"""

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared.db.ports import Door
from kobling_shared.events import AnyEvent, account_key, now
from kobling_shared.mongo import Document, insert_new
from kobling_status.projection import AccountStatus, project


@dataclass(frozen=True)
class AccountFilter:
    state: str | None = None
    livemode: bool | None = None
    installed: bool | None = None
    connected_since: datetime | None = None
    in_state_before: datetime | None = None  # "stuck": in its state since before this time


def fold(current: AccountStatus | None, events: list[AnyEvent]) -> AccountStatus | None:
    """The status after `events`, or None when they leave `current` as it is (or absent)."""
    status = current
    for event in events:
        status = project(status, event) or status
    return status if status is not current else None


class StatusStore:
    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._accounts = db["accounts"]
        self._timeline = db["timeline"]
        self._door = door
        self._docs = door.versioned(self._accounts)

    async def create_indexes(self) -> None:
        by_state = [("economic.state", ASCENDING), ("_id", ASCENDING)]
        await self._door.create_index(self._accounts, by_state)
        await self._door.create_index(self._timeline, [("key", ASCENDING), ("time", ASCENDING)])

    async def apply(
        self,
        events: list[AnyEvent],
        written_then: Callable[[dict[str, AccountStatus]], Awaitable[None]] | None = None,
    ) -> None:
        """Projects a batch of events, in their order per account. Safe to apply again.
        `written_then` is given each account written, as written, before the events go on the
        timeline: what it does (telling the other instances) is done when `has_applied` says so.

        Most accounts in a batch have no document yet (new installs; a rebuild into an empty read
        model): those are written with one insert for the whole batch. Only accounts already
        there are read and replaced one by one."""
        received = now()
        by_key: dict[str, list[AnyEvent]] = {}
        for event in events:
            by_key.setdefault(event.account_key, []).append(event)
        fresh = {key: fold(None, evs) for key, evs in by_key.items()}
        taken = await insert_new(
            self._accounts,
            [{"_id": key, "rev": 1, **doc.model_dump()} for key, doc in fresh.items() if doc],
        )
        written = {key: doc for key, doc in fresh.items() if doc and key not in taken}
        for key, doc in fresh.items():
            if key in taken or doc is None:
                if (changed := await self._apply_to_existing(key, by_key[key])) is not None:
                    written[key] = changed
        if written_then is not None:
            await written_then(written)
        # When status took each event and when its account was written: how far the read model
        # lags, event by event (an operator's question; the bench splits its tail with them).
        applied = now()
        timeline = [timeline_entry(event, received, applied) for event in events]
        await insert_new(self._timeline, timeline)  # an entry already there was recorded before

    async def _apply_to_existing(self, key: str, events: list[AnyEvent]) -> AccountStatus | None:
        # One consumer owns each account's partitions, but during a rebalance two may overlap:
        # the write lands only on the revision it was folded from, else it is folded again.
        folded: list[AccountStatus | None] = [None]  # the last fold: the one written, if any

        def on_document(doc: Document | None) -> Document | None:
            folded[0] = fold(AccountStatus.model_validate(doc) if doc else None, events)
            return None if folded[0] is None else folded[0].model_dump()

        written = await self._docs.change(key, on_document)
        return folded[0] if written is not None else None

    async def timeline(self, account_id: str, livemode: bool) -> list[Document]:
        cursor = self._timeline.find({"key": account_key(account_id, livemode)}, {"key": 0})
        return await cursor.sort([("time", ASCENDING), ("_id", ASCENDING)]).to_list()

    async def funnel(self) -> dict[str, int]:
        """How many installs stand in each state, for operators."""
        counts = {"installed": 0, "uninstalled": 0}
        async for row in await self._accounts.aggregate(
            [
                {
                    "$group": {
                        "_id": {"i": "$stripe.installed", "s": "$economic.state"},
                        "n": {"$sum": 1},
                    }
                }
            ]
        ):
            installed, state = row["_id"].get("i"), row["_id"].get("s")
            counts["installed" if installed else "uninstalled"] += row["n"]
            if installed:
                counts[state] = counts.get(state, 0) + row["n"]
        return counts

    async def has_applied(self, event_id: str) -> bool:
        return await self._timeline.find_one({"_id": event_id}, {"_id": 1}) is not None

    async def get(self, account_id: str, livemode: bool) -> AccountStatus | None:
        # Every view of the Dashboard reads here: the door's cheapest read by _id.
        doc = await self._door.find_by_id(self._accounts, account_key(account_id, livemode))
        return AccountStatus.model_validate(doc) if doc else None

    async def list(
        self, where: AccountFilter, limit: int, cursor: str | None
    ) -> tuple[list[AccountStatus], str | None]:
        query: dict[str, Any] = {}
        if where.state is not None:
            query["economic.state"] = where.state
        if where.livemode is not None:
            query["livemode"] = where.livemode
        if where.installed is not None:
            query["stripe.installed"] = where.installed
        if where.connected_since is not None:
            query["economic.connected_at"] = {"$gte": where.connected_since}
        if where.in_state_before is not None:
            query["$or"] = [
                {"economic.since": {"$lt": where.in_state_before}},
                {"economic.since": None, "stripe.installed_at": {"$lt": where.in_state_before}},
            ]
        if cursor is not None:
            query["_id"] = {"$gt": decode_cursor(cursor)}
        docs = await self._accounts.find(query).sort("_id", ASCENDING).limit(limit + 1).to_list()
        page = [AccountStatus.model_validate(doc) for doc in docs[:limit]]
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return page, next_cursor


class BadCursor(ValueError):
    pass


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor(cursor) from None


def timeline_entry(event: AnyEvent, received: datetime, applied: datetime) -> Document:
    """An event on its account's timeline, with who made it when a Dashboard user did."""
    user_id = getattr(event.data, "user_id", None)
    return {
        "_id": event.id,
        "key": event.account_key,
        "type": event.type,
        "time": event.time,
        "received_at": received,
        "applied_at": applied,
        **({"user_id": user_id} if user_id else {}),
    }
