"""The broker's row: e-conomic's `/self` called directly (as a service holding the grant would)
and through econ-auth's broker, side by side on the same merchant and sandbox, in one run."""

import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx

SANDBOX_SELF = "http://127.0.0.1:8010/economic/api/self"
BROKER = "http://127.0.0.1:8002/internal/economic"
ECON_AUTH_METRICS = "http://127.0.0.1:8002/metrics"
WORKERS = 8


async def _timed(call: Any) -> float:
    started = time.perf_counter()
    response = await call()
    assert response.status_code == 200, response.text
    return (time.perf_counter() - started) * 1000


async def _side(calls: int, call: Any) -> dict[str, float]:
    """Latency of `calls` one at a time, then calls/s with WORKERS at once."""
    latencies = [await _timed(call) for _ in range(calls)]
    started = time.perf_counter()
    left = [calls]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            await _timed(call)

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "rate": calls / (time.perf_counter() - started),
    }


async def broker_vs_direct(
    http: httpx.AsyncClient,
    account: str,
    grant_token: str,
    app_secret: str,
    broker_token: str,
    calls: int,
) -> dict[str, dict[str, float]]:
    """Both sides on the same merchant; the broker's side also says how much of econ-auth's CPU
    one call took (its process_cpu_seconds_total over the side's calls)."""
    headers = {"X-AppSecretToken": app_secret, "X-AgreementGrantToken": grant_token}
    request = {"account_id": account, "livemode": False, "method": "GET", "path": "/self"}
    auth = {"Authorization": f"Bearer {broker_token}"}

    async def direct() -> httpx.Response:
        return await http.get(SANDBOX_SELF, headers=headers)

    async def brokered() -> httpx.Response:
        response = await http.post(BROKER, json=request, headers=auth)
        assert response.json()["status"] == 200, response.text
        return response

    direct_side = await _side(calls, direct)
    cpu_before = await _cpu_seconds(http)
    broker_side = await _side(calls, brokered)
    cpu_ms = (await _cpu_seconds(http) - cpu_before) * 1000 / (2 * calls)
    return {"direct": direct_side, "broker": {**broker_side, "cpu_ms": cpu_ms}}


async def _cpu_seconds(http: httpx.AsyncClient) -> float:
    metrics = (await http.get(ECON_AUTH_METRICS)).text
    for line in metrics.splitlines():
        if line.startswith("process_cpu_seconds_total "):
            return float(line.split()[1])
    raise AssertionError("econ-auth's /metrics has no process_cpu_seconds_total")


def lines(row: dict[str, dict[str, float]]) -> list[str]:
    direct, broker = row["direct"], row["broker"]
    cpu = (
        f" econ-auth spent {broker['cpu_ms']:.1f} ms of CPU on each call."
        if "cpu_ms" in broker
        else ""
    )
    return [
        "",
        "## e-conomic through the broker: `GET /self` direct and through econ-auth",
        "",
        "| path | p50 ms | p99 ms | calls/s (8 at once) |",
        "| --- | --- | --- | --- |",
        *(
            f"| {name} | {r['p50']:.1f} | {r['p99']:.1f} | {r['rate']:.0f} |"
            for name, r in (("direct to the sandbox", direct), ("through the broker", broker))
        ),
        "",
        f"The broker adds {broker['p50'] - direct['p50']:.1f} ms at the median "
        f"({broker['p50'] / direct['p50']:.1f} times the direct call's) and serves "
        f"{broker['rate'] / direct['rate']:.0%} of its calls a second with 8 at once.{cpu} "
        "A call through it checks the caller's token, reads the connection, opens the sealed "
        "grant while it records the use in the database, takes one budget ticket, and publishes "
        "the audit event with acks=all before it answers.",
    ]


async def _measure(rounds: int, calls: int) -> list[dict[str, dict[str, float]]]:
    """Installs and connects one merchant through the sandbox, then measures `rounds` times."""
    from kobling_devkit import merchant
    from kobling_shared.settings import DEV_SECRETS

    account = "acct_bench" + uuid.uuid4().hex[:12]
    caller_token = DEV_SECRETS["economic_broker_tokens"].split(",")[0].split(":", 1)[1]
    async with httpx.AsyncClient(timeout=30) as http:
        await merchant.install(http, account)
        grant = await merchant.connected(http, account)
        secret = DEV_SECRETS["economic_app_secret_token"]
        # The first calls warm both paths (connections, caches) and are not reported.
        await broker_vs_direct(http, account, grant.token, secret, caller_token, 20)
        return [
            await broker_vs_direct(http, account, grant.token, secret, caller_token, calls)
            for _ in range(rounds)
        ]


def main() -> None:
    """`uv run python -m bench.broker`: the broker's row alone, on the Kafka and database that
    KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL name (`make infra`'s by default), with the services
    and the sandbox started here with the development settings."""
    import argparse
    import json
    import os

    from kobling_devkit.stack import SERVICES, running

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    opts = parser.parse_args()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "MONGODB_URL": os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017"),
    }
    with running(list(SERVICES.values()), env):
        rows = asyncio.run(_measure(opts.rounds, opts.calls))
    for row in rows:
        print("\n".join(lines(row)))
    print(f"\n{len(rows)} rounds of {opts.calls} calls each way: median (lowest-highest)")
    for side in ("direct", "broker"):
        for metric in rows[0][side]:
            values = sorted(row[side][metric] for row in rows)
            spread = f"{statistics.median(values):.1f} ({values[0]:.1f}-{values[-1]:.1f})"
            print(f"  {side:6} {metric:6} {spread}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
