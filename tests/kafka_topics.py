"""Reads what a topic really holds, to assert on it."""

import json
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


async def events_for(bootstrap: str, topic: str, subject: str) -> list[dict[str, Any]]:
    """Every event on `topic` about `subject`, from the earliest offset to the current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id=f"test-reader-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[dict[str, Any]] = []
        while any(await consumer.position(tp) < end[tp] for tp in partitions):
            batches = await consumer.getmany(*partitions, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    if record.key == subject.encode():
                        found.append(json.loads(record.value))
        return found
    finally:
        await consumer.stop()
