"""econ-auth's handlers on their own, against an in-memory store, topic and e-conomic: the grant
callback, the outbox relay and the grant check, branch by branch."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from aiokafka import TopicPartition

from kobling_devkit.stripe_signing import new_account
from kobling_econ_auth import connecting, grant_callback, grant_checks, installs
from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Agreement
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.grant_callback import CallbackResult, OtherBrowser, StateInvalid
from kobling_econ_auth.ports import PendingState
from kobling_econ_auth.rejections import RejectionWave
from kobling_econ_auth.relay import relay_all
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.arrivals import Arrivals
from kobling_shared.crypto import Unreadable
from kobling_shared.events import (
    INSTALLS_TOPIC,
    InstallData,
    StripeAppInstalled,
    StripeAppUninstalled,
    account_key,
    now,
)
from kobling_shared.ownership import Owned, partition_of
from tests.fakes.econ_auth import DatabaseDown, FakeConnections, FakeEconomic, FakeGrants
from tests.fakes.kafka import FakeTopic

# An instance alone in its group: every partition, so every account, is its own.
ALONE = Owned(INSTALLS_TOPIC)
ALONE.count_with(lambda: {0})
ALONE.held = frozenset({0})

ACME = Agreement(agreement_number=123456, company_name="Acme ApS")


class World:
    def __init__(self) -> None:
        self.settings = EconAuthSettings()
        self.store, self.topic, self.economic = FakeConnections(), FakeTopic(), FakeEconomic()
        self.grants = FakeGrants()
        self.rejections = RejectionWave()
        self.deps = Deps(
            self.settings,
            self.store,
            self.topic,
            self.grants,
            self.economic,
            Arrivals(),
            self.rejections,
        )

    async def installed(self, account: str) -> None:
        event = StripeAppInstalled(
            source="t", subject=account, livemode=False, data=InstallData(via="webhook")
        )
        await installs.on_install_events([event], self.deps)

    async def uninstalled(self, account: str) -> None:
        event = StripeAppUninstalled(
            source="t", subject=account, livemode=False, data=InstallData(via="webhook")
        )
        await installs.on_install_events([event], self.deps)

    async def state_for(self, account: str, ttl: float = 600, browser: str = "b1") -> str:
        """A state as a connect link's OK mints it, bound to `browser` (its id's digest)."""
        state = f"state-{account}-{len(self.store.states)}"
        started = now() - timedelta(seconds=1)
        expires_at = started + timedelta(seconds=ttl)
        pending = PendingState(account, False, expires_at, "en-US", browser, started)
        await self.store.save_state(state, pending)
        return state

    def types(self) -> list[str]:
        return [event.type.split(".")[-2] for event in self.topic.events]


@pytest.fixture
def world() -> World:
    return World()


async def complete_grant(state: str, grant: str, deps: Deps, browser: str = "b1") -> CallbackResult:
    """The callback as it arrives in `browser`."""
    return await grant_callback.complete_grant(state, grant, browser, deps)


# --- the grant callback -------------------------------------------------------------------------


async def test_a_proven_grant_connects_stores_it_sealed_and_publishes_once(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    result = await complete_grant(await world.state_for(account), "grant-1", world.deps)
    assert (result.outcome, result.account_id) == ("connected", account)
    conn = await world.store.get(account, False)
    assert conn is not None and conn.state == "connected" and conn.outbox == []
    assert conn.grant_ciphertext and "grant-1" not in conn.grant_ciphertext.split("|")[:3]
    assert await world.grants.open(account, False, conn.grant_ciphertext) == "grant-1"
    assert world.types() == ["connected"] and world.topic.ids == [result.event_id]


async def test_a_state_used_twice_connects_once(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    state = await world.state_for(account)
    await complete_grant(state, "grant-1", world.deps)
    with pytest.raises(StateInvalid):
        await complete_grant(state, "grant-1", world.deps)
    assert world.types() == ["connected"] and world.economic.calls == 1


async def test_a_state_used_twice_at_once_connects_once(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    state = await world.state_for(account)
    answers = await asyncio.gather(
        *(complete_grant(state, "grant-1", world.deps) for _ in range(5)), return_exceptions=True
    )
    assert sorted(type(a).__name__ for a in answers) == ["CallbackResult"] + ["StateInvalid"] * 4
    assert world.types() == ["connected"]


async def test_an_unknown_state_connects_nothing_and_asks_e_conomic_nothing(world) -> None:
    with pytest.raises(StateInvalid):
        await complete_grant("made-up", "grant-1", world.deps)
    assert world.store.connections == {} and world.topic.events == []
    assert world.economic.calls == 0


async def test_an_expired_state_fails_the_attempt_without_asking_e_conomic(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    result = await complete_grant(await world.state_for(account, ttl=-1), "grant-1", world.deps)
    assert result.outcome == "state_expired" and world.economic.calls == 0
    conn = await world.store.get(account, False)
    assert conn is not None and conn.state == "failed" and conn.grant_ciphertext is None
    assert world.types() == ["connection_failed"]


@pytest.mark.parametrize(
    ("unavailable", "outcome"), [(False, "grant_rejected"), (True, "economic_unavailable")]
)
async def test_a_grant_e_conomic_does_not_prove_is_not_stored(
    world, unavailable: bool, outcome: str
) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.unavailable = unavailable
    result = await complete_grant(await world.state_for(account), "grant-x", world.deps)
    assert result.outcome == outcome
    conn = await world.store.get(account, False)
    assert conn is not None and conn.state == "failed" and conn.grant_ciphertext is None
    assert world.types() == ["connection_failed"]
    assert world.topic.events[0].data.reason == outcome


async def test_one_agreement_on_a_second_account_is_held_and_the_first_asked(world) -> None:
    first, second = new_account(), new_account()
    world.economic.grants["grant-1"] = ACME
    for account in (first, second):
        await world.installed(account)
        result = await complete_grant(await world.state_for(account), "grant-1", world.deps)
    assert world.types() == ["connected", "connection_held", "join_requested"]
    assert [e.subject for e in world.topic.events] == [first, second, first]
    assert result.outcome == "held"
    assert result.event_id == world.topic.events[1].id  # the merchant's page waits for it


async def test_two_first_connections_of_one_agreement_at_once_are_told_to_both(world) -> None:
    """Both look for other accounts before either is written: neither is held, and both are
    warned, as before holds existed."""
    first, second = new_account(), new_account()
    world.economic.grants["grant-1"] = ACME
    for account in (first, second):
        await world.installed(account)
    states = [await world.state_for(first), await world.state_for(second)]
    await asyncio.gather(*(complete_grant(s, "grant-1", world.deps) for s in states))
    told = {e.subject for e in world.topic.events if e.type.endswith("agreement_shared.v1")}
    assert world.types().count("connected") == 2 and told == {first, second}


async def test_a_state_in_another_browser_connects_nothing_and_stays_for_its_own(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    state = await world.state_for(account, browser="victim")
    with pytest.raises(OtherBrowser):
        await complete_grant(state, "grant-1", world.deps, browser="attacker")
    assert world.topic.events == [] and world.economic.calls == 0
    result = await complete_grant(state, "grant-1", world.deps, browser="victim")
    assert result.outcome == "connected"


async def test_a_state_minted_before_an_uninstall_connects_nothing(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    state = await world.state_for(account)
    await world.uninstalled(account)
    await world.installed(account)  # reinstalled: the old state has no claim on this install
    with pytest.raises(StateInvalid):
        await complete_grant(state, "grant-1", world.deps)
    assert world.topic.events == [] and world.economic.calls == 0


async def test_an_uninstall_landing_during_the_callback_leaves_no_grant_behind(world) -> None:
    # The uninstall is applied after the callback checked the install and before it stored the
    # grant (here: while /self is asked). The grant must not be stored, published or left
    # readable under a data key made after the uninstall destroyed the last one.
    account = new_account()
    await world.installed(account)
    state = await world.state_for(account)
    world.economic.grants["grant-1"] = ACME
    asked = world.economic.self_info

    async def self_info_while_uninstalled(grant: str) -> Agreement:
        await world.uninstalled(account)
        return await asked(grant)

    world.economic.self_info = self_info_while_uninstalled
    with pytest.raises(StateInvalid):
        await complete_grant(state, "grant-1", world.deps)
    conn = await world.store.get(account, False)
    assert conn is not None and not conn.installed
    assert conn.state != "connected" and conn.grant_ciphertext is None
    assert "connected" not in world.types()
    assert account_key(account, False) not in world.grants.data_keys


async def test_a_grant_whose_event_cannot_be_published_stays_in_the_outbox(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    world.topic.down = True
    result = await complete_grant(await world.state_for(account), "grant-1", world.deps)
    assert result.outcome == "connected"  # stored: the relay publishes it later
    conn = await world.store.get(account, False)
    assert conn is not None and [e["id"] for e in conn.outbox] == [result.event_id]


# --- signed view requests, spent once (issue 23, item 2) -----------------------------------------


async def test_a_signed_connect_request_mints_one_link_and_its_replay_none(world) -> None:
    account = new_account()
    await world.installed(account)
    url, _ = await connecting.mint_connect_link(account, False, world.deps, "signed-1")
    with pytest.raises(connecting.SignatureSpent):
        await connecting.mint_connect_link(account, False, world.deps, "signed-1")
    # A new click is a new signature, and gets its own link.
    again, _ = await connecting.mint_connect_link(account, False, world.deps, "signed-2")
    assert url.startswith(world.settings.econ_auth_public_url) and again != url


async def test_a_connect_request_that_found_no_install_is_not_spent(world) -> None:
    """The view asks again with the same signature when the install has not arrived yet."""
    impatient = replace(world.deps, arrivals=Arrivals(read_at=(0.0,)))
    account = new_account()
    with pytest.raises(connecting.NotInstalled):
        await connecting.mint_connect_link(account, False, impatient, "signed-1")
    await world.installed(account)
    url, _ = await connecting.mint_connect_link(account, False, world.deps, "signed-1")
    assert url


async def test_a_signed_disconnect_replayed_after_a_reconnect_changes_nothing(world) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    await complete_grant(await world.state_for(account), "grant-1", world.deps)
    assert await connecting.disconnect(account, False, world.deps, "signed-d") is not None
    await complete_grant(await world.state_for(account), "grant-1", world.deps)
    with pytest.raises(connecting.SignatureSpent):
        await connecting.disconnect(account, False, world.deps, "signed-d")
    conn = await world.store.get(account, False)
    assert conn is not None and conn.state == "connected"
    assert world.types() == ["connected", "disconnected", "connected"]


# --- the outbox relay ---------------------------------------------------------------------------


async def left_by_a_crash(world: World, account: str, age: float = 60) -> str:
    """A connection written with its event, as if the process died before publishing it."""
    at = now() - timedelta(seconds=age)
    conn = await world.store.change(account, False, lambda c: domain.connect(c, "sealed", ACME, at))
    assert conn is not None
    return str(conn.outbox[0]["id"])


async def test_a_relay_after_a_crash_publishes_the_event_once(world) -> None:
    event_id = await left_by_a_crash(world, new_account())
    await relay_all(world.deps, ALONE)
    await relay_all(world.deps, ALONE)
    assert world.topic.ids == [event_id]
    assert world.store.pending == set()


async def test_the_relay_leaves_a_fresh_event_to_the_request_that_wrote_it(world) -> None:
    account = new_account()
    await left_by_a_crash(world, account, age=0)
    await relay_all(world.deps, ALONE)
    assert world.topic.events == []
    conn = await world.store.get(account, False)
    assert conn is not None and len(conn.outbox) == 1


async def test_a_relay_that_cannot_publish_keeps_the_event_for_the_next_one(world) -> None:
    event_id = await left_by_a_crash(world, new_account())
    world.topic.down = True
    await relay_all(world.deps, ALONE)
    world.topic.down = False
    await relay_all(world.deps, ALONE)
    assert world.topic.ids == [event_id]


async def test_the_relay_publishes_in_order_and_stops_at_the_first_failure(world) -> None:
    account = new_account()
    first = await left_by_a_crash(world, account)
    conn = await world.store.change(
        account, False, lambda c: domain.disconnect(c, "merchant_request")
    )
    assert conn is not None
    second = str(conn.outbox[1]["id"])
    world.topic.failing.add(first)
    await relay_all(world.deps, ALONE)
    assert world.topic.events == []  # the second waits for the first: consumers see them in order
    world.topic.failing.clear()
    await relay_all(world.deps, ALONE)
    assert world.topic.ids == [first, second]


async def test_a_crash_after_publishing_republishes_under_the_same_id(world) -> None:
    """At least once: publishing and recording it are two steps, so a crash between them sends
    the event again, with its id, which consumers drop as a repeat."""
    event_id = await left_by_a_crash(world, new_account())
    world.store.fail_sent = True
    with pytest.raises(DatabaseDown):
        await relay_all(world.deps, ALONE)
    world.store.fail_sent = False
    await relay_all(world.deps, ALONE)
    await relay_all(world.deps, ALONE)
    assert world.topic.ids == [event_id, event_id]


# --- the grant check ----------------------------------------------------------------------------


async def connected(world: World) -> str:
    """A connected account: the first with grant-1 to Acme, each other with a company of its own
    (a second account on one company is held for consent: test_agreement_consent.py)."""
    account = new_account()
    await world.installed(account)
    n = len(world.economic.grants) + 1
    company = ACME if n == 1 else Agreement(agreement_number=600000 + n, company_name=f"Co {n}")
    world.economic.grants[f"grant-{n}"] = company
    result = await complete_grant(await world.state_for(account), f"grant-{n}", world.deps)
    assert result.outcome == "connected"
    return account


async def check(world: World, account: str) -> str | None:
    conn = await world.store.get(account, False)
    assert conn is not None
    return await grant_checks.check_grant(conn.account_id, conn.livemode, world.deps)


async def test_a_valid_grant_stays_connected_and_clears_strikes(world) -> None:
    account = await connected(world)
    del world.economic.grants["grant-1"]
    assert await check(world, account) == "revoked"
    world.economic.grants["grant-1"] = ACME
    assert await check(world, account) == "valid"
    conn = await world.store.get(account, False)
    assert conn is not None and (conn.state, conn.revocation_strikes) == ("connected", 0)


async def test_only_repeated_refusals_end_a_connection_and_an_outage_never_counts(world) -> None:
    account = await connected(world)
    strikes = world.settings.revocation_strikes
    world.economic.unavailable = True
    for _ in range(strikes + 1):
        assert await check(world, account) == "unavailable"
    world.economic.unavailable = False
    del world.economic.grants["grant-1"]
    for _ in range(strikes - 1):
        assert await check(world, account) == "revoked"
    conn = await world.store.get(account, False)
    assert conn is not None and conn.state == "connected"
    assert world.types() == ["connected"]
    assert await check(world, account) == "revoked"
    conn = await world.store.get(account, False)
    assert conn is not None and (conn.state, conn.grant_ciphertext) == ("disconnected", None)
    assert world.types() == ["connected", "disconnected"]
    assert world.topic.events[-1].data.reason == "grant_revoked"
    assert await check(world, account) is None  # nothing left to check


async def test_when_most_grants_are_refused_at_once_no_401_counts_and_nothing_is_deleted(
    world,
) -> None:
    """Our own app secret gone bad (or e-conomic's auth down) looks like every merchant
    revoking at once: the check must suspect itself, not delete the grants."""
    accounts = [await connected(world) for _ in range(5)]
    world.economic.wrong_app_secret = True
    results = [
        await check(world, a)
        for _ in range(world.settings.revocation_strikes + 1)
        for a in accounts
    ]
    assert "withheld" in results and world.rejections.in_wave
    for account in accounts:
        conn = await world.store.get(account, False)
        assert conn is not None and conn.state == "connected" and conn.grant_ciphertext
    assert "disconnected" not in world.types()


async def test_a_403_is_a_missing_role_never_a_revocation(world) -> None:
    account = await connected(world)
    world.economic.forbidden.add("grant-1")
    for _ in range(world.settings.revocation_strikes + 1):
        assert await check(world, account) == "forbidden"
    conn = await world.store.get(account, False)
    assert conn is not None and (conn.state, conn.revocation_strikes) == ("connected", 0)


async def test_the_daily_budget_bounds_the_calls_to_e_conomic(world) -> None:
    account = await connected(world)
    calls = world.economic.calls
    limit = world.settings.grant_checks_per_agreement_per_day
    for _ in range(limit):
        assert await check(world, account) == "valid"
    assert await check(world, account) is None
    assert world.economic.calls == calls + limit


async def test_a_grant_no_key_opens_is_never_sent_to_e_conomic(world) -> None:
    account = await connected(world)
    conn = await world.store.get(account, False)
    assert conn is not None
    await world.grants.destroy(account, False)  # as an uninstall does; the row came back
    calls = world.economic.calls
    assert (
        await grant_checks.check_grant(conn.account_id, conn.livemode, world.deps) == "unreadable"
    )
    assert world.economic.calls == calls


async def test_an_uninstall_destroys_the_grants_data_key(world) -> None:
    account = await connected(world)
    conn = await world.store.get(account, False)
    assert conn is not None and conn.grant_ciphertext is not None
    await world.uninstalled(account)
    assert world.types() == ["connected", "disconnected"]
    with pytest.raises(Unreadable):
        await world.grants.open(account, False, conn.grant_ciphertext)


async def test_checking_all_grants_checks_each_connected_one(world) -> None:
    accounts = [await connected(world) for _ in range(3)]
    await world.installed(new_account())  # installed, never connected: nothing to check
    calls = world.economic.calls
    await grant_checks.check_all_grants(world.deps, ALONE, round_=1)
    assert world.economic.calls == calls + len(accounts)
    await grant_checks.check_all_grants(world.deps, ALONE, round_=1)  # the same round again
    assert world.economic.calls == calls + len(accounts)


async def test_a_round_checks_only_the_accounts_whose_partition_this_instance_holds(world) -> None:
    accounts = [await connected(world) for _ in range(24)]
    half = Owned(INSTALLS_TOPIC)
    half.count_with(lambda: {0, 1})
    await half.on_partitions_assigned({TopicPartition(INSTALLS_TOPIC, 0)})
    calls = world.economic.calls
    await grant_checks.check_all_grants(world.deps, half, round_=1)
    mine = [a for a in accounts if partition_of(a, {0, 1}) == 0]
    assert 0 < len(mine) < len(accounts)  # 24 accounts: both partitions hold some
    assert world.economic.calls == calls + len(mine)


# --- who may suggest our own secret is wrong (issue 23, item 1) ---------------------------------


async def test_garbage_tokens_from_a_browser_never_suspect_our_secret(world) -> None:
    """A merchant presses OK on their own links and sends each callback on with `?token=garbage`.
    An unproven token from a browser says nothing about our secret: no wave, and a grant that is
    really revoked meanwhile is still found out and disconnected."""
    victim = await connected(world)
    attacker = new_account()
    await world.installed(attacker)
    for _ in range(11):
        result = await complete_grant(await world.state_for(attacker), "garbage", world.deps)
        assert result.outcome == "grant_rejected"
    assert not world.rejections.in_wave
    del world.economic.grants["grant-1"]  # the victim removed the app in e-conomic
    strikes = world.settings.revocation_strikes
    assert [await check(world, victim) for _ in range(strikes)] == ["revoked"] * strikes
    conn = await world.store.get(victim, False)
    assert conn is not None and conn.state == "disconnected"


async def test_during_a_wave_the_grant_checks_saw_a_callbacks_401_blames_nobody(world) -> None:
    """The wave itself comes from grants that once worked; a merchant connecting during it is
    told e-conomic is unavailable, not that their grant was refused."""
    accounts = [await connected(world) for _ in range(5)]
    world.economic.wrong_app_secret = True
    for account in accounts:
        await check(world, account)
    assert world.rejections.in_wave
    newcomer = new_account()
    await world.installed(newcomer)
    result = await complete_grant(await world.state_for(newcomer), "grant-9", world.deps)
    assert result.outcome == "economic_unavailable"


# --- hostile callbacks (issue 23, item 10) ------------------------------------------------------


@pytest.mark.parametrize("token", ["grünt", "grant 1", "grant\n1", "x" * 2001])
async def test_a_token_no_header_can_carry_is_refused_before_the_state_is_spent(
    world, token: str
) -> None:
    account = new_account()
    await world.installed(account)
    world.economic.grants["grant-1"] = ACME
    state = await world.state_for(account)
    with pytest.raises(grant_callback.TokenMalformed):
        await complete_grant(state, token, world.deps)
    assert world.economic.calls == 0 and world.topic.events == []
    # The state is still its owner's: the real grant connects.
    assert (await complete_grant(state, "grant-1", world.deps)).outcome == "connected"
