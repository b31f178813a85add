"""Reads what a topic really holds, and how far a consumer group has got, to assert on them."""

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kobling_devkit.waiting import eventually

# Kobling's consumer groups: status projects both topics, econ-auth reads installs.
STATUS_GROUP = "kobling-status"
ECON_AUTH_GROUP = "kobling-econ-auth"


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


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The next offset `group` will read, per partition of `topic` (what it has committed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if isinstance(tp, TopicPartition) and tp.topic == topic
    }


async def consumed(
    bootstrap: str, group: str, topic: str, subject: str, timeout: float = 30.0
) -> None:
    """Waits until `group` has committed past every record about `subject` now on `topic`. Our
    consumers commit only what they applied (or parked as a dead letter), so this is the fact
    "handled", with no guess at how long handling takes. Fails with the offsets it last saw."""
    wanted: dict[int, int] = {}
    for record in await records_on(bootstrap, topic):
        if record.key == subject.encode():
            wanted[record.partition] = max(wanted.get(record.partition, -1), record.offset + 1)
    assert wanted, f"nothing about {subject} on {topic}"
    await eventually(
        lambda: committed_offsets(bootstrap, group, topic),
        lambda committed: all(committed.get(p, 0) >= offset for p, offset in wanted.items()),
        timeout=timeout,
        what=f"{group} did not get past {subject} on {topic}",
        show=lambda committed: f"wanted {wanted}, committed {committed}",
    )
