"""Reads what a topic really holds, to assert on it."""

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord


async def records_on(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record on `topic`, from the earliest offset to the current end."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        partitions = list(consumer.assignment())
        end = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(*partitions, timeout_ms=1000)).values():
                found += records
        return found
    finally:
        await consumer.stop()


async def events_for(bootstrap: str, topic: str, subject: str) -> list[dict[str, Any]]:
    """Every event on `topic` about `subject` (its key), in the order the topic holds them."""
    records = await records_on(bootstrap, topic)
    return [json.loads(r.value) for r in records if r.key == subject.encode()]


async def everything_on(bootstrap: str, topic: str) -> list[bytes]:
    return [r.value for r in await records_on(bootstrap, topic)]
