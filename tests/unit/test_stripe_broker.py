"""install's read-only Stripe broker (issue 24): the sync reads a connected account through it and
never holds a Stripe token. Over HTTP into install's app, with the install's tokens, the audit and
Stripe (httpx.MockTransport) in memory."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from kobling_devkit.stripe_signing import new_account
from kobling_install import oauth
from kobling_install.app import create_app
from kobling_install.settings import InstallSettings
from kobling_install.stripe_broker import STRIPE_VERSION, StripeBroker, digest_key
from kobling_install.stripe_oauth import InvalidGrant, StripeTokens
from kobling_shared.events import account_key, now
from tests.fakes.install import FakeAnnouncements, FakeBrokerUses, FakeTokenVault, PlainCipher
from tests.in_process import client_of

SYNC, READER = "sync-token-" + "s" * 32, "reader-token-" + "r" * 32
STOLEN = "stolen-" + "x" * 32
ACCESS = "stripe-access-token-of-the-install-" + "a" * 24
REFRESHED = "stripe-access-token-after-refresh-" + "b" * 24
INVOICE: dict[str, Any] = {
    "id": "in_1Nv",
    "object": "invoice",
    "total": 12500,
    "customer_name": "Only Stripe",
}


class Refresher:
    """Stripe's /v1/oauth/token for refreshes: a new access token, or invalid_grant."""

    def __init__(self) -> None:
        self.refused = False

    async def refresh(self, refresh_token: str, livemode: bool) -> StripeTokens:
        if self.refused:
            raise InvalidGrant()
        return StripeTokens(
            access_token=REFRESHED,
            refresh_token="rt-2",
            livemode=livemode,
            stripe_user_id="acct_x",
        )


@dataclass
class World:
    client: httpx.AsyncClient
    vault: FakeTokenVault
    installs: FakeAnnouncements
    audit: FakeBrokerUses
    refresher: Refresher
    api_base: str
    sent: list[httpx.Request] = field(default_factory=list)
    stripe: Any = None  # what Stripe answers: a function of the request

    def installed(self, access: str = ACCESS, expires_in: timedelta = timedelta(hours=1)) -> str:
        account = new_account()
        key = account_key(account, False)
        self.vault.hold(key, access, "rt-1", now() + expires_in)
        self.installs.oauth[key] = now()
        return account

    async def call(
        self, account: str, path: str, token: str | None = SYNC, **extra: Any
    ) -> httpx.Response:
        body = {"account_id": account, "livemode": False, "path": path, **extra}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/internal/stripe", json=body, headers=headers)


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("STRIPE_BROKER_TOKENS", f"sync:{SYNC},reader:{READER}")
    monkeypatch.setattr(oauth, "REFRESH_SETTLES_SECONDS", 0.05)
    settings = InstallSettings()
    app = create_app(settings)  # no lifespan: nothing connects
    vault, installs, audit, refresher = (
        FakeTokenVault(),
        FakeAnnouncements(),
        FakeBrokerUses(),
        Refresher(),
    )
    deps = app.state.deps
    tokens = replace(deps.oauth, vault=vault, installs=installs, cipher=PlainCipher())
    tokens = replace(tokens, stripe=refresher)
    async with client_of(app, "http://install") as client:
        world = World(client, vault, installs, audit, refresher, settings.stripe_api_base)
        world.stripe = lambda request: httpx.Response(200, json=INVOICE)

        def stripe(request: httpx.Request) -> httpx.Response:
            world.sent.append(request)
            answer: httpx.Response = world.stripe(request)
            return answer

        http = httpx.AsyncClient(transport=httpx.MockTransport(stripe))
        broker = StripeBroker(tokens, audit, http, digest_key("test-key"))
        app.state.deps = replace(deps, stripe_broker=broker)
        yield world
        await http.aclose()


def calls(caller: str, outcome: str) -> float:
    labels = {"caller": caller, "outcome": outcome}
    return REGISTRY.get_sample_value("kobling_stripe_broker_calls_total", labels) or 0.0


