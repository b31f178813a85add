"""status's Kafka entrypoint: every event on both topics goes into the read model."""

import asyncio
import logging

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from kobling_shared.events import CONNECTIONS_TOPIC, INSTALLS_TOPIC, parse_event
from kobling_shared.kafka import dead_letter
from kobling_status.store import StatusStore

log = logging.getLogger(__name__)

PROJECTED = Counter("kobling_events_projected_total", "Events applied to the read model", ["type"])


def topic_of_record(message: KafkaMessage) -> str:
    record = message.raw_message
    return str(getattr(record, "topic", "unknown"))


def subscribe(broker: KafkaBroker, store: StatusStore, group_id: str) -> None:
    @broker.subscriber(
        INSTALLS_TOPIC,
        CONNECTIONS_TOPIC,
        group_id=group_id,
        auto_offset_reset="earliest",
        # The offset is committed only after the event is in the read model; an error seeks back.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # An idle partition otherwise holds a fetch for 500 ms: latency the merchant would see.
        fetch_max_wait_ms=20,
    )
    async def on_event(message: KafkaMessage) -> None:
        raw: bytes = message.body
        try:
            event = parse_event(raw)
        except ValidationError as error:
            await dead_letter(
                broker, topic_of_record(message), raw, f"invalid: {error.errors()[0]['msg']}"
            )
            return
        try:
            await store.apply(event)
        except PyMongoError:
            log.warning("database unavailable; event %s will be retried", event.id)
            await asyncio.sleep(1.0)
            raise
        PROJECTED.labels(event.type).inc()
