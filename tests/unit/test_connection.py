import json
from datetime import UTC, datetime, timedelta

from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Agreement, Connection, new_connection
from kobling_shared.events import InstallData, StripeAppInstalled, StripeAppUninstalled, parse_event

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)  # when econ-auth applies an event (its own clock)
ACME = Agreement(agreement_number=123456, company_name="Acme ApS", vat_number="DK12345678")
BETA = Agreement(agreement_number=345678, company_name="Fjord Handel A/S")


def installed(at: int = 0) -> StripeAppInstalled:
    return StripeAppInstalled(
        source="t",
        subject="acct_1",
        livemode=False,
        time=T0 + timedelta(seconds=at),
        data=InstallData(via="webhook"),
    )


def uninstalled(at: int) -> StripeAppUninstalled:
    return StripeAppUninstalled(
        source="t",
        subject="acct_1",
        livemode=False,
        time=T0 + timedelta(seconds=at),
        data=InstallData(via="webhook"),
    )


def connected() -> Connection:
    conn = domain.on_install_event(new_connection("acct_1", False), installed(), NOW)
    assert conn is not None
    return domain.connect(conn, "sealed-grant", ACME, T0)


def types(conn: Connection) -> list[str]:
    return [parse_event(json.dumps(e)).type.split(".")[-2] for e in conn.outbox]


def test_an_install_opens_a_connection_waiting_for_e_conomic() -> None:
    conn = domain.on_install_event(new_connection("acct_1", False), installed(), NOW)
    assert conn is not None and conn.installed and conn.state == "not_connected"
    assert conn.outbox == []


def test_connecting_stores_the_grant_and_owes_an_event_without_it() -> None:
    conn = connected()
    assert (conn.state, conn.grant_ciphertext, conn.sequence) == ("connected", "sealed-grant", 1)
    assert types(conn) == ["connected"]
    assert "sealed-grant" not in str(conn.outbox)
    assert conn.outbox[0]["data"]["company_name"] == "Acme ApS"


def test_reconnecting_to_another_company_replaces_the_grant() -> None:
    conn = domain.connect(connected(), "other-grant", BETA, T0)
    assert conn.grant_ciphertext == "other-grant" and conn.agreement == BETA
    assert types(conn) == ["connected", "connected"]
    assert [e["data"]["sequence"] for e in conn.outbox] == [1, 2]


def test_an_uninstall_forgets_the_grant_and_says_so() -> None:
    conn = domain.on_install_event(connected(), uninstalled(5), NOW)
    assert conn is not None
    assert (conn.installed, conn.state, conn.grant_ciphertext) == (False, "disconnected", None)
    assert conn.outbox[-1]["data"]["reason"] == "app_uninstalled"


def test_an_install_older_than_the_uninstall_changes_nothing() -> None:
    conn = domain.on_install_event(connected(), uninstalled(5), NOW)
    assert conn is not None
    assert domain.on_install_event(conn, installed(1), NOW) is None


def test_disconnecting_without_a_connection_owes_nothing() -> None:
    assert domain.disconnect(new_connection("acct_1", False), "merchant_request") is None


def test_a_failed_reconnect_keeps_the_grant_that_stands() -> None:
    conn = domain.fail(connected(), "grant_rejected")
    assert (conn.state, conn.grant_ciphertext) == ("connected", "sealed-grant")
    assert types(conn) == ["connected", "connection_failed"]


def test_outages_never_count_against_a_grant() -> None:
    conn = connected()
    for _ in range(10):
        assert domain.after_check(conn, "unavailable", strikes_to_revoke=3) is None


def test_only_repeated_rejections_revoke_and_a_valid_answer_resets_them() -> None:
    conn = connected()
    once = domain.after_check(conn, "revoked", 3)
    assert once is not None and once.state == "connected" and once.revocation_strikes == 1
    reset = domain.after_check(once, "valid", 3)
    assert reset is not None and reset.revocation_strikes == 0
    twice = domain.after_check(domain.after_check(reset, "revoked", 3) or reset, "revoked", 3)
    assert twice is not None and twice.state == "connected"
    revoked = domain.after_check(twice, "revoked", 3)
    assert revoked is not None and revoked.state == "disconnected"
    assert revoked.grant_ciphertext is None
    assert revoked.outbox[-1]["data"]["reason"] == "grant_revoked"


def test_checks_stop_when_the_day_s_budget_is_spent() -> None:
    conn = connected()
    for _ in range(3):
        conn = domain.may_check(conn, "2026-11-23", daily_limit=3) or conn
    assert conn.checks_today == 3
    assert domain.may_check(conn, "2026-11-23", daily_limit=3) is None
    tomorrow = domain.may_check(conn, "2026-11-24", daily_limit=3)
    assert tomorrow is not None and tomorrow.checks_today == 1


def test_a_grant_is_checked_once_a_round_whoever_asks() -> None:
    first = domain.may_check(connected(), "2026-11-23", daily_limit=48, round_=7)
    assert first is not None and first.checked_round == 7
    # Another instance holding the same account in round 7 (a rebalance moved it) checks nothing.
    assert domain.may_check(first, "2026-11-23", daily_limit=48, round_=7) is None
    later = domain.may_check(first, "2026-11-23", daily_limit=48, round_=8)
    assert later is not None and later.checks_today == 2


def test_a_shared_agreement_is_announced() -> None:
    conn = domain.agreement_shared(connected(), ["acct_other"])
    assert types(conn) == ["connected", "agreement_shared"]
    assert conn.outbox[-1]["data"]["other_accounts"] == ["acct_other"]


def test_an_uninstall_kills_what_was_minted_before_it_and_only_that() -> None:
    conn = domain.on_install_event(new_connection("acct_1", False), installed(), NOW)
    assert conn is not None and domain.may_start_grant(conn, NOW - timedelta(minutes=5))
    gone = domain.on_install_event(conn, uninstalled(5), NOW)
    assert gone is not None and not domain.may_start_grant(gone, NOW - timedelta(seconds=1))
    back = domain.on_install_event(gone, installed(9), NOW + timedelta(minutes=1))
    assert back is not None
    assert not domain.may_start_grant(back, NOW - timedelta(seconds=1))  # minted before
    assert domain.may_start_grant(back, NOW + timedelta(seconds=1))  # minted after
    assert not domain.may_start_grant(None, NOW)
