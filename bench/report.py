"""Writes the benchmark's numbers as docs/benchmarks.md, with one plot beside it.

Everything here is computed from the run's numbers, the verdicts included. What a person found by
profiling lives in docs/benchmarks-analysis.md, dated, and is linked, never pasted in: a rerun
must not put an old explanation beside new numbers.
"""

import statistics
from pathlib import Path
from typing import Any

from bench import idle, reads, rebuild
from bench.broker import lines as broker_lines
from bench.load import Run, spread
from bench.sync import goals as sync_goals
from bench.sync import lines as sync_lines
from bench.tail import STAGES, STATUS_STAGES
from kobling_devkit.paths import ROOT

# The goals of docs/benchmarks.md, as issue 16 set them.
INSTALL_ALONE_SHARE = 0.40
E2E_P99_MS = 50.0
CONNECT_P99_MS = 100.0


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def below(p: dict[str, Any], goal: float) -> bool | None:
    """Whether p99 is under `goal`, also when too few probes give a p99: it is at least the p95
    and at most the maximum, so either can settle it."""
    if p["p99"] is not None:
        return bool(p["p99"] < goal)
    if p["max"] is not None and p["max"] < goal:
        return True
    if p["p95"] is not None and p["p95"] >= goal:
        return False
    return None


def met(ok: bool | str | None) -> str:
    """A goal's verdict; a string is a row with no goal of its own, saying so."""
    if isinstance(ok, str):
        return ok
    return "not measured" if ok is None else ("yes" if ok else "**no**")


def pcts(runs: list[Run], p: float) -> str:
    found = [v for v in (run.pct(p) for run in runs) if v is not None]
    return spread(found, "{:.1f}") if len(found) == len(runs) else "—"


