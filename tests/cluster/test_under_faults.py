"""Crashes in a cluster, in the middle of a sustained stream of signed webhooks (a sender that
retries like Stripe) and merchants connecting e-conomic: the Kafka node leading an installs
partition is SIGKILLed and comes back, then one instance of each service. At the end every
install is on the topic as its one event and applied once, every journey that finished is
connected, every event on the topics is applied once (a record repeated on a topic is counted
and shown), and no acknowledged install waited longer than STALL_BOUND to be applied while the
consumer groups rebalanced."""

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import records_on
from kobling_devkit.merchant import (
    INTERNAL,
    STATUS,
    add_app,
    connect_link,
    grant_page,
    status,
    wait_for,
)
from kobling_devkit.stack import Service, kill, start, wait_ready
from kobling_devkit.stripe_signing import install_event, new_account
from kobling_shared.events import CONNECTIONS_TOPIC, INSTALLS_TOPIC, account_key
from tests.cluster.conftest import describe_installs, kafka_node
from tests.faults.test_faults import StripeLikeSender
from tests.faults.test_under_load import installed_once_in_read_model, writes_per_account

pytestmark = [pytest.mark.usefixtures("stack"), pytest.mark.timeout(900)]

SENDERS = 4  # concurrent webhook senders, each paced:
PACE = 0.5  # seconds between one sender's webhooks: ~8 a second while nothing fails
JOURNEYS = 2  # merchants connecting e-conomic at any moment
DEADLINE = 180  # seconds for one webhook to be accepted, retries included
# The longest an acknowledged install may wait to be applied in a consumer group (status's read
# model, econ-auth's connections) through the crashes: a SIGKILLed member's partitions move after
# its session times out (aiokafka's default, 10 s), a killed broker's after the controller fences
# it (broker.session.timeout.ms, 9 s), on a machine shared with other work. Measured: see
# docs/reliability.md.
STALL_BOUND = 60.0


class Stream:
    """Webhooks from SENDERS senders and JOURNEYS connect journeys, until `stop` is set."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.sender = StripeLikeSender(http)
        self.acknowledged: dict[str, float] = {}  # account → when its install was acknowledged
        self.answers: list[int] = []
        self.journeys: set[str] = set()  # accounts a merchant connects
        self.connected: list[str] = []  # accounts whose journey ended on "Connected"
        self.journey_retries = 0
        self.stop = asyncio.Event()

    async def install(self, account: str) -> None:
        answer = await self.sender.deliver(install_event(account), time.monotonic() + DEADLINE)
        self.answers.append(answer)
        self.acknowledged[account] = time.monotonic()

    async def webhooks(self) -> None:
        while not self.stop.is_set():
            await self.install(new_account())
            await asyncio.sleep(PACE)

    async def journey(self) -> None:
        """A merchant who installs and connects; when a page fails (an instance died under
        them) they start again from the app view, as a person would."""
        while not self.stop.is_set():
            account = new_account()
            self.journeys.add(account)
            await self.install(account)
            deadline = time.monotonic() + DEADLINE
            while True:
                try:
                    await self.connect(account)
                    break
                except (httpx.HTTPError, AssertionError):
                    self.journey_retries += 1
                    assert time.monotonic() < deadline, f"{account} never connected"
                    await asyncio.sleep(1)
            self.connected.append(account)

    async def connect(self, account: str) -> None:
        async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
            grant = await add_app(
                browser, await grant_page(browser, await connect_link(browser, account))
            )
            back = await browser.get(grant.callback)
            assert back.status_code == 303, back.text
        doc = await wait_for(
            self.http, account, lambda d: d["economic"]["state"] == "connected", timeout=60
        )
        assert doc["economic"]["state"] == "connected"

    async def until(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} acknowledged"
            await asyncio.sleep(0.1)


class Lag:
    """Samples, twice a second, which acknowledged installs each consumer group has applied;
    an install's wait is from its acknowledgement to the first sample that finds it."""

    def __init__(self, infra: Infra, stream: Stream) -> None:
        self.client: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongodb)
        self.stream = stream
        self.waited: dict[str, dict[str, float]] = {"status": {}, "econ-auth": {}}

    async def run(self) -> None:
        collections = {
            "status": self.client["kobling_status"]["accounts"],
            "econ-auth": self.client["kobling_econ_auth"]["connections"],
        }
        while True:
            for group, collection in collections.items():
                seen = self.waited[group]
                pending = {
                    account_key(a, False): a for a in self.stream.acknowledged if a not in seen
                }
                if pending:
                    found = collection.find({"_id": {"$in": list(pending)}}, {"_id": 1})
                    at = time.monotonic()
                    for doc in await found.to_list():
                        account = pending[doc["_id"]]
                        seen[account] = at - self.stream.acknowledged[account]
            await asyncio.sleep(0.5)

    def longest(self, group: str) -> float:
        waits = self.waited[group]
        missing = len(self.stream.acknowledged) - len(waits)
        assert missing == 0, f"{group}: {missing} acknowledged installs never applied"
        return max(waits.values())


