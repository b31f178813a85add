"""`make bench`: the numbers in docs/benchmarks.md, measured side by side in one run.

Real Kafka and FerretDB, the services as production runs them (KOBLING_ENV=production, no access
log), vegeta for constant-rate load. `--smoke` runs every step for a second or two, so the
harness cannot rot; its numbers mean nothing.
"""

import argparse
import asyncio
import base64
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import rebuild  # noqa: E402
from bench.broker import broker_vs_direct  # noqa: E402
from bench.load import Run, attack, say, vegeta_bin, write_targets  # noqa: E402
from kobling_shared.events import CONNECTIONS_TOPIC, INSTALLS_TOPIC  # noqa: E402
from kobling_shared.settings import DEV_SECRETS  # noqa: E402
from kobling_shared.signatures import app_view_payload  # noqa: E402
from tests import merchant  # noqa: E402
from tests.kafka_topics import records_on  # noqa: E402
from tests.stack import SERVICES, Service, start, stop_all, wait_ready  # noqa: E402
from tests.stripe_signing import body_of, install_event, new_account, sign  # noqa: E402

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
MONGO = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
WORK = ROOT / ".run" / "bench"
BOTH = (INSTALLS_TOPIC, CONNECTIONS_TOPIC)
SECRETS = {name.upper(): f"bench-{secrets.token_urlsafe(32)}" for name in DEV_SECRETS}
SECRETS["TOKEN_ENCRYPTION_KEYS"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
SECRETS["STRIPE_WEBHOOK_SECRET"] = "whsec_" + secrets.token_hex(16)
SECRETS["STRIPE_APP_SECRET"] = "absec_" + secrets.token_hex(16)
# Production refuses the development ids: the bench's app has its own, and its events name it.
BENCH_APP = "ca_bench_" + secrets.token_hex(8)
SECRETS["STRIPE_APPLICATION_IDS"] = f"{BENCH_APP},app_bench"
SECRETS["ECONOMIC_BROKER_TOKENS"] = f"bench:{secrets.token_urlsafe(32)}"
# Production mode with the sandbox standing in for Stripe and e-conomic.
ENV = {
    "KOBLING_ENV": "production",
    "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
    "MONGODB_URL": MONGO,
    "STRIPE_API_BASE": "http://127.0.0.1:8010",
    "STRIPE_DASHBOARD_URL": "http://127.0.0.1:8010/dashboard",
    "STRIPE_MARKETPLACE_URL": "http://127.0.0.1:8010",
    "ECONOMIC_GRANT_URL": "http://127.0.0.1:8010/economic/secure/api1/requestaccess.aspx",
    "ECONOMIC_API_URL": "http://127.0.0.1:8010/economic/api",
    **SECRETS,
}


def targets(url: str, count: int) -> tuple[Path, list[str]]:
    """`count` distinct signed install webhooks, and their event ids."""
    found, ids = [], []
    secret = SECRETS["STRIPE_WEBHOOK_SECRET"]
    for _ in range(count):
        event = install_event(new_account(), app=BENCH_APP)
        body = body_of(event)
        ids.append(event["id"])
        header = {"Stripe-Signature": [sign(body, secret)], "Content-Type": ["application/json"]}
        body64 = base64.b64encode(body).decode()
        found.append({"method": "POST", "url": url, "body": body64, "header": header})
    return write_targets(WORK / "targets.jsonl", found), ids


def ingest(name: str, url: str, rate: int, seconds: float) -> Run:
    """Offers signed install webhooks, each a new account, at `rate` (0: flat out)."""
    path, ids = targets(url, int((rate or 6000) * seconds * 1.1) + 10)
    return attack(name, path, rate, seconds, ids)


async def e2e_probe(http: httpx.AsyncClient) -> float:
    """Webhook sent → the account installed in the internal status API, in ms."""
    event = install_event(new_account(), app=BENCH_APP)
    body = body_of(event)
    headers = {"Stripe-Signature": sign(body, SECRETS["STRIPE_WEBHOOK_SECRET"])}
    auth = {"Authorization": f"Bearer {SECRETS['INTERNAL_API_TOKEN']}"}
    started = time.perf_counter()
    response = await http.post(
        "http://127.0.0.1:8001/stripe/webhooks", content=body, headers=headers
    )
    assert response.status_code == 200, response.text
    while True:
        doc = await http.get(f"http://127.0.0.1:8003/v1/accounts/{event['account']}", headers=auth)
        if doc.status_code == 200 and doc.json()["stripe"]["installed"]:
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.001)


