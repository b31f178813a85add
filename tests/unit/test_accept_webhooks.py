"""install's webhook handler on its own, against in-memory stores and topic: every branch of a
batch, including the ones that compensate for a failed write."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kobling_devkit.stripe_signing import APP, APPLICATION, install_event, new_account
from kobling_install.handlers import Deps, Outcome, accept_webhooks
from kobling_install.stripe_events import StripeEvent
from kobling_shared.events import StripeAppInstalled, StripeAppUninstalled, account_key
from tests.fakes.install import DatabaseDown, FakeAnnouncements, FakeLedger, FakeTokens
from tests.fakes.kafka import BrokerDown, FakeTopic


class World:
    def __init__(self) -> None:
        self.topic, self.ledger = FakeTopic(), FakeLedger()
        self.installs, self.tokens = FakeAnnouncements(), FakeTokens()
        self.deps = Deps(
            publisher=self.topic,
            ledger=self.ledger,
            installs=self.installs,
            vault=self.tokens,
            applications=frozenset({APPLICATION, APP}),
        )

    async def deliver(self, *events: dict[str, Any]) -> list[Outcome | Exception]:
        return await accept_webhooks([StripeEvent.model_validate(e) for e in events], self.deps)


@pytest.fixture
def world() -> World:
    return World()


def created(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(event["created"], UTC)


async def test_an_install_is_published_once_and_its_redelivery_is_a_duplicate(world) -> None:
    event = install_event(new_account())
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert await world.deliver(event) == [Outcome.DUPLICATE]
    assert world.topic.ids == [event["id"]]


async def test_a_delivery_twice_in_one_batch_shares_the_first_ones_fate(world) -> None:
    event = install_event(new_account())
    assert await world.deliver(event, event) == [Outcome.PUBLISHED, Outcome.PUBLISHED]
    assert world.topic.ids == [event["id"]]


@pytest.mark.parametrize(
    "event",
    [
        install_event("acct_1", kind="charge.succeeded"),
        install_event("acct_1", app="ca_someone_else"),
        install_event("acct_1", kind="account.application.deauthorized", app="ca_someone_else"),
        install_event("acct_1", kind="apps.install.created"),
        install_event("acct_1", kind="apps.install.deleted"),
    ],
    ids=[
        "another type",
        "another application",
        "another app's uninstall",
        "our apps.install.created",
        "our apps.install.deleted",
    ],
)
async def test_an_event_not_for_us_is_ignored_and_claims_nothing(world, event) -> None:
    assert await world.deliver(event) == [Outcome.IGNORED]
    assert world.topic.events == [] and world.ledger.seen == set()
    assert world.tokens.forgotten == []


async def test_a_failed_publish_releases_its_claims_so_the_retry_publishes(world) -> None:
    account = new_account()
    event = install_event(account)
    world.topic.failing.add(event["id"])
    (failed,) = await world.deliver(event)
    assert isinstance(failed, BrokerDown)  # the route answers 503: Stripe retries
    assert world.topic.events == []
    assert event["id"] not in world.ledger.seen  # not taken for a duplicate next time
    assert world.installs.webhook == {}  # nor the install for announced
    world.topic.failing.clear()
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert world.topic.ids == [event["id"]]
    assert world.installs.webhook == {account_key(account, False): (created(event), event["id"])}


async def test_a_failed_publish_fails_only_its_own_event_in_the_batch(world) -> None:
    lost, fine = install_event(new_account()), install_event(new_account())
    world.topic.failing.add(lost["id"])
    outcomes = await world.deliver(lost, fine)
    assert isinstance(outcomes[0], BrokerDown) and outcomes[1] is Outcome.PUBLISHED
    assert world.topic.ids == [fine["id"]]
    assert world.ledger.published == {fine["id"]}


async def test_a_redelivery_of_an_unfinished_attempt_still_publishes(world) -> None:
    """Seen but never marked published (the process died after claiming): not a duplicate."""
    event = install_event(new_account())
    world.ledger.seen.add(event["id"])
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert world.topic.ids == [event["id"]]


async def test_a_failed_mark_published_neither_loses_nor_doubles_the_event(world) -> None:
    event = install_event(new_account())
    world.ledger.fail_marking = True
    # On Kafka already: answered as published, so Stripe has no reason to send it again (a 503
    # here would make its retry publish the event a second time).
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert world.topic.ids == [event["id"]]
    # Should Stripe deliver it again anyway, it goes out again under the same id (consumers
    # drop a repeated id), never as a second install, and never dropped.
    world.ledger.fail_marking = False
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert set(world.topic.ids) == {event["id"]}
    assert await world.deliver(event) == [Outcome.DUPLICATE]


async def test_the_webhook_of_an_install_the_oauth_redirect_announced_is_a_duplicate(
    world,
) -> None:
    account = new_account()
    event = install_event(account)
    world.installs.oauth[account_key(account, False)] = created(event) + timedelta(seconds=2)
    assert await world.deliver(event) == [Outcome.DUPLICATE]
    assert world.topic.events == []
    assert event["id"] in world.ledger.published  # and its redelivery is one too
    assert await world.deliver(event) == [Outcome.DUPLICATE]


async def test_an_oauth_install_long_before_does_not_swallow_a_new_install(world) -> None:
    account = new_account()
    event = install_event(account)
    world.installs.oauth[account_key(account, False)] = created(event) - timedelta(days=1)
    assert await world.deliver(event) == [Outcome.PUBLISHED]


async def test_every_distinct_install_and_uninstall_is_published_in_any_order(world) -> None:
    """Install, reinstall, then the uninstall between them arriving late (Stripe retried it):
    all three go out; consumers keep the latest by Stripe's time."""
    account = new_account()
    install = install_event(account, created=1_800_000_000)
    uninstall = install_event(
        account, kind="account.application.deauthorized", created=1_800_000_100
    )
    reinstall = install_event(account, created=1_800_000_200)
    for event in (install, reinstall, uninstall):
        assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert world.topic.ids == [install["id"], reinstall["id"], uninstall["id"]]
    assert isinstance(world.topic.events[-1], StripeAppUninstalled)
    assert isinstance(world.topic.events[1], StripeAppInstalled)
    # The webhook announcement keeps the latest install; the late uninstall forgets only
    # tokens from before it (the vault's own rule).
    key = account_key(account, False)
    assert world.installs.webhook[key] == (created(reinstall), reinstall["id"])
    assert world.tokens.forgotten == [(key, created(uninstall))]


async def test_a_database_outage_fails_the_whole_batch_before_anything_is_published(
    world,
) -> None:
    async def down(event_ids: list[str]) -> dict:
        raise DatabaseDown("claim")

    world.ledger.claim = down
    with pytest.raises(DatabaseDown):
        await world.deliver(install_event(new_account()))
    assert world.topic.events == []
