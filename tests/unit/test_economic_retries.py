"""One e-conomic client owns retries and Retry-After, for the grant check's GET /self and the
broker's pass-through alike: a 429 waits what Retry-After says, a 5xx is sent again a bounded
number of times (never to a POST without an Idempotency-Key, which may have created the draft
all the same), and a wait
longer than the caller may sit through goes back to it. e-conomic in memory (httpx.MockTransport),
the waits recorded instead of slept."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from kobling_devkit.stripe_signing import new_account
from kobling_econ_auth.app import create_app
from kobling_econ_auth.broker import LATENCY, USES
from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.economic import EconomicClient
from kobling_econ_auth.ports import EconomicUnavailable, GrantRejected, PermissionRefused
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.events import account_key
from tests.fakes.econ_auth import FakeConnections, fake_deps, lend_in_memory
from tests.in_process import client_of

SYNC = "sync-token-" + "s" * 32
ACME = Agreement(agreement_number=123456, company_name="Acme ApS")
SELF = {"agreementNumber": 123456, "company": {"name": "Acme ApS"}}
Answer = Callable[[httpx.Request], httpx.Response]


@dataclass
class Economic:
    """e-conomic answering from a script, one answer a request (the last one repeated)."""

    script: list[httpx.Response | type[Exception]] = field(default_factory=list)
    sent: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = self.script[min(len(self.sent), len(self.script)) - 1]
        if isinstance(answer, type):
            raise answer("e-conomic is not there", request=request)
        return answer


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Every wait (asyncio.sleep) the code asks for, none of them slept."""
    waited: list[float] = []
    real = asyncio.sleep

    async def sleep(delay: float, result: object = None) -> object:
        if delay > 0:
            waited.append(delay)
        return await real(0, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    yield waited


def rate_limited(after: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": after}, json={"message": "slow down"})


# --- GET /self: the grant check and the callback ------------------------------------------------


async def self_info(economic: Economic) -> object:
    http = httpx.AsyncClient(transport=httpx.MockTransport(economic))
    client = EconomicClient("http://e-conomic", "app-secret", http)
    try:
        return await client.self_info("grant-1")
    except (EconomicUnavailable, GrantRejected, PermissionRefused) as error:
        return type(error)


async def test_self_waits_out_a_short_retry_after(waits) -> None:
    economic = Economic([rate_limited("1"), rate_limited("1"), httpx.Response(200, json=SELF)])
    agreement = await self_info(economic)
    assert isinstance(agreement, Agreement) and agreement.agreement_number == 123456
    assert (len(economic.sent), waits) == (3, [1.0, 1.0])


async def test_self_does_not_hold_the_merchant_for_a_long_retry_after(waits) -> None:
    economic = Economic([rate_limited("3600")])
    assert await self_info(economic) is EconomicUnavailable
    assert (len(economic.sent), waits) == (1, [])


async def test_self_retries_a_5xx_and_a_lost_connection_a_bounded_number_of_times(waits) -> None:
    economic = Economic([httpx.Response(503), httpx.ConnectError, httpx.Response(500)])
    assert await self_info(economic) is EconomicUnavailable
    assert (len(economic.sent), waits) == (3, [0.25, 0.5])


@pytest.mark.parametrize(
    ("status", "raised"),
    [(401, GrantRejected), (403, PermissionRefused), (404, EconomicUnavailable)],
)
async def test_self_answers_a_4xx_at_once(waits, status: int, raised: type) -> None:
    economic = Economic([httpx.Response(status, json={"errorCode": "E02250"})])
    assert await self_info(economic) is raised
    assert (len(economic.sent), waits) == (1, [])


# --- the broker's pass-through ------------------------------------------------------------------


@dataclass
class Broker:
    client: httpx.AsyncClient
    economic: Economic
    account: str

    async def call(
        self, method: str, path: str = "/invoices/drafts", headers: dict[str, Any] | None = None
    ) -> httpx.Response:
        body = {"account_id": self.account, "livemode": False, "method": method, "path": path}
        headers = {"Authorization": f"Bearer {SYNC}", **(headers or {})}
        return await self.client.post("/internal/economic", json=body, headers=headers)


@pytest.fixture
async def broker(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Broker]:
    monkeypatch.setenv("ECONOMIC_BROKER_TOKENS", f"sync:{SYNC}")
    allow = ["GET /", "POST /invoices/drafts", "PUT /invoices/drafts"]
    scopes = {"sync": {"allow": allow, "daily_share": 1}}
    monkeypatch.setenv("ECONOMIC_BROKER_SCOPES", json.dumps(scopes))
    settings = EconAuthSettings()
    deps, economic = fake_deps(settings), Economic()
    app = create_app(settings)  # no lifespan: nothing connects
    deps = lend_in_memory(app, deps, economic)
    account = new_account()
    assert isinstance(deps.store, FakeConnections)
    deps.store.connections[account_key(account, False)] = Connection(
        account_id=account,
        livemode=False,
        installed=True,
        state="connected",
        grant_ciphertext=await deps.grants.seal(account, False, "grant-1"),
        agreement=ACME,
    )
    async with client_of(app, "http://econ-auth") as client:
        yield Broker(client, economic, account)


async def test_the_broker_waits_out_a_short_retry_after(broker, waits) -> None:
    broker.economic.script = [rate_limited("1"), rate_limited("1"), httpx.Response(200, json={})]
    answer = await broker.call("GET", "/self")
    assert answer.json()["status"] == 200
    assert (len(broker.economic.sent), waits) == (3, [1.0, 1.0])
    assert answer.headers["Kobling-Budget-Remaining"] == str(broker_budget() - 3)


async def test_the_broker_hands_a_long_retry_after_to_its_caller(broker, waits) -> None:
    broker.economic.script = [rate_limited("3600")]
    answer = await broker.call("GET", "/self")
    assert (answer.json()["status"], answer.json()["headers"]["retry-after"]) == (429, "3600")
    assert (len(broker.economic.sent), waits) == (1, [])


async def test_the_broker_sends_a_429_to_a_post_again(broker, waits) -> None:
    broker.economic.script = [
        rate_limited("2"),
        httpx.Response(201, json={"draftInvoiceNumber": 1}),
    ]
    answer = await broker.call("POST")
    assert answer.json() == {
        "status": 201,
        "headers": {"content-type": "application/json"},
        "body": {"draftInvoiceNumber": 1},
    }
    assert (len(broker.economic.sent), waits) == (2, [2.0])


@pytest.mark.parametrize(("method", "sent"), [("GET", 3), ("PUT", 3), ("POST", 1)])
async def test_the_broker_sends_a_5xx_again_only_where_it_is_safe(
    broker, waits, method: str, sent: int
) -> None:
    broker.economic.script = [httpx.Response(500, json={"message": "oops"})]
    answer = await broker.call(
        method, "/invoices/drafts/7" if method == "PUT" else "/invoices/drafts"
    )
    assert answer.json()["status"] == 500
    assert (len(broker.economic.sent), waits) == (sent, [0.25, 0.5][: sent - 1])


@pytest.mark.parametrize(("method", "sent"), [("GET", 3), ("POST", 1)])
async def test_the_broker_answers_504_when_e_conomic_is_not_there(
    broker, waits, method: str, sent: int
) -> None:
    broker.economic.script = [httpx.ConnectError]
    answer = await broker.call(method)
    assert (answer.status_code, answer.json()["error"]) == (504, "economic_unavailable")
    assert (len(broker.economic.sent), waits) == (sent, [0.25, 0.5][: sent - 1])


async def test_a_call_e_conomic_never_answered_is_counted_and_timed(broker, waits) -> None:
    """An operator watching kobling_broker_calls_total saw nothing of a 504 after an attempt:
    the call was audited (on the topic), so the counting path was skipped."""
    counted = USES.labels("sync", "504")._value.get()
    timed = sum(b.get() for b in LATENCY._buckets)
    broker.economic.script = [httpx.ConnectError]
    answer = await broker.call("GET")
    assert answer.status_code == 504
    assert USES.labels("sync", "504")._value.get() == counted + 1
    assert sum(b.get() for b in LATENCY._buckets) == timed + 1


def broker_budget() -> int:
    return EconAuthSettings().economic_daily_budget


# --- a caller's Idempotency-Key (contracts E24) -------------------------------------------------

KEY = "in_1QxYz-customer"


def created(from_cache: bool = False) -> httpx.Response:
    cached = {"X-ResultFromCache": "true"} if from_cache else {}
    return httpx.Response(201, headers=cached, json={"customerNumber": 7})


@pytest.mark.parametrize("failure", [httpx.Response(500), httpx.ConnectError, httpx.ReadTimeout])
async def test_a_post_with_an_idempotency_key_is_sent_again(broker, waits, failure) -> None:
    """e-conomic answers the repeat from its cache: the first try's customer, not a second one."""
    broker.economic.script = [failure, created(from_cache=True)]
    answer = await broker.call("POST", headers={"Idempotency-Key": KEY})
    reply = answer.json()
    assert (reply["status"], reply["headers"]["x-resultfromcache"]) == (201, "true")
    assert [r.headers["Idempotency-Key"] for r in broker.economic.sent] == [KEY, KEY]
    assert waits == [0.25]


async def test_a_post_without_a_key_is_never_sent_again(broker, waits) -> None:
    broker.economic.script = [httpx.ReadTimeout, created()]
    answer = await broker.call("POST")
    assert (answer.status_code, answer.json()["error"]) == (504, "economic_unavailable")
    assert len(broker.economic.sent) == 1
    assert "Idempotency-Key" not in broker.economic.sent[0].headers


async def test_the_first_answer_to_a_key_comes_back_unmarked(broker, waits) -> None:
    broker.economic.script = [created()]
    answer = await broker.call("POST", headers={"Idempotency-Key": KEY})
    assert "x-resultfromcache" not in answer.json()["headers"]
    assert broker.economic.sent[0].headers["Idempotency-Key"] == KEY


@pytest.mark.parametrize("key", ["", "k" * 129, "two words", "nøgle", "tab\tin"])
async def test_a_key_of_another_form_is_refused_and_nothing_sent(broker, waits, key) -> None:
    answer = await broker.call("POST", headers={"Idempotency-Key": key.encode("utf-8")})
    assert answer.status_code == 422
    assert broker.economic.sent == []
