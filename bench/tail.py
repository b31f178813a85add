"""The tail: webhook sent → visible in the internal status API, and e-conomic's callback → the
merchant's page showing "Connected", one probe at a time, each split into its stages so the slow
probes say where their time went.

A webhook probe's stages, by wall clock on this one machine:
  accept  sent → the Kafka record's timestamp (install verifies, records the event id, hands
          the event to its producer, which stamps the record),
  publish record timestamp → install's 200 (acks=all from Kafka, the "published" mark),
  project install's 200 → the account visible (status's fetch, its apply and commit, our read).

Status stamps each timeline entry with when it took the event and when the account was written,
so the same probes are also split on status's side of the record (its stamps are to the ms):
  deliver record timestamp → status's handler has the event (Kafka's fetch, FastStream's poll),
  apply   → the account written (status's database trips),
  show    → visible to our poll (the timeline insert, the internal API's read, the poll's step).
"""

import asyncio
import json
import re
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from bench.load import enough_for
from bench.stack import BENCH_APP, INFRA_DIR, KAFKA, MONGO, SECRETS, CpuSampler
from kobling_devkit import merchant
from kobling_devkit.stripe_signing import body_of, install_event, new_account, sign, view_payload
from kobling_shared.events import INSTALLS_TOPIC
from kobling_status.rebuild import end_offsets

INSTALL = "http://127.0.0.1:8001"
ECON_AUTH = "http://127.0.0.1:8002"
STATUS = "http://127.0.0.1:8003"
STAGES = ("accept", "publish", "project")
STATUS_STAGES = ("deliver", "apply", "show")


@dataclass
class Probe:
    account: str
    sent: float  # wall clock, seconds
    acked: float
    visible: float
    stamped: float = 0.0  # the Kafka record's timestamp, filled in after the probes
    event_id: str = ""
    received: float = 0.0  # status's stamps on the timeline entry, filled in after the probes
    applied: float = 0.0

    @property
    def total_ms(self) -> float:
        return (self.visible - self.sent) * 1000

    def stages_ms(self) -> dict[str, float]:
        return {
            "accept": (self.stamped - self.sent) * 1000,
            "publish": (self.acked - self.stamped) * 1000,
            "project": (self.visible - self.acked) * 1000,
        }

    def status_stages_ms(self) -> dict[str, float]:
        return {
            "deliver": (self.received - self.stamped) * 1000,
            "apply": (self.applied - self.received) * 1000,
            "show": (self.visible - self.applied) * 1000,
        }


async def webhook_probe(http: httpx.AsyncClient) -> Probe:
    account = new_account()
    body = body_of(install_event(account, app=BENCH_APP))
    headers = {"Stripe-Signature": sign(body, SECRETS["STRIPE_WEBHOOK_SECRET"])}
    auth = {"Authorization": f"Bearer {SECRETS['INTERNAL_API_TOKEN']}"}
    sent = time.time()
    response = await http.post(f"{INSTALL}/stripe/webhooks", content=body, headers=headers)
    acked = time.time()
    assert response.status_code == 200, response.text
    while True:
        doc = await http.get(f"{STATUS}/v1/accounts/{account}", headers=auth)
        if doc.status_code == 200 and doc.json()["stripe"]["installed"]:
            return Probe(account, sent, acked, time.time())
        await asyncio.sleep(0.001)


async def webhook_probes(
    http: httpx.AsyncClient, count: int, pids: dict[str, int]
) -> tuple[list[Probe], dict[str, dict[str, float]]]:
    """`count` probes one after another, then each one's record timestamp from the topic; and how
    busy each process was during all probes and during the slowest 1% (share of a core)."""
    start = await _ends()
    with CpuSampler(pids) as sampler:
        probes = [await webhook_probe(http) for _ in range(count)]
    stamps = await _stamps(start, {p.account for p in probes})
    entries = await _status_stamps([e for e, _ in stamps.values()])
    for probe in probes:
        probe.stamped, probe.event_id = stamps[probe.account][1], stamps[probe.account][0]
        probe.received, probe.applied = entries[probe.event_id]
    return probes, {
        group: _mean_busy([sampler.busy(p.sent, p.visible) for p in chosen])
        for group, chosen in (("all", probes), ("slowest", _slowest(probes)))
    }


