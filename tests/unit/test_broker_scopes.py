"""The e-conomic broker's callers each within their scope (issue 23, item 4): the methods and paths
it may send, its own share of each agreement's day, and every refused call audited. Over HTTP into
econ-auth's app, with the store, grants, topic, database and e-conomic in memory."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from kobling_devkit.stripe_signing import new_account
from kobling_econ_auth.app import create_app
from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.events import EconomicGrantUsed, account_key
from tests.fakes.econ_auth import FakeConnections, fake_deps, lend_in_memory
from tests.fakes.kafka import FakeTopic
from tests.in_process import client_of

SYNC, READER = "sync-token-" + "s" * 32, "reader-token-" + "r" * 32
STOLEN = "stolen-" + "x" * 32
SCOPES = {"sync": {"allow": ["GET /", "POST /invoices/drafts"], "daily_share": 0.3}}
ACME = Agreement(agreement_number=123456, company_name="Acme ApS")


@dataclass
class World:
    deps: Deps
    client: httpx.AsyncClient
    sent: list[httpx.Request] = field(default_factory=list)

    @property
    def uses(self) -> list[EconomicGrantUsed]:
        topic = self.deps.publisher
        assert isinstance(topic, FakeTopic)
        return [e for e in topic.events if isinstance(e, EconomicGrantUsed)]

    async def connected(self) -> str:
        account = new_account()
        sealed = await self.deps.grants.seal(account, False, "grant-1")
        assert isinstance(self.deps.store, FakeConnections)
        self.deps.store.connections[account_key(account, False)] = Connection(
            account_id=account,
            livemode=False,
            installed=True,
            state="connected",
            grant_ciphertext=sealed,
            agreement=ACME,
        )
        return account

    async def call(
        self, account: str, method: str, path: str, token: str | None = SYNC
    ) -> httpx.Response:
        body = {"account_id": account, "livemode": False, "method": method, "path": path}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/internal/economic", json=body, headers=headers)


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("ECONOMIC_BROKER_TOKENS", f"sync:{SYNC},reader:{READER}")
    monkeypatch.setenv("ECONOMIC_BROKER_SCOPES", json.dumps(SCOPES))
    monkeypatch.setenv("ECONOMIC_DAILY_BUDGET", "10")
    settings = EconAuthSettings()
    deps = fake_deps(settings)
    sent: list[httpx.Request] = []

    def economic(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"collection": []})

    app = create_app(settings)  # no lifespan: nothing connects
    deps = lend_in_memory(app, deps, economic)
    async with client_of(app, "http://econ-auth") as client:
        yield World(deps, client, sent)


@pytest.mark.parametrize(
    ("token", "method", "path", "allowed"),
    [
        (SYNC, "DELETE", "/customers/1", False),
        (SYNC, "POST", "/invoices/booked", False),  # booking cannot be undone
        (SYNC, "POST", "/invoices/drafts-old", False),  # a prefix is whole segments
        (SYNC, "PUT", "/invoices/drafts/7", False),
        (READER, "POST", "/customers", False),  # a caller with no scope reads only
        (READER, "DELETE", "/invoices/drafts/7", False),
        (SYNC, "POST", "/invoices/drafts", True),
        (SYNC, "POST", "/invoices/drafts/7/lines", True),
        (SYNC, "GET", "/customers?pagesize=100", True),
        (READER, "GET", "/self", True),
    ],
)
async def test_a_caller_sends_only_what_its_scope_allows(
    world: World, token: str, method: str, path: str, allowed: bool
) -> None:
    account = await world.connected()
    answer = await world.call(account, method, path, token)
    if allowed:
        assert (answer.status_code, answer.json()["status"], len(world.sent)) == (200, 200, 1)
    else:
        assert (answer.status_code, answer.json()["error"]) == (403, "out_of_scope")
        assert world.sent == []


async def test_a_caller_spends_only_its_share_of_the_agreement_s_day(world: World) -> None:
    """Budget 10: sync's share (0.3) is 3 calls, the reader's (no scope: half) 5."""
    account = await world.connected()
    sync = [(await world.call(account, "GET", "/self")).status_code for _ in range(4)]
    reader = [(await world.call(account, "GET", "/self", READER)).status_code for _ in range(6)]
    assert sync == [200, 200, 200, 429] and reader == [200] * 5 + [429]
    refused = await world.call(account, "GET", "/self")
    assert refused.json()["error"] == "caller_budget_spent"
    assert refused.headers["Kobling-Budget-Remaining"] == "0"
    assert len(world.sent) == 8
    spent = [u.data.caller for u in world.uses if u.data.error == "caller_budget_spent"]
    assert spent == ["sync", "reader", "sync"]  # refused, and audited as such


async def test_every_refused_call_is_audited(world: World) -> None:
    account, unknown = await world.connected(), new_account()
    assert (await world.call(account, "DELETE", "/customers/1")).status_code == 403
    assert (await world.call(account, "GET", "/customers/../self")).status_code == 400
    assert (await world.call(unknown, "GET", "/self")).status_code == 404
    assert (await world.call(account, "GET", "/self", token=STOLEN)).status_code == 401
    assert (await world.call(unknown, "GET", "/self", token=None)).status_code == 401
    assert isinstance(world.deps.store, FakeConnections)
    conn = world.deps.store.connections[account_key(account, False)]
    world.deps.store.connections[account_key(account, False)] = conn.model_copy(
        update={"state": "disconnected"}
    )
    assert (await world.call(account, "GET", "/self")).status_code == 409

    told = [(u.subject, u.data.caller, u.data.status, u.data.error) for u in world.uses]
    assert told == [
        (account, "sync", 403, "out_of_scope"),
        (account, "sync", 400, "not_a_rest_path"),
        (unknown, "sync", 404, "unknown_account"),
        # without a token, only about an account we hold: nobody fills the topic with others
        (account, "(unauthenticated)", 401, "unauthenticated"),
        (account, "sync", 409, "disconnected"),
    ]
    assert {u.data.outcome for u in world.uses} == {"refused"}
    assert "/customers/.." not in str([u.model_dump() for u in world.uses])
    assert world.sent == []


async def test_the_audit_tells_a_bulk_read_from_a_single_one_without_the_query(
    world: World,
) -> None:
    account = await world.connected()
    lookups = [
        "/customers?filter=email$eq:mette@hygge.dk&pagesize=1",
        "/customers?filter=email$eq:mette@hygge.dk&pagesize=1",
        "/customers?filter=email$eq:jens@hygge.dk&pagesize=1",
        "/customers?pagesize=1000",
    ]
    for path in lookups:
        assert (await world.call(account, "GET", path, READER)).status_code == 200

    data: list[dict[str, Any]] = [u.data.model_dump() for u in world.uses]
    assert [d["page_size"] for d in data] == [1, 1, 1, 1000]
    digests = [d["query_digest"] for d in data]
    assert digests[0] == digests[1] and len(set(digests)) == 3 and None not in digests
    assert "hygge" not in json.dumps(data) and {d["path"] for d in data} == {"/customers"}


async def test_a_refused_call_is_on_the_timeline_but_not_in_the_use_count(world: World) -> None:
    from kobling_status.grant_uses import counted

    account = await world.connected()
    await world.call(account, "DELETE", "/customers/1")
    await world.call(account, "GET", "/self")
    summary = counted(None, world.uses)
    assert summary is not None and summary["count"] == 1
    assert summary["last"]["use"]["status"] == 200
