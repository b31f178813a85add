"""What the sync did (sync.results.v1) in the read model: one document per Stripe object, the
result with the highest revision winning whatever order they arrive in (a redelivered or late
result changes nothing), and per install the counts by state, counted from those documents when
asked (an install has as many as it has invoices and payouts; the index on (key, state) answers).
Ids, numbers and amounts only, as on the topic."""

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from kobling_shared.events import (
    InvoiceSynced,
    PayoutBooked,
    SyncNeedsAttention,
    SyncSkipped,
    account_key,
)
from kobling_shared.mongo import Document, insert_new

SyncResultEvent = InvoiceSynced | PayoutBooked | SyncNeedsAttention | SyncSkipped
STATES = {
    InvoiceSynced: "synced",
    PayoutBooked: "synced",
    SyncNeedsAttention: "needs_attention",
    SyncSkipped: "skipped",
}


def object_document(event: SyncResultEvent) -> Document:
    return {
        "key": event.account_key,
        "object_id": event.data.object_id,
        "object_type": event.data.object_type,
        "state": STATES[type(event)],
        "revision": event.data.revision,
        "time": event.time,
        "event_id": event.id,
        "result": event.data.model_dump(mode="json"),
    }


@dataclass
class SyncResults:
    objects: AsyncCollection[Document]

    @classmethod
    def of(cls, db: AsyncDatabase[Document]) -> "SyncResults":
        return cls(db["sync_objects"])

    async def create_indexes(self) -> None:
        await self.objects.create_index([("key", 1), ("state", 1)])
        await self.objects.create_index([("key", 1), ("time", -1)])

    async def apply(self, events: list[SyncResultEvent]) -> None:
        """Each object's document becomes its result of the highest revision; an equal or lower
        revision (redelivered, late) leaves it as it is."""
        latest: dict[str, SyncResultEvent] = {}
        for event in events:
            key = f"{event.account_key}:{event.data.object_id}"
            if key not in latest or event.data.revision > latest[key].data.revision:
                latest[key] = event
        if not latest:
            return
        # Most results are an object's first: inserted together, in one round trip (one write per
        # result left status minutes behind a sync backlog). An object already there is replaced
        # only by a newer revision: the filter's guard makes a stale result match nothing, and
        # its upsert then collides on _id, which says the stored result is as new or newer. (Not
        # one unordered update command for all: FerretDB stops at its first duplicate key.)
        taken = await insert_new(
            self.objects, [{"_id": key, **object_document(e)} for key, e in latest.items()]
        )
        for key in taken:
            event = latest[key]
            try:
                await self.objects.update_one(
                    {"_id": key, "revision": {"$lt": event.data.revision}},
                    {"$set": object_document(event)},
                    upsert=True,
                )
            except DuplicateKeyError:
                pass  # the stored result is as new or newer

    async def holders(self) -> set[str]:
        """The accounts with any result (kobling_status.read_cache: the rest have none)."""
        return {str(key) for key in await self.objects.distinct("key")}

    async def summary(self, account_id: str, livemode: bool) -> dict[str, Any]:
        key = account_key(account_id, livemode)
        counts = {state: 0 for state in ("synced", "needs_attention", "skipped")}
        async for row in await self.objects.aggregate(
            [{"$match": {"key": key}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        ):
            counts[str(row["_id"])] = int(row["n"])
        last = await self.objects.find_one({"key": key}, sort=[("time", -1)])
        return {
            **counts,
            "last_result_at": last["time"] if last else None,
            "last_result": {"state": last["state"], **last["result"]} if last else None,
        }

    async def object_state(
        self, account_id: str, livemode: bool, object_id: str
    ) -> Document | None:
        key = f"{account_key(account_id, livemode)}:{object_id}"
        doc = await self.objects.find_one({"_id": key})
        if doc is None:
            return None
        return {"state": doc["state"], "time": doc["time"], **doc["result"]}
