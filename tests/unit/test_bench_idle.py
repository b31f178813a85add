"""The bench's idle row: each service's worst round against issue 27's 2% of a core."""

from bench import idle

ROUNDS = {
    "settled": {"install": 0.002, "status": 0.008, "kafka": 0.03},
    "end": {"install": 0.001, "status": 0.012, "sync": 0.004, "kafka": 0.02},
}


def test_the_goal_takes_each_services_worst_round_and_leaves_kafka_out() -> None:
    name, measured, ok = idle.goal(ROUNDS)

    assert name == "each service < 2% of a core idle"
    assert measured == "at most 1.2% (status) of install, status, sync"
    assert ok is True


def test_one_service_over_fails_it() -> None:
    assert idle.goal({"settled": {"install": 0.001, "econ-auth": 0.025}})[2] is False
    assert idle.goal({})[2] is None


def test_the_table_has_a_column_per_process_and_a_row_per_round() -> None:
    table = idle.lines({"seconds": 20.0, "settle": 5.0, "rounds": ROUNDS})

    assert "| when | install | status | sync | kafka |" in table
    assert "| the stack up and settled, before any load | 0.2% | 0.8% | — | 3.0% |" in table
