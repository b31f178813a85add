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
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from bench import idle, reads, rebuild
from bench import sync as sync_rows
from bench.broker import broker_vs_direct
from bench.load import Run, attack, say, vegeta_bin, write_targets
from bench.stack import (
    BENCH_APP,
    BROKER_TOKENS,
    ENV,
    KAFKA,
    MONGO,
    SECRETS,
    WORK,
    CpuMeter,
    infra_pids,
    start_stack,
)
from bench.tail import (
    connect_probe,
    percentiles,
    webhook_probes,
    webhook_report,
)
from kobling_devkit.kafka_topics import records_on
from kobling_devkit.paths import ROOT
from kobling_devkit.stack import SERVICES, Service, start, stop_all, wait_ready
from kobling_devkit.stripe_signing import body_of, install_event, new_account, sign
from kobling_shared.events import CONNECTIONS_TOPIC, INSTALLS_TOPIC
from kobling_status.rebuild import end_offsets as status_end_offsets

BOTH = (INSTALLS_TOPIC, CONNECTIONS_TOPIC)
SINK = "http://127.0.0.1:8098/"
BARE = "http://127.0.0.1:8099/stripe/webhooks"
WEBHOOKS = "http://127.0.0.1:8001/stripe/webhooks"
ACCOUNT_OF: dict[str, str] = {}  # each webhook's event id → its account


def targets(url: str, count: int) -> tuple[Path, list[str]]:
    """`count` distinct signed install webhooks, and their event ids."""
    found, ids = [], []
    secret = SECRETS["STRIPE_WEBHOOK_SECRET"]
    for _ in range(count):
        event = install_event(new_account(), app=BENCH_APP)
        body = body_of(event)
        ids.append(event["id"])
        ACCOUNT_OF[event["id"]] = event["account"]
        header = {"Stripe-Signature": [sign(body, secret)], "Content-Type": ["application/json"]}
        body64 = base64.b64encode(body).decode()
        found.append({"method": "POST", "url": url, "body": body64, "header": header})
    return write_targets(WORK / "targets.jsonl", found), ids


def ingest(name: str, url: str, rate: int, seconds: float) -> Run:
    """Offers signed install webhooks, each a new account, at `rate` (0: flat out)."""
    path, ids = targets(url, int((rate or 6000) * seconds * 1.1) + 10)
    return attack(name, path, rate, seconds, ids)


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
    return await status_end_offsets(KAFKA, None, BOTH)


async def wait_caught_up(group: str, timeout: float, topics: tuple[str, ...] = BOTH) -> float:
    started = time.perf_counter()
    while await lag(group, topics) > 0:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(group)
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


def ingest_runs(rates: list[int], seconds: float, repeats: int) -> dict[str, Any]:
    """Each offered rate and flat out, `repeats` times, the bare endpoint's flat out before each
    round: interleaved, so a noisy minute touches both sides alike."""
    found: dict[str, Any] = {"bare": [], "whole": {rate: [] for rate in rates}}
    for round_ in range(1, repeats + 1):
        found["bare"].append(ingest(f"bare endpoint, round {round_}", BARE, 0, seconds))
        for rate in rates:
            name = f"webhooks at {rate or 'flat out'}/s, round {round_}"
            found["whole"][rate].append(ingest(name, WEBHOOKS, rate, seconds))
    return found


def install_alone(seconds: float, repeats: int, bare_pid: int, install_pid: int) -> dict[str, Any]:
    """install with the consumers stopped, flat out, against the bare endpoint in the same state
    of the machine, interleaved; and the CPU each process spent per acknowledged webhook."""
    infra = infra_pids()
    found: dict[str, Any] = {"bare": [], "install": [], "cpu_bare": [], "cpu_install": []}
    for round_ in range(1, repeats + 1):
        meter = CpuMeter({"endpoint": bare_pid, **infra}).start()
        found["bare"].append(ingest(f"bare endpoint (alone), round {round_}", BARE, 0, seconds))
        found["cpu_bare"].append(meter.stop())
        meter = CpuMeter({"install": install_pid, **infra}).start()
        found["install"].append(ingest(f"install alone, round {round_}", WEBHOOKS, 0, seconds))
        found["cpu_install"].append(meter.stop())
    return found


async def whole_cost(rate: int, seconds: float, pids: dict[str, int]) -> dict[str, Any]:
    """CPU each process spent, per webhook, from the first webhook until every consumer has
    applied the last: the whole stack's cost of one install, at a rate it keeps up with."""
    meter = CpuMeter(pids).start()
    run = ingest(f"webhooks at {rate}/s, CPU counted to the last apply", WEBHOOKS, rate, seconds)
    await wait_caught_up("kobling-status", 900)
    await wait_caught_up("kobling-econ-auth", 900, (INSTALLS_TOPIC,))
    return {"run": run, "cpu": meter.stop()}


