"""Our consumers wait in the poll and never sleep after an empty one (kobling_shared.kafka's
`wait_in_the_poll`). That replaces FastStream's `BatchSubscriber.get_msg` and relies on its
consume loop (`_run_consume_loop`): it calls `self.get_msg(consumer)` for each batch, skips an
empty one, hands the others to `consume_one` (which acknowledges and commits), and ends when the
consumer is stopped. These fail if FastStream changes any of that."""

import asyncio
from typing import Any

import anyio
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import ConsumerStoppedError

from kobling_shared.events import AnyEvent
from kobling_shared.kafka import MAX_BATCH, Polling, make_broker, subscribe_events

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Consumer:
    """Answers each getmany with the next of `polls`; stopped after the last."""

    def __init__(self, polls: list[dict[TopicPartition, list[Any]]]) -> None:
        self.polls, self.asked = polls, list[tuple[int, int | None]]()

    async def getmany(
        self, *_: TopicPartition, timeout_ms: int = 0, max_records: Any = None
    ) -> Any:
        self.asked.append((timeout_ms, max_records))
        if not self.polls:
            raise ConsumerStoppedError
        return self.polls.pop(0)


def record(partition: TopicPartition, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=partition.topic,
        partition=partition.partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=b"{}",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=2,
        headers=(),
    )


async def ignore(events: list[AnyEvent]) -> None:
    pass


async def run(subscriber: Any, consumer: Consumer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """FastStream's consume loop over `consumer`: the batches it consumed, and its sleeps."""
    consumed, slept = [], []

    async def consume_one(batch: Any) -> None:
        consumed.append(batch)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(anyio, "sleep", sleep)
    subscriber.consume_one, subscriber.running = consume_one, True
    await asyncio.wait_for(subscriber._run_consume_loop(consumer), timeout=5)
    return consumed, slept


async def test_an_empty_poll_is_followed_by_the_next_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = make_broker("127.0.0.1:9", "test")
    subscribe_events(broker, ("t",), "g", ignore, polling=Polling(batch_timeout_ms=1234))
    (subscriber,) = broker.subscribers
    first, second, third = record(A, 0), record(A, 1), record(B, 0)
    consumer = Consumer([{}, {}, {A: [first, second], B: [third]}, {}])

    consumed, slept = await run(subscriber, consumer, monkeypatch)

    assert consumer.asked == [(1234, MAX_BATCH)] * 5  # four polls, then stopped
    assert consumed == [(first, second, third)]  # one batch, every partition's records in order
    assert slept == []


async def test_faststreams_own_poll_still_sleeps_after_an_empty_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the override exists: when this fails, FastStream waits in the poll itself and
    `wait_in_the_poll` can go."""
    broker = make_broker("127.0.0.1:9", "test")
    subscriber = broker.subscriber("t", group_id="g", batch=True, batch_timeout_ms=7)
    subscriber(ignore)

    _, slept = await run(subscriber, Consumer([{}]), monkeypatch)

    assert slept == [0.007]
