"""The tail: webhook sent → visible in the internal status API, and e-conomic's callback → the
merchant's page showing "Connected", one probe at a time, each split into its stages so the slow
probes say where their time went.

A webhook probe's stages, by wall clock on this one machine:
  accept  sent → the Kafka record's timestamp (install verifies, records the event id, hands
          the event to its producer, which stamps the record),
  publish record timestamp → install's 200 (acks=all from Kafka, the "published" mark),
  project install's 200 → the account visible (status's fetch, its apply and commit, our read).
"""

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.load import enough_for
from bench.stack import BENCH_APP, KAFKA, SECRETS, CpuSampler
from kobling_shared.events import INSTALLS_TOPIC
from kobling_shared.signatures import app_view_payload
from tests import merchant
from tests.stripe_signing import body_of, install_event, new_account, sign

INSTALL = "http://127.0.0.1:8001"
ECON_AUTH = "http://127.0.0.1:8002"
STATUS = "http://127.0.0.1:8003"
STAGES = ("accept", "publish", "project")


@dataclass
class Probe:
    account: str
    sent: float  # wall clock, seconds
    acked: float
    visible: float
    stamped: float = 0.0  # the Kafka record's timestamp, filled in after the probes

    @property
    def total_ms(self) -> float:
        return (self.visible - self.sent) * 1000

    def stages_ms(self) -> dict[str, float]:
        return {
            "accept": (self.stamped - self.sent) * 1000,
            "publish": (self.acked - self.stamped) * 1000,
            "project": (self.visible - self.acked) * 1000,
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
    for probe in probes:
        probe.stamped = stamps[probe.account]
    return probes, {
        group: _mean_busy([sampler.busy(p.sent, p.visible) for p in chosen])
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
    consumer = AIOKafkaConsumer(INSTALLS_TOPIC, bootstrap_servers=KAFKA, group_id=None)
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        return dict(await consumer.end_offsets(list(consumer.assignment())))
    finally:
        await consumer.stop()


async def _stamps(start: dict[TopicPartition, int], accounts: set[str]) -> dict[str, float]:
    """The record timestamp of each account's install, read from the offsets in `start` on."""
    consumer = AIOKafkaConsumer(INSTALLS_TOPIC, bootstrap_servers=KAFKA, group_id=None)
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        end = await consumer.end_offsets(list(start))
        found: dict[str, float] = {}
        while [tp for tp in start if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    subject = json.loads(record.value).get("subject")
                    if subject in accounts:
                        found[subject] = record.timestamp / 1000
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
    payload = app_view_payload("usr_b", account, False, "connect")
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
        group: {stage: statistics.median(p.stages_ms()[stage] for p in chosen) for stage in STAGES}
        for group, chosen in (("all", ordered), ("slowest", slow))
    }
