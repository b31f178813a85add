"""What keeps a broker restart in the middle of a stream from doubling or blocking our events.

1. A send the caller gave up on is not over: an idempotent aiokafka producer retries a batch
   until the broker takes it. A webhook answered 503 after its publish timed out may still land
   once the broker is back, and Stripe's retry would then publish it a second time. `send_once`
   lets the retry join the send still under way, or learn that it landed, instead.
2. When the broker goes away mid-stream, batches can expire after their sequence number was
   spent; the broker then refuses the next one with OutOfOrderSequenceNumber, and aiokafka never
   recovers (aio-libs/aiokafka#1017): every later publish fails until the process restarts. The
   refused batch was not written, so the caller's failure is right; the producer is replaced.
"""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber
from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)

# Sends by event id while under way, and after the end of one whose caller gave up, until the
# event is published again. Given-up sends happen only in an outage; at most this many are kept.
ABANDONED_KEPT = 10_000
_sends: OrderedDict[str, "asyncio.Task[None]"] = OrderedDict()
_abandoned: set[str] = set()
_renewing = asyncio.Lock()


async def send_once(event_id: str, send: Callable[[], Awaitable[None]], seconds: float) -> None:
    """Runs `send` for the event, or waits for the send already under way for it. Raises
    TimeoutError after `seconds`, leaving the send to finish for the next caller."""
    task = _sends.get(event_id)
    if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
        task = asyncio.ensure_future(send())  # none yet, or the last one failed for good
        _sends[event_id] = task
        task.add_done_callback(lambda done: _forget(event_id, done))
    try:
        await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        _abandoned.add(event_id)
        while len(_abandoned) > ABANDONED_KEPT:
            oldest, _ = _sends.popitem(last=False)
            _abandoned.discard(oldest)
        raise
    _abandoned.discard(event_id)
    if _sends.get(event_id) is task:
        del _sends[event_id]


def _forget(event_id: str, task: "asyncio.Task[None]") -> None:
    # A send nobody waits for any more keeps its outcome for the caller's retry.
    if event_id not in _abandoned and _sends.get(event_id) is task:
        del _sends[event_id]


@contextlib.asynccontextmanager
async def renewed_when_desynchronised(broker: KafkaBroker) -> AsyncIterator[None]:
    """Publishes inside the block; on OutOfOrderSequenceNumber, swaps in a fresh producer, then
    re-raises so the caller answers as for any failed publish."""
    failed = producer_of(broker)
    try:
        yield
    except OutOfOrderSequenceNumber:
        await _renew(broker, failed)
        raise


async def _renew(broker: KafkaBroker, failed: AIOKafkaProducer | None) -> None:
    async with _renewing:
        if failed is None or producer_of(broker) is not failed:
            return  # another publish renewed it already
        log.warning("Kafka producer out of sequence with the broker; starting a fresh one")
        await replace_producer(broker)


# --- The one place that reaches into FastStream's and aiokafka's private parts ----------------
# Neither offers a way to replace a broker's producer. What we rely on, as of faststream 0.7.8
# and aiokafka 0.14.0: `broker.config.producer` is faststream's AioKafkaFastProducerImpl, which
# keeps the aiokafka producer at `._producer.producer` once started and is (re)connected by
# `connect(producer, serializer=, codec=)`; `broker._connection_kwargs` are the arguments the
# broker built its own producer from. tests/integration/test_producer_internals.py checks each
# against a running broker and replaces a producer for real: an upgrade that moves any of them
# fails there, loudly, instead of leaving a producer that silently never recovers.


class InternalsChanged(RuntimeError):
    """FastStream or aiokafka no longer has what replacing a producer relies on."""


_checked: list[Any] = [None]  # the wrapper last found to have what we rely on


def _wrapper(broker: KafkaBroker) -> Any:
    wrapper = getattr(broker.config, "producer", None)
    if wrapper is not None and wrapper is _checked[0]:
        return wrapper  # every publish asks: the checks below were ~2% of a webhook's CPU
    missing = [
        name
        for name in ("_producer", "connect", "disconnect", "serializer", "codec")
        if not hasattr(wrapper, name)
    ]
    if missing or not isinstance(getattr(broker, "_connection_kwargs", None), dict):
        raise InternalsChanged(
            f"{type(wrapper).__name__} lacks {missing or ['broker._connection_kwargs']}"
        )
    _checked[0] = wrapper
    return wrapper


def producer_of(broker: KafkaBroker) -> AIOKafkaProducer | None:
    """The aiokafka producer a started broker publishes with; None before it starts."""
    state = _wrapper(broker)._producer
    if not state:  # faststream's EmptyProducerState, before the broker connects
        return None
    producer = getattr(state, "producer", None)
    if not isinstance(producer, AIOKafkaProducer):
        raise InternalsChanged(f"{type(state).__name__} holds no AIOKafkaProducer")
    return producer


async def replace_producer(broker: KafkaBroker) -> AIOKafkaProducer:
    """Stops the broker's producer and starts a fresh one in its place, as the broker would."""
    wrapper = _wrapper(broker)
    with contextlib.suppress(Exception):  # its sender may have died already (the reason we renew)
        await wrapper.disconnect()
    fresh = AIOKafkaProducer(**broker._connection_kwargs)
    await wrapper.connect(fresh, serializer=wrapper.serializer, codec=wrapper.codec)
    return fresh
