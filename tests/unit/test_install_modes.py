"""Stripe's two modes at install (issue 22, item 2): a client id per mode, and an install link per
mode, the External test link being the only one that works before the app is published
(docs/external-contracts.md O1, O8). install over HTTP with fakes; the sandbox in-process."""

from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kobling_install.app import create_app
from kobling_install.oauth import OAuthDeps
from kobling_install.settings import InstallSettings
from kobling_sandbox import stripe as sandbox_stripe
from kobling_sandbox.app import create_app as create_sandbox
from kobling_shared.crypto import TokenCipher
from tests.fakes.install import FakeOAuthStates, FakeStripeOAuth
from tests.in_process import client_of

CHANNEL = "https://marketplace.stripe.com/oauth/v2/chnlink_a1B2/authorize"
TEST_CHANNEL = "https://marketplace.stripe.com/oauth/v2/chnlink_c3D4/authorize"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
async def install(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("STRIPE_AUTHORIZE_URL", CHANNEL)
    monkeypatch.setenv("STRIPE_TEST_AUTHORIZE_URL", TEST_CHANNEL)
    settings = InstallSettings()
    cipher = TokenCipher(settings.token_encryption_keys)
    deps = OAuthDeps(settings, None, FakeOAuthStates(), None, None, cipher, FakeStripeOAuth())  # type: ignore[arg-type]
    app = create_app(settings)
    app.state.deps = replace(app.state.deps, oauth=deps)
    async with client_of(app, "http://install") as client:
        yield client


@pytest.mark.parametrize(
    ("livemode", "client_id", "link"),
    [(True, "ca_kobling_dev", CHANNEL), (False, "ca_kobling_dev_test", TEST_CHANNEL)],
)
async def test_each_mode_s_install_link_carries_its_own_client_id(
    install: httpx.AsyncClient, livemode: bool, client_id: str, link: str
) -> None:
    start = await install.get("/stripe/install", params={"livemode": livemode})
    assert start.status_code == 303
    target = start.headers["location"]
    assert target.startswith(f"{link}?")
    assert query_of(target)["client_id"] == client_id


def test_the_install_link_defaults_to_the_marketplace_s_public_one() -> None:
    settings = InstallSettings()
    public = f"{settings.stripe_marketplace_url}/oauth/v2/authorize"
    assert settings.stripe_authorize_url_for(True) == public
    assert settings.stripe_authorize_url_for(False) == public
    assert settings.stripe_client_id_for(False) == "ca_kobling_dev_test"


def test_production_refuses_to_start_without_the_test_client_id() -> None:
    assert "stripe_test_client_id" in InstallSettings.required_secrets


@pytest.fixture
async def stripe() -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(create_sandbox(), "http://sandbox") as client:
        yield client
    sandbox_stripe.state_.published = True


def authorize_form(client_id: str, account: str) -> dict[str, str]:
    redirect = f"{sandbox_stripe.settings().install_public_url}/stripe/oauth/callback"
    return {
        "client_id": client_id,
        "redirect_uri": redirect,
        "account": account,
        "decision": "allow",
        "webhook": "held",  # nothing leaves this process
    }


@pytest.mark.parametrize(
    ("client_id", "livemode"), [("ca_kobling_dev", True), ("ca_kobling_dev_test", False)]
)
async def test_the_client_id_decides_the_install_s_mode(
    stripe: httpx.AsyncClient, client_id: str, livemode: bool
) -> None:
    form = {**authorize_form(client_id, "acct_modes1"), "mode": "live" if not livemode else "test"}
    answer = await stripe.post("/oauth/v2/authorize", data=form)
    assert answer.status_code == 303
    code = query_of(answer.headers["location"])["code"]
    assert sandbox_stripe.state_.codes[code].livemode is livemode  # the form's `mode` is no say


async def test_an_unknown_client_id_is_refused(stripe: httpx.AsyncClient) -> None:
    answer = await stripe.get("/oauth/v2/authorize", params={"client_id": "ca_someone_else"})
    assert answer.status_code == 400 and "not known to Stripe" in answer.text


async def test_an_unpublished_app_installs_only_through_its_external_test_link(
    stripe: httpx.AsyncClient,
) -> None:
    assert (await stripe.post("/_sandbox/stripe/app", json={"published": False})).status_code == 200
    form = authorize_form("ca_kobling_dev_test", "acct_unpublished1")
    public = await stripe.post("/oauth/v2/authorize", data=form)
    assert public.status_code == 400 and "The provided OAuth link is invalid" in public.text
    page = await stripe.get(
        f"/oauth/v2/{sandbox_stripe.CHANNEL_LINK}/authorize",
        params={k: form[k] for k in ("client_id", "redirect_uri")},
    )
    assert page.status_code == 200
    assert f'action="/oauth/v2/{sandbox_stripe.CHANNEL_LINK}/authorize"' in page.text
    external = await stripe.post(f"/oauth/v2/{sandbox_stripe.CHANNEL_LINK}/authorize", data=form)
    assert external.status_code == 303 and "code=ac_" in external.headers["location"]
    other = await stripe.post("/oauth/v2/chnlink_not_ours/authorize", data=form)
    assert other.status_code == 400


async def test_the_marketplace_offers_a_link_per_mode(stripe: httpx.AsyncClient) -> None:
    page = (await stripe.get("/")).text
    links = [part.split('"')[0].replace("&amp;", "&") for part in page.split('href="')[1:]]
    ids = [query_of(link).get("client_id") for link in links if "/oauth/v2/" in link]
    assert ids == ["ca_kobling_dev_test", "ca_kobling_dev"]
