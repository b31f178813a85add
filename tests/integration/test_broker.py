"""econ-auth's e-conomic broker (issue 14): our services use a merchant's grant through it and
never hold it. Real econ-auth, Kafka, database and the sandbox's e-conomic, over HTTP."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    ECON_AUTH,
    ECONOMIC_CUSTOMER,
    INTERNAL,
    SANDBOX,
    STATUS,
    connected,
    credentials_suspected,
    install,
    view_request,
    wait_for,
)
from kobling_devkit.stack import Service, kill, start, stop_all, wait_ready
from kobling_devkit.waiting import eventually, shown
from kobling_shared.events import GRANT_USES_TOPIC
from kobling_shared.settings import DEV_SECRETS
from tests.broker_escapes import ATTACKS, ENCODED_ATTACKS

pytestmark = pytest.mark.usefixtures("stack")

TOKENS = dict(pair.split(":") for pair in DEV_SECRETS["economic_broker_tokens"].split(","))
SYNC = {"Authorization": f"Bearer {TOKENS['sync']}"}
BENCH = {"Authorization": f"Bearer {TOKENS['bench']}"}


async def through_broker(
    http: httpx.AsyncClient,
    account: str,
    path: str,
    method: str = "GET",
    body: Any = None,
    auth: dict[str, str] = SYNC,
    url: str = ECON_AUTH,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    request = {"account_id": account, "livemode": False, "method": method, "path": path}
    sent = {**auth, **(headers or {})}
    return await http.post(f"{url}/internal/economic", json={**request, "body": body}, headers=sent)


async def api_calls(http: httpx.AsyncClient) -> int:
    return int((await http.get(f"{SANDBOX}/_sandbox/economic/calls")).json()["api_calls"])


async def test_a_service_reads_self_through_the_broker_and_never_holds_the_grant(
    http, account
) -> None:
    await install(http, account)
    grant = await connected(http, account)

    answer = await through_broker(http, account, "/self")

    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["status"] == 200
    assert reply["body"]["agreementNumber"] == grant.agreement
    assert int(answer.headers["Kobling-Budget-Remaining"]) > 0
    assert grant.token not in answer.text and grant.token not in str(answer.headers)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {DEV_SECRETS['internal_api_token']}"},
        {"Authorization": f"Bearer {TOKENS['sync']}x"},
        {"Authorization": f"Basic {TOKENS['sync']}"},
    ],
    ids=["none", "empty", "status-token", "near-miss", "basic"],
)
async def test_no_caller_token_no_call(http, account, auth) -> None:
    await install(http, account)
    await connected(http, account)
    before = await api_calls(http)

    answer = await through_broker(http, account, "/self", auth=auth)

    assert answer.status_code == 401
    assert await api_calls(http) == before


@pytest.mark.parametrize("path", ATTACKS + ENCODED_ATTACKS)
async def test_a_path_that_could_leave_e_conomic_is_refused_and_calls_nothing(
    http, account, path
) -> None:
    await install(http, account)
    grant = await connected(http, account)
    before = await api_calls(http)

    answer = await through_broker(http, account, path)

    assert answer.status_code in (400, 422), answer.text
    assert answer.status_code == 422 or answer.json()["error"] == "not_a_rest_path"
    assert await api_calls(http) == before
    assert grant.token not in answer.text


async def test_a_method_e_conomic_does_not_serve_is_refused(http, account) -> None:
    await install(http, account)
    await connected(http, account)
    before = await api_calls(http)
    answer = await through_broker(http, account, "/self", method="TRACE")
    assert (answer.status_code, answer.json()["error"]) == (400, "not_a_rest_path")
    assert await api_calls(http) == before


async def test_an_unknown_account_is_404_and_calls_nothing(http, account) -> None:
    before = await api_calls(http)
    answer = await through_broker(http, account, "/self")
    assert (answer.status_code, answer.json()["error"]) == (404, "unknown_account")
    assert await api_calls(http) == before


async def test_an_installed_account_never_connected_is_409(http, account) -> None:
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"])
    before = await api_calls(http)
    answer = await through_broker(http, account, "/self")
    assert (answer.status_code, answer.json()["error"]) == (409, "not_connected")
    assert await api_calls(http) == before


async def test_a_disconnected_account_is_409_and_calls_nothing(http, account) -> None:
    await install(http, account)
    await connected(http, account)
    await http.post(
        f"{ECON_AUTH}/api/disconnect",
        **view_request(account, "disconnect"),
    )
    before = await api_calls(http)
    answer = await through_broker(http, account, "/self")
    assert (answer.status_code, answer.json()["error"]) == (409, "disconnected")
    assert await api_calls(http) == before


async def test_an_uninstalled_account_is_409_and_calls_nothing(http, account) -> None:
    await install(http, account)
    await connected(http, account)
    await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks",
        json={"type": "account.application.deauthorized", "account": account, "livemode": False},
    )
    await eventually(
        lambda: through_broker(http, account, "/self"),
        lambda answer: answer.status_code == 409,
        timeout=60,
        interval=0.2,
        what="econ-auth never applied the uninstall",
        show=shown,
    )
    before = await api_calls(http)
    answer = await through_broker(http, account, "/self")
    assert (answer.status_code, answer.json()["error"]) == (409, "uninstalled")
    assert await api_calls(http) == before


async def test_a_revoked_grant_is_409_once_the_revocation_is_known(http, account) -> None:
    await install(http, account)
    grant = await connected(http, account)
    await http.post(
        f"{SANDBOX}/_sandbox/economic/revoke", json={"agreement_number": grant.agreement}
    )
    for _ in range(3):  # REVOCATION_STRIKES: each 401 through the broker is one
        answer = await through_broker(http, account, "/self")
        assert answer.json()["status"] == 401
    before = await api_calls(http)
    answer = await through_broker(http, account, "/self")
    assert (answer.status_code, answer.json()["error"]) == (409, "disconnected")
    assert await api_calls(http) == before
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "disconnected")
    assert doc["economic"]["reason"] == "grant_revoked"


@pytest.fixture
async def economic_behaviour(http: httpx.AsyncClient) -> AsyncIterator[Any]:
    async def behave(**behaviour: Any) -> None:
        await http.post(f"{SANDBOX}/_sandbox/economic/self-behaviour", json=behaviour)

    try:
        yield behave
    finally:
        await behave(mode="ok")


async def test_a_429_is_retried_after_what_retry_after_says(
    http, account, economic_behaviour
) -> None:
    await install(http, account)
    await connected(http, account)
    await economic_behaviour(mode="rate_limited", times=2, retry_after=1)
    before, started = await api_calls(http), time.monotonic()

    answer = await through_broker(http, account, "/self")

    assert answer.json()["status"] == 200
    assert time.monotonic() - started >= 2.0  # two waits of Retry-After: 1
    assert await api_calls(http) == before + 3


async def test_a_long_retry_after_goes_back_to_the_caller(
    http, account, economic_behaviour
) -> None:
    await install(http, account)
    await connected(http, account)
    await economic_behaviour(mode="rate_limited", times=5, retry_after=3600)
    before = await api_calls(http)

    answer = await through_broker(http, account, "/self")

    assert (answer.json()["status"], answer.json()["headers"]["retry-after"]) == (429, "3600")
    assert await api_calls(http) == before + 1


async def test_5xx_is_retried_a_bounded_number_of_times(http, account, economic_behaviour) -> None:
    await install(http, account)
    await connected(http, account)
    await economic_behaviour(mode="error500", times=10)
    before = await api_calls(http)

    answer = await through_broker(http, account, "/self")

    assert answer.json()["status"] == 500
    assert await api_calls(http) == before + 3


BUDGET = 5


@pytest.fixture
def two_econ_auths(infra: Infra) -> Iterator[list[Service]]:
    """Two more econ-auth processes on their own ports, sharing the database, each allowed
    BUDGET calls a day per agreement."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb,
        "ECONOMIC_DAILY_BUDGET": str(BUDGET),
    }
    extra = [Service(f"econ-auth-{port}", "kobling_econ_auth", port) for port in (8012, 8013)]
    try:
        for service in extra:
            start(service, {**env, "PORT": str(service.port)})
        for service in extra:
            wait_ready(service)
        yield extra
    finally:
        stop_all(extra)