async def in_read_model(keys: set[str]) -> int:
    """How many of `keys` have a document in the read model. One scan of `_id`s: FerretDB serves
    `_id` equality from its index but would scan for a large `$in`."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO)
    try:
        ids = {
            doc["_id"] async for doc in client["kobling_status"]["accounts"].find({}, {"_id": 1})
        }
    finally:
        await client.close()
    return len(keys & ids)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--rebuild", type=int, nargs="*", default=[50_000, 100_000, 200_000])
    # 5 s a run keeps `make bench` under 25 minutes (10 s took ~35); the rates still resolve.
    parser.add_argument("--seconds", type=float, default=5.0, help="each load run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the load runs")
    parser.add_argument("--probes", type=int, default=1000, help="webhook probes; connect: 3/10")
    parser.add_argument(
        "--backlog",
        type=int,
        default=sync_rows.Sizes.backlog,
        help=f"sync's backlog of paid invoices (issue 24: {sync_rows.FULL_BACKLOG:,})",
    )
    parser.add_argument(
        "--sync-seconds", type=float, default=sync_rows.Sizes.seconds, help="sync's light load"
    )
    opts = parser.parse_args()
    smoke = opts.smoke
    seconds = 1.0 if smoke else opts.seconds
    repeats = 1 if smoke else opts.repeats
    rates = [100, 0] if smoke else [250, 500, 1000, 2000, 0]
    rebuilds = [500] if smoke else opts.rebuild
    light_probes = 20 if smoke else opts.probes
    connect_probes = 5 if smoke else max(opts.probes * 3 // 10, 1)
    idle_seconds, settle = (2.0, 1.0) if smoke else (idle.SECONDS, idle.SETTLE_SECONDS)

    # sync last: started only for its own rows, at the end (stop_all skips it until then).
    services = [SERVICES[name] for name in ("install", "econ-auth", "status", "sandbox", "sync")]
    install, econ_auth, status = services[:3]
    sizes = (
        sync_rows.Sizes.smoke()
        if smoke
        else sync_rows.Sizes(seconds=opts.sync_seconds, backlog=opts.backlog)
    )
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench/bare.py")])
    sink = subprocess.Popen([str(vegeta_bin() / "sink")])
    report: dict[str, Any] = {
        "smoke": smoke,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": os.getloadavg()[0],
        "commit": commit(),
        "args": sys.argv[1:],  # none: `make bench` as run by default
    }
    began = time.perf_counter()
    try:
        start_stack()
        for port in (8098, 8099):  # the sink and the bare endpoint answer before they are used
            listening(port)
        report["rss_rest"] = {s.name: rss_mb(s) for s in services[:3]}
        at_rest = {s.name: pid(s) for s in (install, econ_auth, status)} | infra_pids()
        report["idle"] = {"seconds": idle_seconds, "settle": settle, "rounds": {}}
        report["idle"]["rounds"]["settled"] = await idle.measure(at_rest, idle_seconds, settle)

        report["rebuild"] = await rebuild.measure(rebuilds)
        report["rebuild_mixed"] = await rebuild.measure_mixed(300 if smoke else rebuild.MIXED)
        # The read model now holds every account the rebuild produced: the view's reads over it.
        in_model = await reads.existing(200 if smoke else 100_000)
        report["reads"] = await reads.measure(in_model, seconds, repeats)

        report["generator"] = ingest("vegeta → sink (the generator's ceiling)", SINK, 0, seconds)
        report["ingest"] = ingest_runs(rates, seconds, repeats)
        acked = {
            e
            for runs in report["ingest"]["whole"].values()
            for run in runs
            for e in run.acknowledged
        }

        async with httpx.AsyncClient(timeout=30) as http:
            say("waiting for the consumers to drain the ingest runs")
            await wait_caught_up("kobling-status", 900)
            await wait_caught_up("kobling-econ-auth", 900, (INSTALLS_TOPIC,))
            pids = {s.name: pid(s) for s in (install, econ_auth, status)} | infra_pids()
            report["cost"] = await whole_cost(100 if smoke else 500, seconds, pids)
            acked |= set(report["cost"]["run"].acknowledged)

            say("install alone: the consumers stopped")
            stop_all([econ_auth, status])
            report["alone"] = install_alone(seconds, repeats, bare.pid, pid(install))
            acked |= {e for run in report["alone"]["install"] for e in run.acknowledged}
            for service in (econ_auth, status):
                start(service, ENV)
                wait_ready(service)
            say("waiting for the consumers to drain install alone's webhooks")
            await wait_caught_up("kobling-status", 900)
            await wait_caught_up("kobling-econ-auth", 900, (INSTALLS_TOPIC,))
            on_kafka = {event_id(r.value) for r in await records_on(KAFKA, INSTALLS_TOPIC)}
            keys = {f"{ACCOUNT_OF[e]}:test" for e in acked}
            report["acknowledged"], report["lost"] = len(acked), len(acked - on_kafka)
            report["unprojected"] = len(keys) - await in_read_model(keys)

            pids = {s.name: pid(s) for s in (install, econ_auth, status)} | infra_pids()
            say(f"end to end, light: {light_probes} probes one at a time")
            light, busy = await webhook_probes(http, light_probes, pids)
            report["e2e"] = webhook_report(light, busy)
            say(f"connect callback: {connect_probes} probes one at a time")
            accounts: list[tuple[str, str]] = []
            connects = [await connect_probe(http, accounts) for _ in range(connect_probes)]
            report["connect"] = {
                "total": percentiles([c.total_ms for c in connects]),
                "callback": percentiles([c.callback_ms for c in connects]),
                "page": percentiles([c.page_ms for c in connects]),
            }
            report["rss_loaded"] = {s.name: rss_mb(s) for s in services[:3]}
            say("e-conomic direct and through the broker")
            report["broker"] = await broker_vs_direct(
                http,
                *accounts[0],
                SECRETS["ECONOMIC_APP_SECRET_TOKEN"],
                BROKER_TOKENS["bench"],
                20 if smoke else 2 * light_probes,
            )
        report["sync"] = await measure_sync(sizes, services)
        report["idle"]["rounds"]["end"] = await idle_at_end(services, idle_seconds, settle)
    finally:
        stop_all(services)
        bare.terminate()
        sink.terminate()
    report["minutes"] = (time.perf_counter() - began) / 60
    write(report, ROOT / ("docs/benchmarks-smoke.md" if smoke else "docs/benchmarks.md"))
    if report["lost"] or report["unprojected"] or report["acknowledged"] == 0:
        sys.exit(
            f"of {report['acknowledged']} acknowledged webhooks, {report['lost']} not on Kafka, "
            f"{report['unprojected']} not in the read model"
        )
    synced = report["sync"]
    if "error" in synced or not synced["once"]["ok"]:
        sys.exit(f"sync: {synced.get('error') or synced['once']}")


async def measure_sync(sizes: sync_rows.Sizes, services: list[Service]) -> dict[str, Any]:
    """sync started (its own consumer group, at the end of the topic), then its rows. A failure
    is kept in the report, so the other rows' numbers are written; the run still fails."""
    try:
        say("sync: starting it for its rows")
        await sync_rows.start_sync()
        pids = {s.name: pid(s) for s in services} | infra_pids()
        return await sync_rows.measure(sizes, pids)
    except Exception as error:
        traceback.print_exc()
        # One line, no table pipes: it goes into the report's tables.
        said = " ".join(f"{type(error).__name__}: {error}".split()).replace("|", "/")
        return {"error": said[:300]}


