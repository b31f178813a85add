"""The operator's rebuild (`python -m kobling_status.rebuild`), killed half-way and started again:
it resumes from its committed offsets into the same database, applies nothing twice, and ends
with the read model the live status service built from the same topics."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.stack import Service, log_dir
from kobling_devkit.waiting import eventually
from kobling_shared.events import (
    ConnectedData,
    DisconnectedData,
    EconomicConnected,
    EconomicDisconnected,
    InstallData,
    StripeAppInstalled,
    StripeAppUninstalled,
    account_key,
    topic_of,
)
from kobling_status.rebuild import TOPICS, committed, end_offsets, groups

ACCOUNTS = 1500  # enough that the rebuild cannot finish before the test has seen it half-way


async def put_on_topics(bootstrap: str, accounts: list[str]) -> dict[str, list[Any]]:
    """Each account installed; every second connected; every fifth of those disconnected, and
    every seventh account uninstalled. The events of each account, by its key."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    by_key: dict[str, list[Any]] = {}
    await producer.start()
    try:
        sends = []
        for n, account in enumerate(accounts):
            events: list[Any] = [
                StripeAppInstalled(
                    source="test", subject=account, livemode=False, data=InstallData(via="webhook")
                )
            ]
            if n % 2 == 0:
                connected = ConnectedData(sequence=1, agreement_number=n, company_name=f"Co {n}")
                events.append(
                    EconomicConnected(
                        source="test", subject=account, livemode=False, data=connected
                    )
                )
            if n % 10 == 0:
                gone = DisconnectedData(sequence=2, reason="merchant_request")
                events.append(
                    EconomicDisconnected(source="test", subject=account, livemode=False, data=gone)
                )
            if n % 7 == 0:
                events.append(
                    StripeAppUninstalled(
                        source="test",
                        subject=account,
                        livemode=False,
                        data=InstallData(via="webhook"),
                    )
                )
            by_key[account_key(account, False)] = events
            for event in events:
                value, key = event.model_dump_json().encode(), event.subject.encode()
                sends.append(await producer.send(topic_of(event), value, key=key))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return by_key


async def read_model(db: Any, keys: list[str]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    docs = {d["_id"]: d async for d in db["accounts"].find({"_id": {"$in": keys}})}
    timeline: dict[str, set[str]] = {}
    async for entry in db["timeline"].find({"key": {"$in": keys}}, {"key": 1}):
        timeline.setdefault(entry["key"], set()).add(entry["_id"])
    return docs, timeline


def start_rebuild(infra: Infra, database: str, group: str) -> subprocess.Popen[str]:
    log = (log_dir() / "status-rebuild.log").open("a")
    return subprocess.Popen(
        [sys.executable, "-m", "kobling_status.rebuild", "--database", database, "--group", group],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )


async def test_a_killed_rebuild_resumes_and_ends_with_the_live_read_model(
    infra: Infra, stack: dict[str, Service]
) -> None:
    accounts = [f"acct_rb{uuid.uuid4().hex[:14]}" for _ in range(ACCOUNTS)]
    events = await put_on_topics(infra.kafka, accounts)
    keys = list(events)
    client: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongodb, tz_aware=True)
    tag = uuid.uuid4().hex[:8]
    database, group = f"test_rebuild_{tag}", f"test-rebuild-{tag}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
    await admin.start()
    try:
        live = client["kobling_status"]

        async def live_has_all() -> bool:
            docs, timeline = await read_model(live, keys)
            return len(docs) == len(keys) and sum(map(len, timeline.values())) == sum(
                map(len, events.values())
            )

        await eventually(
            live_has_all, timeout=120, interval=0.25, what="the live status projecting the events"
        )
        end = await end_offsets(infra.kafka, None, TOPICS)
        total = sum(end.values())

        async def done_so_far() -> int:
            return sum((await committed(admin, groups(group))).values())

        first = start_rebuild(infra, database, group)
        try:
            # Killed once a third of the topics is applied and committed, and well before the end.
            await eventually(
                done_so_far,
                lambda done: done >= total / 3,
                timeout=180,
                interval=0.25,
                what="the rebuild a third of the way",
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        resumed_from = await done_so_far()
        assert total / 3 <= resumed_from < total, (resumed_from, total)

        second = start_rebuild(infra, database, group)
        out, _ = await asyncio.to_thread(second.communicate, timeout=600)
        assert second.returncode == 0, out
        progress = json.loads(out.strip().splitlines()[-1])
        # It resumed: it began at what the killed run had committed, and applied at most the rest
        # (a batch applied but not committed is applied again; a start from offset zero would
        # apply everything before `resumed_from` a second time).
        assert progress["committed_at_start"] == resumed_from
        assert 0 < progress["applied"] <= progress["end"] - resumed_from, progress

        rebuilt_docs, rebuilt_timeline = await read_model(client[database], keys)
        live_docs, live_timeline = await read_model(live, keys)
        assert rebuilt_timeline == live_timeline
        # The same documents as live. Revisions count writes, and where the batches fell differs
        # between live and rebuild, so a revision is compared with the writes an account's events
        # can cause at most: one per event. An event applied twice would write again.
        assert {k: _without_rev(d) for k, d in rebuilt_docs.items()} == {
            k: _without_rev(d) for k, d in live_docs.items()
        }
        over = {k: d["rev"] for k, d in rebuilt_docs.items() if d["rev"] > len(events[k])}
        assert not over, f"revisions beyond one write per event: {list(over.items())[:5]}"
    finally:
        await admin.close()
        await client.drop_database(database)
        await client.close()


def _without_rev(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "rev"}
