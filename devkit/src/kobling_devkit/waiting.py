"""Waiting for the system to get somewhere: a deadline, never a sleep that hopes."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _as_read(value: Any) -> object:
    return value


async def eventually(
    read: Callable[[], Awaitable[T]],
    holds: Callable[[T], object] = bool,
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "not as expected",
    tolerate: tuple[type[Exception], ...] = (),
    show: Callable[[T], object] = _as_read,
) -> T:
    """Reads until what it read holds, and answers it. Reads at least once, and once more at the
    deadline; then fails (AssertionError) with `what`, the time allowed and the last thing read
    (as `show` renders it), or the last error of a kind in `tolerate` (a service restarting)."""
    deadline = time.monotonic() + timeout
    seen: object = "nothing yet"
    while True:
        try:
            value = await read()
        except tolerate as error:
            seen = repr(error)
        else:
            if holds(value):
                return value
            seen = show(value)
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} within {timeout}s; last seen: {seen}")
        await asyncio.sleep(interval)


def shown(response: Any) -> object:
    """An HTTP response as a failure shows it: its status and its body."""
    return f"{response.status_code} {response.text}"
