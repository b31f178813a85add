"""Writes the benchmark's numbers as docs/benchmarks.md, with one plot beside it."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import rebuild
from bench.broker import lines as broker_lines

ROOT = Path(__file__).resolve().parents[1]


def plot(runs: list[Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=90)
    for run in runs:
        ordered = sorted(run.latencies_ms)
        if ordered:
            ax.plot(ordered, [i / len(ordered) for i in range(len(ordered))], label=run.name)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("share of requests at or below")
    ax.set_title("Webhook latency at each offered rate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def render(report: dict[str, Any], summary: Callable[[list[float]], str]) -> str:
    smoke = report["smoke"]
    png = "benchmarks-smoke-latency.png" if smoke else "benchmarks-latency.png"
    plot([r for r in report["runs"][2:]], ROOT / "docs" / png)
    generator, ceiling, *ingest = report["runs"]
    lines = [
        "# Benchmarks" + (" (smoke run: the numbers mean nothing)" if smoke else ""),
        "",
        f"Machine: {report['machine']}. Everything on it at once: Kafka, FerretDB, the three",
        "services (production mode: `KOBLING_ENV=production`, no access log), the sandbox and the",
        "load generator (vegeta). Command: `make bench`.",
        "",
        "## Webhook ingest (signed, verified, deduplicated, acknowledged by Kafka with acks=all)",
        "",
        "| run | offered/s | achieved/s | p50 ms | p95 ms | p99 ms | non-2xx |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in [generator, ceiling, *ingest]:
        offered = run.offered or "flat out"
        lines.append(
            f"| {run.name} | {offered} | {run.achieved:.0f} | {ms(run.pct(50))} | "
            f"{ms(run.pct(95))} | {ms(run.pct(99))} | {run.errors} |"
        )
    flat = ingest[-1]
    lines += [
        "",
        f"Flat out, ours is {flat.achieved / max(ceiling.achieved, 1):.0%} of the bare endpoint's "
        f"rate on the same server settings; the generator alone reaches "
        f"{generator.achieved:.0f}/s, so it is not the bottleneck.",
        f"Every acknowledged webhook is on Kafka: {report['acknowledged']} acknowledged, "
        f"{report['lost']} missing from `{'stripe.app-installs.v1'}`.",
        "",
        f"![latency distribution]({png})",
        "",
        "## End to end: webhook sent → installed in `GET /v1/accounts/{id}`",
        "",
        "| load | p50 ms | p99 ms | probes |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {load} | {summary(values)} |" for load, values in report["e2e"].items()]
    lines += [
        "",
        "## Connect: e-conomic's callback received → the merchant's page shows \"Connected\"",
        "",
        "| p50 ms | p99 ms | probes |",
        "| --- | --- | --- |",
        f"| {summary(report['connect'])} |",
        "",
        "The sandbox's `/self` answers at once, so this is our own cost: the state check, `/self`,",
        "encrypting and storing the grant, publishing, and the page waiting for the projection.",
        "",
        *(broker_lines(report["broker"]) if "broker" in report else []),
        "",
        *rebuild.lines(report["rebuild"]),
    ]
    lines += [
        "",
        "## Memory (resident, MiB)",
        "",
        "| service | at rest | after the heavy load |",
        "| --- | --- | --- |",
    ]
    for name, rest in report["rss_rest"].items():
        lines.append(f"| {name} | {rest:.0f} | {report['rss_loaded'][name]:.0f} |")
    if not smoke:  # what a person found by profiling the run: kept apart, so a re-run keeps it
        lines += ["", (ROOT / "bench" / "analysis.md").read_text().rstrip()]
    return "\n".join(lines) + "\n"
