"""The broker's row: e-conomic's `/self` called directly (as a service holding the grant would)
and through econ-auth's broker, side by side on the same merchant and sandbox, in one run."""

import asyncio
import statistics
import time
from typing import Any

import httpx

SANDBOX_SELF = "http://127.0.0.1:8010/economic/api/self"
BROKER = "http://127.0.0.1:8002/internal/economic"
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
    headers = {"X-AppSecretToken": app_secret, "X-AgreementGrantToken": grant_token}
    request = {"account_id": account, "livemode": False, "method": "GET", "path": "/self"}
    auth = {"Authorization": f"Bearer {broker_token}"}

    async def direct() -> httpx.Response:
        return await http.get(SANDBOX_SELF, headers=headers)

    async def brokered() -> httpx.Response:
        response = await http.post(BROKER, json=request, headers=auth)
        assert response.json()["status"] == 200, response.text
        return response

    return {"direct": await _side(calls, direct), "broker": await _side(calls, brokered)}


def lines(row: dict[str, dict[str, float]]) -> list[str]:
    direct, broker = row["direct"], row["broker"]
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
        f"The broker adds {broker['p50'] - direct['p50']:.1f} ms at the median: the caller's "
        "token, the connection read, opening the sealed grant, one budget ticket (a database "
        "insert), and the audit event published with acks=all before the answer.",
    ]
