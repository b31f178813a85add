"""The connect page names the Stripe account as Stripe knows it, not only by its `acct_…` id (issue
23, "Also"). install reads `GET /v1/account` with the install's own OAuth access token right after
the code exchange (the app's `connected_account_read` permission) and carries the name on
StripeAppInstalled; econ-auth keeps it with the install and shows "<name> (acct_…)". Never the
view's claim: a connect request cannot carry a name at all. Optional everywhere: older events
have none."""

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from kobling_devkit.stripe_signing import new_account, sign, view_payload
from kobling_econ_auth import connecting, installs
from kobling_econ_auth.app import create_app as econ_auth_app
from kobling_econ_auth.deps import Deps
from kobling_install import oauth
from kobling_install.oauth import OAuthDeps
from kobling_install.settings import InstallSettings
from kobling_install.stripe_oauth import StripeOAuth
from kobling_shared.crypto import TokenCipher
from kobling_shared.events import (
    AnyEvent,
    InstallData,
    StripeAppInstalled,
    StripeAppUninstalled,
    parse_event,
)
from tests.fakes.econ_auth import fake_deps
from tests.in_process import client_of

ACCESS = "rk_test_access_token_of_the_install"


@dataclass
class Announcements:
    """install's Installs, as complete_install uses it: no webhook announced this install."""

    oauth: dict[str, datetime] = field(default_factory=dict)

    async def announced_by_oauth(self, key: str, at: datetime) -> None:
        self.oauth[key] = at

    async def webhook_announced(self, key: str) -> None:
        return None

    async def unannounce_oauth(self, key: str, at: datetime) -> None:
        self.oauth.pop(key, None)


class Vault:
    async def put(self, key: str, fields: dict[str, Any], expected_rev: int | None) -> bool:
        return True