async def idle_at_end(services: list[Service], seconds: float, settle: float) -> dict[str, float]:
    """The idle round again, every run drained and sync running: what the services' caches and
    timers cost after a day's work. A failure costs this row alone."""
    try:
        await wait_caught_up("kobling-status", 120)
        await wait_caught_up("kobling-econ-auth", 120, (INSTALLS_TOPIC,))
        running = [s for s in services if s.process and s.process.poll() is None]
        ours = {s.name: pid(s) for s in running if s.name in idle.SERVICES}
        return await idle.measure(ours | infra_pids(), seconds, settle)
    except Exception:
        traceback.print_exc()
        return {}


def listening(port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port}")
        time.sleep(0.1)


def pid(service: Service) -> int:
    assert service.process is not None
    return service.process.pid


def commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


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


def write(report: dict[str, Any], path: Path) -> None:
    from bench.report import render

    # The measurements first, so a fault in the rendering does not cost the run.
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "report.json").write_text(json.dumps(report, default=vars))
    path.parent.mkdir(exist_ok=True)
    path.write_text(render(report))
    print(path.read_text())


def rerender() -> None:
    """`python -m bench.run --render`: the report again from the last run's measurements, after
    a fix to the rendering (the numbers are the run's; nothing is measured)."""
    report = json.loads((WORK / "report.json").read_text())

    def run(d: dict[str, Any]) -> Run:
        return Run(**{**d, "codes": {int(k): v for k, v in d["codes"].items()}})

    report["generator"] = run(report["generator"])
    found = report["ingest"]
    found["bare"] = [run(d) for d in found["bare"]]
    found["whole"] = {int(k): [run(d) for d in v] for k, v in found["whole"].items()}
    alone = report["alone"]
    alone["bare"], alone["install"] = (
        [run(d) for d in alone["bare"]],
        [run(d) for d in alone["install"]],
    )
    report["cost"]["run"] = run(report["cost"]["run"])
    smoke = report["smoke"]
    write(report, ROOT / ("docs/benchmarks-smoke.md" if smoke else "docs/benchmarks.md"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--render"]:
        rerender()
    else:
        asyncio.run(main())
