"""The sync rows of `make bench` (issue 24), what is pure in them: each invoice's time from the
sandbox's stamps, the e-conomic calls an invoice spent, "nothing booked twice" against the books,
the computed verdicts and the report's section."""

from typing import Any

from bench.sync import (
    FULL_BACKLOG,
    Paid,
    booked_met,
    exactly_once,
    goals,
    latencies,
    lines,
    spent,
)
from bench.tail import percentiles


def paid(invoice: str, agreement: int = 1, sent: float = 100.0) -> Paid:
    return Paid(invoice, agreement, sent, sent + 0.02, [f"evt_{invoice}"])


def row(booked: int = 1, payments: int = 1, at: float | None = 100.3) -> dict[str, Any]:
    return {
        "booked": booked,
        "payments": payments,
        "booked_at": at,
        "paid_at": None if at is None or not payments else at + 0.1,
    }


def books(**agreements: dict[str, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The sandbox's `landed`, per agreement (`a1=` → agreement 1)."""
    found = {}
    for name, invoices in agreements.items():
        found[int(name[1:])] = {
            "booked": sum(r["booked"] for r in invoices.values()),
            "payments": sum(r["payments"] for r in invoices.values()),
            "unmatched_payments": 0,
            "invoices": invoices,
        }
    return found


def test_each_invoice_is_timed_from_its_pay_call_to_the_sandbox_stamps() -> None:
    sent = [paid("in_1", sent=100.0), paid("in_2", sent=101.0), paid("in_3", sent=102.0)]
    landed = books(a1={"in_1": row(at=100.25), "in_2": row(at=101.5), "in_3": row(0, 0, None)})
    found = latencies(sent, landed)
    assert found["booked"]["n"] == 2 and round(found["booked"]["p50"]) == 375  # (250 + 500) / 2
    assert found["booked"]["max"] == 500.0
    assert [round(found["paid"][k]) for k in ("n", "max")] == [2, 600]
    assert found["missing"] == 1 and found["undelivered"] == 0
    assert round(found["pay_call"]["p50"]) == 20
    assert found["paid"]["p99"] is None  # two invoices give no p99


def test_calls_spent_are_the_differences_by_route() -> None:
    before = {"POST /customers": 1, "POST /invoices/drafts": 4, "GET /accounting-years": 1}
    after = {
        "POST /customers": 1,
        "POST /invoices/drafts": 5,
        "POST /invoices/booked": 5,
        "POST /journals/{journal}/vouchers": 1,
        "GET /accounting-years": 1,
    }
    assert spent(before, after) == {
        "POST /invoices/drafts": 1,
        "POST /invoices/booked": 5,
        "POST /journals/{journal}/vouchers": 1,
    }


def test_every_invoice_booked_once_with_one_payment_is_exactly_once() -> None:
    sent = [paid("in_1"), paid("in_2"), paid("in_3", agreement=2)]
    once = exactly_once(sent, books(a1={"in_1": row(), "in_2": row()}, a2={"in_3": row()}))
    assert once == {
        "agreements": 2,
        "paid": 3,
        "booked": 3,
        "payments": 3,
        "twice": 0,
        "missing": 0,
        "extra": 0,
        "ok": True,
    }


def test_a_second_booking_a_missing_one_or_one_the_bench_never_paid_fails_the_check() -> None:
    sent = [paid("in_1"), paid("in_2")]
    twice = exactly_once(sent, books(a1={"in_1": row(booked=2), "in_2": row()}))
    assert (twice["twice"], twice["ok"]) == (1, False)
    paid_twice = exactly_once(sent, books(a1={"in_1": row(payments=2), "in_2": row()}))
    assert (paid_twice["twice"], paid_twice["ok"]) == (1, False)
    missing = exactly_once(sent, books(a1={"in_1": row(), "in_2": row(payments=0)}))
    assert (missing["missing"], missing["ok"]) == (1, False)
    extra = exactly_once(sent, books(a1={"in_1": row(), "in_2": row(), "in_9": row()}))
    assert (extra["extra"], extra["ok"]) == (1, False)
    stray = books(a1={"in_1": row(), "in_2": row()})
    stray[1]["unmatched_payments"] = 1
    assert exactly_once(sent, stray)["ok"] is False
    assert exactly_once([], {})["ok"] is False  # nothing paid proves nothing


def test_the_booked_verdict_takes_the_p99_or_what_settles_it_without_one() -> None:
    assert booked_met({"p99": 900.0, "p95": 500.0, "max": 1200.0}) is True
    assert booked_met({"p99": 1000.0, "p95": 500.0, "max": 1200.0}) is False
    assert booked_met({"p99": None, "p95": 400.0, "max": 999.0}) is True
    assert booked_met({"p99": None, "p95": 1000.0, "max": 1500.0}) is False
    assert booked_met({"p99": None, "p95": 400.0, "max": 1500.0}) is None
    assert booked_met({"p99": None, "p95": None, "max": None}) is None


def result(per_invoice: list[int] | None = None, size: int = 2_000) -> dict[str, Any]:
    paid_ms = [300.0 + i for i in range(200)]
    return {
        "setup_s": 21.0,
        "minutes": 4.5,
        "light": {
            "rate": 2.0,
            "seconds": 100.0,
            "merchants": 10,
            "invoices": 200,
            "behind_ms": 1.5,
            "pay_call": percentiles([20.0] * 200),
            "booked": percentiles([200.0 + i for i in range(200)]),
            "paid": percentiles(paid_ms),
            "missing": 0,
            "undelivered": 0,
        },
        "calls": {
            "invoices": 3,
            "per_invoice": per_invoice or [3, 3, 3],
            "routes": {"POST /invoices/drafts": 3, "POST /invoices/booked": 3},
        },
        "backlog": {
            "invoices": size,
            "merchants": 100,
            "created_s": 8.0,
            "delivered_s": 6.0,
            "first_booked_s": 0.4,
            "drained_s": 100.0,
            "landed": size,
            "refused_webhooks": 0,
            "cpu_us": {"install": 4000.0, "sync": 9000.0, "kafka": 500.0},
            "status_lag": 0,
        },
        "once": {
            "agreements": 100,
            "paid": size + 223,
            "booked": size + 223,
            "payments": size + 223,
            "twice": 0,
            "missing": 0,
            "extra": 0,
            "ok": True,
        },
    }


def test_the_goals_are_computed_from_the_numbers() -> None:
    met = goals(result())
    assert [ok for _, _, ok in met] == [True, True, True]  # p95 499 ms, max 499 ms: under 1 s
    assert "p99 —, p95 490.0, max 499.0 ms of 200 invoices at 2/s" in met[0][1]
    assert "at most 3 (median 3) over 3 invoices" in met[1][1]
    assert met[2][1].startswith("2,223 paid over 100 agreements: 2,223 booked")
    four = goals(result(per_invoice=[3, 4, 3]))
    assert four[1][2] is False and "at most 4" in four[1][1]
    broken = result()
    broken["once"] |= {"twice": 1, "ok": False}
    assert goals(broken)[2][2] is False
    unbooked = result()
    unbooked["light"]["missing"] = 2
    assert goals(unbooked)[0][2] is None and "2 never booked" in goals(unbooked)[0][1]


def test_rows_that_did_not_run_say_so_and_are_not_measured() -> None:
    failed = {"error": "RuntimeError: acct_x: no connect link"}
    assert [ok for _, _, ok in goals(failed)] == [None, None, None]
    assert any("no connect link" in line for line in lines(failed))


def test_the_section_shows_each_row_and_the_way_to_the_full_backlog() -> None:
    text = "\n".join(lines(result()))
    assert "| pay call → its payment entered (booked with its payment) | 200 | 399.5 |" in text
    assert "| 2,000 | 8.0 | 6.0 | 0.4 | 100.0 | 20.0 | 2,000 | 0 |" in text  # 20 invoices/s
    assert "| sync | 9,000 |" in text and "| **all** | 13,500 |" in text
    assert "`POST /invoices/booked` 3" in text
    assert "3 invoices one at a time" in text and ": 3, 3, 3." in text
    assert "booked or paid that the bench never paid: **yes**" in text
    # 8,000 more at 20/s: about 7 minutes more.
    assert f'BENCH_ARGS="--backlog {FULL_BACKLOG}"` (about 7 minutes more at this rate)' in text
    full = "\n".join(lines(result(size=FULL_BACKLOG)))
    assert "BENCH_ARGS" not in full
