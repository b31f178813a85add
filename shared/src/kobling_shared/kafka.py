"""The Kafka plumbing every service shares: the broker, our topics, publishing, dead letters."""

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Protocol, cast

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import Counter
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from kobling_shared.delivery import renewed_when_desynchronised, send_once
from kobling_shared.events import (
    ACCOUNT_EVENTS_TOPIC,
    CONNECTIONS_TOPIC,
    DEAD_LETTER_TOPIC,
    GRANT_USES_TOPIC,
    INSTALLS_TOPIC,
    STATUS_PROJECTED_TOPIC,
    SYNC_RESULTS_TOPIC,
    AnyEvent,
    parse_event,
    topic_of,
)
from kobling_shared.ownership import Owned

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0
MAX_BATCH = 500  # events one consumer applies, and commits, at a time

DEAD_LETTERS = Counter(
    "kobling_dead_letters_total", "Messages a consumer could not apply", ["topic", "reason"]
)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int  # -1 keeps forever: the read model is rebuilt from these topics


# Each consumer group's instances share an event topic's partitions: more instances than
# partitions sit idle. docs/scaling.md derives the production figure; 6 serves local runs.
EVENT_PARTITIONS = 6


def topic_specs(partitions: int = EVENT_PARTITIONS) -> tuple[TopicSpec, ...]:
    return (
        TopicSpec(INSTALLS_TOPIC, partitions=partitions, retention_ms=-1),
        TopicSpec(CONNECTIONS_TOPIC, partitions=partitions, retention_ms=-1),
        # The audit of every grant use: kept a year, as long as anyone would ask who read the books.
        TopicSpec(GRANT_USES_TOPIC, partitions=partitions, retention_ms=365 * 24 * 3600 * 1000),
        # Stripe retries a webhook for three days; a week covers a sync that was down meanwhile.
        TopicSpec(ACCOUNT_EVENTS_TOPIC, partitions=partitions, retention_ms=7 * 24 * 3600 * 1000),
        # What the books hold is kept as long as the books: status rebuilds its sync view from it.
        TopicSpec(SYNC_RESULTS_TOPIC, partitions=partitions, retention_ms=-1),
        TopicSpec(DEAD_LETTER_TOPIC, partitions=1, retention_ms=30 * 24 * 3600 * 1000),
        # Word between status instances, read only as it comes: an hour outlasts any reader.
        TopicSpec(STATUS_PROJECTED_TOPIC, partitions=1, retention_ms=3600 * 1000),
    )


@dataclass(frozen=True)
class Layout:
    """How our topics are created: KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR and
    KAFKA_MIN_INSYNC_REPLICAS. A cluster wants 3 copies with 2 in sync: with acks=all a write is
    acknowledged once 2 brokers hold it, and one broker lost refuses nothing."""

    partitions: int = EVENT_PARTITIONS
    replication_factor: int = 1
    min_insync_replicas: int = 1


SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def security(mechanism: str, username: str, password: str, tls: bool) -> BaseSecurity | None:
    """How to reach the broker: KAFKA_SASL_MECHANISM with KAFKA_USERNAME and KAFKA_PASSWORD, over
    TLS with KAFKA_TLS (the system's CA store). None: plaintext, as the local broker speaks."""
    if mechanism:
        if mechanism not in SASL:
            raise ValueError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL)}")
        return SASL[mechanism](username, password, use_ssl=tls)
    return BaseSecurity(use_ssl=True) if tls else None


def make_broker(
    bootstrap_servers: str, client_id: str, auth: BaseSecurity | None = None
) -> KafkaBroker:
    # acks=all with idempotence: a 2xx to Stripe means the event is on every in-sync replica.
    return KafkaBroker(
        # FastStream takes one string as one host; several (a cluster) are comma-separated.
        [host.strip() for host in bootstrap_servers.split(",")],
        security=auth,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=0,
        request_timeout_ms=int(PUBLISH_TIMEOUT_SECONDS * 1000),
        allow_auto_create_topics=False,
        graceful_timeout=15.0,
        # FastStream logs every message it receives and processes: DEBUG, not a line per event.
        log_level=logging.DEBUG,
        logger=logging.getLogger(f"kobling.{client_id}.kafka"),
    )


