"""Status reads: the Stripe App view's signed `POST /api/status` and the internal
`GET /v1/accounts/{id}`, against a read model of many accounts, each beside its ceiling.

    make infra && uv run python -m bench.reads [--accounts 100000] [--seconds 10] [--repeats 3]

Standalone, it starts status (production mode, bench/run.py's ENV) and bench/bare.py, installs
`--accounts` accounts straight onto the installs topic and waits until status has applied them.
`make bench` calls `measure` with the stack already running and `lines` for its report.

What is measured, each `repeats` times, interleaved with the bare endpoint of the same shape
(bench/bare.py: reads the body or the bearer header, answers a fixed JSON of the same size, no
database), on the same uvicorn settings:
- flat out (64 workers, closed loop): the rate, compared with the bare endpoint's;
- 500 requests/s offered (the view-open rate docs/scaling.md plans for), open loop: the latency.
The requests go round all the given accounts in a random order (no hot document), each view
request signed as Stripe signs it, the signatures made just before each run (they expire in 300 s).
Beside them, the database alone: FerretDB finding the same documents by `_id`, 64 at once.
"""

import argparse
import asyncio
import base64
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench.load import Run, attack, say, spread, write_targets
from bench.stack import ENV, SECRETS, CpuMeter, infra_pids
from kobling_devkit.paths import ROOT
from kobling_devkit.stripe_signing import new_account, sign, view_payload
from kobling_shared.events import INSTALLS_TOPIC, InstallData, StripeAppInstalled, account_key

WORK = ROOT / ".run" / "bench"
STATUS = "http://127.0.0.1:8003"
BARE = "http://127.0.0.1:8099"
RATE = 500  # views a second: docs/scaling.md's plan
P99_GOAL_MS = 20.0
SHARE_GOAL = 0.5  # of the bare endpoint's flat-out rate
DATABASE = "kobling_status"
ENDPOINTS = {
    "view": "the view's signed `POST /api/status`",
    "internal": "the internal `GET /v1/accounts/{id}?livemode=false`",
}


def view_target(base: str, account: str) -> dict[str, object]:
    body = view_payload({"livemode": False, "action": "status"}, "usr_bench", account)
    header = {
        "Stripe-Signature": [sign(body, SECRETS["STRIPE_APP_SECRET"])],
        "Content-Type": ["application/json"],
    }
    body64 = base64.b64encode(body.encode()).decode()
    return {"method": "POST", "url": f"{base}/api/status", "body": body64, "header": header}


def internal_target(base: str, account: str) -> dict[str, object]:
    header = {"Authorization": [f"Bearer {SECRETS['INTERNAL_API_TOKEN']}"]}
    return {
        "method": "GET",
        "url": f"{base}/v1/accounts/{account}?livemode=false",
        "header": header,
    }


TARGETS: dict[str, Callable[[str, str], dict[str, object]]] = {
    "view": view_target,
    "internal": internal_target,
}


def targets(endpoint: str, base: str, accounts: list[str], count: int) -> Path:
    """`count` requests (at most one per account) over accounts drawn at random from all of them,
    signed now."""
    chosen = random.sample(accounts, min(count, len(accounts)))
    make = TARGETS[endpoint]
    name = f"reads-{endpoint}-{'bare' if base == BARE else 'status'}.jsonl"
    return write_targets(WORK / name, [make(base, account) for account in chosen])


def summary(run: Run) -> dict[str, Any]:
    """What the report needs of one run (the latencies themselves stay out: 100,000s of them)."""
    return {
        "offered": run.offered,
        "seconds": run.seconds,
        "achieved": run.achieved,
        "requests": len(run.latencies_ms),
        "non_2xx": run.errors,
        "no_answer": run.client_errors,
        "p50": run.pct(50),
        "p99": run.pct(99),
        "max": run.max_ms,
        "behind_ms": run.behind_ms,
    }