def stripe_answering(account: dict[str, Any] | None, seen: list[httpx.Request]) -> StripeOAuth:
    """Stripe's token endpoint, and `GET /v1/account` answering `account` (None: a 404)."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/oauth/token":
            tokens = {
                "access_token": ACCESS,
                "refresh_token": "rt_x",
                "livemode": False,
                "stripe_user_id": "acct_1Named",
                "scope": "stripe_apps",
            }
            return httpx.Response(200, json=tokens)
        if request.url.path == "/v1/account" and account is not None:
            return httpx.Response(200, json={"id": "acct_1Named", "object": "account", **account})
        return httpx.Response(404, json={"error": {"type": "invalid_request_error"}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return StripeOAuth("https://api.stripe.test", {True: "sk_live_x", False: "sk_test_x"}, http)


async def installed_with(
    account: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[StripeAppInstalled, list[httpx.Request]]:
    published: list[AnyEvent] = []

    async def publish(broker: object, event: AnyEvent) -> None:
        published.append(event)

    monkeypatch.setattr(oauth, "publish", publish)
    seen: list[httpx.Request] = []
    settings = InstallSettings()
    deps = OAuthDeps(
        settings,
        None,  # type: ignore[arg-type]  # publish is replaced above
        None,  # type: ignore[arg-type]  # no state: a Marketplace install in test mode
        Announcements(),  # type: ignore[arg-type]
        Vault(),  # type: ignore[arg-type]
        TokenCipher(settings.token_encryption_keys),
        stripe_answering(account, seen),
    )
    await oauth.complete_install("ac_code", False, deps)
    (event,) = published
    assert isinstance(event, StripeAppInstalled)
    return event, seen


# --- install -------------------------------------------------------------------------------------


async def test_the_install_event_carries_the_name_stripe_shows_for_the_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = {
        "settings": {"dashboard": {"display_name": "Acme Studio"}},
        "business_profile": {"name": "Acme Studio ApS"},
    }
    event, seen = await installed_with(account, monkeypatch)
    assert event.data.account_name == "Acme Studio"
    (read,) = [r for r in seen if r.url.path == "/v1/account"]
    # With the install's own access token: the account it was issued for, and no other.
    assert read.method == "GET" and read.headers["authorization"] == f"Bearer {ACCESS}"


async def test_without_a_display_name_the_business_name_and_cut_to_100(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = {
        "settings": {"dashboard": {"display_name": None}},
        "business_profile": {"name": "B" * 300},
    }
    event, _ = await installed_with(account, monkeypatch)
    assert event.data.account_name == "B" * 100


@pytest.mark.parametrize("account", [None, {}, {"settings": None, "business_profile": None}])
async def test_no_name_to_be_had_installs_all_the_same(
    account: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    event, _ = await installed_with(account, monkeypatch)
    assert event.data.account_name is None


def test_install_events_from_before_names_still_parse() -> None:
    old = (
        '{"specversion":"1.0","id":"e1","source":"kobling/install","time":"2026-12-01T10:00:00Z",'
        '"subject":"acct_1","livemode":false,"datacontenttype":"application/json",'
        '"type":"com.kobling.stripe.app_installed.v1","data":{"via":"webhook"}}'
    )
    event = parse_event(old)
    assert isinstance(event, StripeAppInstalled) and event.data.account_name is None


# --- econ-auth's connect page ----------------------------------------------------------------


def install(account: str, name: str | None) -> StripeAppInstalled:
    data = InstallData(via="oauth", account_name=name)
    return StripeAppInstalled(source="t", subject=account, livemode=False, data=data)


async def confirm_page(deps: Deps, account: str) -> str:
    url, _ = await connecting.mint_connect_link(account, False, deps, f"sig-{account}", "usr_1")
    app = econ_auth_app(deps.settings)  # no lifespan: nothing connects
    app.state.deps = deps
    async with client_of(app, "http://econ-auth") as client:
        page = await client.get("/economic/connect", params={"link": url.split("link=", 1)[1]})
    assert page.status_code == 200, page.text
    return page.text


async def test_the_confirm_page_names_the_account_beside_its_id() -> None:
    deps, account = fake_deps(), new_account()
    await installs.on_install_events([install(account, "Acme Studio")], deps)
    assert f"Acme Studio ({account})" in await confirm_page(deps, account)


async def test_a_name_is_shown_as_text_never_as_markup() -> None:
    deps, account = fake_deps(), new_account()
    await installs.on_install_events([install(account, '<img src=x onerror="alert(1)">')], deps)
    page = await confirm_page(deps, account)
    assert "<img" not in page and html.escape("<img src=x") in page


async def test_without_a_name_the_page_shows_the_id_alone() -> None:
    deps, account = fake_deps(), new_account()
    await installs.on_install_events([install(account, None)], deps)
    page = await confirm_page(deps, account)
    assert f"<strong>{account}</strong>" in page and f"({account})" not in page


async def test_a_reinstall_without_a_name_keeps_it_and_an_uninstall_forgets_it() -> None:
    deps, account = fake_deps(), new_account()
    await installs.on_install_events([install(account, "Acme Studio")], deps)
    await installs.on_install_events([install(account, None)], deps)
    conn = await deps.store.get(account, False)
    assert conn is not None and conn.account_name == "Acme Studio"
    gone = StripeAppUninstalled(
        source="t", subject=account, livemode=False, data=InstallData(via="webhook")
    )
    await installs.on_install_events([gone], deps)
    conn = await deps.store.get(account, False)
    assert conn is not None and conn.account_name is None


async def test_a_connect_request_cannot_carry_a_name() -> None:
    """The view chooses what Stripe signs: a name in it would be the sender's claim."""
    deps, account = fake_deps(), new_account()
    await installs.on_install_events([install(account, None)], deps)
    secret = deps.settings.stripe_app_secret
    app = econ_auth_app(deps.settings)
    app.state.deps = deps
    fields = {"livemode": False, "action": "connect", "account_name": "Victim ApS"}
    body = view_payload(fields, "usr_1", account)
    async with client_of(app, "http://econ-auth") as client:
        answer = await client.post(
            "/api/connect-link", content=body, headers={"Stripe-Signature": sign(body, secret)}
        )
    assert answer.status_code == 400
