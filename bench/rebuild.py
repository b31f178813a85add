"""The rebuild of the read model from the topics, measured beside its ceiling.

`measure(sizes)` grows the topics to each size in turn and replays all of it, each time into an
empty read model, with the operator's own tool (`python -m kobling_status.rebuild`, its own group
and database). Beside each replay, the same documents the replay wrote (accounts and timeline
entries) are inserted straight into an empty database of their own, in batches the size the
consumer applies: the database's own rate for that work. `lines(rows)` renders the section with
verdicts computed from the numbers.

    uv run python -m bench.rebuild 50000 100000 200000    # with `make infra` running, on empty topics
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from pymongo import AsyncMongoClient

from bench.load import say
from bench.stack import KAFKA, MONGO, cpu_seconds, infra_pids
from kobling_devkit.stripe_signing import new_account
from kobling_shared.db.choice import door
from kobling_shared.events import (
    INSTALLS_TOPIC,
    ConnectedData,
    EconomicConnected,
    InstallData,
    StripeAppInstalled,
    topic_of,
)
from kobling_shared.kafka import MAX_BATCH, ensure_topics
from kobling_status.rebuild import EVENT_TOPICS, TOPICS, committed, end_offsets, remaining
from kobling_status.store import StatusStore

SIZES = [50_000, 100_000, 200_000]
MIXED = 50_000  # the mixed row's events: every third a connection of an account installed before
CONNECT_EVERY = 2  # every second account connected: install, install, connection, ...
# The live consumers when `make bench` runs them, and the topics each reads.
LIVE_GROUPS = {"kobling-status": EVENT_TOPICS, "kobling-econ-auth": (INSTALLS_TOPIC,)}
LINEAR_WITHIN = 0.10  # the goal: per-event time at the largest size within 10% of the smallest's
OF_CEILING = 0.80  # the goal: the rebuild at 80% of the database's batched-insert rate


async def produce(n: int, connect_every: int = 0) -> list[str]:
    """Puts `n` events on the topics: installs of new accounts (test mode), every
    `connect_every`-th of them (0: none) followed by its connection to e-conomic. Returns the
    accounts installed."""
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA, linger_ms=20, acks="all", enable_idempotence=True
    )
    accounts: list[str] = []
    await producer.start()
    try:
        pending = []
        made = 0
        while made < n:
            account = new_account()
            accounts.append(account)
            events: list[Any] = [
                StripeAppInstalled(
                    source="bench", subject=account, livemode=False, data=InstallData(via="webhook")
                )
            ]
            if connect_every and len(accounts) % connect_every == 0 and made + 1 < n:
                data = ConnectedData(
                    sequence=1, agreement_number=100_000 + made, company_name="Bench ApS"
                )
                events.append(
                    EconomicConnected(source="bench", subject=account, livemode=False, data=data)
                )
            for event in events:
                value, key = event.model_dump_json().encode(), event.subject.encode()
                pending.append(producer.send(topic_of(event), value, key=key))
            made += len(events)
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return accounts


async def on_topics() -> int:
    """Events on the event topics (from each partition's start: records may be deleted)."""
    end = await end_offsets(KAFKA, None, EVENT_TOPICS)
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA)
    await consumer.start()
    try:
        start = await consumer.beginning_offsets(list(end))
    finally:
        await consumer.stop()
    return sum(end.values()) - sum(start.values())


