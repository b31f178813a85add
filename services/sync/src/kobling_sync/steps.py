"""Exactly once against an API without transactions: each step that creates something in
e-conomic stores its intent before the call and its result after it.

- A step whose result is stored is never done again.
- A step whose intent is stored without a result may have happened (the process died, the broker
  answered `unknown`): it first looks for what it would have made, by the marker it puts on it
  (`references.other`, the entry text); only when nothing is found does it create again.
- Every create carries an Idempotency-Key made of (account, mode, object, step, generation):
  within e-conomic's hour a repeat gets the first answer back; past it, the lookup is the guard.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kobling_shared.events import now
from kobling_shared.mongo import Document
from kobling_sync.store import Records

Lookup = Callable[[], Awaitable[Any | None]]
Create = Callable[[str], Awaitable[Any]]


def idempotency_key(record: Document, step: str) -> str:
    """Printable, at most 128 characters (the broker's rule), and the same on every attempt of
    one step of one generation; a Replay's new generation makes new keys."""
    seed = f"{record['_id']}|{step}|{record.get('generation', 0)}"
    return f"kobling-sync-{hashlib.sha256(seed.encode()).hexdigest()[:48]}"


@dataclass
class StepRunner:
    records: Records

    async def run(
        self, record: Document, step: str, lookup: Lookup, create: Create
    ) -> tuple[Document, Any]:
        """The step's result, from the record, from a lookup after an unfinished attempt, or
        from `create`; and the record as now stored."""
        results: dict[str, Any] = record.get("results", {})
        if step in results:
            return record, results[step]
        intents: dict[str, Any] = record.get("intents", {})
        if step in intents:
            found = await lookup()
            if found is not None:
                return await self._done(record, step, found), found
        key = idempotency_key(record, step)
        record = await self.records.save(
            record, intents={**intents, step: {"key": key, "at": now()}}, updated_at=now()
        )
        result = await create(key)
        return await self._done(record, step, result), result

    async def _done(self, record: Document, step: str, result: Any) -> Document:
        results = {**record.get("results", {}), step: result}
        return await self.records.save(record, results=results, step=step, updated_at=now())