async def ensure_topics(
    bootstrap_servers: str, auth: BaseSecurity | None = None, layout: Layout = Layout()
) -> None:
    """Creates our topics with the partitions, copies and retention we chose; existing ones are
    left be (adding partitions moves keys to other partitions: an operator's decision)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="kobling-admin", **parse_security(auth)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=layout.replication_factor,
                topic_configs={
                    "retention.ms": str(spec.retention_ms),
                    "min.insync.replicas": str(layout.min_insync_replicas),
                },
            )
            for spec in topic_specs(layout.partitions)
            if spec.name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another service created them between our look and our create
    finally:
        await admin.close()


class Publisher(Protocol):
    """Puts an event on its topic, returning once the broker has it; raises when it cannot."""

    async def publish(self, event: AnyEvent) -> None: ...


@dataclass(frozen=True)
class KafkaPublisher:
    """The Publisher the services run with: `publish` on their broker."""

    broker: KafkaBroker

    async def publish(self, event: AnyEvent) -> None:
        await publish(self.broker, event)


async def publish(broker: KafkaBroker, event: AnyEvent) -> None:
    """Publishes and waits for the broker's acknowledgement; raises on failure or timeout."""

    async def send() -> None:
        async with renewed_when_desynchronised(broker):
            await broker.publish(
                event.model_dump_json().encode(),
                topic=topic_of(event),
                key=event.subject.encode(),
                headers={"content-type": "application/cloudevents+json", "ce_type": event.type},
            )

    await send_once(event.id, send, PUBLISH_TIMEOUT_SECONDS)


async def dead_letter(broker: KafkaBroker, topic: str, raw: bytes, reason: str) -> None:
    """Parks a message a consumer cannot apply, with why, so the consumer can go on."""
    DEAD_LETTERS.labels(topic, reason.split(":", 1)[0]).inc()
    log.warning("dead-lettering a message from %s: %s", topic, reason)
    envelope: dict[str, Any] = {
        "topic": topic,
        "reason": reason,
        "value": raw.decode("utf-8", "replace"),
    }
    await publish_raw(broker, DEAD_LETTER_TOPIC, json.dumps(envelope).encode())


