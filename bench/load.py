"""Load for the benchmark: vegeta at a constant offered rate, open loop, and what one run measured.

Open loop: vegeta may start as many workers as it needs (no `-max-workers`), so a slow answer
never delays the next request and the latencies include any queueing the server causes. Each
result's send time is kept, so a run says when the generator itself fell behind its schedule
(the one way an open-loop latency can still be understated). Flat out (rate 0) is the one closed
loop: a fixed number of workers, each sending again when answered; it gives a ceiling rate,
and its latencies are reported as such.
"""

import json
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kobling_devkit.paths import ROOT

FLAT_OUT_WORKERS = 64


def say(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", flush=True)


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """The median of a run's repeats, and their range when there are several."""
    if not values:
        return "—"
    middle = fmt.format(statistics.median(values))
    if len(values) == 1:
        return middle
    return f"{middle} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def enough_for(p: float, n: int) -> bool:
    """A percentile is reported only with at least 10 samples above it: p99 needs 1,000; below
    that, the "p99" of a run is one of its few slowest requests, a maximum in disguise."""
    return n * (100 - p) / 100 >= 10


@dataclass
class Run:
    name: str
    offered: float  # requests a second asked for; 0 = flat out (closed loop)
    seconds: float
    latencies_ms: list[float]
    codes: dict[int, int]
    acknowledged: list[str] = field(default_factory=list)  # labels of the targets answered 2xx
    behind_ms: float = 0.0  # the generator's worst lag behind its send schedule
    failures: dict[str, int] = field(default_factory=dict)  # vegeta's error text → how many

    @property
    def achieved(self) -> float:
        return self.ok / self.seconds

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.codes.items() if 200 <= code < 300)

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.codes.items() if not 200 <= code < 300)

    @property
    def client_errors(self) -> int:
        """Requests that got no answer at all (vegeta's code 0: connect refused, reset, timeout)."""
        return self.codes.get(0, 0)

    def pct(self, p: float) -> float | None:
        ordered = sorted(self.latencies_ms)
        if not ordered or not enough_for(p, len(ordered)):
            return None
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)


def vegeta_bin() -> Path:
    out = subprocess.run([str(ROOT / "bench/tools.sh")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def write_targets(path: Path, targets: Sequence[Mapping[str, object]]) -> Path:
    """Vegeta's JSON target format; each target's body already base64."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for target in targets:
            out.write(json.dumps(target) + "\n")
    return path


def attack(
    name: str, targets: Path, rate: int, seconds: float, labels: list[str] | None = None
) -> Run:
    """Offers `rate` requests a second for `seconds` (0: flat out), the targets in turn; `labels`
    name the targets (an event id each), so the run says which were acknowledged."""
    say(name)
    vegeta = str(vegeta_bin() / "vegeta")
    args = [
        vegeta,
        "attack",
        "-format=json",
        f"-targets={targets}",
        f"-duration={seconds}s",
        f"-rate={rate}",
        "-timeout=10s",
    ]
    if rate == 0:
        args += [f"-max-workers={FLAT_OUT_WORKERS}", f"-workers={FLAT_OUT_WORKERS}"]
    else:
        # Enough to start with that the first second needs no new ones; vegeta adds more when all
        # are busy, so the schedule never waits for an answer.
        args += [f"-workers={max(16, rate // 20)}"]
    raw = subprocess.run(args, check=True, capture_output=True).stdout
    encoded = subprocess.run(
        [vegeta, "encode", "--to=json"], input=raw, check=True, capture_output=True
    ).stdout.decode()
    latencies: list[float] = []
    codes: dict[int, int] = {}
    failures: dict[str, int] = {}
    acked: list[str] = []
    sent: list[tuple[int, int]] = []
    for line in encoded.splitlines():
        result = json.loads(line)
        latencies.append(result["latency"] / 1e6)
        codes[result["code"]] = codes.get(result["code"], 0) + 1
        sent.append((result["seq"], _ns(result["timestamp"])))
        if result.get("error"):
            failures[result["error"]] = failures.get(result["error"], 0) + 1
        if labels and 200 <= result["code"] < 300:
            acked.append(labels[result["seq"] % len(labels)])
    return Run(name, rate, seconds, latencies, codes, acked, _behind(sent, rate), failures)


def _ns(timestamp: str) -> int:
    """RFC 3339 with nanoseconds, as vegeta writes it, to integer nanoseconds since the epoch."""
    from datetime import datetime

    head, _, rest = timestamp.partition(".")
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits) :]
    whole = datetime.fromisoformat(head + (zone if zone != "Z" else "+00:00"))
    return int(whole.timestamp()) * 1_000_000_000 + int(digits.ljust(9, "0")[:9])


def _behind(sent: list[tuple[int, int]], rate: int) -> float:
    """How far the latest request left after its scheduled time (start + seq / rate), in ms."""
    if rate == 0 or not sent:
        return 0.0
    start = min(ns for _, ns in sent)
    return max((ns - start - seq * 1e9 / rate) / 1e6 for seq, ns in sent)
