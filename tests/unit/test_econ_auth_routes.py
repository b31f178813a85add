"""econ-auth's browser routes against hostile input, over HTTP into the app with the in-memory
fakes behind it (issue 23, item 10): a clear 400, nothing spent, never a 500."""

from collections.abc import AsyncIterator

import httpx
import pytest

from kobling_devkit.stripe_signing import new_account
from kobling_econ_auth import connecting, installs
from kobling_econ_auth.app import create_app
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.ports import PendingState
from kobling_econ_auth.rejections import RejectionWave
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared import binding
from kobling_shared.arrivals import Arrivals
from kobling_shared.events import InstallData, StripeAppInstalled, now
from tests.fakes.econ_auth import FakeConnections, FakeEconomic, FakeGrants
from tests.fakes.kafka import FakeTopic
from tests.in_process import client_of

BROWSER = "b" * 43  # a browser id as ours are: 43 url-safe characters
COOKIE = binding.cookie_name("connect", secure=False)  # the development URLs are http


@pytest.fixture
def deps() -> Deps:
    store, topic = FakeConnections(), FakeTopic()
    return Deps(
        EconAuthSettings(), store, topic, FakeGrants(), FakeEconomic(), Arrivals(), RejectionWave()
    )


@pytest.fixture
async def browser(deps: Deps) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(deps.settings)  # no lifespan: nothing connects
    app.state.deps = deps
    async with client_of(app, "http://econ-auth") as client:
        client.cookies.set(COOKIE, BROWSER)
        yield client


async def installed(deps: Deps) -> str:
    account = new_account()
    event = StripeAppInstalled(
        source="t", subject=account, livemode=False, data=InstallData(via="webhook")
    )
    await installs.on_install_events([event], deps)
    return account


async def test_a_confirm_value_beyond_ascii_is_a_400_and_spends_no_link(deps, browser) -> None:
    url, _ = await connecting.mint_connect_link(await installed(deps), False, deps, "signed-1")
    link = httpx.URL(url).params["link"]
    assert isinstance(deps.store, FakeConnections)
    spent_before = set(deps.store.used)  # the signed request's own record, and nothing else
    answer = await browser.post("/economic/connect", data={"link": link, "confirm": "é" * 64})
    assert answer.status_code == 400 and "another browser" in answer.text
    assert deps.store.used == spent_before


async def test_a_grant_token_beyond_ascii_is_a_400_and_spends_no_state(deps, browser) -> None:
    account = await installed(deps)
    started = now()
    pending = PendingState(
        account,
        False,
        started.replace(year=started.year + 1),
        "en-US",
        binding.digest(BROWSER),
        started,
    )
    await deps.store.save_state("state-1", pending)
    answer = await browser.get("/economic/callback/state-1", params={"token": "grünt"})
    assert answer.status_code == 400 and "nothing was connected" in answer.text
    assert isinstance(deps.store, FakeConnections) and deps.store.used == set()
