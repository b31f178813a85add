"""The Stripe events of connected accounts the sync needs (issue 24): install turns each verified
webhook of ACCOUNT_EVENT_TYPES into one StripeAccountEvent on stripe.account-events.v1, with the
same deduplication and failure semantics as installs. Ids only: the sync re-fetches the object."""

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest

from kobling_devkit.stripe_signing import APP, APPLICATION, body_of, new_account, sign
from kobling_install import handlers
from kobling_install.app import create_app
from kobling_install.handlers import Deps, Outcome, accept_webhooks
from kobling_install.settings import InstallSettings
from kobling_install.stripe_events import StripeEvent
from kobling_shared.batching import GroupCommit
from kobling_shared.events import ACCOUNT_EVENT_TYPES, StripeAccountEvent, topic_of
from tests.fakes.install import FakeAnnouncements, FakeLedger, FakeTokens
from tests.fakes.kafka import BrokerDown, FakeTopic
from tests.in_process import client_of


def account_event(
    account: str | None,
    kind: str = "invoice.paid",
    obj: dict[str, Any] | None = None,
    livemode: bool = False,
) -> dict[str, Any]:
    """A Stripe event of a connected account as its Connect endpoint receives it."""
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "livemode": livemode,
        "account": account,
        "created": int(time.time()),
        "api_version": "2025-03-31.basil",
        "data": {"object": obj if obj is not None else {"id": "in_1Abc", "object": "invoice"}},
    }


class World:
    def __init__(self) -> None:
        self.topic, self.ledger, self.tokens = FakeTopic(), FakeLedger(), FakeTokens()
        self.installs = FakeAnnouncements()
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


async def test_an_invoice_paid_of_a_connected_account_is_published_once(world: World) -> None:
    account = new_account()
    event = account_event(account)
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    (published,) = world.topic.events
    assert isinstance(published, StripeAccountEvent)
    assert topic_of(published) == "stripe.account-events.v1"
    # The envelope id is Stripe's: a consumer drops a repeat of it.
    assert (published.id, published.subject, published.livemode) == (event["id"], account, False)
    assert published.time == datetime.fromtimestamp(event["created"], UTC)
    data = published.data
    assert (data.stripe_event_id, data.stripe_event_type) == (event["id"], "invoice.paid")
    assert (data.object_type, data.object_id) == ("invoice", "in_1Abc")
    assert data.created == published.time
    # Nothing of the install bookkeeping is touched by an account event.
    assert world.installs.webhook == {} and world.tokens.forgotten == []


async def test_a_redelivery_publishes_nothing_more(world: World) -> None:
    event = account_event(new_account())
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert await world.deliver(event) == [Outcome.DUPLICATE]
    assert await world.deliver(event, event) == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert world.topic.ids == [event["id"]]


@pytest.mark.parametrize("kind", sorted(ACCOUNT_EVENT_TYPES))
async def test_every_type_the_sync_needs_is_published(world: World, kind: str) -> None:
    payout = {"id": "po_1Xyz", "object": "payout", "livemode": True}
    outcome = await world.deliver(account_event(new_account(), kind, payout, livemode=True))
    assert outcome == [Outcome.PUBLISHED]
    (published,) = world.topic.events
    assert isinstance(published, StripeAccountEvent) and published.livemode
    assert published.data.stripe_event_type == kind


@pytest.mark.parametrize("kind", ["invoice.created", "charge.succeeded", "customer.updated"])
async def test_a_type_the_sync_does_not_need_is_ignored_and_claims_nothing(
    world: World, kind: str
) -> None:
    assert await world.deliver(account_event(new_account(), kind)) == [Outcome.IGNORED]
    assert world.topic.events == [] and world.ledger.seen == set()


