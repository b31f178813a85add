"""status's signed JSON for the Stripe App view, and the internal API's filters and pages."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kobling_devkit.infra import Infra
from kobling_devkit.merchant import (
    INTERNAL,
    STATUS,
    add_app,
    connect_link,
    grant_page,
    install,
    view_body,
    view_headers,
    view_request,
    wait_for,
)
from kobling_shared.events import CONNECTIONS_TOPIC, ConnectedData, EconomicConnected, now

pytestmark = pytest.mark.usefixtures("stack")


async def connect(http: httpx.AsyncClient, account: str) -> None:
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        await browser.get(grant.callback)
    await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")


async def test_the_app_view_reads_its_own_account_status(http, account) -> None:
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"])
    body = view_body(account, "status")
    ok = await http.post(f"{STATUS}/api/status", **view_request(account, "status"))
    assert ok.status_code == 200
    doc = ok.json()
    assert doc["account_id"] == account and doc["livemode"] is False
    assert doc["stripe"]["installed"] is True and doc["economic"]["state"] == "not_connected"
    assert "updated_at" in doc

    forged = await http.post(
        f"{STATUS}/api/status",
        content=body,
        headers=view_headers(account, "status", secret="absec_no"),
    )
    other = await http.post(
        f"{STATUS}/api/status",
        content=view_body("acct_other1", "status"),
        headers=view_headers(account, "status"),
    )
    missing = await http.post(f"{STATUS}/api/status", content=body)
    assert [r.status_code for r in (forged, other, missing)] == [401, 401, 401]
    assert "acct" not in forged.text.replace("account", "")  # says why, not whose data


async def test_the_app_view_can_call_from_a_null_origin(http) -> None:
    preflight = await http.options(
        f"{STATUS}/api/status",
        headers={
            "Origin": "null",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "stripe-signature,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "stripe-signature" in preflight.headers["access-control-allow-headers"].lower()


async def test_an_unknown_account_in_the_app_view_is_404(http, account) -> None:
    response = await http.post(f"{STATUS}/api/status", **view_request(account, "status"))
    assert response.status_code == 404 and response.json()["error"] == "not_installed"


async def listed(http: httpx.AsyncClient, **params: object) -> list[dict]:
    """Every page of the list, following the cursor."""
    found, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await http.get(f"{STATUS}/v1/accounts", params=query, headers=INTERNAL)
        assert page.status_code == 200, page.text
        found += page.json()["data"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


async def connected_on_kafka(infra: Infra, accounts: list[str]) -> None:
    """EconomicConnected for each account, straight onto the topic status projects."""
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for number, merchant in enumerate(accounts):
            event = EconomicConnected(
                source="test",
                subject=merchant,
                livemode=False,
                data=ConnectedData(sequence=1, agreement_number=990000 + number, company_name="P"),
            )
            await producer.send_and_wait(
                CONNECTIONS_TOPIC, event.model_dump_json().encode(), key=merchant.encode()
            )
    finally:
        await producer.stop()


async def test_the_list_filters_by_state_and_pages_with_a_cursor(
    http, account, infra: Infra
) -> None:
    waiting, linked = account, account.replace("acct_", "acct_z")
    for merchant in (waiting, linked):
        await install(http, merchant)
        await wait_for(http, merchant, lambda d: d["stripe"]["installed"])
    await connect(http, linked)

    # Eleven accounts of its own, connected after `since`: six pages of two, each starting
    # after the last one ended, and no cursor after the last.
    started = now()
    since = started.replace(microsecond=started.microsecond // 1000 * 1000)  # events hold ms
    ours = sorted(account.replace("acct_", f"acct_p{i:02}") for i in range(11))
    await connected_on_kafka(infra, ours)
    for merchant in ours:
        await wait_for(http, merchant, lambda d: d["economic"]["state"] == "connected")
    pages, cursor = [], None
    while True:
        page = await http.get(
            f"{STATUS}/v1/accounts",
            params={
                "limit": 2,
                "connected_since": since.isoformat(),
                **({"cursor": cursor} if cursor else {}),
            },
            headers=INTERNAL,
        )
        assert page.status_code == 200, page.text
        pages.append([d["account_id"] for d in page.json()["data"]])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [ours[i : i + 2] for i in range(0, 11, 2)]

    connected = {d["account_id"] for d in await listed(http, state="connected", limit=500)}
    assert linked in connected and waiting not in connected
    assert all(d["livemode"] is True for d in await listed(http, livemode=True, limit=500))

    stuck_now = {
        d["account_id"] for d in await listed(http, state="not_connected", stuck_for_seconds=0)
    }
    stuck_a_day = {
        d["account_id"] for d in await listed(http, state="not_connected", stuck_for_seconds=86400)
    }
    assert waiting in stuck_now and waiting not in stuck_a_day

    bad = await http.get(f"{STATUS}/v1/accounts", params={"cursor": "%%%"}, headers=INTERNAL)
    too_many = await http.get(f"{STATUS}/v1/accounts", params={"limit": 100000}, headers=INTERNAL)
    assert (bad.status_code, too_many.status_code) == (400, 422)


async def test_the_timeline_tells_the_onboarding_story(http, account) -> None:
    began = now()
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"])
    await connect(http, account)
    ended = now()
    response = await http.get(f"{STATUS}/v1/accounts/{account}/timeline", headers=INTERNAL)
    assert response.status_code == 200
    events = response.json()["events"]
    assert [e["what"] for e in events] == ["installed", "connected"]
    # Each says when the read model took it (BSON keeps milliseconds, so it may round down).
    applied = [datetime.fromisoformat(e["applied_at"]).replace(tzinfo=UTC) for e in events]
    assert began - timedelta(milliseconds=1) <= applied[0] <= applied[1] <= ended, applied
    unknown = await http.get(f"{STATUS}/v1/accounts/acct_nobody/timeline", headers=INTERNAL)
    assert unknown.status_code == 404


async def test_the_funnel_counts_installs_per_state(http, account) -> None:
    before = (await http.get(f"{STATUS}/v1/funnel", headers=INTERNAL)).json()
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"])
    after = (await http.get(f"{STATUS}/v1/funnel", headers=INTERNAL)).json()
    assert after["installed"] == before["installed"] + 1
    assert after["not_connected"] == before.get("not_connected", 0) + 1
    assert (await http.get(f"{STATUS}/v1/funnel")).status_code == 401


@pytest.mark.parametrize(
    "hostile", ['{"$ne": null}', "$where", "acct_../../etc", "acct_ǅ", "acct_" + "a" * 200]
)
async def test_hostile_account_ids_are_refused(http, hostile) -> None:
    response = await http.get(f"{STATUS}/v1/accounts/{hostile}", headers=INTERNAL)
    assert response.status_code in (404, 422)
