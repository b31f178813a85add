"""Rebuilds the read model from the topics into a database of its own, beside the live one:

    python -m kobling_status.rebuild --database kobling_status_new --group kobling-status-new

It consumes every event of both event topics and the grant-use audit exactly as the status
service does (the same subscribers, the same store), under its own consumer group, and exits once
its group has committed up to the end the topics had when it started. The consumer commits a
batch only after the batch is applied, so a rebuild that is killed (or stopped) part-way resumes,
when started again with the same database and group, from its last commit: the events after it
are applied, a batch applied but not yet committed is applied again and changes nothing. To
switch over, run the status service with STATUS_DATABASE and STATUS_GROUP_ID set to the
rebuild's database and group: it goes on from where the rebuild stopped. docs/reliability.md
has the runbook.
"""

import argparse
import asyncio
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity
from prometheus_client import REGISTRY

from kobling_shared import kafka, mongo
from kobling_shared.arrivals import Arrivals
from kobling_shared.db.choice import door
from kobling_shared.events import (
    CONNECTIONS_TOPIC,
    GRANT_USES_TOPIC,
    INSTALLS_TOPIC,
    SYNC_RESULTS_TOPIC,
)
from kobling_shared.ops import configure_logging
from kobling_status import consumers
from kobling_status.grant_uses import GrantUses
from kobling_status.read_cache import ReadCache
from kobling_status.settings import StatusSettings
from kobling_status.store import StatusStore
from kobling_status.sync_results import SyncResults

log = logging.getLogger("kobling_status.rebuild")

EVENT_TOPICS = (INSTALLS_TOPIC, CONNECTIONS_TOPIC)
TOPICS = (*EVENT_TOPICS, GRANT_USES_TOPIC, SYNC_RESULTS_TOPIC)  # everything status reads
PROGRESS_EVERY_SECONDS = 5.0
COORDINATOR_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.25  # how often the group's commits are compared with the end


@dataclass(frozen=True)
class Progress:
    """Events of the topics (up to `end`, their end when the rebuild started), how many the
    group had committed when this run started, and how many this run applied."""

    end: int
    committed_at_start: int
    applied: int
    seconds: float


def groups(group: str) -> dict[str, tuple[str, ...]]:
    """The consumer groups a status with `group` runs (consumers.subscribe), and their topics."""
    return {
        group: EVENT_TOPICS,
        f"{group}.grant-uses": (GRANT_USES_TOPIC,),
        f"{group}.sync-results": (SYNC_RESULTS_TOPIC,),
    }


async def end_offsets(
    bootstrap: str, auth: BaseSecurity | None, topics: tuple[str, ...]
) -> dict[TopicPartition, int]:
    """The offset after the last record, per partition of `topics` (those that exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **parse_security(auth))
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]
    return await _offsets(bootstrap, auth, partitions, ends=True)


async def committed(
    admin: AIOKafkaAdminClient, wanted: dict[str, tuple[str, ...]]
) -> dict[TopicPartition, int]:
    """The next offset each group will read, per partition of its topics (0: nothing yet)."""
    found: dict[TopicPartition, int] = {}
    for group, topics in wanted.items():
        for tp, meta in (await group_offsets(admin, group)).items():
            if tp.topic in topics and meta.offset >= 0:
                found[tp] = meta.offset
    return found


async def group_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, Any]:
    # A broker that never had a consumer group creates its offsets topic on the first ask, and
    # has no coordinator for a moment.
    deadline = time.monotonic() + COORDINATOR_WAIT_SECONDS
    while True:
        try:
            return dict(await admin.list_consumer_group_offsets(group))
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def remaining(
    end: dict[TopicPartition, int],
    done: dict[TopicPartition, int],
    starts: dict[TopicPartition, int] | None = None,
) -> int:
    """Records before `end` the group has not read past. A partition's records before its log
    start (`starts`) are gone, deleted by retention: a group never reads, nor commits, them."""
    starts = starts or {}
    return sum(
        max(0, offset - max(done.get(tp, 0), starts.get(tp, 0))) for tp, offset in end.items()
    )


async def log_starts(
    bootstrap: str, auth: BaseSecurity | None, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offset of the first record still kept, per partition."""
    return await _offsets(bootstrap, auth, partitions, ends=False)


async def _offsets(
    bootstrap: str, auth: BaseSecurity | None, partitions: list[TopicPartition], ends: bool
) -> dict[TopicPartition, int]:
    """Each partition's end offset (`ends`), or its log start."""
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **parse_security(auth))
    await consumer.start()
    try:
        found = consumer.end_offsets if ends else consumer.beginning_offsets
        return dict(await found(partitions))
    finally:
        await consumer.stop()


def projected() -> int:
    """Events this process has applied (status's own counter, every type)."""
    return int(
        sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "kobling_events_projected"
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
    )


async def rebuild(settings: StatusSettings, database: str, group: str) -> Progress:
    bootstrap, auth = settings.kafka_bootstrap_servers, settings.kafka_security
    wanted = groups(group)
    await kafka.ensure_topics(bootstrap, auth, settings.kafka_layout)
    end = await end_offsets(bootstrap, auth, TOPICS)
    # A topic whose old records retention deleted (the grant uses after a year) starts later.
    starts = await log_starts(bootstrap, auth, list(end))
    total = sum(end.values()) - sum(starts.values())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **parse_security(auth))
    broker = kafka.make_broker(bootstrap, "status-rebuild", auth)
    client = mongo.make_client(settings.mongodb_url)
    db = mongo.database(client, database)
    chosen = door(client)
    store = StatusStore(db, chosen)
    results = SyncResults.of(db)
    uses, unread = GrantUses.of(db, chosen), ReadCache(size=0)  # nothing reads it meanwhile
    consumers.subscribe(broker, store, uses, group, Arrivals(), results, unread, None)
    await admin.start()
    try:
        left = remaining(end, await committed(admin, wanted), starts)
        log.info("rebuilding %s, group %s: %d of %d events to apply", database, group, left, total)
        started, before = time.monotonic(), projected()
        await store.create_indexes()
        await results.create_indexes()
        await broker.start()
        shown = time.monotonic()
        while todo := remaining(end, await committed(admin, wanted), starts):
            if time.monotonic() - shown > PROGRESS_EVERY_SECONDS:
                log.info("%d of %d events still to apply", todo, total)
                shown = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await broker.stop()
        await client.close()
        await admin.close()
    return Progress(total, total - left, projected() - before, time.monotonic() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m kobling_status.rebuild", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", required=True, help="the database to rebuild into")
    parser.add_argument("--group", required=True, help="the rebuild's own consumer group")
    opts = parser.parse_args(argv)
    settings = StatusSettings()
    if opts.group == settings.status_group_id or opts.database == settings.status_database:
        sys.exit(
            "rebuild: the live status's group and database (STATUS_GROUP_ID, STATUS_DATABASE) "
            "are not for rebuilding into: name a new database and group"
        )
    configure_logging("status-rebuild", access_log=False)
    progress = asyncio.run(rebuild(settings, opts.database, opts.group))
    log.info("rebuilt: %s", json.dumps(asdict(progress)))
    print(json.dumps(asdict(progress)), flush=True)


if __name__ == "__main__":
    main()