@pytest.mark.parametrize(
    "obj",
    [
        {"object": "invoice"},  # no id
        {"id": "in_1Abc"},  # no object
        {"id": 42, "object": "invoice"},
        {"id": "in_1Abc", "object": None},
        {"id": "in_../../v1/account", "object": "invoice"},  # not an id Stripe writes
        {"id": "", "object": "invoice"},
        {},
    ],
)
async def test_a_malformed_object_is_ignored(
    world: World, obj: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="kobling_install.handlers")
    event = account_event(new_account(), obj=obj)
    assert await world.deliver(event) == [Outcome.IGNORED]
    assert world.topic.events == [] and world.ledger.seen == set()
    assert f"stripe event {event['id']} ignored" in caplog.text


@pytest.mark.parametrize("account", [None, "not-an-account"])
async def test_an_event_naming_no_connected_account_is_ignored(
    world: World, account: str | None
) -> None:
    """Our own platform account's events carry no `account`; we sync only connected ones."""
    assert await world.deliver(account_event(account)) == [Outcome.IGNORED]
    assert world.topic.events == []


async def test_a_malformed_event_does_not_fail_its_batch(world: World) -> None:
    bad, good = account_event("not-an-account"), account_event(new_account())
    assert await world.deliver(bad, good) == [Outcome.IGNORED, Outcome.PUBLISHED]
    assert world.topic.ids == [good["id"]]


async def test_a_failed_publish_releases_the_claim_so_stripe_s_retry_publishes(
    world: World,
) -> None:
    event = account_event(new_account())
    world.topic.failing.add(event["id"])
    (failed,) = await world.deliver(event)
    assert isinstance(failed, BrokerDown)
    assert world.topic.events == [] and event["id"] not in world.ledger.seen
    world.topic.failing.clear()
    assert await world.deliver(event) == [Outcome.PUBLISHED]
    assert world.topic.ids == [event["id"]]


async def test_over_http_a_publish_failure_is_a_503_and_the_retry_a_200(world: World) -> None:
    settings = InstallSettings()
    app = create_app(settings)  # no lifespan: nothing connects
    accept = partial(handlers.accept_webhooks, deps=world.deps)
    app.state.deps = replace(app.state.deps, webhooks=GroupCommit(accept))
    event = account_event(new_account())
    async with client_of(app, "http://install") as client:
        world.topic.down = True
        assert (await _post(client, event, settings)).status_code == 503
        world.topic.down = False
        answer = await _post(client, event, settings)
        assert answer.status_code == 200 and answer.json()["outcome"] == "published"
        assert (await _post(client, event, settings)).json()["outcome"] == "duplicate"
    assert world.topic.ids == [event["id"]]


async def _post(
    client: httpx.AsyncClient, event: dict[str, Any], settings: InstallSettings
) -> httpx.Response:
    body = body_of(event)
    headers = {
        "Stripe-Signature": sign(body, settings.stripe_webhook_secret),
        "Content-Type": "application/json",
    }
    return await client.post("/stripe/webhooks", content=body, headers=headers)


async def test_the_webhook_route_served_directly_keeps_the_limit_and_the_hardening(
    world: World,
) -> None:
    """The webhook skips FastAPI's routing (kobling_shared.app_builder.Direct), not the body
    limit, the security headers, nor the framework for its other methods."""
    settings = InstallSettings()
    app = create_app(settings)
    accept = partial(handlers.accept_webhooks, deps=world.deps)
    app.state.deps = replace(app.state.deps, webhooks=GroupCommit(accept))
    async with client_of(app, "http://install") as client:
        answer = await _post(client, account_event(new_account()), settings)
        assert answer.status_code == 200 and answer.json()["outcome"] == "published"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        huge = b'{"id": "' + b"x" * 70_000 + b'"}'
        too_large = await client.post(
            "/stripe/webhooks", content=huge, headers={"Stripe-Signature": "t=1,v1=00"}
        )
        assert too_large.status_code == 413 and too_large.headers["x-frame-options"] == "DENY"
        unsigned = await client.post("/stripe/webhooks", content=b"{}")
        assert unsigned.status_code == 400 and unsigned.json()["error"] == "invalid_signature"
        assert (await client.get("/stripe/webhooks")).status_code == 405
    assert len(world.topic.ids) == 1
