"""Word between status instances that the read model was written (status.projected.v1).

Each instance holds accounts in memory (kobling_status.read_cache); the one whose projection wrote
an account tells the others, after the write, so they forget what they hold of it. A marker names
the accounts and which piece of them was written; it carries no status, so nothing in it can be
stale or secret. Every instance reads every marker from where the topic stood when it started
(assigned, no consumer group: each hears all of them), and its own are skipped.

At least once: a marker is sent after the write and before the batch's offsets are committed, so a
batch whose marker was not sent is applied and told again.
"""

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import cast

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, TopicPartition
from faststream.kafka.subscriber.usecase import BatchSubscriber

from kobling_shared.events import STATUS_PROJECTED_TOPIC
from kobling_shared.kafka import MAX_BATCH, Polling, publish_raw, wait_in_the_poll
from kobling_status.read_cache import Piece, ReadCache

log = logging.getLogger(__name__)

INSTANCE = uuid.uuid4().hex  # this process: its own markers are not news to it


class Markers:
    def __init__(self, broker: KafkaBroker, cache: ReadCache) -> None:
        self._broker, self._cache = broker, cache
        polling = Polling()  # promptly: another instance's word is how stale this one may be
        self._subscriber = broker.subscriber(
            partitions=[TopicPartition(STATUS_PROJECTED_TOPIC, 0)],
            auto_offset_reset="latest",
            ack_policy=AckPolicy.MANUAL,  # no group, nothing to commit
            batch=True,
            max_records=MAX_BATCH,
            batch_timeout_ms=polling.batch_timeout_ms,
            fetch_max_wait_ms=polling.fetch_max_wait_ms,
            include_in_schema=False,  # status talking to itself: no contract for anyone else
        )
        wait_in_the_poll(self._subscriber, polling)  # quiet when idle, as every consumer
        self._subscriber(self._on_markers)

    async def tell(self, piece: Piece, keys: Iterable[str]) -> None:
        """After writing `piece` of `keys`: the other instances forget what they hold of them."""
        named = sorted(set(keys))
        if named:
            value = json.dumps({"by": INSTANCE, "piece": piece, "keys": named}).encode()
            await publish_raw(self._broker, STATUS_PROJECTED_TOPIC, value)

    async def _on_markers(self, message: KafkaMessage) -> None:
        records = cast("tuple[ConsumerRecord[bytes, bytes], ...]", message.raw_message)
        for record in records:
            try:
                marker = json.loads(record.value or b"")
                by, piece, keys = marker["by"], marker["piece"], marker["keys"]
            except (ValueError, KeyError, TypeError):
                log.warning("a marker that is not one: offset %d", record.offset)
                continue
            if by != INSTANCE and piece in ("status", "uses", "sync"):
                self._cache.heard([str(k) for k in keys], piece)

    def opening(
        self, holders: Callable[[], Awaitable[tuple[set[str], set[str]]]]
    ) -> Callable[[], Coroutine[None, None, None]]:
        """The loop that opens the cache: once the marker consumer knows where it reads from
        (every marker after that reaches it), `holders()` (which accounts have a grant-use
        summary, which have sync results) is asked, and the cache keeps what is read."""

        async def open_when_listening() -> None:
            subscriber = cast("BatchSubscriber", self._subscriber)
            # FastStream makes and assigns the consumer as the broker starts, and says nothing.
            while True:
                consumer = subscriber.consumer
                if consumer is not None and consumer.assignment():
                    break
                await asyncio.sleep(0.05)
            for partition in consumer.assignment():
                await consumer.position(partition)  # resolves "latest" to an offset
            while True:
                try:
                    with_uses, with_sync = await holders()
                    break
                except Exception as error:  # the database away at start: reads go there anyway
                    log.warning("cannot open the cache yet (%s)", type(error).__name__)
                    await asyncio.sleep(1.0)
            self._cache.opened(with_uses, with_sync)
            log.info("serving accounts from memory (at most %d)", self._cache.size)

        return open_when_listening