async def live_caught_up(timeout: float = 1800) -> None:
    """Waits for the live services' consumers (those running) to have applied what `produce`
    put on the topics, so the replay does not share the machine with them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        running = {group for group, _ in await admin.list_consumer_groups()}
        wanted = {g: topics for g, topics in LIVE_GROUPS.items() if g in running}
        end = await end_offsets(KAFKA, None, EVENT_TOPICS)
        deadline = time.monotonic() + timeout
        for group, topics in wanted.items():
            ends = {tp: n for tp, n in end.items() if tp.topic in topics}
            while remaining(ends, await committed(admin, {group: topics})):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{group} did not catch up within {timeout}s")
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def database_pid() -> int | None:
    return infra_pids().get("ferretdb")


def replay(database: str, group: str) -> dict[str, Any]:
    """The operator's rebuild, from its group's start to the topics' end; what it reports, and
    the CPU seconds it and the database spent."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": KAFKA, "MONGODB_URL": MONGO}
    pid = database_pid()
    own, db = children_cpu_seconds(), cpu_seconds(pid) if pid else 0.0
    done = subprocess.run(
        [sys.executable, "-m", "kobling_status.rebuild", "--database", database, "--group", group],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rebuild failed ({done.returncode}): {done.stderr[-2000:]}")
    report = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    report["cpu_rebuild"] = children_cpu_seconds() - own
    report["cpu_database"] = cpu_seconds(pid) - db if pid else None
    return report


async def ceiling(client: AsyncMongoClient[Any], source: str, events: int) -> dict[str, Any]:
    """The documents the replay wrote into `source`, inserted straight into an empty database
    with the read model's indexes, in the consumer's batch size: seconds, and events a second."""
    accounts = await client[source]["accounts"].find().to_list()
    timeline = await client[source]["timeline"].find().to_list()
    scratch = client[f"bench_raw_{uuid.uuid4().hex[:8]}"]
    try:
        await StatusStore(scratch, door(client)).create_indexes()
        # A batch of MAX_BATCH events writes its share of the accounts and its timeline entries.
        batches = max(1, -(-events // MAX_BATCH))
        pid = database_pid()
        db = cpu_seconds(pid) if pid else 0.0
        started = time.perf_counter()
        for b in range(batches):
            for name, docs in (("accounts", accounts), ("timeline", timeline)):
                part = docs[len(docs) * b // batches : len(docs) * (b + 1) // batches]
                if part:
                    await scratch[name].insert_many(part, ordered=False)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(pid) - db if pid else None
    finally:
        await client.drop_database(scratch.name)
    return {
        "accounts": len(accounts),
        "timeline": len(timeline),
        "raw_seconds": seconds,
        "raw_rate": events / seconds,
        "raw_cpu_database": cpu,
    }


async def measure(sizes: list[int] | None = None, connect_every: int = 0) -> list[dict[str, Any]]:
    """For each size: the topics grown to it, replayed into an empty read model, and the same
    documents inserted raw beside it."""
    rows = []
    await ensure_topics(KAFKA)
    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO)
    try:
        for size in sizes or SIZES:
            have = await on_topics()
            if have < size:
                say(f"rebuild: producing {size - have} events")
                await produce(size - have, connect_every)
            rows.append(await one(client))
    finally:
        await client.close()
    return rows


async def measure_mixed(size: int = MIXED) -> dict[str, Any]:
    """The topics emptied (their records deleted: this is the bench's own Kafka), then `size`
    events of which every third connects an account installed just before, replayed: most
    accounts are written by two events, one on each topic."""
    await ensure_topics(KAFKA)
    await clear_topics()
    say(f"rebuild: producing {size} mixed events")
    await produce(size, CONNECT_EVERY)
    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO)
    try:
        return await one(client)
    finally:
        await client.close()


async def clear_topics() -> None:
    """Deletes every record of the topics the rebuild reads; consumers' commits stay valid."""
    end = await end_offsets(KAFKA, None, TOPICS)
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        doomed = {tp: RecordsToDelete(n) for tp, n in end.items() if n}
        if doomed:
            await admin.delete_records(doomed)
    finally:
        await admin.close()


async def one(client: AsyncMongoClient[Any]) -> dict[str, Any]:
    """The topics as they are, replayed into an empty database, beside the raw insert."""
    await live_caught_up()
    tag = uuid.uuid4().hex[:8]
    database, group = f"bench_rebuild_{tag}", f"bench-rebuild-{tag}"
    say(f"rebuild: replaying {await on_topics()} events into {database}")
    progress = replay(database, group)
    events = progress["applied"]  # from the topics' start, which is not offset 0 once cleared
    row = {
        "events": events,
        "applied": progress["applied"],
        "seconds": progress["seconds"],
        "rate": events / progress["seconds"],
        "cpu_rebuild": progress["cpu_rebuild"],
        "cpu_database": progress["cpu_database"],
    }
    row |= await ceiling(client, database, events)
    say(f"rebuild: {row}")
    await client.drop_database(database)
    return row


def _per_event(seconds: float | None, events: int) -> str:
    return "n/a" if seconds is None else f"{1e6 * seconds / events:.0f}"


def _growth(rows: list[dict[str, Any]], key: str) -> float | None:
    """How much more `key` (seconds) each event took at the largest size than at the smallest."""
    small, large = min(rows, key=lambda r: r["events"]), max(rows, key=lambda r: r["events"])
    if small[key] is None or large[key] is None or small[key] <= 0:
        return None
    return (large[key] / large["events"]) / (small[key] / small["events"]) - 1


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def lines(rows: list[dict[str, Any]]) -> list[str]:
    """The report's section: each replay beside its ceiling, and the goals' verdicts."""
    out = [
        "## Rebuilding the read model from the topics",
        "",
        "Each row: the topics grown to that many events (installs of new accounts), replayed by "
        "`python -m kobling_status.rebuild` into an empty database; beside it the documents the "
        "replay wrote, inserted straight into an empty database with the same indexes, in "
        f"batches of {MAX_BATCH} events' worth (raw). CPU is each process's own (user + system), "
        "per event: the machine's other load does not inflate it as it does the seconds.",
        "",
        "| events | seconds | events/s | rebuild CPU µs/event | database CPU µs/event "
        "| documents (accounts + timeline) | raw: seconds | raw: events/s "
        "| raw: database CPU µs/event | rebuild ÷ raw |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        e = r["events"]
        out.append(
            f"| {e:,} | {r['seconds']:.1f} | {r['rate']:,.0f} "
            f"| {_per_event(r['cpu_rebuild'], e)} | {_per_event(r['cpu_database'], e)} "
            f"| {r['accounts']:,} + {r['timeline']:,} | {r['raw_seconds']:.1f} "
            f"| {r['raw_rate']:,.0f} | {_per_event(r['raw_cpu_database'], e)} "
            f"| {r['rate'] / r['raw_rate']:.0%} |"
        )
    if not rows:
        return out
    small, large = min(rows, key=lambda r: r["events"]), max(rows, key=lambda r: r["events"])
    growth = _growth(rows, "seconds")
    assert growth is not None
    worst = min(r["rate"] / r["raw_rate"] for r in rows)
    # Within 10% either way: a per-event time that shrinks with N is a fixed cost amortised.
    linear = "n/a: one size" if len(rows) < 2 else "yes" if abs(growth) <= LINEAR_WITHIN else "no"
    out += [
        "",
        "| goal | measured | met? |",
        "| --- | --- | --- |",
        f"| linear: per-event time within {LINEAR_WITHIN:.0%} from {small['events']:,} to "
        f"{large['events']:,} events | {_pct(growth)} per event (raw insert "
        f"{_pct(_growth(rows, 'raw_seconds'))}; CPU per event: rebuild "
        f"{_pct(_growth(rows, 'cpu_rebuild'))}, database {_pct(_growth(rows, 'cpu_database'))}) "
        f"| {linear} |",
        f"| at least {OF_CEILING:.0%} of the database's batched-insert rate of the same documents "
        f"| {worst:.0%} at worst | {'yes' if worst >= OF_CEILING else 'no'} |",
    ]
    return out


def goals(rows: list[dict[str, Any]], mixed: dict[str, Any] | None) -> list[Any]:
    """The report's top table: the rebuild against its goal, and the mixed row beside it."""
    if not rows:
        return []
    worst = min(r["rate"] / r["raw_rate"] for r in rows)
    found: list[Any] = [
        (
            f"rebuild ≥ {OF_CEILING:.0%} of the database's batched insert of the same documents",
            f"{worst:.0%} at worst of {len(rows)} sizes",
            worst >= OF_CEILING,
        )
    ]
    if mixed:
        found.append(
            (
                "mixed rebuild (every third event a connection), reported beside it",
                f"{mixed['rate'] / mixed['raw_rate']:.0%} of its raw insert",
                "reported (no goal of its own)",
            )
        )
    return found


def mixed_lines(row: dict[str, Any] | None) -> list[str]:
    """The mixed replay beside its own raw insert."""
    if not row:
        return []
    e = row["events"]
    return [
        "",
        f"Mixed: {e:,} events of which every third connects an account installed just before "
        "(two events, one on each topic, for two accounts in three), replayed the same way "
        "into an empty database, beside the raw insert of what it wrote.",
        "",
        "| events | seconds | events/s | rebuild CPU µs/event | database CPU µs/event "
        "| documents (accounts + timeline) | raw: seconds | raw: events/s | rebuild ÷ raw |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {e:,} | {row['seconds']:.1f} | {row['rate']:,.0f} "
        f"| {_per_event(row['cpu_rebuild'], e)} | {_per_event(row['cpu_database'], e)} "
        f"| {row['accounts']:,} + {row['timeline']:,} | {row['raw_seconds']:.1f} "
        f"| {row['raw_rate']:,.0f} | {row['rate'] / row['raw_rate']:.0%} |",
    ]


async def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", type=int, nargs="*", help=f"default {SIZES} (none with --mixed)")
    parser.add_argument("--connect-every", type=int, default=0)
    parser.add_argument(
        "--mixed",
        type=int,
        default=0,
        help="then the mixed row of this many events (clears the topics)",
    )
    parser.add_argument("--json", type=Path, help="append the rows here, one JSON line a run")
    opts = parser.parse_args()
    sizes = opts.sizes or ([] if opts.mixed else SIZES)
    rows = await measure(sizes, opts.connect_every) if sizes else []
    mixed = await measure_mixed(opts.mixed) if opts.mixed else None
    if opts.json:
        with opts.json.open("a") as out:
            out.write(json.dumps({"rows": rows, "mixed": mixed}) + "\n")
    print("\n".join(lines(rows) + mixed_lines(mixed)))


if __name__ == "__main__":
    asyncio.run(_main())