async def test_a_listed_read_goes_to_stripe_with_the_install_s_token(world: World) -> None:
    account = world.installed()
    before = calls("sync", "200")
    path = "/v1/balance_transactions?payout=po_1Nv&limit=100&expand[]=data.source"
    answer = await world.call(account, path)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": 200, "body": INVOICE}  # Stripe's body, passed through
    (sent,) = world.sent
    assert sent.method == "GET"
    assert str(sent.url).startswith(f"{world.api_base}/v1/balance_transactions?")
    assert dict(sent.url.params.multi_items()) == {
        "payout": "po_1Nv",
        "limit": "100",
        "expand[]": "data.source",
    }
    assert sent.headers["Authorization"] == f"Bearer {ACCESS}"
    assert sent.headers["Stripe-Version"] == STRIPE_VERSION == "2025-03-31.basil"
    (use,) = world.audit.all
    assert {k: use[k] for k in ("caller", "account", "method", "path", "limit", "status")} == {
        "caller": "sync",
        "account": account_key(account, False),
        "method": "GET",
        "path": "/v1/balance_transactions",
        "limit": 100,
        "status": 200,
    }
    assert use["outcome"] == "answered" and isinstance(use["duration_ms"], int)
    assert use["query_digest"] and "po_1Nv" not in str(use)  # the query only as its digest
    assert calls("sync", "200") == before + 1


async def test_the_use_is_recorded_before_the_read_leaves(world: World) -> None:
    account = world.installed()
    seen: list[list[str]] = []

    def stripe(request: httpx.Request) -> httpx.Response:
        seen.append([use["outcome"] for use in world.audit.all])
        return httpx.Response(200, json=INVOICE)

    world.stripe = stripe
    assert (await world.call(account, "/v1/invoices/in_1Nv")).status_code == 200
    assert seen == [["unknown"]]  # a process that dies now still leaves its use behind
    assert [use["outcome"] for use in world.audit.all] == ["answered"]


async def test_each_caller_is_named_by_its_own_token(world: World) -> None:
    account = world.installed()
    assert (await world.call(account, "/v1/account", READER)).status_code == 200
    assert [use["caller"] for use in world.audit.all] == ["reader"]


async def test_stripe_s_refusal_is_passed_through(world: World) -> None:
    account = world.installed()
    missing = {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
    world.stripe = lambda request: httpx.Response(404, json=missing)
    answer = await world.call(account, "/v1/invoices/in_gone")
    assert answer.json() == {"status": 404, "body": missing}
    assert world.audit.all[0]["status"] == 404


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/v1/invoices/../account", {}),
        ("/v1/invoices/%2e%2e/account", {}),
        ("/v1/invoices/in_1%2F..%2Faccount", {}),
        ("/v1/invoices/in_1%2faccount", {}),
        ("https://evil.example/v1/account", {}),
        ("//evil.example/v1/account", {}),
        ("/v1/invoices/in_1/lines?ending_before=il_1", {}),
        ("/v1/customers", {}),
        ("/v1/oauth/deauthorize", {}),
        ("/v1/invoices/in_1", {"method": "POST"}),
        ("/v1/invoices/in_1", {"method": "DELETE"}),
        ("/v1/invoices/in_1", {"method": "get"}),
    ],
)
async def test_a_read_not_on_the_list_is_refused_audited_and_never_sent(
    world: World, path: str, extra: dict[str, str]
) -> None:
    account = world.installed()
    before = calls("sync", "400")
    answer = await world.call(account, path, **extra)
    assert (answer.status_code, answer.json()["error"]) == (400, "not_allowed")
    assert world.sent == []
    (use,) = world.audit.all
    assert (use["caller"], use["status"], use["error"]) == ("sync", 400, "not_allowed")
    assert use["path"] == "" and use["query_digest"]  # never the probe's text, only its digest
    assert path not in str(use)
    assert calls("sync", "400") == before + 1


async def test_only_a_post_reaches_the_broker(world: World) -> None:
    assert (await world.client.get("/internal/stripe")).status_code == 405
    assert (await world.client.delete("/internal/stripe")).status_code == 405


async def test_a_body_with_more_than_the_broker_takes_is_refused(world: World) -> None:
    account = world.installed()
    answer = await world.call(account, "/v1/account", body={"amount": 1})
    assert answer.status_code == 422 and world.sent == []


