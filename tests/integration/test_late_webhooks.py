"""Stripe delivers late, twice and out of order (issue 11, item 1), played by the sandbox's
Stripe over real HTTP: install, Kafka, econ-auth, status and the database all real."""

import asyncio
import time
from typing import Any

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    ECON_AUTH,
    INTERNAL,
    SANDBOX,
    STATUS,
    connected,
    view_request,
    wait_for,
)
from kobling_shared.events import INSTALLS_TOPIC

pytestmark = pytest.mark.usefixtures("stack")


async def stripe_event(http: httpx.AsyncClient, kind: str, account: str, **how: Any) -> str:
    """Has the sandbox's Stripe create an event (delivered now, or held with hold=True)."""
    sent = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks", json={"type": kind, "account": account, **how}
    )
    assert sent.status_code == 200, sent.text
    if not how.get("hold"):
        assert set(sent.json()["status_codes"]) == {200}
    return str(sent.json()["event_id"])


async def applied(http: httpx.AsyncClient, account: str, event_ids: set[str]) -> bool:
    """Waits (with a deadline) until status has applied each of `event_ids`."""
    deadline = time.monotonic() + 10
    while True:
        response = await http.get(f"{STATUS}/v1/accounts/{account}/timeline", headers=INTERNAL)
        if response.status_code == 200:
            if event_ids <= {e["event_id"] for e in response.json()["events"]}:
                return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


async def test_a_reinstall_survives_the_uninstall_before_it_arriving_late_and_twice(
    http, account, infra: Infra
) -> None:
    """Install (t1), connect e-conomic, uninstall (t2) held back as by an outage, reinstall
    (t3), then the uninstall delivered twice. Stripe's latest event is the reinstall: the app
    stays installed everywhere, and the grant made before the uninstall is gone."""
    t = int(time.time())
    await stripe_event(http, "account.application.authorized", account, created=t - 5)
    await connected(http, account)

    # Later than the grant on any clock: the merchant uninstalled with that grant.
    t = int(time.time()) + 30
    uninstall = await stripe_event(
        http, "account.application.deauthorized", account, created=t, hold=True
    )
    reinstall = await stripe_event(http, "account.application.authorized", account, created=t + 1)
    late = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks/deliver", json={"event_ids": [uninstall], "times": 2}
    )
    assert late.json()["status_codes"][uninstall] == [200, 200]

    held = await events_for(infra.kafka, INSTALLS_TOPIC, account)
    assert [e["type"].split(".")[-2] for e in held] == [
        "app_installed",
        "app_installed",
        "app_uninstalled",
    ]
    assert {reinstall, uninstall} <= {e["id"] for e in held}
    # status has taken the late uninstall, and econ-auth has ended the grant made before it.
    assert await applied(http, account, {reinstall, uninstall})
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "disconnected")
    assert (doc["economic"]["state"], doc["economic"]["reason"]) == (
        "disconnected",
        "app_uninstalled",
    )
    assert doc["stripe"]["installed"] is True
    # econ-auth knows the app is installed: the merchant can connect again.
    again = await http.post(
        f"{ECON_AUTH}/api/connect-link",
        **view_request(account, "connect"),
    )
    assert again.status_code == 200, again.text


async def test_an_uninstall_before_its_install_and_a_stale_install_end_uninstalled(
    http, account
) -> None:
    t = int(time.time())
    install = await stripe_event(
        http, "account.application.authorized", account, created=t - 60, hold=True
    )
    uninstall = await stripe_event(
        http, "account.application.deauthorized", account, created=t - 30
    )
    stale = await stripe_event(
        http, "account.application.authorized", account, created=t - 90, hold=True
    )
    late = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks/deliver", json={"event_ids": [install, stale]}
    )
    assert late.status_code == 200
    assert await applied(http, account, {install, stale, uninstall})
    doc = await wait_for(http, account, lambda d: not d["stripe"]["installed"])
    assert doc["stripe"]["installed"] is False
    refused = await http.post(
        f"{ECON_AUTH}/api/connect-link",
        **view_request(account, "connect"),
    )
    assert refused.status_code == 404
