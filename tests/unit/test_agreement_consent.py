"""An e-conomic agreement already connected to one Stripe account is not joined by another on a
grant alone (issue 23, item 6). e-conomic does not bind its grant token to our state: a victim
lured to e-conomic's grant page with Kobling's public token and an attacker's redirectUrl hands the
attacker a token that completes the attacker's own state. So the newcomer is held, its grant
sealed and never lent, until a user of an account already connected approves in the app view."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest

from kobling_devkit.stripe_signing import new_account, sign, view_payload
from kobling_econ_auth import connecting, consent, grant_callback, installs
from kobling_econ_auth.app import create_app
from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.holds import HOLD_FOR
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.events import (
    AnyEvent,
    EconomicConnected,
    EconomicConnectionFailed,
    EconomicConnectionHeld,
    EconomicJoinClosed,
    InstallData,
    StripeAppInstalled,
    StripeAppUninstalled,
    now,
)
from kobling_status.projection import AccountStatus, project
from kobling_status.views import merchant_view
from tests.fakes.econ_auth import (
    FakeConnections,
    FakeEconomic,
    FakeGrants,
    fake_deps,
    lend_in_memory,
)
from tests.fakes.kafka import FakeTopic
from tests.in_process import client_of

ACME = Agreement(agreement_number=123456, company_name="Acme ApS")
NORDLYS = Agreement(agreement_number=234567, company_name="Nordlys ApS")
APP_SECRET = "absec_" + "a" * 32
BROKER = "sync-token-" + "s" * 32


@dataclass
class World:
    deps: Deps
    signatures: int = 0
    seen: dict[str, AccountStatus] = field(default_factory=dict)

    @property
    def store(self) -> FakeConnections:
        assert isinstance(self.deps.store, FakeConnections)
        return self.deps.store

    @property
    def grants(self) -> FakeGrants:
        assert isinstance(self.deps.grants, FakeGrants)
        return self.deps.grants

    @property
    def events(self) -> list[AnyEvent]:
        assert isinstance(self.deps.publisher, FakeTopic)
        return list(self.deps.publisher.events)

    def of(self, account: str, kind: type) -> list[AnyEvent]:
        return [e for e in self.events if e.subject == account and isinstance(e, kind)]

    def signature(self) -> str:
        self.signatures += 1
        return f"signed-{self.signatures}"

    async def installed(
        self, livemode: bool = False, account: str | None = None, name: str | None = None
    ) -> str:
        account = account or new_account()
        data = InstallData(via="oauth", account_name=name)
        event = StripeAppInstalled(source="t", subject=account, livemode=livemode, data=data)
        await installs.on_install_events([event], self.deps)
        return account

    async def callback(
        self, account: str, token: str, agreement: Agreement, livemode: bool = False
    ) -> grant_callback.CallbackResult:
        """The journey from a signed connect request of `account` to e-conomic's callback with
        `token`, a grant e-conomic proves for `agreement`."""
        sig = self.signature()
        url, _ = await connecting.mint_connect_link(account, livemode, self.deps, sig, "usr_" + sig)
        grant_page = await connecting.open_connect_link(
            url.split("link=", 1)[1], "en-US", "b-" + account, self.deps
        )
        state = grant_page.split("callback%2F", 1)[1].split("&", 1)[0]
        assert isinstance(self.deps.economic, FakeEconomic)
        self.deps.economic.grants[token] = agreement
        return await grant_callback.complete_grant(state, token, "b-" + account, self.deps)

    async def connected(self, agreement: Agreement = ACME, livemode: bool = False) -> str:
        account = await self.installed(livemode)
        result = await self.callback(account, f"grant-of-{account}", agreement, livemode)
        assert result.outcome == "connected"
        return account

    def conn(self, account: str, livemode: bool = False) -> Connection:
        found = self.store.connections[f"{account}:{'live' if livemode else 'test'}"]
        return found

    def status(self, account: str) -> dict:
        """What the account's own app view shows (status's projection and merchant view)."""
        state: AccountStatus | None = None
        for event in self.events:
            if event.subject == account:
                state = project(state, event) or state
        assert state is not None
        return merchant_view(state)["economic"]


@pytest.fixture
def world() -> World:
    return World(fake_deps())


async def held_attack(world: World) -> tuple[str, str]:
    """The victim is connected to Acme; the attacker completes their own state with a token for
    Acme (the victim pressed "Add app" on a grant page that sent it to the attacker)."""
    victim = await world.connected(ACME)
    attacker = await world.installed()
    result = await world.callback(attacker, "grant-lured-from-victim", ACME)
    assert result.outcome == "held"
    return victim, attacker


# --- the attack --------------------------------------------------------------------------------


async def test_a_second_account_completing_with_a_connected_agreement_is_held_not_connected(
    world: World,
) -> None:
    victim = await world.connected(ACME)
    attacker = await world.installed()
    result = await world.callback(attacker, "grant-lured-from-victim", ACME)

    assert result.outcome == "held"
    conn = world.conn(attacker)
    assert conn.state == "not_connected" and conn.grant_ciphertext is None
    assert world.of(attacker, EconomicConnected) == []
    # The grant is kept sealed, for an approval, and for nothing else.
    assert conn.held is not None and world.grants.holds(conn.held.grant_ciphertext)
    assert "grant-lured-from-victim" not in json.dumps(conn.model_dump(mode="json")).replace(
        conn.held.grant_ciphertext, ""
    )
    (held,) = world.of(attacker, EconomicConnectionHeld)
    assert held.data.awaiting_accounts == [victim] and held.data.company_name == "Acme ApS"
    assert held.data.expires_at - held.time == HOLD_FOR


async def test_a_test_mode_install_of_another_account_is_held_too(world: World) -> None:
    """e-conomic has no test mode: a test-mode install (free, no activation) on a live merchant's
    company reaches the same books."""
    victim = await world.connected(ACME, livemode=True)
    attacker = await world.installed(livemode=False)
    result = await world.callback(attacker, "grant-lured", ACME, livemode=False)
    assert result.outcome == "held"
    (held,) = world.of(attacker, EconomicConnectionHeld)
    assert held.data.awaiting_accounts == [victim]


async def test_the_same_account_in_its_other_mode_is_not_held(world: World) -> None:
    merchant = await world.connected(ACME, livemode=True)
    await world.installed(livemode=False, account=merchant)
    result = await world.callback(merchant, "grant-test", ACME, livemode=False)
    assert result.outcome == "connected"


async def test_both_sides_are_told_and_the_waiting_one_learns_no_account_id(world: World) -> None:
    victim, attacker = await held_attack(world)

    waiting = world.status(attacker)
    assert waiting["state"] == "not_connected"
    assert waiting["awaiting_consent"]["company_name"] == "Acme ApS"
    assert victim not in json.dumps(waiting)
    asked = world.status(victim)
    assert asked["state"] == "connected"
    (request,) = asked["join_requests"]
    assert (request["account_id"], request["company_name"]) == (attacker, "Acme ApS")


async def test_the_request_names_the_account_as_stripe_knows_it_beside_its_id(
    world: World,
) -> None:
    victim = await world.connected(ACME)
    attacker = await world.installed(name="Acme ApS")  # a name its owner chose: the id decides
    await world.callback(attacker, "grant-lured", ACME)
    (request,) = world.status(victim)["join_requests"]
    assert (request["account_id"], request["account_name"]) == (attacker, "Acme ApS")


# --- approve, refuse, cancel, expire -----------------------------------------------------------


async def test_a_user_of_the_connected_account_approves_once(world: World) -> None:
    victim, attacker = await held_attack(world)
    signed = world.signature()

    await consent.approve(victim, False, attacker, False, world.deps, signed, "usr_victim")

    conn = world.conn(attacker)
    assert conn.state == "connected" and conn.held is None
    assert conn.agreement == ACME and world.grants.holds(conn.grant_ciphertext or "")
    (closed,) = world.of(victim, EconomicJoinClosed)
    assert (closed.data.outcome, closed.data.user_id) == ("approved", "usr_victim")
    assert world.status(attacker)["awaiting_consent"] is None
    assert world.status(victim)["join_requests"] == []
    # Both now share the company, and are told so as before.
    assert world.status(victim)["warning"] == "agreement_shared"
    with pytest.raises(connecting.SignatureSpent):
        await consent.approve(victim, False, attacker, False, world.deps, signed, "usr_victim")


async def test_a_refusal_deletes_the_held_grant_and_says_why(world: World) -> None:
    victim, attacker = await held_attack(world)
    held = world.conn(attacker).held
    assert held is not None

    await consent.refuse(victim, False, attacker, False, world.deps, world.signature(), "usr_v")

    assert world.conn(attacker).held is None and not world.grants.holds(held.grant_ciphertext)
    (failed,) = world.of(attacker, EconomicConnectionFailed)
    assert failed.data.reason == "join_refused"
    assert world.status(attacker)["state"] == "failed"
    assert world.status(attacker)["reason"] == "join_refused"
    (closed,) = world.of(victim, EconomicJoinClosed)
    assert closed.data.outcome == "refused"
    assert world.status(victim)["join_requests"] == []


async def test_the_waiting_account_may_cancel(world: World) -> None:
    victim, attacker = await held_attack(world)
    held = world.conn(attacker).held
    assert held is not None

    await consent.cancel(attacker, False, world.deps, world.signature(), "usr_a")

    assert world.conn(attacker).held is None and not world.grants.holds(held.grant_ciphertext)
    assert world.of(attacker, EconomicConnectionFailed)[0].data.reason == "join_cancelled"
    assert world.of(victim, EconomicJoinClosed)[0].data.outcome == "cancelled"


async def test_only_an_account_connected_to_that_company_may_answer(world: World) -> None:
    victim, attacker = await held_attack(world)
    elsewhere = await world.connected(NORDLYS)
    stranger = await world.installed()

    for who in (stranger, attacker):
        with pytest.raises(consent.NotAMember):
            await consent.approve(who, False, attacker, False, world.deps, world.signature(), "u")
    # Connected to another company, or asked about an account that asked nothing: the same
    # answer, so that no account learns who waits for someone else's company.
    for who, whose in ((elsewhere, attacker), (victim, elsewhere)):
        with pytest.raises(consent.NoRequest):
            await consent.refuse(who, False, whose, False, world.deps, world.signature(), "u")
    assert world.conn(attacker).state == "not_connected" and world.conn(attacker).held


async def test_a_hold_expires_after_a_week_and_is_dropped_the_same_way(world: World) -> None:
    victim, attacker = await held_attack(world)
    held = world.conn(attacker).held
    assert held is not None

    assert await consent.expire_holds(world.deps, now() + HOLD_FOR - timedelta(minutes=1)) == 0
    assert await consent.expire_holds(world.deps, now() + HOLD_FOR + timedelta(minutes=1)) == 1

    assert world.conn(attacker).held is None and not world.grants.holds(held.grant_ciphertext)
    assert world.of(attacker, EconomicConnectionFailed)[0].data.reason == "join_expired"
    assert world.of(victim, EconomicJoinClosed)[0].data.outcome == "expired"


async def test_an_uninstall_of_the_waiting_account_withdraws_its_request(world: World) -> None:
    victim, attacker = await held_attack(world)
    event = StripeAppUninstalled(
        source="t", subject=attacker, livemode=False, data=InstallData(via="webhook")
    )
    await installs.on_install_events([event], world.deps)

    assert world.conn(attacker).held is None
    assert world.of(victim, EconomicJoinClosed)[0].data.outcome == "withdrawn"
    with pytest.raises(consent.NoRequest):
        await consent.approve(victim, False, attacker, False, world.deps, world.signature(), "u")


async def test_a_new_connection_of_the_waiting_account_withdraws_its_request(world: World) -> None:
    victim, attacker = await held_attack(world)
    held = world.conn(attacker).held
    assert held is not None
    result = await world.callback(attacker, "grant-own", NORDLYS)

    assert result.outcome == "connected" and world.conn(attacker).held is None
    assert not world.grants.holds(held.grant_ciphertext)
    assert world.of(victim, EconomicJoinClosed)[0].data.outcome == "withdrawn"


# --- over HTTP: the broker, and the signed view requests ----------------------------------------


@pytest.fixture
async def http(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    monkeypatch.setenv("STRIPE_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("ECONOMIC_BROKER_TOKENS", f"sync:{BROKER}")
    settings = EconAuthSettings()
    app = create_app(settings)  # no lifespan: nothing connects

    def economic(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"collection": []})

    deps = lend_in_memory(app, fake_deps(settings), economic)
    deps = type(deps)(**{**deps.__dict__, "economic": FakeEconomic()})
    app.state.deps = deps
    app.state.broker.deps = deps
    async with client_of(app, "http://econ-auth") as client:
        yield World(deps), client


def signed(account: str, action: str, user: str = "usr_1", **extra: object) -> dict:
    payload = {"livemode": False, "action": action, "nonce": "0" * 31 + str(len(extra)), **extra}
    body = view_payload(payload, user, account)
    return {"content": body, "headers": {"Stripe-Signature": sign(body, APP_SECRET)}}


async def test_the_broker_lends_nothing_while_held(http: tuple[World, httpx.AsyncClient]) -> None:
    world, client = http
    _, attacker = await held_attack(world)
    body = {"account_id": attacker, "livemode": False, "method": "GET", "path": "/customers"}
    answer = await client.post(
        "/internal/economic", json=body, headers={"Authorization": f"Bearer {BROKER}"}
    )
    assert answer.status_code == 409 and answer.json()["error"] == "awaiting_consent"


async def test_approve_and_refuse_are_signed_view_requests_spent_once(
    http: tuple[World, httpx.AsyncClient],
) -> None:
    world, client = http
    victim, attacker = await held_attack(world)
    waiting = {"waiting_account": attacker, "waiting_livemode": False}

    # The waiting account cannot approve itself; a signature for one action does not do another.
    own = await client.post("/api/join/approve", **signed(attacker, "approve_join", **waiting))
    assert own.status_code == 403 and own.json()["error"] == "not_connected_to_company"
    wrong = await client.post("/api/join/approve", **signed(victim, "refuse_join", **waiting))
    assert wrong.status_code == 401
    request = signed(victim, "approve_join", **waiting)
    approved = await client.post("/api/join/approve", **request)
    assert approved.status_code == 200, approved.text
    assert world.conn(attacker).state == "connected"
    again = await client.post("/api/join/approve", **request)
    assert again.status_code == 409 and again.json()["error"] == "signature_used"
    # Approve and refuse name whose request they answer; the other actions name nobody.
    missing = await client.post("/api/join/refuse", **signed(victim, "refuse_join"))
    assert missing.status_code == 400
    stray = await client.post("/api/join/cancel", **signed(attacker, "cancel_join", **waiting))
    assert stray.status_code == 400


def test_the_reliability_doc_says_whether_e_conomic_can_hold_redirect_url() -> None:
    """The answer rests on e-conomic's documents, not on a test: the doc cites them and says what
    to do before launch."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    finding = doc[doc.index("Can e-conomic hold `redirectUrl`") :][:2000]
    for cited in ("e-conomic.com/developer/connect", "e-conomic/slate", "Before launch"):
        assert cited in finding, cited
    assert "test_a_second_account_completing_with_a_connected_agreement_is_held" in doc
