"""What each process spends with no traffic at all: the consumers' polling, the services' timers,
Kafka answering them. Issue 27 wants each service under 2% of one core idle.

`python -m bench.idle` measures it alone: the stack started as the bench starts it (sync too, on
a group of its own), left to settle, then measured; on the broker and database the environment
names (`make infra`), which it writes to like the bench."""

import asyncio
import time
from typing import Any

from bench.load import say
from bench.stack import CpuMeter

IDLE_GOAL = 0.02  # of one core, per service
SERVICES = ("install", "econ-auth", "status", "sync")  # the goal's; Kafka and FerretDB are shown
SETTLE_SECONDS = 5.0  # after the last request: a commit, a rebalance, a log flush
SECONDS = 20.0  # measured: /proc counts 10 ms ticks, so 0.05% of a core resolves
ROUNDS = {
    "settled": "the stack up and settled, before any load",
    "end": "at the end, every run drained (sync started)",
}


async def measure(
    pids: dict[str, int], seconds: float = SECONDS, settle: float = SETTLE_SECONDS
) -> dict[str, float]:
    """Share of one core each process used over `seconds` of nothing asked of it."""
    await asyncio.sleep(settle)
    say(f"idle: {seconds:.0f} s with no traffic")
    meter = CpuMeter(pids).start()
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    used = meter.stop()
    elapsed = time.perf_counter() - began
    return {name: cpu / elapsed for name, cpu in used.items()}


def worst(rounds: dict[str, dict[str, float]], names: tuple[str, ...]) -> dict[str, float]:
    """Each of `names`' highest share over the rounds it was measured in."""
    found: dict[str, float] = {}
    for shares in rounds.values():
        for name, share in shares.items():
            if name in names:
                found[name] = max(found.get(name, 0.0), share)
    return found


def goal(rounds: dict[str, dict[str, float]]) -> tuple[str, str, bool | None]:
    """The goals table's row: every service's worst idle round under IDLE_GOAL."""
    name = f"each service < {IDLE_GOAL:.0%} of a core idle"
    found = worst(rounds, SERVICES)
    if not found:
        return name, "not measured", None
    heaviest = max(found, key=lambda service: found[service])
    measured = f"at most {found[heaviest]:.1%} ({heaviest}) of {', '.join(found)}"
    return name, measured, all(share < IDLE_GOAL for share in found.values())


def lines(idle: dict[str, Any]) -> list[str]:
    rounds: dict[str, dict[str, float]] = idle["rounds"]
    seen = {name for shares in rounds.values() for name in shares}
    names = [n for n in (*SERVICES, "kafka", "ferretdb") if n in seen] + sorted(
        seen - {*SERVICES, "kafka", "ferretdb"}
    )
    return [
        "## Idle: share of one core per process",
        "",
        f"No traffic for {idle['seconds']:.0f} s, after {idle.get('settle', SETTLE_SECONDS):.0f} s of quiet: user "
        "plus system CPU of each process, all its threads, from /proc (10 ms ticks).",
        "",
        "| when | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
        *(
            f"| {ROUNDS.get(when, when)} | "
            + " | ".join(f"{shares[n]:.1%}" if n in shares else "—" for n in names)
            + " |"
            for when, shares in rounds.items()
        ),
        "",
    ]


async def main() -> None:
    from bench import sync as sync_rows
    from bench.stack import infra_pids, start_stack
    from kobling_devkit.stack import stop_all

    services = start_stack()
    try:
        services.append(await sync_rows.start_sync())
        pids = {s.name: s.process.pid for s in services if s.process and s.name != "sandbox"}
        shares = await measure(pids | infra_pids())
    finally:
        stop_all(services)
    for name, share in shares.items():
        print(f"{name:10} {share * 100:5.2f}% of a core")


if __name__ == "__main__":
    asyncio.run(main())
