"""The one wait the tests, the bench and the devkit use: a deadline, and what it last saw."""

import itertools

import pytest

from kobling_devkit.waiting import eventually


async def test_answers_the_first_reading_that_holds() -> None:
    counter = itertools.count()

    async def read() -> int:
        return next(counter)

    assert await eventually(read, lambda n: n >= 3, timeout=5, interval=0) == 3


async def test_fails_at_the_deadline_with_what_it_last_read() -> None:
    async def read() -> str:
        return "pending"

    with pytest.raises(AssertionError, match=r"^never ready within 0.05s; last seen: pending$"):
        await eventually(
            read, lambda s: s == "done", timeout=0.05, interval=0.01, what="never ready"
        )


async def test_a_tolerated_error_is_what_it_saw_and_it_reads_again() -> None:
    readings = iter([ConnectionError("restarting"), "up"])

    async def read() -> str:
        reading = next(readings)
        if isinstance(reading, Exception):
            raise reading
        return reading

    assert await eventually(read, timeout=5, interval=0, tolerate=(ConnectionError,)) == "up"
    with pytest.raises(AssertionError, match="ConnectionError"):
        await eventually(_refused, timeout=0.05, interval=0.01, tolerate=(ConnectionError,))


async def _refused() -> str:
    raise ConnectionError("refused")
