"""The audit of grant uses (economic.grant-uses.v1) in the read model: each use is an entry on
its account's timeline, keyed by event id so a redelivered event is recorded once; the count and
the last use are read from those entries."""

from dataclasses import dataclass
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from kobling_shared.events import EconomicGrantUsed, account_key
from kobling_shared.mongo import Document, insert_new

GRANT_USED = EconomicGrantUsed.model_fields["type"].default


@dataclass
class GrantUses:
    timeline: AsyncCollection[Document]

    async def record(self, uses: list[EconomicGrantUsed]) -> None:
        await insert_new(
            self.timeline,
            [
                {
                    "_id": use.id,
                    "key": use.account_key,
                    "type": use.type,
                    "time": use.time,
                    "use": use.data.model_dump(exclude={"agreement_number"}),
                }
                for use in uses
            ],
        )

    async def summary(self, account_id: str, livemode: bool) -> dict[str, Any]:
        where = {"key": account_key(account_id, livemode), "type": GRANT_USED}
        count = await self.timeline.count_documents(where)
        last = await self.timeline.find_one(where, sort=[("time", DESCENDING), ("_id", DESCENDING)])
        return {
            "count": count,
            "last_used_at": last["time"] if last else None,
            "last_use": last["use"] if last else None,
        }
