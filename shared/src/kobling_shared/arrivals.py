"""Waiting for a fact this service's own consumer is about to write, at a fixed cost.

A request that must wait (the merchant's page for the event it was sent with, a connect link for
the install that trails the click) reads the database at a few fixed moments, not in a loop; the
consumer in the same process wakes it as soon as it wrote the fact, so the usual wait is short and
costs two reads. With several replicas the writer may be another process: the fixed reads still
find the fact. Waiters are capped: past the cap a request reads once and answers at once (its page
refreshes itself), so one client's many requests cannot hold the database.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

# When to read, in seconds from the start of the wait: at most this many reads per request.
READ_AT = (0.0, 0.25, 1.0, 2.0)
MAX_WAITING = 64


class Arrivals:
    def __init__(self, read_at: tuple[float, ...] = READ_AT, max_waiting: int = MAX_WAITING):
        self._read_at, self._max = read_at, max_waiting
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._count = 0

    def arrived(self, keys: Iterable[str]) -> None:
        """Called by the consumer once what `keys` name is written."""
        for key in keys:
            for event in self._waiting.get(key, ()):
                event.set()

    async def wait_for(self, key: str, holds: Callable[[], Awaitable[bool]]) -> bool:
        """True once `holds()` does; False when it still does not at the last read."""
        if self._count >= self._max:
            return await holds()
        woken = asyncio.Event()
        self._waiting.setdefault(key, set()).add(woken)
        self._count += 1
        try:
            loop = asyncio.get_running_loop()
            start = loop.time()
            for at in self._read_at:
                if not woken.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), start + at - loop.time())
                if await holds():
                    return True
            return False
        finally:
            self._count -= 1
            waiting = self._waiting[key]
            waiting.discard(woken)
            if not waiting:
                del self._waiting[key]