async def test_the_daily_budget_holds_across_two_econ_auth_instances(
    http, account, two_econ_auths
) -> None:
    await install(http, account)
    await connected(http, account)
    before = await api_calls(http)
    urls = [service.url for service in two_econ_auths] * 4

    answers = await asyncio.gather(*(through_broker(http, account, "/self", url=u) for u in urls))

    served = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(served) == BUDGET
    assert sorted(int(a.headers["Kobling-Budget-Remaining"]) for a in served) == [0, 1, 2, 3, 4]
    assert {(a.status_code, a.json()["error"]) for a in refused} == {(429, "budget_spent")}
    assert {a.headers["Kobling-Budget-Remaining"] for a in refused} == {"0"}
    assert await api_calls(http) == before + BUDGET


# The wave counts each grant once, among the last 20 grants heard from (the earlier tests' grants
# answered well): refused must be more than half of them.
MERCHANTS = 12


async def test_a_wave_of_401s_through_the_broker_revokes_nobody(http, app_secret) -> None:
    """The same logic as the grant check's: most answers 401 at once is our secret."""
    merchants = [f"acct_wave{i}{time.time_ns() % 10**9}" for i in range(MERCHANTS)]
    for merchant in merchants:
        await install(http, merchant)
        await connected(http, merchant)
    await app_secret("reset-at-e-conomic-by-its-owner")

    for _ in range(4):  # more rounds than the strikes that revoke one grant (3)
        for merchant in merchants:
            assert (await through_broker(http, merchant, "/self")).json()["status"] == 401

    assert await credentials_suspected(http)
    assert (await http.get(f"{ECON_AUTH}/readyz")).status_code == 200  # an alert, not unready
    for merchant in merchants:
        doc = await wait_for(http, merchant, lambda d: True)
        assert doc["economic"]["state"] == "connected"

    await app_secret(None)
    deadline = time.monotonic() + 60
    while await credentials_suspected(http):
        assert time.monotonic() < deadline, "the wave never ended"
        for merchant in merchants:
            assert (await through_broker(http, merchant, "/self")).json()["status"] == 200
    for merchant in merchants:
        assert (await through_broker(http, merchant, "/self")).json()["status"] == 200


