"""e-conomic's fair use, as the README and contracts E23 tell an operator (issue 22, item 3): how
the budget and the broker behave when e-conomic slows or refuses without a 429, and the metrics
that show it, named as the broker registers them."""

import re
from pathlib import Path

from kobling_econ_auth import broker

ROOT = Path(__file__).resolve().parents[2]


def broker_metrics() -> set[str]:
    """The broker's Prometheus metric names (a Counter's samples add `_total`)."""
    names = set()
    for collector in (broker.USES, broker.LATENCY):
        (metric,) = collector.describe()
        names.add(metric.name + ("_total" if metric.type == "counter" else ""))
    return names


def test_the_readme_says_what_happens_without_a_429_and_what_an_operator_sees() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fair_use = readme.split("**When e-conomic slows or refuses without a 429.**", 1)[1]
    fair_use = fair_use.split("\n\n", 1)[0]
    for said in (
        "50,000",
        "ECONOMIC_DAILY_BUDGET",
        "ECONOMIC_BROKER_SCOPES",
        "504",
        "Idempotency-Key",
    ):
        assert said in fair_use
    assert broker_metrics() <= set(re.findall(r"`(kobling_[a-z_]+)", fair_use))


def test_contracts_e23_says_the_same() -> None:
    contracts = (ROOT / "docs" / "external-contracts.md").read_text(encoding="utf-8")
    (row,) = [line for line in contracts.splitlines() if line.startswith("| E23 |")]
    assert "without answering 429" in row and "ECONOMIC_BROKER_DEADLINE_SECONDS" in row
    assert all(name in row for name in broker_metrics())
