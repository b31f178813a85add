"""What an anonymous client can make install do through the OAuth install's two public routes
(issue 23, item 9): a code that is not Stripe's never reaches Stripe, and the install states
anyone can make us write are bounded. Over HTTP into the app, with the in-memory fakes."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from kobling_install import oauth
from kobling_install.app import create_app
from kobling_install.oauth import OAuthDeps
from kobling_install.settings import InstallSettings
from kobling_shared import binding
from kobling_shared.crypto import TokenCipher
from kobling_shared.events import now
from tests.fakes.install import FakeOAuthStates, FakeStripeOAuth
from tests.in_process import client_of

BROWSER = "b" * 43  # a browser id as ours are: 43 url-safe characters


@pytest.fixture
def deps() -> OAuthDeps:
    settings = InstallSettings()
    cipher = TokenCipher(settings.token_encryption_keys)
    # Neither the broker, the installs nor the vault is reached by what these tests send.
    states, stripe = FakeOAuthStates(), FakeStripeOAuth()
    return OAuthDeps(settings, None, states, None, None, cipher, stripe)  # type: ignore[arg-type]


@pytest.fixture
async def browser(deps: OAuthDeps) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(deps.settings)  # no lifespan: nothing connects
    app.state.deps = replace(app.state.deps, oauth=deps)
    async with client_of(app, "http://install") as client:
        yield client


@pytest.mark.parametrize("code", ["x", "ac_", "ac_a-b", "ac_a b", "sk_live_abc", "ac_é1"])
async def test_a_code_not_shaped_like_stripes_never_reaches_stripe(deps, browser, code) -> None:
    answer = await browser.get("/stripe/oauth/callback", params={"code": code})
    assert answer.status_code == 400
    assert deps.stripe.calls == []  # before: the live key, then the test key


async def test_a_malformed_code_spends_no_state(deps, browser) -> None:
    # The state came back in the browser that asked for it: only the code is wrong.
    browser.cookies.set(binding.cookie_name("install", secure=False), BROWSER)
    expires_at = now() + timedelta(minutes=10)
    await deps.states.save("state-1", False, expires_at, binding.digest(BROWSER))
    answer = await browser.get("/stripe/oauth/callback", params={"code": "x", "state": "state-1"})
    assert answer.status_code == 400 and deps.stripe.calls == []
    assert deps.states.spent == set()


async def test_install_states_stop_at_a_bound_and_say_when_to_come_back(deps, browser) -> None:
    for i in range(oauth.MAX_OUTSTANDING_STATES - 1):
        deps.states.states[f"s{i}"] = (False, now() + timedelta(minutes=10), "digest")
    assert (await browser.get("/stripe/install")).status_code == 303
    full = await browser.get("/stripe/install")
    assert full.status_code == 503 and int(full.headers["Retry-After"]) > 0
    assert len(deps.states.states) == oauth.MAX_OUTSTANDING_STATES