async def isr_complete(infra: Infra, timeout: float = 180) -> None:
    """Every installs partition has a leader and all three replicas in sync again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            partitions = await describe_installs(infra)
            if all(p["leader"] >= 0 and len(p["isr"]) == 3 for p in partitions):
                return
        except Exception:  # a node restarting: ask again
            partitions = []
        assert time.monotonic() < deadline, f"replicas not back in sync: {partitions}"
        await asyncio.sleep(1)


async def kill_the_installs_leader(infra: Infra, stream: Stream) -> dict[str, Any]:
    """SIGKILLs the node leading installs partition 0; the stream goes on; it comes back."""
    before = (await describe_installs(infra))[0]
    node = before["leader"] - 1  # node.id n+1 is kafka.sh's node n
    await asyncio.to_thread(kafka_node, "kill-node", node)
    killed_at, acked = time.monotonic(), len(stream.acknowledged)
    try:
        deadline = time.monotonic() + 120
        while True:  # a new leader is elected among the two left, and the stream goes on
            try:
                after = (await describe_installs(infra))[0]
            except Exception:
                after = before
            if after["leader"] not in (before["leader"], -1):
                break
            assert time.monotonic() < deadline, f"no new leader for installs-0: {after}"
            await asyncio.sleep(0.5)
        elected_in = time.monotonic() - killed_at
        await stream.until(acked + 40)
    finally:
        await asyncio.to_thread(kafka_node, "start-node", node)
    await isr_complete(infra)
    return {"node": before["leader"], "new leader": after["leader"], "elected in s": elected_in}


async def kill_one_instance_each(infra: Infra, stack: dict[str, Service], stream: Stream) -> None:
    """SIGKILLs one instance of each service, one after the other; the other one answers and
    consumes meanwhile; each killed instance is started again."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb}
    for name in ("install", "econ-auth", "status"):
        victim = stack[f"{name}-1"]
        kill(victim)
        await stream.until(len(stream.acknowledged) + 30)
        await asyncio.to_thread(start, victim, env)
        await asyncio.to_thread(wait_ready, victim, 120)


async def test_nodes_and_instances_killed_under_load_lose_and_repeat_nothing(
    http: httpx.AsyncClient, infra: Infra, stack: dict[str, Service]
) -> None:
    stream = Stream(http)
    lag = Lag(infra, stream)
    sampling = asyncio.create_task(lag.run())
    tasks = [asyncio.create_task(stream.webhooks()) for _ in range(SENDERS)]
    tasks += [asyncio.create_task(stream.journey()) for _ in range(JOURNEYS)]
    try:
        await stream.until(60)
        broker = await kill_the_installs_leader(infra, stream)
        await kill_one_instance_each(infra, stack, stream)
        await stream.until(len(stream.acknowledged) + 40)  # and the stream goes on after it all
    finally:
        stream.stop.set()
        await asyncio.gather(*tasks)
    accounts = list(stream.acknowledged)
    print(
        f"\n{len(accounts)} installs, {len(stream.connected)} connected, "
        f"{stream.sender.refused} deliveries refused and retried, "
        f"{stream.journey_retries} journeys restarted; broker: {broker}"
    )
    installs, repeated = await installs_on_topic(infra, accounts)
    print(f"installs on the topic twice (each applied once): {repeated}")
    await installed_once_in_read_model(
        http, infra, [a for a in accounts if a not in stream.journeys]
    )
    await connections_applied_once(http, infra, stream.connected, installs)
    sampling.cancel()
    await lag.client.close()
    longest = {group: lag.longest(group) for group in ("status", "econ-auth")}
    # Shown with -s, and with a failure: the numbers docs/reliability.md quotes.
    print(f"longest wait of an acknowledged install to be applied (s): {longest}")
    assert stream.answers == [200] * len(accounts)  # every delivery ended in a 2xx
    assert len(stream.connected) >= JOURNEYS
    assert all(wait < STALL_BOUND for wait in longest.values()), longest


async def installs_on_topic(infra: Infra, accounts: list[str]) -> tuple[dict[str, str], int]:
    """Each acknowledged install is on the topic as Stripe's one event (one id); answers how many
    records repeat one. A publish the leader's crash caught times out and may still land, while
    Stripe's retry reaches the other install instance, which publishes the event again: the
    consumers drop the repeat by its id (the read model check below)."""
    ids: dict[bytes, list[str]] = {a.encode(): [] for a in accounts}
    for record in await records_on(infra.kafka, INSTALLS_TOPIC):
        if record.key in ids:
            ids[record.key].append(json.loads(record.value)["id"])
    assert [a for a, found in ids.items() if len(set(found)) != 1] == []  # none lost, one id each
    repeated = sum(len(found) - 1 for found in ids.values())
    return {a.decode(): found[0] for a, found in ids.items()}, repeated


async def connections_applied_once(
    http: httpx.AsyncClient, infra: Infra, accounts: list[str], installs: dict[str, str]
) -> None:
    """Each account connected in the read model; its install and each connection event on the
    topic (a relay may publish one twice) applied once: its timeline holds every id, and its
    document was written no more often than there are distinct events (`rev`)."""
    ids: dict[bytes, set[str]] = {}
    for record in await records_on(infra.kafka, CONNECTIONS_TOPIC):
        ids.setdefault(record.key, set()).add(json.loads(record.value)["id"])
    distinct: dict[str, int] = {}
    for account in accounts:
        assert (await status(http, account))["economic"]["state"] == "connected", account
        on_topic = ids.get(account.encode(), set()) | {installs[account]}
        assert len(on_topic) > 1, account
        timeline = await http.get(f"{STATUS}/v1/accounts/{account}/timeline", headers=INTERNAL)
        applied = Counter(e["event_id"] for e in timeline.json()["events"])
        assert all(n == 1 for n in applied.values()), (account, applied)
        assert on_topic <= set(applied), (account, on_topic - set(applied))
        distinct[account] = len(on_topic)
    writes = await writes_per_account(infra, accounts)
    assert [a for a in accounts if writes[a] > distinct[a]] == [], (writes, distinct)