async def publish_raw(broker: KafkaBroker, topic: str, value: bytes) -> None:
    async with renewed_when_desynchronised(broker):
        await asyncio.wait_for(broker.publish(value, topic=topic), timeout=PUBLISH_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class Retries:
    """How a consumer retries a batch its handler could not apply.

    An outage (the database or the broker away, a write that kept colliding) is retried for as
    long as it lasts: parking every event of an outage would empty the topic into the dead
    letters. Any other error is retried `attempts` times per event, then the event is parked on
    the dead-letter topic and the partition goes on. Either way the consumer pauses before each
    retry, growing from `first_pause` to `max_pause`, instead of re-reading the batch at once."""

    attempts: int = 5
    first_pause: float = 0.2
    max_pause: float = 5.0

    def pause(self, failures: int) -> float:
        return float(min(self.first_pause * 2 ** max(failures - 1, 0), self.max_pause))


# Errors that say the world is away, not that the event cannot be applied.
OUTAGES: tuple[type[BaseException], ...] = (
    PyMongoError,  # a guarded write that kept losing (kobling_shared.db's WriteConflict) too
    KafkaError,
    OSError,
    TimeoutError,
)
FAILURES_KEPT = 10_000  # event ids with failed attempts one consumer remembers


@dataclass(frozen=True)
class Polling:
    """How an idle consumer waits for more. FastStream's batch subscriber polls for
    `batch_timeout_ms` and, when nothing came, sleeps as long again: a short timeout spun (~100
    empty rounds a second: ~6% of a core for an idle status, ~4% for econ-auth, ~10% of Kafka's
    answering them), a long one delays whatever arrives during the sleep. Our subscribers wait in
    the poll instead and never sleep (`wait_in_the_poll`): aiokafka's getmany returns the moment a
    fetch brings records, so a long wait costs no latency and an idle consumer is quiet."""

    # One poll waits this long for records; nothing came, the next starts at once. Only an idle
    # round's cost depends on it (one a second is nothing), and a stop cancels the wait.
    batch_timeout_ms: int = 1000
    # Kafka holds a fetch this long while none of its partitions has a record. A record on any
    # of them answers the fetch at once, so at light load this is no latency; it sets how often
    # an idle consumer fetches. Measured idle (share of a core, status's two prompt consumers):
    # 50 ms 1.9% (Kafka 5.5%), 100 ms 1.1%, 200 ms 0.8% (Kafka ~2-3%), 500 ms 0.75%: the gain
    # stops here. It bounds the one delay it can add (aiokafka's fetcher): a partition whose
    # fetched records waited over 0.1 s for a busy handler is left out of the next fetch, so its
    # next records wait for that fetch, up to this long, if the others stay idle meanwhile.
    fetch_max_wait_ms: int = 200


# For consumers nobody waits on (an audit): their fetches are held longer still.
PATIENT = Polling(fetch_max_wait_ms=1000)


def wait_in_the_poll(subscriber: Any, polling: Polling) -> None:
    """Replaces the batch subscriber's poll (FastStream's `BatchSubscriber.get_msg`, which its
    consume loop calls for each batch and which sleeps after an empty poll) with one that waits
    up to `batch_timeout_ms` for records and returns at once with what came, or with nothing: the
    loop skips an empty batch and polls again. The batch is the same as FastStream's (the records
    of every partition, in order, at most MAX_BATCH), and so are acknowledging and committing: the
    loop hands it to FastStream's `consume` as before. tests/unit/test_kafka_polling.py fails if
    FastStream stops calling `get_msg` this way."""

    async def get_msg(consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord[bytes, bytes], ...]:
        batches = await consumer.getmany(timeout_ms=polling.batch_timeout_ms, max_records=MAX_BATCH)
        return tuple(chain.from_iterable(batches.values()))

    subscriber.get_msg = get_msg


def subscribe_events(
    broker: KafkaBroker,
    topics: tuple[str, ...],
    group_id: str,
    handle: Callable[[list[AnyEvent]], Awaitable[None]],
    accepts: tuple[type, ...] = (),
    owned: Owned | None = None,
    retries: Retries = Retries(),
    polling: Polling = Polling(),
) -> None:
    """Every consumer's shape: the events of one poll, handled together. At least once: the
    offsets are committed only after `handle` has applied the whole batch (an error rewinds every
    partition in it), so `handle` must be idempotent. A message that is not one of our events
    goes to the dead-letter topic with why, and the consumer goes on; so does an event `handle`
    failed on `retries.attempts` times (see Retries). `owned`, if given, learns which partitions
    of `topics[0]` this instance holds as the group rebalances."""
    failures: OrderedDict[str, int] = OrderedDict()  # by event id, for this consumer
    outage = [0]  # consecutive batches lost to an outage

    async def failed(event: AnyEvent, error: Exception, raw: dict[str, tuple[str, bytes]]) -> None:
        """Counts a failed attempt at `event`: re-raises `error` after a pause while attempts
        remain, else parks the event on the dead-letter topic."""
        failures[event.id] = attempts = failures.pop(event.id, 0) + 1
        while len(failures) > FAILURES_KEPT:
            failures.popitem(last=False)
        name = type(error).__name__  # not its message: that may quote what it was handling
        if attempts < retries.attempts:
            log.warning(
                "event %s failed (%s, attempt %d of %d); retrying",
                event.id,
                name,
                attempts,
                retries.attempts,
            )
            await asyncio.sleep(retries.pause(attempts))
            raise error
        topic, value = raw[event.id]
        await dead_letter(broker, topic, value, f"failed: {name} after {attempts} attempts")
        del failures[event.id]

    async def apply_one_by_one(events: list[AnyEvent], raw: dict[str, tuple[str, bytes]]) -> None:
        # The batch failed and not for an outage: find the event that fails, in order, so the
        # ones before it are applied (again: `handle` is idempotent) and it alone is counted.
        for event in events:
            try:
                await handle([event])
            except OUTAGES:
                raise
            except Exception as error:
                await failed(event, error, raw)
            else:
                failures.pop(event.id, None)

    subscriber = broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=MAX_BATCH,
        batch_timeout_ms=polling.batch_timeout_ms,
        fetch_max_wait_ms=polling.fetch_max_wait_ms,
        listener=owned,
    )
    wait_in_the_poll(subscriber, polling)
    if owned is not None:
        owned.count_with(
            lambda: (
                subscriber.consumer.partitions_for_topic(owned.topic)
                if subscriber.consumer
                else None
            )
        )

    @subscriber
    async def on_events(message: KafkaMessage) -> None:
        records = cast("tuple[ConsumerRecord[bytes, bytes], ...]", message.raw_message)
        events, poison, raw = [], [], {}
        for record in records:
            value = record.value or b""
            try:
                event = parse_event(value)
            except ValidationError as error:
                poison.append((record.topic, value, f"invalid: {error.errors()[0]['msg']}"))
                continue
            if accepts and not isinstance(event, accepts):
                poison.append((record.topic, value, f"unexpected: {event.type}"))
                continue
            events.append(event)
            raw[event.id] = (record.topic, value)
        try:
            if events:
                try:
                    await handle(events)
                    for event in events if failures else ():
                        failures.pop(event.id, None)
                except OUTAGES:
                    raise
                except Exception as error:
                    if len(events) == 1:
                        await failed(events[0], error, raw)
                    else:
                        await apply_one_by_one(events, raw)
        except OUTAGES as error:
            outage[0] += 1
            log.warning("%s: %d events will be retried", type(error).__name__, len(events))
            await asyncio.sleep(retries.pause(outage[0]))  # do not spin while it is away
            raise
        outage[0] = 0
        # After the batch is applied, so a retried batch does not park its poison twice.
        for topic, value, reason in poison:
            await dead_letter(broker, topic, value, reason)
