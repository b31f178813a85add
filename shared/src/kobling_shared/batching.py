"""Group commit: many concurrent callers, one round trip to the database and the broker.

Each caller awaits `submit(item)`. One task takes everything that queued while the previous
batch was in flight and hands it to `flush` at once. No timer is involved: a lone caller is
flushed on the next turn of the event loop, and under load the batches grow by themselves.
(Our own code: the maintained asyncio libraries batch streams, not callers awaiting answers.)
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# `flush` answers each item in order: its result, or the exception that item alone should raise.
Flush = Callable[[list[T]], Awaitable[list[R | Exception]]]


class GroupCommit(Generic[T, R]):
    def __init__(self, flush: Flush[T, R], max_batch: int = 500) -> None:
        self._flush, self._max_batch = flush, max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        # A caller that goes away (a client hanging up) does not cancel the others' batch.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as error:  # the whole batch failed: each caller sees why
                results = [error] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