def listener(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:`port`, if this namespace shows it."""
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else None


def one(endpoint: str, side: str, accounts: list[str], rate: int, seconds: float) -> dict[str, Any]:
    """One run; with it the CPU each process spent per request answered, which the machine's
    other load moves less than it moves a rate (time on a core, not time waited for one)."""
    base = BARE if side == "bare" else STATUS
    # Flat out, 64 workers send as fast as answered: ~8,000/s at most on this machine.
    count = int((rate or 8000) * seconds * 1.2) + 10
    path = targets(endpoint, base, accounts, count)
    label = f"reads: {endpoint} {side} at {rate or 'flat out'}/s"
    server = listener(int(base.rsplit(":", 1)[1]))
    pids = {"server": server} if server else {}
    database = infra_pids().get("ferretdb")
    if side == "status" and database:
        pids["database"] = database
    before = memory_reads() if side == "status" else {}
    meter = CpuMeter(pids).start()
    run = attack(label, path, rate, seconds)
    answered = max(1, len(run.latencies_ms))
    found = summary(run)
    found["cpu_us"] = {name: used * 1e6 / answered for name, used in meter.stop().items()}
    if side == "status":
        after = memory_reads()
        found["reads"] = {where: after.get(where, 0) - n for where, n in before.items()}
    return found


def memory_reads() -> dict[str, float]:
    """status's account reads so far, by where it answered them: memory or the database
    (kobling_status.read_cache's counter, from its /metrics)."""
    text = httpx.get(f"{STATUS}/metrics", timeout=10).text
    found = dict.fromkeys(("memory", "database"), 0.0)
    for where, count in re.findall(
        r'^kobling_status_cache_reads_total\{found="(\w+)"\} (\S+)$', text, re.M
    ):
        found[where] = float(count)
    return found


def from_memory(runs: list[dict[str, Any]]) -> str:
    """The share of status's reads in `runs` answered from memory."""
    memory = sum(r.get("reads", {}).get("memory", 0) for r in runs)
    total = memory + sum(r.get("reads", {}).get("database", 0) for r in runs)
    return f"{memory / total:.0%}" if total else "—"


async def database_alone(accounts: list[str], seconds: float) -> dict[str, float]:
    """FerretDB answering the same find by `_id`, 64 at once, from one Python client: the
    database's side of every read (it is an upper bound: the client's own cost is in it)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ENV["MONGODB_URL"])
    accounts_col = client[DATABASE]["accounts"]
    keys = [account_key(a, False) for a in accounts]
    done, found = 0, 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, found
        while time.perf_counter() < deadline:
            doc = await accounts_col.find_one({"_id": random.choice(keys)})
            done += 1
            found += doc is not None

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(64)))
    finally:
        await client.close()
    elapsed = time.perf_counter() - started
    return {"rate": done / elapsed, "found": found, "finds": done}


async def measure(accounts: list[str], seconds: float, repeats: int) -> dict[str, Any]:
    """Both endpoints flat out and at 500/s, `repeats` times, each run next to the bare
    endpoint's of the same shape (which one goes first alternates), and the database alone.
    `accounts`: test-mode accounts already in status's read model."""
    runs: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {
        endpoint: {str(rate): {"status": [], "bare": []} for rate in (0, RATE)}
        for endpoint in ENDPOINTS
    }
    database = []
    for repeat in range(repeats):
        sides = ("bare", "status") if repeat % 2 == 0 else ("status", "bare")
        for endpoint in ENDPOINTS:
            for rate in (0, RATE):
                for side in sides:
                    runs[endpoint][str(rate)][side].append(
                        await asyncio.to_thread(one, endpoint, side, accounts, rate, seconds)
                    )
        say("reads: the database alone, find by _id")
        database.append(await database_alone(accounts, seconds))
    return {
        "accounts": len(accounts),
        "seconds": seconds,
        "repeats": repeats,
        "runs": runs,
        "database": database,
    }


def _spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    return spread(values, fmt)


def _ms(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if len(known) < len(values):
        return "too few samples"
    return _spread(known, "{:.1f}")


def _cpu_of(runs: list[dict[str, Any]], process: str) -> float:
    return statistics.median(r["cpu_us"].get(process, 0.0) for r in runs)


def _cpu(runs: list[dict[str, Any]]) -> str:
    server, database = _cpu_of(runs, "server"), _cpu_of(runs, "database")
    return f"{server:,.0f} + {database:,.0f}" if database else f"{server:,.0f}"


def bounds(result: dict[str, Any]) -> list[str]:
    """The arithmetic of the CPU bound: on cores the server, the database and the generator
    share, a rate is about the cores over the CPU a request takes, so the share of the bare rate
    the reads can reach is about the bare endpoint's CPU a request over the reads' (server +
    database). The generator's own CPU a request, the same on both sides, is left out of both:
    with it the bound is somewhat higher."""
    out = []
    for endpoint in ENDPOINTS:
        flat = result["runs"][endpoint]["0"]
        bare = _cpu_of(flat["bare"], "server")
        server, database = _cpu_of(flat["status"], "server"), _cpu_of(flat["status"], "database")
        if not (bare and server):
            continue
        out.append(
            f"- {endpoint}: status {server:,.0f} µs + the database {database:,.0f} µs of CPU a "
            f"request against the bare endpoint's {bare:,.0f} µs: CPU alone caps the share at "
            f"about {bare:,.0f} / {server + database:,.0f} = {bare / (server + database):.0%} "
            f"(status alone, with a free database: {bare / server:.0%})."
        )
    return out


def verdicts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per endpoint: its share of the bare rate and its p99 at 500/s (medians of the repeats),
    and whether each goal is met. A run at 500/s with any failed request or falling short of the
    offered rate by more than 2% does not meet the latency goal whatever its p99."""
    found = {}
    for endpoint in ENDPOINTS:
        flat = result["runs"][endpoint]["0"]
        paced = result["runs"][endpoint][str(RATE)]["status"]
        bare = statistics.median(r["achieved"] for r in flat["bare"])
        share = statistics.median(r["achieved"] for r in flat["status"]) / bare if bare else 0.0
        p99s = [r["p99"] for r in paced]
        p99 = statistics.median(p99s) if None not in p99s else None
        clean = all(r["non_2xx"] == 0 and r["achieved"] >= 0.98 * RATE for r in paced)
        found[endpoint] = {
            "share": share,
            "share_met": share >= SHARE_GOAL,
            "p99": p99,
            "p99_met": p99 is not None and p99 < P99_GOAL_MS and clean,
            "clean": clean,
        }
    return found


def lines(result: dict[str, Any]) -> list[str]:
    """The report's section: each endpoint beside its bare ceiling, and the verdicts."""
    out = [
        "## Status reads",
        "",
        f"A read model of {result['accounts']:,} accounts; requests drawn at random from all of "
        f"them, view requests signed as Stripe signs them. Each run {result['seconds']:g} s, "
        f"{result['repeats']} repeats interleaved with the bare endpoint of the same shape "
        "(bench/bare.py: same body or bearer header read, a fixed JSON of the same size, no "
        "database). Median of the repeats, min to max in brackets. Flat out: 64 workers, closed "
        f"loop; at {RATE}/s: open loop (`bench/load.py`).",
        "",
        "| endpoint | flat out, req/s | share of bare | "
        f"at {RATE}/s: achieved | p50 ms | p99 ms | max ms | non-2xx | generator behind, ms | "
        "CPU µs a request, flat out: server + database | answered from memory |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    found = verdicts(result)
    for endpoint, name in ENDPOINTS.items():
        for side in ("status", "bare"):
            flat = result["runs"][endpoint]["0"][side]
            paced = result["runs"][endpoint][str(RATE)][side]
            share = f"{found[endpoint]['share']:.0%}" if side == "status" else "100%"
            label = name if side == "status" else f"bare endpoint, same shape ({endpoint})"
            out.append(
                f"| {label} | {_spread([r['achieved'] for r in flat])} | {share} | "
                f"{_spread([r['achieved'] for r in paced])} | {_ms([r['p50'] for r in paced])} | "
                f"{_ms([r['p99'] for r in paced])} | {_spread([r['max'] for r in paced], '{:.1f}')} | "
                f"{sum(r['non_2xx'] for r in flat + paced)} | "
                f"{_spread([r['behind_ms'] for r in paced], '{:.1f}')} | {_cpu(flat)} | "
                f"{from_memory(flat + paced) if side == 'status' else '—'} |"
            )
    out += ["", *bounds(result)]
    database = result.get("database") or []
    if database:
        out += [
            "",
            "The database alone, the same find by `_id` (64 at once, one Python client): "
            f"{_spread([d['rate'] for d in database])} finds/s.",
        ]
    out += ["", "| goal | endpoint | measured | met? |", "| --- | --- | --- | --- |"]
    for endpoint in ENDPOINTS:
        v = found[endpoint]
        p99 = "too few samples" if v["p99"] is None else f"{v['p99']:.1f} ms"
        if not v["clean"]:
            p99 += " (some requests failed or the rate fell short)"
        out.append(
            f"| ≥ {SHARE_GOAL:.0%} of the bare endpoint's rate | {endpoint} | "
            f"{v['share']:.0%} | {'yes' if v['share_met'] else 'no'} |"
        )
        out.append(
            f"| p99 < {P99_GOAL_MS:g} ms at {RATE}/s | {endpoint} | {p99} | "
            f"{'yes' if v['p99_met'] else 'no'} |"
        )
    return out


async def seed(n: int) -> list[str]:
    """Installs `n` new test-mode accounts by producing their events straight onto the installs
    topic (as install would), and waits until status's read model holds every one."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ENV["MONGODB_URL"])
    accounts_col = client[DATABASE]["accounts"]
    before = await accounts_col.estimated_document_count()
    producer = AIOKafkaProducer(
        bootstrap_servers=ENV["KAFKA_BOOTSTRAP_SERVERS"],
        linger_ms=20,
        acks="all",
        enable_idempotence=True,
    )
    accounts = [new_account() for _ in range(n)]
    say(f"reads: producing {n:,} installs")
    await producer.start()
    try:
        for i in range(0, n, 2000):
            sends = []
            for account in accounts[i : i + 2000]:
                event = StripeAppInstalled(
                    source="bench", subject=account, livemode=False, data=InstallData(via="webhook")
                )
                sends.append(
                    await producer.send(
                        INSTALLS_TOPIC, event.model_dump_json().encode(), key=account.encode()
                    )
                )
            await asyncio.gather(*sends)
    finally:
        await producer.stop()
    say("reads: waiting for status to apply them")
    # FerretDB scans a collection for any filter but `_id` alone: the estimated count (SQLite's
    # row count) to wait, then finds by `_id` to check.
    deadline = time.monotonic() + max(600, n / 50)
    while (count := await accounts_col.estimated_document_count()) < before + n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"status applied {count - before} of {n} installs")
        await asyncio.sleep(2)
    for account in random.sample(accounts, min(n, 200)):
        if await accounts_col.find_one({"_id": account_key(account, False)}, {"_id": 1}) is None:
            raise RuntimeError(f"{account} was produced but is not in the read model")
    await client.close()
    return accounts


async def existing(n: int) -> list[str]:
    """Up to `n` test-mode accounts already in the read model (a standalone run again)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ENV["MONGODB_URL"])
    try:
        docs = await client[DATABASE]["accounts"].find({}, {"_id": 1}).to_list()
    finally:
        await client.close()
    return [d["_id"].removesuffix(":test") for d in docs if d["_id"].endswith(":test")][:n]


async def standalone(count: int, seconds: float, repeats: int, reuse: bool) -> dict[str, Any]:
    from kobling_devkit.stack import SERVICES, start, stop_all, wait_ready

    status = SERVICES["status"]
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench/bare.py")])
    try:
        start(status, ENV)
        wait_ready(status)
        accounts = await existing(count) if reuse else []
        if len(accounts) < count:
            accounts += await seed(count - len(accounts))
        return await measure(accounts, seconds, repeats)
    finally:
        stop_all([status])
        bare.terminate()
        bare.wait()


def main() -> None:
    global RATE
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="take accounts already in the read model first"
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=RATE,
        help="the paced runs' rate: lower than the goal's on a machine too loaded to serve it",
    )
    opts = parser.parse_args()
    RATE = opts.rate  # every run and the report read it at call time
    result = asyncio.run(standalone(opts.accounts, opts.seconds, opts.repeats, opts.reuse))
    print("\n".join(lines(result)))


if __name__ == "__main__":
    main()
