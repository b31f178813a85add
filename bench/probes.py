"""The tail alone: the stack started as `make bench` starts it, then only its probes, printed.
For chasing one stage without the whole 25-minute run; the report's numbers come from `make bench`.

    make infra && uv run python -m bench.probes --webhooks 500 --connects 0
    make infra && uv run python -m bench.probes --webhooks 0 --connects 200 --rounds 3

Connect probes run in `--rounds` rounds, each printed with the journey's and the callback's
percentiles and the CPU each process spent per journey (which the machine's noise moves less
than the times): for an A/B of a change, run the two versions in turn, several times.
"""

import argparse
import asyncio
import json
from typing import Any

import httpx

from bench.stack import WORK, CpuMeter, infra_pids, start_stack
from bench.tail import (
    connect_probe,
    percentiles,
    webhook_probes,
    webhook_report,
)
from kobling_devkit.stack import SERVICES, stop_all

WARMUP = 5


async def connects(http: httpx.AsyncClient, count: int, pids: dict[str, int]) -> dict[str, Any]:
    """One round of connect probes, one at a time, after a few unmeasured ones (the first
    requests pay for imports and connections)."""
    for _ in range(WARMUP):
        await connect_probe(http)
    meter = CpuMeter(pids).start()
    probes = [await connect_probe(http) for _ in range(count)]
    cpu = meter.stop()
    return {
        "total": percentiles([c.total_ms for c in probes]),
        "callback": percentiles([c.callback_ms for c in probes]),
        "cpu_ms_per_journey": {name: round(used / count * 1000, 1) for name, used in cpu.items()},
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--connects", type=int, default=0, help="connect probes a round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of connect probes")
    opts = parser.parse_args()
    services = [SERVICES[name] for name in ("install", "econ-auth", "status", "sandbox")]
    try:
        start_stack()
        pids = {s.name: s.process.pid for s in services[:3] if s.process} | infra_pids()
        found: dict[str, object] = {}
        async with httpx.AsyncClient(timeout=30) as http:
            if opts.webhooks:
                probes, busy = await webhook_probes(http, opts.webhooks, pids)
                found["webhook"] = webhook_report(probes, busy)
                WORK.mkdir(parents=True, exist_ok=True)  # every probe, for a closer look
                (WORK / "probes.json").write_text(json.dumps([vars(p) for p in probes]))
            if opts.connects:
                rounds = [await connects(http, opts.connects, pids) for _ in range(opts.rounds)]
                found["connect"] = rounds
                found["callback_p50_by_round"] = [r["callback"]["p50"] for r in rounds]
        print(json.dumps(found, indent=1))
    finally:
        stop_all(services)


if __name__ == "__main__":
    asyncio.run(main())
