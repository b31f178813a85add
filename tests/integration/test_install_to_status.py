"""A Stripe install webhook, through Kafka, into the status read model: all real, over HTTP."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import STATUS_GROUP, consumed, events_for
from kobling_devkit.stack import Service
from kobling_devkit.stripe_signing import body_of, install_event, sign
from kobling_devkit.waiting import eventually, shown
from kobling_shared.events import INSTALLS_TOPIC
from tests.conftest import ROLLED_WEBHOOK_SECRET, TEST_WEBHOOK_SECRET, WEBHOOK_SECRET

pytestmark = pytest.mark.usefixtures("stack")

INSTALL = "http://127.0.0.1:8001"
STATUS = "http://127.0.0.1:8003"


async def deliver(
    http: httpx.AsyncClient, event: dict[str, Any], secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    body = body_of(event)
    return await http.post(
        f"{INSTALL}/stripe/webhooks",
        content=body,
        headers={"Stripe-Signature": sign(body, secret), "Content-Type": "application/json"},
    )


async def status_of(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    account: str,
    until: Callable[[dict[str, Any]], bool],
    livemode: bool = False,
    timeout: float = 10.0,
) -> httpx.Response:
    """Polls the internal API until `until(json)` holds; at the deadline, fails with what it saw."""
    return await eventually(
        lambda: http.get(
            f"{STATUS}/v1/accounts/{account}", params={"livemode": livemode}, headers=auth
        ),
        lambda response: response.status_code == 200 and until(response.json()),
        timeout=timeout,
        interval=0.05,
        what=f"{account} not as expected",
        show=shown,
    )


def installed(doc: dict[str, Any]) -> bool:
    return bool(doc["stripe"]["installed"])


def uninstalled(doc: dict[str, Any]) -> bool:
    return not doc["stripe"]["installed"]


async def test_an_install_webhook_shows_the_account_installed(
    http, internal_auth, account, infra: Infra
) -> None:
    response = await deliver(http, install_event(account))
    assert response.status_code == 200
    assert response.json()["outcome"] == "published"

    status = await status_of(http, internal_auth, account, until=installed)
    assert status.status_code == 200
    doc = status.json()
    assert doc["account_id"] == account and doc["livemode"] is False
    assert doc["stripe"] == {
        "installed": True,
        "installed_at": doc["stripe"]["installed_at"],
        "uninstalled_at": None,
    }
    assert doc["economic"]["state"] == "not_connected"
    assert "position" not in doc["stripe"] and "sequence" not in doc["economic"]


async def test_a_webhook_delivered_twice_is_one_event_in_kafka(http, account, infra: Infra) -> None:
    event = install_event(account)
    first, second = await deliver(http, event), await deliver(http, event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["outcome"] == "duplicate"
    held = await events_for(infra.kafka, INSTALLS_TOPIC, account)
    assert [e["id"] for e in held] == [event["id"]]
    assert held[0]["type"] == "com.kobling.stripe.app_installed.v1"


async def test_a_forged_webhook_is_refused_and_publishes_nothing(
    http, internal_auth, account, infra: Infra
) -> None:
    forged = await deliver(http, install_event(account), secret="whsec_attacker")
    stale_body = body_of(install_event(account))
    stale = await http.post(
        f"{INSTALL}/stripe/webhooks",
        content=stale_body,
        headers={"Stripe-Signature": sign(stale_body, WEBHOOK_SECRET, int(time.time()) - 600)},
    )
    unsigned = await http.post(
        f"{INSTALL}/stripe/webhooks", content=body_of(install_event(account))
    )
    assert [r.status_code for r in (forged, stale, unsigned)] == [400, 400, 400]
    assert forged.json()["error"] == "invalid_signature"
    assert await events_for(infra.kafka, INSTALLS_TOPIC, account) == []
    # Nothing reached Kafka, so nothing can reach the read model.
    unknown = await http.get(f"{STATUS}/v1/accounts/{account}", headers=internal_auth)
    assert unknown.status_code == 404


async def test_live_and_test_endpoints_sign_with_their_own_secrets(
    http, internal_auth, account, infra: Infra
) -> None:
    """Stripe signs a test endpoint's deliveries with that endpoint's secret; the live endpoint
    gets live and test events. A secret being rolled still verifies."""
    test_event = install_event(account, livemode=False)
    live_event = install_event(account, livemode=True)
    assert (await deliver(http, test_event, secret=TEST_WEBHOOK_SECRET)).status_code == 200
    assert (await deliver(http, live_event, secret=ROLLED_WEBHOOK_SECRET)).status_code == 200
    await status_of(http, internal_auth, account, livemode=False, until=installed)
    await status_of(http, internal_auth, account, livemode=True, until=installed)
    held = await events_for(infra.kafka, INSTALLS_TOPIC, account)
    assert sorted(e["id"] for e in held) == sorted([test_event["id"], live_event["id"]])


async def test_a_live_event_signed_with_the_test_secret_is_refused(
    http, internal_auth, account, infra: Infra
) -> None:
    """Whoever holds the test endpoint's secret (a staging box, a developer laptop) cannot
    install or uninstall anything live."""
    live = install_event(account, livemode=True)
    refused = await deliver(http, live, secret=TEST_WEBHOOK_SECRET)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_signature"
    # Nor by saying test at the top and live in the event's object.
    smuggled = install_event(account, livemode=False, kind="account.application.deauthorized")
    smuggled["data"]["object"]["livemode"] = True
    assert (await deliver(http, smuggled, secret=TEST_WEBHOOK_SECRET)).status_code == 400
    assert await events_for(infra.kafka, INSTALLS_TOPIC, account) == []
    # Nothing reached Kafka, so nothing can reach the read model.
    unknown = await http.get(
        f"{STATUS}/v1/accounts/{account}", params={"livemode": True}, headers=internal_auth
    )
    assert unknown.status_code == 404


async def test_a_signed_body_that_is_not_an_event_is_refused(http, account, infra: Infra) -> None:
    body = b'{"hello": "world"}'
    response = await http.post(
        f"{INSTALL}/stripe/webhooks",
        content=body,
        headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_event"
    # A creation time no datetime can hold was a 503, which Stripe would retry for days.
    body = body_of(install_event(account, created=10**20))
    response = await http.post(
        f"{INSTALL}/stripe/webhooks",
        content=body,
        headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_event"
    assert await events_for(infra.kafka, INSTALLS_TOPIC, account) == []


async def test_other_event_types_are_acknowledged_and_ignored(http, account, infra: Infra) -> None:
    response = await deliver(http, install_event(account, kind="charge.succeeded"))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert await events_for(infra.kafka, INSTALLS_TOPIC, account) == []


async def test_an_uninstall_delivered_before_its_install_ends_uninstalled(
    http, internal_auth, account, infra: Infra
) -> None:
    now = int(time.time())
    uninstall = install_event(account, kind="account.application.deauthorized", created=now)
    install = install_event(account, created=now - 60)
    assert (await deliver(http, uninstall)).status_code == 200
    assert (await deliver(http, install)).status_code == 200
    assert (await status_of(http, internal_auth, account, until=uninstalled)).json()["stripe"][
        "installed"
    ] is False
    # status has committed past both events, so it has handled the late install too.
    await consumed(infra.kafka, STATUS_GROUP, INSTALLS_TOPIC, account)
    after = await http.get(f"{STATUS}/v1/accounts/{account}", headers=internal_auth)
    assert after.json()["stripe"]["installed"] is False


async def test_live_and_test_installs_of_one_account_are_two_records(
    http, internal_auth, account
) -> None:
    await deliver(http, install_event(account, livemode=True))
    await deliver(http, install_event(account, livemode=False))
    live = await status_of(http, internal_auth, account, livemode=True, until=installed)
    test = await status_of(http, internal_auth, account, livemode=False, until=installed)
    assert (live.json()["livemode"], test.json()["livemode"]) == (True, False)


async def test_an_unknown_account_is_404(http, internal_auth, account) -> None:
    response = await http.get(f"{STATUS}/v1/accounts/{account}", headers=internal_auth)
    assert response.status_code == 404


async def test_the_internal_api_wants_the_bearer_token(http, account) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer kobling-dev"}):
        response = await http.get(f"{STATUS}/v1/accounts/{account}", headers=headers)
        assert response.status_code == 401
    assert (await http.get(f"{STATUS}/v1/accounts", headers={})).status_code == 401


def sample(metrics: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text exposition; 0 when the series has not been used yet."""
    wanted = name + (
        "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    )
    for line in metrics.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_every_service_answers_health_readiness_and_metrics(
    http, internal_auth, account, stack: dict[str, Service]
) -> None:
    for service in stack.values():
        assert (await http.get(f"{service.url}/healthz")).json() == {"status": "ok"}
        ready = await http.get(f"{service.url}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        if service.name != "sandbox":
            checks = ready.json()["checks"]
            assert {checks.pop("kafka"), checks.pop("mongodb")} == {True}
            # A suspected e-conomic app secret is an alert, not readiness (test_economic_...).
            assert checks == {}

    # Kobling's own metrics move with what the services do, not only the default collectors.
    async def metrics() -> dict[str, str]:
        names = ("install", "econ-auth", "status")
        return {name: (await http.get(f"{stack[name].url}/metrics")).text for name in names}

    projected = "kobling_events_projected_total"
    installed_type = "com.kobling.stripe.app_installed.v1"
    before = await metrics()
    assert (await deliver(http, install_event(account))).json()["outcome"] == "published"
    await status_of(http, internal_auth, account, until=installed)
    forged = await http.get(
        f"{stack['econ-auth'].url}/economic/callback/made-up", params={"token": "x"}
    )
    assert forged.status_code == 400
    after = await metrics()
    webhooks = "kobling_webhooks_total"
    callbacks = "kobling_grant_callbacks_total"
    assert sample(after["install"], webhooks, outcome="published") == (
        sample(before["install"], webhooks, outcome="published") + 1
    )
    # status serves what it wrote from memory at once, and counts the batch a moment later,
    # once the batch's timeline is written.
    counted = sample(before["status"], projected, type=installed_type) + 1
    await eventually(
        lambda: http.get(f"{stack['status'].url}/metrics"),
        lambda r: sample(r.text, projected, type=installed_type) >= counted,
        timeout=5.0,
        interval=0.05,
        what=f"status's {projected} for installs not counted",
        show=lambda r: sample(r.text, projected, type=installed_type),
    )
    assert sample(after["econ-auth"], callbacks, outcome="state_invalid") == (
        sample(before["econ-auth"], callbacks, outcome="state_invalid") + 1
    )


async def test_an_oversized_body_is_refused_before_anything_reads_it(http, infra: Infra) -> None:
    huge = b'{"id": "evt_big", "pad": "' + b"x" * 200_000 + b'"}'
    response = await http.post(
        f"{INSTALL}/stripe/webhooks",
        content=huge,
        headers={"Stripe-Signature": sign(huge, WEBHOOK_SECRET)},
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"

    async def chunks():
        for _ in range(100):
            yield b"x" * 4096

    streamed = await http.post(f"{INSTALL}/stripe/webhooks", content=chunks())
    assert streamed.status_code == 413
