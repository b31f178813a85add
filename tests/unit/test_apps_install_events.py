"""apps.install.* are "sent to the app developer, embedding platform, and installing merchant"
(docs.stripe.com/api/apps/installs): to the developer account's own endpoint, not to install's
Connect endpoint (issue 22, item 2; docs/external-contracts.md S9). Kobling does not depend on
them: one that reaches the Connect endpoint is acknowledged and changes nothing, and the sandbox's
Stripe never delivers one there. install over HTTP with fakes; the sandbox in-process."""

from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest

from kobling_devkit.stripe_signing import (
    APP,
    APPLICATION,
    body_of,
    install_event,
    new_account,
    sign,
)
from kobling_install import handlers
from kobling_install.app import create_app
from kobling_install.settings import InstallSettings
from kobling_sandbox import stripe as sandbox_stripe
from kobling_sandbox.app import create_app as create_sandbox
from kobling_shared.batching import GroupCommit
from tests.fakes.install import FakeAnnouncements, FakeLedger, FakeTokens
from tests.fakes.kafka import FakeTopic
from tests.in_process import client_of


class Install:
    """install's webhook route, its handler and in-memory stores and topic."""

    def __init__(self, client: httpx.AsyncClient, settings: InstallSettings) -> None:
        self.client, self.secret = client, settings.stripe_webhook_secret
        self.topic, self.ledger, self.tokens = FakeTopic(), FakeLedger(), FakeTokens()
        self.deps = handlers.Deps(
            publisher=self.topic,
            ledger=self.ledger,
            installs=FakeAnnouncements(),
            vault=self.tokens,
            applications=frozenset({APPLICATION, APP}),
        )

    async def deliver(self, event: dict[str, Any]) -> httpx.Response:
        body = body_of(event)
        headers = {"Stripe-Signature": sign(body, self.secret), "Content-Type": "application/json"}
        return await self.client.post("/stripe/webhooks", content=body, headers=headers)


@pytest.fixture
async def install() -> AsyncIterator[Install]:
    settings = InstallSettings()
    app = create_app(settings)
    async with client_of(app, "http://install") as client:
        world = Install(client, settings)
        accept = partial(handlers.accept_webhooks, deps=world.deps)
        app.state.deps = replace(app.state.deps, webhooks=GroupCommit(accept))
        yield world


async def test_an_apps_install_created_on_the_connect_endpoint_makes_no_install(
    install: Install,
) -> None:
    account = new_account()
    response = await install.deliver(install_event(account, kind="apps.install.created"))
    assert response.status_code == 200  # acknowledged: Stripe must not retry it
    assert response.json() == {"received": True, "outcome": "ignored"}
    assert install.topic.events == [] and install.ledger.seen == set()
    # The install arrives as Stripe sends it to this endpoint, and is published.
    authorized = install_event(account)
    assert (await install.deliver(authorized)).json()["outcome"] == "published"
    assert install.topic.ids == [authorized["id"]]


async def test_an_apps_install_deleted_on_the_connect_endpoint_uninstalls_nothing(
    install: Install,
) -> None:
    account = new_account()
    await install.deliver(install_event(account))
    response = await install.deliver(install_event(account, kind="apps.install.deleted"))
    assert response.json()["outcome"] == "ignored"
    assert len(install.topic.events) == 1 and install.tokens.forgotten == []


@pytest.mark.parametrize("kind", ["apps.install.created", "apps.install.deleted"])
async def test_the_sandbox_s_stripe_delivers_no_apps_install_event_to_install(kind: str) -> None:
    async with client_of(create_sandbox(), "http://sandbox") as stripe:
        refused = await stripe.post(
            "/_sandbox/stripe/webhooks", json={"type": kind, "account": new_account()}
        )
        assert refused.status_code == 422
        held = await stripe.post(
            "/_sandbox/stripe/webhooks",
            json={"type": "account.application.deauthorized", "account": "acct_1", "hold": True},
        )
        assert held.status_code == 200 and held.json()["status_code"] is None
        del sandbox_stripe.state_.held[held.json()["event_id"]]
