"""A consumer that fails on an event pauses before each retry, parks the event on the dead-letter
topic after bounded attempts and goes on with the partition; an outage is retried for as long as it
lasts. On the real broker, with kobling_shared.kafka.subscribe_events as every service uses it."""

import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo.errors import AutoReconnect

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import committed_offsets, everything_on
from kobling_devkit.waiting import eventually
from kobling_shared.events import DEAD_LETTER_TOPIC, AnyEvent, InstallData, StripeAppInstalled
from kobling_shared.kafka import Retries, ensure_topics, make_broker, subscribe_events

RETRIES = Retries(attempts=3, first_pause=0.3, max_pause=1.0)

Handle = Callable[[list[AnyEvent]], Awaitable[None]]


@pytest.fixture
async def topic(infra: Infra) -> AsyncIterator[str]:
    await ensure_topics(infra.kafka)  # the dead-letter topic
    name = f"test-retries-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


def installed(account: str) -> StripeAppInstalled:
    return StripeAppInstalled(
        source="test", subject=account, livemode=False, data=InstallData(via="webhook")
    )


async def consume(infra: Infra, topic: str, handle: Handle, events: list[AnyEvent]) -> str:
    """Publishes `events` to `topic` and runs a consumer on it until its group has committed
    past all of them (the fact "handled or parked"); answers the group."""
    group = f"test-retries-{uuid.uuid4().hex[:8]}"
    broker = make_broker(infra.kafka, group)
    subscribe_events(broker, (topic,), group, handle, retries=RETRIES)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"k")
    finally:
        await producer.stop()
    await broker.start()
    try:
        await eventually(
            lambda: committed_offsets(infra.kafka, group, topic),
            lambda committed: committed.get(0, 0) >= len(events),
            timeout=60,
            what="the consumer never got past the events",
        )
    finally:
        await broker.stop()
    return group


async def parked_with(infra: Infra, event_id: str) -> list[dict[str, str]]:
    letters = await everything_on(infra.kafka, DEAD_LETTER_TOPIC)
    return [json.loads(value) for value in letters if event_id.encode() in value]


async def test_an_event_that_always_fails_is_parked_after_bounded_attempts(
    infra: Infra, topic: str, account: str
) -> None:
    before, bad, after = installed(account), installed(account), installed(account)
    applied: dict[str, int] = {}
    tries_of_bad: list[float] = []

    async def handle(events: list[AnyEvent]) -> None:
        for event in events:
            if event.id == bad.id:
                tries_of_bad.append(time.monotonic())
                raise RuntimeError("a bug in the handler, secret=sk_live_do_not_log")
            applied[event.id] = applied.get(event.id, 0) + 1

    await consume(infra, topic, handle, [before, bad, after])

    assert after.id in applied and before.id in applied  # the partition went on past it
    parked = await parked_with(infra, bad.id)
    assert len(parked) == 1, parked
    assert parked[0]["topic"] == topic
    assert parked[0]["reason"] == "failed: RuntimeError after 3 attempts"  # no message: no secret
    assert json.loads(parked[0]["value"])["id"] == bad.id  # the event itself, to replay
    # Bounded, and paused between: a batch call and a call alone per delivery at most.
    assert 3 <= len(tries_of_bad) <= 6, tries_of_bad
    assert tries_of_bad[-1] - tries_of_bad[0] >= RETRIES.pause(1) + RETRIES.pause(2)
    assert await parked_with(infra, before.id) == [] and await parked_with(infra, after.id) == []


async def test_a_transient_failure_is_retried_with_a_pause_and_applied_once(
    infra: Infra, topic: str, account: str
) -> None:
    event = installed(account)
    calls: list[float] = []
    applied: list[str] = []

    async def handle(events: list[AnyEvent]) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise ValueError("not yet")
        applied.extend(e.id for e in events)

    await consume(infra, topic, handle, [event])

    assert applied == [event.id]
    assert len(calls) == 3
    assert calls[1] - calls[0] >= RETRIES.pause(1) and calls[2] - calls[1] >= RETRIES.pause(2)
    assert await parked_with(infra, event.id) == []


async def test_an_outage_is_retried_past_the_attempts_and_never_parks(
    infra: Infra, topic: str, account: str
) -> None:
    event = installed(account)
    calls: list[float] = []
    applied: list[str] = []

    async def handle(events: list[AnyEvent]) -> None:
        calls.append(time.monotonic())
        if len(calls) <= RETRIES.attempts + 2:
            raise AutoReconnect("the database is away")
        applied.extend(e.id for e in events)

    await consume(infra, topic, handle, [event])

    assert applied == [event.id]
    assert len(calls) == RETRIES.attempts + 3
    assert all(b - a >= RETRIES.first_pause for a, b in itertools.pairwise(calls))
    assert await parked_with(infra, event.id) == []