async def test_every_use_is_audited_on_its_topic_and_in_status(http, account, infra: Infra) -> None:
    await install(http, account)
    grant = await connected(http, account)
    await through_broker(http, account, "/self?with=query")
    await through_broker(http, account, "/self", auth=BENCH)

    uses = await eventually(
        lambda: events_for(infra.kafka, GRANT_USES_TOPIC, account),
        lambda uses: len(uses) >= 2,
        timeout=30,
        interval=0.2,
        what="the uses never reached economic.grant-uses.v1",
    )
    assert [(u["data"]["caller"], u["data"]["method"], u["data"]["path"]) for u in uses] == [
        ("sync", "GET", "/self"),
        ("bench", "GET", "/self"),
    ]
    assert {u["data"]["status"] for u in uses} == {200}
    assert all(u["data"]["duration_ms"] >= 0 for u in uses)
    assert {u["type"] for u in uses} == {"com.kobling.economic.grant_used.v1"}
    assert "body" not in str(uses) and grant.token not in str(uses)

    doc = await wait_for(http, account, lambda d: d["grant_uses"]["count"] == 2, timeout=30)
    assert doc["grant_uses"]["count"] == 2
    assert doc["grant_uses"]["last_use"]["caller"] == "bench"
    assert doc["grant_uses"]["last_used_at"] is not None
    timeline = await http.get(f"{STATUS}/v1/accounts/{account}/timeline", headers=INTERNAL)
    used = [e for e in timeline.json()["events"] if e["what"] == "grant_used"]
    assert [(e["use"]["caller"], e["use"]["status"]) for e in used] == [
        ("sync", 200),
        ("bench", 200),
    ]


CUSTOMER = ECONOMIC_CUSTOMER


def draft_invoice(customer_number: int) -> dict[str, Any]:
    return {
        "date": "2026-11-30",
        "currency": "DKK",
        "customer": {"customerNumber": customer_number},
        "recipient": {"name": "Hygge Kaffe ApS", "vatZone": {"vatZoneNumber": 1}},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 1},
        "lines": [{"description": "Stripe payout po_1", "quantity": 2, "unitNetPrice": 100.0}],
    }


async def test_a_draft_invoice_created_through_the_broker_reads_back(http, account) -> None:
    await install(http, account)
    await connected(http, account)

    customer = await through_broker(http, account, "/customers", "POST", CUSTOMER)
    assert customer.json()["status"] == 201, customer.text
    number = customer.json()["body"]["customerNumber"]
    created = await through_broker(http, account, "/invoices/drafts", "POST", draft_invoice(number))
    assert created.json()["status"] == 201, created.text
    draft = created.json()["body"]
    assert (draft["netAmount"], draft["vatAmount"], draft["grossAmount"]) == (200.0, 50.0, 250.0)

    read = await through_broker(http, account, f"/invoices/drafts/{draft['draftInvoiceNumber']}")
    assert read.json()["status"] == 200
    assert read.json()["body"]["customer"]["customerNumber"] == number
    assert read.json()["body"]["lines"][0]["description"] == "Stripe payout po_1"
    listed = await through_broker(http, account, "/invoices/drafts?skippages=0&pagesize=1")
    page = listed.json()["body"]
    assert [d["draftInvoiceNumber"] for d in page["collection"]] == [draft["draftInvoiceNumber"]]
    assert page["pagination"]["results"] == 1 and page["pagination"]["pageSize"] == 1


