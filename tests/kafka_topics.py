"""Reads what a topic really holds, to assert on it."""

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer


async def events_for(bootstrap: str, topic: str, subject: str) -> list[dict[str, Any]]:
    """Every event on `topic` about `subject`, from the earliest offset to the current end."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        partitions = list(consumer.assignment())
        end = await consumer.end_offsets(partitions)
        found: list[dict[str, Any]] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batches = await consumer.getmany(*partitions, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    if record.key == subject.encode():
                        found.append(json.loads(record.value))
        return found
    finally:
        await consumer.stop()
