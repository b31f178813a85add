import itertools
from datetime import UTC, datetime, timedelta

from kobling_shared.events import (
    AnyEvent,
    ConnectedData,
    DisconnectedData,
    EconomicConnected,
    EconomicConnectionFailed,
    EconomicDisconnected,
    FailedData,
    InstallData,
    StripeAppInstalled,
    StripeAppUninstalled,
)
from kobling_status.projection import AccountStatus, project

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ACCOUNT = "acct_merge"


def installed(at: int, livemode: bool = False) -> StripeAppInstalled:
    return StripeAppInstalled(
        id=f"evt_i{at}",
        source="test",
        subject=ACCOUNT,
        livemode=livemode,
        time=T0 + timedelta(seconds=at),
        data=InstallData(via="webhook"),
    )


def uninstalled(at: int) -> StripeAppUninstalled:
    return StripeAppUninstalled(
        id=f"evt_u{at}",
        source="test",
        subject=ACCOUNT,
        livemode=False,
        time=T0 + timedelta(seconds=at),
        data=InstallData(via="webhook"),
    )


def connected(seq: int, company: str = "Acme ApS") -> EconomicConnected:
    return EconomicConnected(
        id=f"c{seq}",
        source="test",
        subject=ACCOUNT,
        livemode=False,
        time=T0,
        data=ConnectedData(sequence=seq, agreement_number=100 + seq, company_name=company),
    )


def failed(seq: int) -> EconomicConnectionFailed:
    return EconomicConnectionFailed(
        id=f"f{seq}",
        source="test",
        subject=ACCOUNT,
        livemode=False,
        time=T0,
        data=FailedData(sequence=seq, reason="grant_rejected"),
    )


def disconnected(seq: int) -> EconomicDisconnected:
    return EconomicDisconnected(
        id=f"d{seq}",
        source="test",
        subject=ACCOUNT,
        livemode=False,
        time=T0,
        data=DisconnectedData(sequence=seq, reason="merchant_request"),
    )


def replay(events: list[AnyEvent]) -> AccountStatus | None:
    status = None
    for event in events:
        status = project(status, event) or status
    return status


def stripe_and_economic(status: AccountStatus | None) -> tuple[object, ...]:
    assert status is not None
    return (status.stripe.installed, status.economic.state, status.economic.company_name)


def test_an_install_makes_the_account_installed_and_not_connected() -> None:
    status = replay([installed(0)])
    assert status is not None
    assert status.stripe.installed is True
    assert status.economic.state == "not_connected"


def test_every_order_and_any_duplicates_of_a_history_end_the_same() -> None:
    history: list[AnyEvent] = [
        installed(0),
        connected(1),
        uninstalled(5),
        installed(9),
        disconnected(2),
        connected(3, "Beta A/S"),
    ]
    expected = stripe_and_economic(replay(history))
    assert expected == (True, "connected", "Beta A/S")
    for order in itertools.permutations(history):
        doubled = list(order) + list(order[:3])
        assert stripe_and_economic(replay(doubled)) == expected, order


def test_an_uninstall_seen_before_its_install_still_ends_uninstalled() -> None:
    status = replay([uninstalled(10), installed(0)])
    assert status is not None and status.stripe.installed is False


def test_an_uninstall_in_the_same_second_as_its_install_wins() -> None:
    assert stripe_and_economic(replay([uninstalled(0), installed(0)]))[0] is False
    assert stripe_and_economic(replay([installed(0), uninstalled(0)]))[0] is False


def test_a_duplicate_changes_nothing() -> None:
    first = project(None, installed(0))
    assert first is not None
    assert project(first, installed(0)) is None


def test_an_old_event_does_not_overwrite_a_newer_state() -> None:
    status = replay([connected(1), disconnected(2)])
    assert status is not None
    assert project(status, connected(1)) is None


def test_a_failed_reconnect_keeps_the_standing_connection() -> None:
    assert stripe_and_economic(replay([connected(1), failed(2)])) == (
        False,
        "connected",
        "Acme ApS",
    )


def test_a_failure_without_a_connection_shows_why() -> None:
    status = replay([installed(0), failed(1)])
    assert status is not None
    assert (status.economic.state, status.economic.reason) == ("failed", "grant_rejected")


def test_updated_at_is_the_time_of_the_latest_event() -> None:
    status = replay([installed(9), uninstalled(3)])
    assert status is not None and status.updated_at == T0 + timedelta(seconds=9)