def webhook_report(probes: list[Probe], busy: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What the report shows of the webhook probes."""
    return {
        "busy": busy,
        "kafka_gc": gc_overlap(probes, kafka_gc_pauses()),
        "light": percentiles([p.total_ms for p in probes]),
        "stages": where_the_tail_goes(probes),
        "slowest": [
            (p.total_ms, p.stages_ms() | p.status_stages_ms())
            for p in sorted(probes, key=lambda p: p.total_ms)[-10:]
        ],
    }


def kafka_gc_pauses() -> list[tuple[float, float]]:
    """The broker's GC pauses as (start, end) wall-clock seconds, from the log `make infra` has
    the JVM write (`-Xlog:gc` with the `time` decorator: the wall clock when the pause ended)."""
    path = INFRA_DIR / "kafka" / "gc.log"
    pauses = []
    for line in path.read_text().splitlines() if path.exists() else []:
        found = GC_PAUSE.match(line)
        if found:
            end = datetime.strptime(found["time"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            pauses.append((end - float(found["ms"]) / 1000, end))
    return pauses


GC_PAUSE = re.compile(r"^\[(?P<time>[^\]]+)\].* Pause .* (?P<ms>[0-9.]+)ms$")


def gc_overlap(
    probes: list[Probe], pauses: list[tuple[float, float]]
) -> dict[str, dict[str, float]]:
    """For all probes and the slowest 1%: the share whose window a Kafka GC pause overlapped,
    and the mean ms of pause inside a window."""

    def paused(p: Probe) -> float:
        return sum(max(0.0, min(end, p.visible) - max(start, p.sent)) for start, end in pauses)

    return {
        group: {
            "touched": statistics.mean(paused(p) > 0 for p in chosen),
            "paused_ms": statistics.mean(paused(p) for p in chosen) * 1000,
        }
        for group, chosen in (("all", probes), ("slowest", _slowest(probes)))
    }


def _slowest(probes: list[Probe]) -> list[Probe]:
    ordered = sorted(probes, key=lambda p: p.total_ms)
    return ordered[-max(5, len(ordered) // 100) :]


def _mean_busy(windows: list[dict[str, float]]) -> dict[str, float]:
    windows = [w for w in windows if w]
    names = {name for w in windows for name in w}
    return {name: statistics.mean(w.get(name, 0.0) for w in windows) for name in sorted(names)}


async def _ends() -> dict[TopicPartition, int]:
    return await end_offsets(KAFKA, None, (INSTALLS_TOPIC,))


async def _status_stamps(event_ids: list[str]) -> dict[str, tuple[float, float]]:
    """When status received and applied each event, from its timeline entry (one find by `_id`
    each: FerretDB scans for an `$in`)."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO)
    try:
        timeline = client["kobling_status"]["timeline"]
        found = {}
        for event_id in event_ids:
            entry = await timeline.find_one({"_id": event_id})
            assert entry is not None, f"no timeline entry for {event_id}"
            found[event_id] = (
                entry["received_at"].replace(tzinfo=UTC).timestamp(),
                entry["applied_at"].replace(tzinfo=UTC).timestamp(),
            )
        return found
    finally:
        await client.close()


async def _stamps(
    start: dict[TopicPartition, int], accounts: set[str]
) -> dict[str, tuple[str, float]]:
    """The event id and record timestamp of each account's install, read from the offsets in
    `start` on."""
    consumer = AIOKafkaConsumer(INSTALLS_TOPIC, bootstrap_servers=KAFKA, group_id=None)
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        end = await consumer.end_offsets(list(start))
        found: dict[str, tuple[str, float]] = {}
        while [tp for tp in start if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    event = json.loads(record.value)
                    if event.get("subject") in accounts:
                        found[event["subject"]] = (event["id"], record.timestamp / 1000)
        return found
    finally:
        await consumer.stop()


@dataclass
class ConnectProbe:
    callback_ms: float  # e-conomic's redirect to our callback → its answer (the grant stored)
    page_ms: float  # → the page it sends the merchant to, showing "Connected"

    @property
    def total_ms(self) -> float:
        return self.callback_ms + self.page_ms


async def connect_probe(
    http: httpx.AsyncClient, connected: list[tuple[str, str]] | None = None
) -> ConnectProbe:
    """An install, a connect link, e-conomic's grant page; timed from the callback on. The account
    and its grant go into `connected` for the broker's row."""
    account = new_account()
    body = body_of(install_event(account, app=BENCH_APP))
    await http.post(
        f"{INSTALL}/stripe/webhooks",
        content=body,
        headers={"Stripe-Signature": sign(body, SECRETS["STRIPE_WEBHOOK_SECRET"])},
    )
    # The body is the signed payload itself: the same compact JSON the view sends.
    payload = view_payload({"livemode": False, "action": "connect"}, "usr_b", account)
    link = None
    while link is None:
        answer = await http.post(
            f"{ECON_AUTH}/api/connect-link",
            content=payload,
            headers={
                "Stripe-Signature": sign(payload, SECRETS["STRIPE_APP_SECRET"]),
                "Content-Type": "application/json",
            },
        )
        link = answer.json()["url"] if answer.status_code == 200 else None
    grant = await merchant.add_app(http, await merchant.grant_page(http, link))
    started = time.perf_counter()
    back = await http.get(grant.callback)
    answered = time.perf_counter()
    page = await http.get(back.headers["location"])
    done = time.perf_counter()
    assert "Connected" in page.text, page.text[:500]
    if connected is not None:
        connected.append((account, grant.token))
    return ConnectProbe((answered - started) * 1000, (done - answered) * 1000)


def percentiles(values: list[float]) -> dict[str, Any]:
    """p50, p95, p99 (None when too few samples for it) and the maximum."""
    ordered = sorted(values)

    def at(p: float) -> float | None:
        if not ordered or not enough_for(p, len(ordered)):
            return None
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": statistics.median(ordered) if ordered else None,
        "p95": at(95),
        "p99": at(99),
        "max": ordered[-1] if ordered else None,
    }


def where_the_tail_goes(probes: list[Probe]) -> dict[str, dict[str, float]]:
    """Each stage's median among all probes and among the slowest 1% (at least 5), so the report
    can say which stage makes the tail."""
    ordered = sorted(probes, key=lambda p: p.total_ms)
    slow = ordered[-max(5, len(ordered) // 100) :]
    return {
        group: {
            **{stage: statistics.median(p.stages_ms()[stage] for p in chosen) for stage in STAGES},
            **{
                stage: statistics.median(p.status_stages_ms()[stage] for p in chosen)
                for stage in STATUS_STAGES
            },
        }
        for group, chosen in (("all", ordered), ("slowest", slow))
    }