async def connect_probe(
    http: httpx.AsyncClient, connected: list[tuple[str, str]] | None = None
) -> float:
    """e-conomic's callback received → the merchant's page showing "Connected", in ms; the
    account and its grant go into `connected` for the broker's row."""
    account = new_account()
    body = body_of(install_event(account, app=BENCH_APP))
    await http.post(
        "http://127.0.0.1:8001/stripe/webhooks",
        content=body,
        headers={"Stripe-Signature": sign(body, SECRETS["STRIPE_WEBHOOK_SECRET"])},
    )
    # The body is the signed payload itself: the same compact JSON the view sends.
    payload = app_view_payload("usr_b", account, False, "connect")
    link = None
    while link is None:
        answer = await http.post(
            "http://127.0.0.1:8002/api/connect-link",
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
    page = await http.get(back.headers["location"])
    elapsed = (time.perf_counter() - started) * 1000
    assert "Connected" in page.text, page.text[:500]
    if connected is not None:
        connected.append((account, grant.token))
    return elapsed


def event_id(value: bytes) -> str | None:
    try:
        return str(json.loads(value)["id"])
    except (ValueError, KeyError, TypeError):
        return None  # the poison the dead-letter tests left


def rss_mb(service: Service) -> float:
    assert service.process is not None
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def lag(group: str, topics: tuple[str, ...]) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    ends = await end_offsets()
    return sum(
        end - (committed[tp].offset if tp in committed else 0)
        for tp, end in ends.items()
        if tp.topic in topics
    )


async def end_offsets() -> dict[Any, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        INSTALLS_TOPIC, CONNECTIONS_TOPIC, bootstrap_servers=KAFKA, group_id=None
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        return dict(await consumer.end_offsets(list(consumer.assignment())))
    finally:
        await consumer.stop()


async def wait_caught_up(group: str, timeout: float, topics: tuple[str, ...] = BOTH) -> float:
    started = time.perf_counter()
    while await lag(group, topics) > 0:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(group)
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--rebuild", type=int, nargs="*", default=[10_000, 50_000])
    opts = parser.parse_args()
    seconds = 1.0 if opts.smoke else 10.0
    rates = [250, 500, 1000, 2000, 0] if not opts.smoke else [100, 0]
    rebuilds = [500] if opts.smoke else opts.rebuild
    probes = 5 if opts.smoke else 50

    services = [SERVICES[name] for name in ("install", "econ-auth", "status", "sandbox")]
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench/bare.py")])
    sink = subprocess.Popen([str(vegeta_bin() / "sink")])
    report: dict[str, Any] = {"smoke": opts.smoke, "machine": machine()}
    try:
        for service in services:
            # The sandbox is a development tool and refuses production; it shares the secrets.
            dev = {"KOBLING_ENV": "development"} if service.name == "sandbox" else {}
            start(service, {**ENV, **dev})
        for service in services:
            wait_ready(service)
        await asyncio.sleep(1)
        report["rss_rest"] = {s.name: rss_mb(s) for s in services[:3]}

        generator = ingest(
            "vegeta → sink (the generator's ceiling)", "http://127.0.0.1:8098/", 0, seconds
        )
        ceiling = ingest(
            "bare endpoint (the HTTP stack's ceiling)",
            "http://127.0.0.1:8099/stripe/webhooks",
            0,
            seconds,
        )
        runs = [
            ingest(
                f"webhooks at {r or 'flat out'}/s",
                "http://127.0.0.1:8001/stripe/webhooks",
                r,
                seconds,
            )
            for r in rates
        ]
        report["runs"] = [generator, ceiling, *runs]
        acked = {event_id for run in runs for event_id in run.acknowledged}
        on_kafka = {event_id(r.value) for r in await records_on(KAFKA, INSTALLS_TOPIC)}
        report["acknowledged"], report["lost"] = len(acked), len(acked - on_kafka)

        async with httpx.AsyncClient(timeout=30) as http:
            say("waiting for the consumers to drain the ingest runs")
            await wait_caught_up("kobling-status", 900)
            await wait_caught_up("kobling-econ-auth", 900, (INSTALLS_TOPIC,))
            say("end to end, light")
            light = [await e2e_probe(http) for _ in range(probes)]
            heavy_rate = 1000 if not opts.smoke else 50
            load = asyncio.create_task(
                asyncio.to_thread(
                    ingest,
                    "background",
                    "http://127.0.0.1:8001/stripe/webhooks",
                    heavy_rate,
                    max(seconds, 5),
                )
            )
            await asyncio.sleep(0.5)
            heavy = []
            while not load.done() and len(heavy) < probes:
                heavy.append(await e2e_probe(http))
            await load
            report["e2e"] = {"light": light, f"heavy ({heavy_rate}/s)": heavy}
            report["rss_loaded"] = {s.name: rss_mb(s) for s in services[:3]}
            say("waiting for the consumers to drain the heavy load")
            await wait_caught_up("kobling-status", 900)
            await wait_caught_up("kobling-econ-auth", 900, (INSTALLS_TOPIC,))
            say("connect callback")
            accounts: list[tuple[str, str]] = []
            report["connect"] = [
                await connect_probe(http, accounts) for _ in range(probes // 2 or 1)
            ]
            say("e-conomic direct and through the broker")
            report["broker"] = await broker_vs_direct(
                http,
                *accounts[0],
                SECRETS["ECONOMIC_APP_SECRET_TOKEN"],
                SECRETS["ECONOMIC_BROKER_TOKENS"].split(":", 1)[1],
                20 if opts.smoke else 2000,
            )
        report["rebuild"] = await rebuild.measure(rebuilds)
    finally:
        stop_all(services)
        bare.terminate()
        sink.terminate()
    write(report, ROOT / ("docs/benchmarks-smoke.md" if opts.smoke else "docs/benchmarks.md"))
    if report["lost"] or report["acknowledged"] == 0:
        sys.exit(f"{report['lost']} of {report['acknowledged']} acknowledged webhooks not on Kafka")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, Linux {platform.release()}, Python {platform.python_version()}"


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"{statistics.median(ordered):.1f} | {p(0.99):.1f} | {len(ordered)}"


def write(report: dict[str, Any], path: Path) -> None:
    from bench.report import render

    # The measurements first, so a fault in the rendering does not cost the run.
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "report.json").write_text(json.dumps(report, default=vars))
    path.parent.mkdir(exist_ok=True)
    path.write_text(render(report, summary))
    print(path.read_text())


if __name__ == "__main__":
    asyncio.run(main())
