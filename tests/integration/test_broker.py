"""econ-auth's e-conomic broker (issue 14): our services use a merchant's grant through it and
never hold it. Real econ-auth, Kafka, database and the sandbox's e-conomic, over HTTP."""

from typing import Any

import httpx
import pytest

from kobling_shared.settings import DEV_SECRETS
from tests.merchant import ECON_AUTH, SANDBOX, connected, install

pytestmark = pytest.mark.usefixtures("stack")

TOKENS = dict(pair.split(":") for pair in DEV_SECRETS["economic_broker_tokens"].split(","))
SYNC = {"Authorization": f"Bearer {TOKENS['sync']}"}


async def through_broker(
    http: httpx.AsyncClient,
    account: str,
    path: str,
    method: str = "GET",
    body: Any = None,
    auth: dict[str, str] = SYNC,
    url: str = ECON_AUTH,
) -> httpx.Response:
    request = {"account_id": account, "livemode": False, "method": method, "path": path}
    return await http.post(f"{url}/internal/economic", json={**request, "body": body}, headers=auth)


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


# Each is a way a caller could try to send the grant somewhere other than e-conomic's REST API.
ATTACKS = [
    "https://evil.test/self",
    "http://127.0.0.1:8010/economic/api/self",
    "//evil.test/self",
    "/../self",
    "/customers/../../_sandbox/economic/grants",
    "/customers/%2e%2e/%2e%2e/_sandbox/economic/grants",
    "/customers/..%2f..%2f_sandbox",
    "/customers\\..\\..\\_sandbox",
    "/@evil.test/self",
    "/self@evil.test",
    "/self#fragment",
    "self",
    "/self\r\nHost: evil.test",
    "/self?x=1#y",
    "/./self",
    "/customers//evil.test",
    "javascript:alert(1)",
    "/self?redirect=%0d%0aHost:evil",
    "",
]


@pytest.mark.parametrize("path", ATTACKS)
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
