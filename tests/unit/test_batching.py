import asyncio

import pytest

from kobling_shared.batching import GroupCommit


async def test_callers_arriving_together_share_one_flush_and_get_their_own_answers() -> None:
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        await asyncio.sleep(0.01)
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    group = GroupCommit(flush)
    results = await asyncio.gather(*(group.submit(i) for i in range(6)), return_exceptions=True)

    assert batches == [[0, 1, 2, 3, 4, 5]]
    assert results[:3] == [0, 10, 20] and results[4:] == [40, 50]
    assert isinstance(results[3], ValueError)


async def test_a_failed_flush_fails_its_callers_and_the_next_batch_goes_on() -> None:
    calls = 0

    async def flush(items: list[str]) -> list[str | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        return [item.upper() for item in items]

    group = GroupCommit(flush, max_batch=2)
    first = asyncio.gather(group.submit("a"), group.submit("b"), return_exceptions=True)
    later = asyncio.gather(group.submit("c"))
    assert [type(r) for r in await first] == [ConnectionError, ConnectionError]
    assert await later == ["C"]


async def test_a_caller_that_goes_away_does_not_cancel_the_batch() -> None:
    flushed: list[str] = []

    async def flush(items: list[str]) -> list[str | Exception]:
        await asyncio.sleep(0.02)
        flushed.extend(items)
        return items

    group = GroupCommit(flush)
    impatient = asyncio.create_task(group.submit("gone"))
    patient = asyncio.create_task(group.submit("stays"))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == "stays"
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert flushed == ["gone", "stays"]
