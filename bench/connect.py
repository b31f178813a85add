"""`python -m bench.connect`: the connect journey alone (e-conomic's callback → the merchant's page
showing "Connected"), the same probe `make bench` runs (bench.tail.connect_probe), repeated in
rounds so a change to the callback can be measured in minutes, A/B interleaved, on a noisy machine.

Starts install, econ-auth, status and the sandbox as `make bench` does, against the Kafka and
FerretDB already running (`make infra`); prints each round's p50/p95/max of the whole journey and
of the callback alone, and the CPU each process spent per callback.
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import ENV, CpuMeter, infra_pids  # noqa: E402
from bench.tail import connect_probe, percentiles  # noqa: E402
from tests.stack import SERVICES, running  # noqa: E402

WARMUP = 5  # probes before the first round: first requests pay imports, connections, JIT caches


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


async def rounds(count: int, probes: int, pids: dict[str, int]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(WARMUP):
            await connect_probe(http)
        medians = []
        for round_ in range(1, count + 1):
            meter = CpuMeter(pids).start()
            found = [await connect_probe(http) for _ in range(probes)]
            cpu = meter.stop()
            total = percentiles([p.total_ms for p in found])
            callback = percentiles([p.callback_ms for p in found])
            medians.append(callback["p50"])
            per = " ".join(f"{name} {used / probes * 1000:.1f}" for name, used in cpu.items())
            print(
                f"round {round_}: n={probes} total p50 {_ms(total['p50'])} p95 {_ms(total['p95'])}"
                f" max {_ms(total['max'])} | callback p50 {_ms(callback['p50'])}"
                f" p95 {_ms(callback['p95'])} max {_ms(callback['max'])} ms"
                f" | CPU ms per journey: {per}",
                flush=True,
            )
        if count > 1:
            print(f"callback p50 over rounds: {min(medians):.1f}-{max(medians):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=100, help="probes per round")
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    services = [SERVICES[name] for name in ("install", "econ-auth", "status", "sandbox")]
    started = time.perf_counter()
    # The sandbox is a development tool and refuses production; it shares the secrets.
    with running(services[:3], ENV), running(services[3:], {**ENV, "KOBLING_ENV": "development"}):
        pids = {s.name: s.process.pid for s in services if s.process} | infra_pids()
        asyncio.run(rounds(opts.rounds, opts.probes, pids))
    print(f"({time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
