"""The tail alone: the stack started as `make bench` starts it, then only its probes, printed.
For chasing one stage without the whole 25-minute run; the report's numbers come from `make bench`.

    make infra && uv run python -m bench.probes --webhooks 500 --connects 0
"""

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import WORK, infra_pids, start_stack  # noqa: E402
from bench.tail import (  # noqa: E402
    connect_probe,
    percentiles,
    webhook_probes,
    webhook_report,
)
from tests.stack import SERVICES, stop_all  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--connects", type=int, default=0)
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
                connects = [await connect_probe(http) for _ in range(opts.connects)]
                found["connect"] = percentiles([c.total_ms for c in connects])
                found["callback_p50"] = statistics.median(c.callback_ms for c in connects)
        print(json.dumps(found, indent=1))
    finally:
        stop_all(services)


if __name__ == "__main__":
    asyncio.run(main())