async def test_a_create_repeated_with_its_idempotency_key_creates_one_customer(
    http, account
) -> None:
    """The sync's retry after a timeout (contracts E24): e-conomic answers the repeat from its
    cache, and the broker hands its caller that answer and `X-ResultFromCache`."""
    await install(http, account)
    await connected(http, account)
    key = {"Idempotency-Key": f"kobling-test-{uuid.uuid4()}"}
    customer = {**CUSTOMER, "name": f"Once {key['Idempotency-Key'][-12:]}"}

    first = await through_broker(http, account, "/customers", "POST", customer, headers=key)
    again = await through_broker(http, account, "/customers", "POST", customer, headers=key)

    assert (first.json()["status"], again.json()["status"]) == (201, 201), again.text
    assert "x-resultfromcache" not in first.json()["headers"]
    assert again.json()["headers"]["x-resultfromcache"] == "true"
    number = first.json()["body"]["customerNumber"]
    assert again.json()["body"]["customerNumber"] == number
    listed = await through_broker(http, account, "/customers?pagesize=1000")
    names = [c["name"] for c in listed.json()["body"]["collection"]]
    assert names.count(customer["name"]) == 1


async def test_one_merchant_s_books_are_not_another_s(http, account) -> None:
    other = account.replace("acct_", "acct_o")
    for merchant in (account, other):
        await install(http, merchant)
        await connected(http, merchant)
    await through_broker(http, account, "/customers", "POST", CUSTOMER)

    theirs = await through_broker(http, other, "/customers")

    assert theirs.json()["body"]["collection"] == []
    mine = await through_broker(http, account, "/customers")
    assert [c["name"] for c in mine.json()["body"]["collection"]] == ["Hygge Kaffe ApS"]


async def test_e_conomic_s_validation_errors_reach_the_caller(http, account) -> None:
    await install(http, account)
    await connected(http, account)
    answer = await through_broker(http, account, "/invoices/drafts", "POST", {"currency": "DKK"})
    assert answer.status_code == 200
    refusal = answer.json()
    assert (refusal["status"], refusal["body"]["message"]) == (400, "Validation error.")
    # Nested like the payload (docs/external-contracts.md E21).
    assert refusal["body"]["errors"]["customer"]["customerNumber"]["errors"][0]["errorCode"]


async def test_journals_are_listed_in_e_conomic_s_collection_shape(http, account) -> None:
    await install(http, account)
    await connected(http, account)
    answer = await through_broker(http, account, "/journals")
    body = answer.json()["body"]
    assert [j["journalNumber"] for j in body["collection"]] == [1, 2]
    assert body["pagination"]["results"] == 2 and "self" in body


@pytest.fixture
def doomed_econ_auth(infra: Infra) -> Iterator[Service]:
    """An econ-auth of its own, to be SIGKILLed while a broker call is at e-conomic; a call
    through it may take 4 s."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb,
        "ECONOMIC_BROKER_DEADLINE_SECONDS": "4",
    }
    doomed = Service("econ-auth-8014", "kobling_econ_auth", 8014, env={"PORT": "8014"})
    try:
        start(doomed, env)
        wait_ready(doomed)
        yield doomed
    finally:
        stop_all([doomed])


async def test_a_use_whose_broker_died_at_e_conomic_is_audited_once_as_unknown(
    http, account, infra: Infra, economic_behaviour, doomed_econ_auth
) -> None:
    """econ-auth dies after the request reached e-conomic and before it heard back: the use is
    still on economic.grant-uses.v1 and in status, once, saying its outcome is unknown."""
    await install(http, account)
    await connected(http, account)
    await economic_behaviour(mode="slow", delay_seconds=10, times=1)
    before = await api_calls(http)
    call = asyncio.create_task(through_broker(http, account, "/self", url=doomed_econ_auth.url))
    await eventually(
        lambda: api_calls(http),
        lambda calls: calls != before,
        timeout=30,
        interval=0.05,
        what="the call never reached e-conomic",
    )

    kill(doomed_econ_auth)
    with pytest.raises(httpx.HTTPError):
        await call

    doc = await wait_for(http, account, lambda d: d["grant_uses"]["count"] >= 1, timeout=90)
    assert doc["grant_uses"]["last_use"]["outcome"] == "unknown"
    assert (doc["grant_uses"]["last_use"]["caller"], doc["grant_uses"]["last_use"]["path"]) == (
        "sync",
        "/self",
    )
    uses = await events_for(infra.kafka, GRANT_USES_TOPIC, account)
    assert len({use["id"] for use in uses}) == 1, uses
    await through_broker(http, account, "/self")  # a later use, counted after this one
    doc = await wait_for(http, account, lambda d: d["grant_uses"]["count"] == 2, timeout=30)
    assert doc["grant_uses"]["last_use"]["outcome"] == "answered"