@pytest.mark.parametrize("token", [STOLEN, None, SYNC[:-1], SYNC + "s", ""])
async def test_a_wrong_bearer_is_401_and_audited(world: World, token: str | None) -> None:
    account = world.installed()
    before = calls("(unauthenticated)", "401")
    answer = await world.call(account, "/v1/account", token)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert world.sent == []
    (use,) = world.audit.all
    assert (use["caller"], use["status"], use["error"]) == (
        "(unauthenticated)",
        401,
        "unauthenticated",
    )
    assert use["account"] == account_key(account, False)
    assert calls("(unauthenticated)", "401") == before + 1


async def test_a_wrong_bearer_for_an_account_never_installed_is_not_audited(world: World) -> None:
    """Else anyone who reaches the port could fill the audit with made-up accounts."""
    answer = await world.call(new_account(), "/v1/account", STOLEN)
    assert answer.status_code == 401 and world.audit.all == [] and world.sent == []


async def test_an_account_never_installed_is_404(world: World) -> None:
    account = new_account()
    answer = await world.call(account, "/v1/account")
    assert (answer.status_code, answer.json()["error"]) == (404, "unknown_account")
    assert world.sent == []
    (use,) = world.audit.all
    assert (use["status"], use["error"], use["path"]) == (404, "unknown_account", "/v1/account")


async def test_an_uninstalled_install_is_409(world: World) -> None:
    account = world.installed()
    world.vault.docs.clear()  # what an uninstall does to its tokens
    answer = await world.call(account, "/v1/invoices/in_1Nv")
    assert (answer.status_code, answer.json()["error"]) == (409, "uninstalled")
    assert world.sent == []
    assert world.audit.all[0]["error"] == "uninstalled"


async def test_a_refresh_stripe_refuses_is_409(world: World) -> None:
    account = world.installed(expires_in=timedelta(0))
    world.refresher.refused = True  # revoked: the merchant removed the app
    answer = await world.call(account, "/v1/account")
    assert (answer.status_code, answer.json()["error"]) == (409, "invalid_grant")
    assert world.sent == [] and world.audit.all[0]["status"] == 409


async def test_an_expired_token_is_refreshed_before_the_read(world: World) -> None:
    account = world.installed(expires_in=timedelta(0))
    assert (await world.call(account, "/v1/account")).status_code == 200
    assert world.sent[0].headers["Authorization"] == f"Bearer {REFRESHED}"


async def test_stripe_unreachable_is_504_and_audited_as_unanswered(world: World) -> None:
    account = world.installed()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    world.stripe = down
    answer = await world.call(account, "/v1/payouts/po_1Nv")
    assert (answer.status_code, answer.json()["error"]) == (504, "stripe_unavailable")
    (use,) = world.audit.all
    assert (use["status"], use["outcome"], use["error"]) == (
        504,
        "unanswered",
        "stripe_unavailable",
    )


async def test_a_redirect_is_not_followed(world: World) -> None:
    account = world.installed()
    world.stripe = lambda request: httpx.Response(
        302, headers={"Location": "https://evil.example/steal"}
    )
    answer = await world.call(account, "/v1/account")
    assert answer.json()["status"] == 302
    assert [str(r.url.host) for r in world.sent] == [httpx.URL(world.api_base).host]


async def test_the_token_never_appears_in_the_answer_the_audit_or_the_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = world.installed(expires_in=timedelta(0))  # refreshed on the way: both tokens
    # A Stripe that echoes what it was sent (no real answer does; the broker must not care).
    world.stripe = lambda request: httpx.Response(
        400, json={"error": {"message": f"bad {request.headers['Authorization']}"}}
    )
    answers = [
        await world.call(account, "/v1/invoices/in_1Nv"),
        await world.call(account, "/v1/invoices/../account"),
        await world.call(account, "/v1/account", STOLEN),
    ]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.headers['Authorization']}", request=request)

    world.stripe = down
    answers.append(await world.call(account, "/v1/account"))
    assert [a.status_code for a in answers] == [200, 400, 401, 504]
    assert answers[0].json()["body"]["error"]["message"] == "bad Bearer [token]"
    seen = " ".join([*(a.text for a in answers), str(world.audit.all), caplog.text])
    for secret in (ACCESS, REFRESHED, "rt-1", "rt-2", SYNC, STOLEN):
        assert secret not in seen
    assert "Only Stripe" not in caplog.text  # nor a body in the logs
