"""What kobling_shared.delivery relies on inside FastStream and aiokafka to replace a producer that
fell out of sequence with the broker (aio-libs/aiokafka#1017). Run against the real broker: an
upgrade that moves any of it fails here, instead of leaving a producer that never recovers."""

import json
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import everything_on
from kobling_shared.delivery import producer_of, renewed_when_desynchronised
from kobling_shared.events import DEAD_LETTER_TOPIC
from kobling_shared.kafka import ensure_topics, make_broker, publish_raw


async def test_a_desynchronised_producer_is_replaced_by_one_that_publishes(infra: Infra) -> None:
    await ensure_topics(infra.kafka)
    broker = make_broker(infra.kafka, "test-producer-internals")
    assert producer_of(broker) is None  # not started: no producer yet
    await broker.start()
    try:
        old = producer_of(broker)
        assert isinstance(old, AIOKafkaProducer)
        # A replacement is built from the broker's own settings: acks=all with idempotence.
        settings = broker._connection_kwargs
        assert settings["enable_idempotence"] is True and settings["acks"] == "all", settings

        try:
            async with renewed_when_desynchronised(broker):
                raise OutOfOrderSequenceNumber()  # what the broker answered
        except OutOfOrderSequenceNumber:
            pass  # re-raised for the caller, as promised
        else:
            raise AssertionError("the failure was swallowed")

        fresh = producer_of(broker)
        assert isinstance(fresh, AIOKafkaProducer) and fresh is not old
        assert old._closed and not fresh._closed
        marker = f"after-renewal-{uuid.uuid4().hex}"
        letter = {"topic": "test", "reason": "a producer renewed", "value": marker}
        await publish_raw(broker, DEAD_LETTER_TOPIC, json.dumps(letter).encode())  # it publishes
    finally:
        await broker.stop()
    assert any(
        marker.encode() in value for value in await everything_on(infra.kafka, DEAD_LETTER_TOPIC)
    )
