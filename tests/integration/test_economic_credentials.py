"""e-conomic answers 401 for a revoked grant and just the same for our own app secret token
gone bad, and 403 for a missing role (issue 11, item 3). Real econ-auth, Kafka, database and the
sandbox's e-conomic over HTTP."""

import asyncio
import time
from typing import Any

import httpx
import pytest

from kobling_devkit.merchant import (
    ECON_AUTH,
    INTERNAL,
    SANDBOX,
    connect_link,
    connected,
    credentials_suspected,
    grant_page,
    install,
    wait_for,
)
from kobling_devkit.stack import Service
from kobling_devkit.stripe_signing import new_account

pytestmark = pytest.mark.usefixtures("stack")

# The wave counts each grant once, among the last 20 grants heard from (the earlier tests' grants
# answered well): refused must be more than half of them.
MERCHANTS = 12


async def check(http: httpx.AsyncClient, account: str) -> dict[str, Any]:
    response = await http.post(
        f"{ECON_AUTH}/internal/grants/check", json={"account_id": account}, headers=INTERNAL
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def connected_merchant(http: httpx.AsyncClient) -> tuple[str, int]:
    account = new_account()
    await install(http, account)
    return account, (await connected(http, account)).agreement


async def readiness(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get(f"{ECON_AUTH}/readyz")


async def test_a_wave_of_401s_is_our_secret_not_every_merchant_revoking(
    http, stack: dict[str, Service], app_secret
) -> None:
    merchants = [await connected_merchant(http) for _ in range(MERCHANTS)]
    await app_secret("reset-at-e-conomic-by-its-owner")
    log_start = stack["econ-auth"].log_path.stat().st_size

    # Far more rounds than the strikes that revoke one grant (3).
    results = [await check(http, account) for _ in range(4) for account, _ in merchants]
    assert {r["state"] for r in results} == {"connected"}
    assert {r["result"] for r in results[-MERCHANTS:]} == {"withheld"}
    assert max(r["revocation_strikes"] for r in results) < 3
    for account, _ in merchants:
        doc = await wait_for(http, account, lambda d: True)
        assert doc["economic"]["state"] == "connected"

    # An alert (the gauge, an ERROR line), not out of rotation: econ-auth still serves what works
    # (issue 23, item 1).
    assert await credentials_suspected(http)
    assert (await readiness(http)).status_code == 200
    log = stack["econ-auth"].log_path.read_bytes()[log_start:].decode()
    assert "suspect ECONOMIC_APP_SECRET_TOKEN" in log and " ERROR " in log

    # The secret is set right again: grants are accepted, the wave ends, strikes start over.
    await app_secret(None)
    deadline = time.monotonic() + 30
    while await credentials_suspected(http):
        assert time.monotonic() < deadline, "the wave never ended"
        for account, _ in merchants:
            assert (await check(http, account))["result"] == "valid"
        await asyncio.sleep(0)
    assert (
        "kobling_economic_credentials_suspect 0.0" in (await http.get(f"{ECON_AUTH}/metrics")).text
    )
    assert {(await check(http, a))["revocation_strikes"] for a, _ in merchants} == {0}


async def test_a_403_is_a_missing_role_never_a_revocation(http) -> None:
    account, agreement = await connected_merchant(http)
    forbid = await http.post(
        f"{SANDBOX}/_sandbox/economic/forbid", json={"agreement_number": agreement}
    )
    assert forbid.json()["forbidden"] == 1
    for _ in range(4):
        answer = await check(http, account)
        assert (answer["result"], answer["state"], answer["revocation_strikes"]) == (
            "forbidden",
            "connected",
            0,
        )


async def test_a_user_whose_roles_miss_the_app_s_is_refused_at_e_conomic(http) -> None:
    """e-conomic's own page refuses a user whose roles do not match the app's required roles,
    and no callback ever comes back."""
    account = new_account()
    await install(http, account)
    grant_url = await grant_page(http, await connect_link(http, account))
    page = await http.get(grant_url)
    flow = page.text.split('name="flow" value="')[1].split('"')[0]
    await http.post(
        f"{SANDBOX}/economic/login/email", data={"flow": flow, "email": "bookkeeper@acme.test"}
    )
    refused = await http.post(
        f"{SANDBOX}/economic/login/password", data={"flow": flow, "password": "secret"}
    )
    assert refused.status_code == 403 and "roles this app requires" in refused.text
    assert "Add app" not in refused.text