def plot(runs: list[Run], path: Path) -> None:
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
    ax.set_title("Webhook latency at each offered rate (first round)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


BENCH_MINUTES_GOAL = 25  # issue 27


def render(report: dict[str, Any]) -> str:
    smoke = report["smoke"]
    png = "benchmarks-smoke-latency.png" if smoke else "benchmarks-latency.png"
    whole: dict[int, list[Run]] = report["ingest"]["whole"]
    plot([runs[0] for runs in whole.values()], ROOT / "docs" / png)
    alone = report["alone"]
    share = [i.achieved / b.achieved for i, b in zip(alone["install"], alone["bare"], strict=True)]
    e2e, connect = report["e2e"]["light"], report["connect"]["total"]
    views = reads.verdicts(report["reads"])
    goals = [
        *(
            (
                f"{name}: ≥ {reads.SHARE_GOAL:.0%} of the bare endpoint's rate",
                f"{v['share']:.0%} over {report['reads']['accounts']:,} accounts",
                v["share_met"],
            )
            for name, v in views.items()
        ),
        *(
            (
                f"{name}: p99 < {reads.P99_GOAL_MS:.0f} ms at {reads.RATE}/s",
                f"p99 {ms(v['p99'])} ms" + ("" if v["clean"] else ", with failures or short"),
                None if v["p99"] is None else v["p99_met"],
            )
            for name, v in views.items()
        ),
        (
            f"install alone ≥ {INSTALL_ALONE_SHARE:.0%} of the bare endpoint (flat out)",
            f"{spread([s * 100 for s in share])} %",
            statistics.median(share) >= INSTALL_ALONE_SHARE,
        ),
        (
            f"webhook → visible, light load, p99 < {E2E_P99_MS:.0f} ms",
            f"p99 {ms(e2e['p99'])} ms of {e2e['n']} probes",
            None if e2e["p99"] is None else e2e["p99"] < E2E_P99_MS,
        ),
        (
            f'callback → "Connected", p99 < {CONNECT_P99_MS:.0f} ms',
            f"p99 {ms(connect['p99'])}, p95 {ms(connect['p95'])}, max {ms(connect['max'])} ms "
            f"of {connect['n']} probes",
            below(connect, CONNECT_P99_MS),
        ),
        *(sync_goals(report["sync"]) if "sync" in report else []),
        *rebuild.goals(report["rebuild"], report.get("rebuild_mixed")),
        *([idle.goal(report["idle"]["rounds"])] if "idle" in report else []),
        (
            f"`make bench` as run by default, under {BENCH_MINUTES_GOAL} minutes",
            f"{report['minutes']:.1f} minutes"
            + (f" (run with {' '.join(report['args'])})" if report.get("args") else ""),
            None if report.get("args") else report["minutes"] < BENCH_MINUTES_GOAL,
        ),
        (
            "every acknowledged webhook on Kafka and in the read model",
            f"{report['acknowledged']} acknowledged; {report['lost']} not on Kafka, "
            f"{report['unprojected']} not in the read model",
            report["acknowledged"] > 0 and not report["lost"] and not report["unprojected"],
        ),
    ]
    lines = [
        "# Benchmarks" + (" (smoke run: the numbers mean nothing)" if smoke else ""),
        "",
        f"Run {report['started']} on commit `{report['commit']}` with `make bench`, "
        f"{report['minutes']:.0f} minutes; the machine's load average was "
        f"{report['load_before']:.2f} when it started.",
        f"Machine: {report['machine']}. Everything on it at once: Kafka, FerretDB, the three",
        "services (production mode: `KOBLING_ENV=production`, no access log; sync started for",
        "its own rows, last), the sandbox and the load generator (vegeta, open loop: see",
        "`bench/load.py`).",
        "",
        "What bounds these numbers, found by profiling, is in "
        "[benchmarks-analysis.md](benchmarks-analysis.md) (dated; written by a person).",
        "",
        "## Goals",
        "",
        "| goal | measured | met? |",
        "| --- | --- | --- |",
        *(f"| {goal} | {measured} | {met(ok)} |" for goal, measured, ok in goals),
        "",
        *reads.lines(report["reads"]),
        "",
        *ingest_lines(report, png),
        *alone_lines(report, share),
        *e2e_lines(report),
        *(broker_lines(report["broker"]) if "broker" in report else []),
        "",
        *(sync_lines(report["sync"]) if "sync" in report else []),
        *(idle.lines(report["idle"]) if "idle" in report else []),
        *rebuild.lines(report["rebuild"]),
        *rebuild.mixed_lines(report.get("rebuild_mixed")),
        "",
        "## Memory (resident, MiB)",
        "",
        "| service | at rest | after the runs |",
        "| --- | --- | --- |",
        *(
            f"| {name} | {rest:.0f} | {report['rss_loaded'][name]:.0f} |"
            for name, rest in report["rss_rest"].items()
        ),
    ]
    return "\n".join(lines) + "\n"


def ingest_lines(report: dict[str, Any], png: str) -> list[str]:
    generator: Run = report["generator"]
    bare: list[Run] = report["ingest"]["bare"]
    whole: dict[int, list[Run]] = report["ingest"]["whole"]
    rounds = len(bare)
    lines = [
        "## Webhook ingest, the whole stack (signed, verified, deduplicated, acks=all)",
        "",
        f"Each row: {rounds} round(s) of {generator.seconds:.0f} s, interleaved with the bare "
        "endpoint (the same route shape on the same server settings, doing nothing); the median "
        "of the rounds and their range. A percentile is shown only with at least 10 requests "
        'above it. "behind" is how late the generator sent its latest request against its '
        "schedule: open loop, so it stays near zero unless the generator itself was starved.",
        "",
        "| run | offered/s | achieved/s | p50 ms | p99 ms | max ms | non-2xx | behind ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        row("vegeta → sink (the generator)", [generator]),
        row("bare endpoint", bare),
        *(row(f"webhooks at {rate or 'flat out'}/s", runs) for rate, runs in whole.items()),
        "",
    ]
    failures: dict[str, int] = {}
    for runs in whole.values():
        for run in runs:
            for text, n in run.failures.items():
                failures[text] = failures.get(text, 0) + n
    if failures:
        lines += ["Failed requests, by what vegeta saw (all rates, all rounds):", ""]
        ordered = sorted(failures.items(), key=lambda x: -x[1])
        lines += [f"- {n} times: `{text}`" for text, n in ordered]
        lines.append("")
    lines += [f"![latency distribution]({png})", ""]
    return lines


def row(name: str, runs: list[Run]) -> str:
    offered = runs[0].offered or "flat out"
    return (
        f"| {name} | {offered} | {spread([r.achieved for r in runs])} | {pcts(runs, 50)} | "
        f"{pcts(runs, 99)} | {spread([r.max_ms for r in runs], '{:.1f}')} | "
        f"{sum(r.errors for r in runs)} | {spread([r.behind_ms for r in runs], '{:.1f}')} |"
    )


def alone_lines(report: dict[str, Any], share: list[float]) -> list[str]:
    alone, cost = report["alone"], report["cost"]
    lines = [
        "## install alone: the consumers stopped, everything else the same",
        "",
        "Flat out, each round the bare endpoint then install, with Kafka and FerretDB up and "
        "idle consumers gone.",
        "",
        "| round | bare endpoint/s | install/s | install's share |",
        "| --- | --- | --- | --- |",
    ]
    for n, (b, i, s) in enumerate(zip(alone["bare"], alone["install"], share, strict=True), 1):
        lines.append(f"| {n} | {b.achieved:.0f} | {i.achieved:.0f} | {s:.0%} |")
    lines += [
        "",
        "### CPU per webhook (µs, user + system, all threads, from /proc)",
        "",
        "Per acknowledged webhook: install alone flat out (median of the rounds, range), the "
        "bare endpoint beside it, and the whole stack at a rate it keeps up with, counted from "
        "the first webhook until every consumer applied the last.",
        "",
        f"| process | install alone | bare endpoint | whole stack, {cost['run'].offered:.0f}/s |",
        "| --- | --- | --- | --- |",
    ]
    per_install = per_webhook(alone["cpu_install"], alone["install"])
    per_bare = per_webhook(alone["cpu_bare"], alone["bare"])
    whole = per_webhook([cost["cpu"]], [cost["run"]])
    names = ["install", "endpoint", "econ-auth", "status", "kafka", "ferretdb"]
    for name in names:
        cells = [spread(t[name]) if name in t else "—" for t in (per_install, per_bare, whole)]
        if any(c != "—" for c in cells):
            lines.append(f"| {name} | {' | '.join(cells)} |")
    totals = [
        spread([sum(v) for v in zip(*t.values(), strict=True)])
        for t in (per_install, per_bare, whole)
    ]
    lines += [f"| **all** | {' | '.join(totals)} |", ""]
    return lines


def per_webhook(cpu: list[dict[str, float]], runs: list[Run]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for used, run in zip(cpu, runs, strict=True):
        for name, seconds in used.items():
            found.setdefault(name, []).append(seconds * 1e6 / max(run.ok, 1))
    return found


def e2e_lines(report: dict[str, Any]) -> list[str]:
    e2e, stages = report["e2e"], report["e2e"]["stages"]
    light, connect = e2e["light"], report["connect"]
    lines = [
        "## The tail",
        "",
        "Probes one at a time on an otherwise idle stack.",
        "",
        "| path | probes | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- |",
        pct_row("webhook sent → installed in `GET /v1/accounts/{id}`", light),
        pct_row('e-conomic\'s callback → the page shows "Connected"', connect["total"]),
        pct_row(
            "… of which the callback (state, `/self`, grant sealed, stored, published)",
            connect["callback"],
        ),
        pct_row("… of which the page (waits for the projection)", connect["page"]),
        "",
        "Where a webhook probe's time goes, by stage (median ms): accept = sent → the Kafka "
        "record's timestamp; publish = → install's 200; project = → visible in the API. The same "
        "probes split on status's side of the record, by its stamps on the timeline entry (to the "
        "ms): deliver = record timestamp → status's handler has it; apply = → the account "
        "written; show = → visible to the probe's poll.",
        "",
        "| probes | accept | publish | project | deliver | apply | show |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {group} | {' | '.join(f'{stages[group].get(k, 0.0):.1f}' for k in ALL_STAGES)} |"
            for group in ("all", "slowest")
        ),
        "",
    ]
    worst = max(STAGES, key=lambda k: stages["slowest"][k] - stages["all"][k])
    lines += [
        f"The slowest 1% lose most of their extra time in **{worst}** "
        f"({stages['slowest'][worst]:.1f} ms against {stages['all'][worst]:.1f} ms for all).",
        "",
        "Who was busy while the probes waited (share of one core, mean over the probes' "
        "windows, sampled from /proc every 10 ms):",
        "",
        "| probes | " + " | ".join(e2e["busy"]["all"]) + " |",
        "| --- | " + " | ".join("---" for _ in e2e["busy"]["all"]) + " |",
        *(
            f"| {group} | "
            + " | ".join(f"{e2e['busy'][group].get(n, 0.0):.0%}" for n in e2e["busy"]["all"])
            + " |"
            for group in ("all", "slowest")
        ),
        "",
        *kafka_gc_lines(e2e.get("kafka_gc")),
        "The ten slowest probes (total = accept / publish / project; deliver / apply / show, "
        "ms): "
        + "; ".join(
            f"{total:.0f} = {s['accept']:.0f} / {s['publish']:.0f} / {s['project']:.0f}; "
            f"{s.get('deliver', 0):.0f} / {s.get('apply', 0):.0f} / {s.get('show', 0):.0f}"
            for total, s in e2e["slowest"]
        )
        + ".",
        "",
    ]
    return lines


ALL_STAGES = STAGES + STATUS_STAGES


def kafka_gc_lines(gc: dict[str, dict[str, float]] | None) -> list[str]:
    if not gc:
        return []
    return [
        f"Kafka's GC pauses (its `-Xlog:gc`) overlapped {gc['all']['touched']:.0%} of all probes "
        f"({gc['all']['paused_ms']:.1f} ms of pause in a probe on average) and "
        f"{gc['slowest']['touched']:.0%} of the slowest 1% ({gc['slowest']['paused_ms']:.1f} ms).",
        "",
    ]


def pct_row(name: str, p: dict[str, Any]) -> str:
    return (
        f"| {name} | {p['n']} | {ms(p['p50'])} | {ms(p['p95'])} | {ms(p['p99'])} | {ms(p['max'])} |"
    )
