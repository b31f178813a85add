"""The wave of 401s that points at our own app secret, not at the grants (issue 11, item 3)."""

from datetime import UTC, datetime, timedelta

from kobling_econ_auth import connection as domain
from kobling_econ_auth.rejections import RejectionWave

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_one_merchant_removing_the_app_is_no_wave() -> None:
    wave = RejectionWave()
    for i in range(19):
        assert wave.record(at(i), rejected=False, grant=f"ok{i}") is None
    assert wave.record(at(20), rejected=True, grant="gone") is None
    assert not wave.in_wave


def test_most_answers_refused_at_once_begin_a_wave_and_accepted_ones_end_it() -> None:
    wave = RejectionWave(min_answers=5, share=0.5, recent=20)
    changes = [wave.record(at(i), rejected=True, grant=f"r{i}") for i in range(5)]
    assert changes == [None, None, None, None, "began"] and wave.in_wave
    # e-conomic accepts grants again (the secret was fixed): the wave ends once most are fine.
    changes = [wave.record(at(10 + i), rejected=False, grant=f"ok{i}") for i in range(5)]
    assert changes == [None, None, None, None, "ended"] and not wave.in_wave


def test_too_few_answers_are_no_wave() -> None:
    wave = RejectionWave(min_answers=5)
    for i in range(4):
        wave.record(at(i), rejected=True, grant=f"r{i}")
    assert not wave.in_wave


def test_a_wave_ends_when_its_answers_grow_old() -> None:
    wave = RejectionWave(window=timedelta(minutes=10), min_answers=3)
    for i in range(3):
        wave.record(at(i), rejected=True, grant=f"r{i}")
    assert wave.in_wave
    assert wave.settle(at(600)) is None and wave.in_wave
    assert wave.settle(at(600.5)) == "ended" and not wave.in_wave


def test_only_the_most_recent_answers_count() -> None:
    wave = RejectionWave(recent=4, min_answers=4)
    for i in range(10):
        wave.record(at(i), rejected=False, grant=f"ok{i}")
    for i in range(3):
        wave.record(at(20 + i), rejected=True, grant=f"r{i}")
    assert wave.in_wave  # 3 of the last 4


def test_one_grant_refused_again_and_again_is_one_merchant_not_a_wave() -> None:
    """The broker's three revocation strikes on one revoked grant, on a quiet day with only two
    other grants heard: counted per answer that was 3 refusals of 5, a wave, and the revocation
    was withheld (seen in test_broker's revoked-grant test once browsers stopped feeding it)."""
    wave = RejectionWave(min_answers=5)
    wave.record(at(0), rejected=False, grant="a")
    wave.record(at(1), rejected=False, grant="b")
    for i in range(5):
        wave.record(at(2 + i), rejected=True, grant="revoked")
    assert not wave.in_wave


def test_a_grant_accepted_again_replaces_its_refusal() -> None:
    wave = RejectionWave(min_answers=3)
    for name in ("a", "b", "c"):
        wave.record(at(0), rejected=True, grant=name)
    assert wave.in_wave
    for name in ("a", "b"):
        wave.record(at(1), rejected=False, grant=name)
    assert not wave.in_wave


def test_neither_a_withheld_401_nor_a_403_counts_as_a_strike() -> None:
    conn = domain.new_connection("acct_1", False).model_copy(update={"state": "connected"})
    for result in ("withheld", "forbidden", "unavailable"):
        assert domain.after_check(conn, result, strikes_to_revoke=1) is None
    assert domain.after_check(conn, "revoked", strikes_to_revoke=1) is not None
