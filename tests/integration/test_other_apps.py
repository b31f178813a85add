"""Stripe sends our endpoint the install events of other apps on the same accounts: they are
acknowledged and ignored (issue 11, item 4). Real install, Kafka, econ-auth, status, sandbox."""

import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import INTERNAL, SANDBOX, STATUS, connected, install, wait_for
from kobling_shared.events import CONNECTIONS_TOPIC, INSTALLS_TOPIC

pytestmark = pytest.mark.usefixtures("stack")


@pytest.mark.parametrize(
    ("kind", "application"),
    [
        ("account.application.deauthorized", "ca_another_app"),
        ("account.application.authorized", "ca_another_app"),
    ],
)
async def test_another_app_installed_or_uninstalled_leaves_ours_alone(
    http, account, infra: Infra, kind: str, application: str
) -> None:
    await install(http, account)
    await connected(http, account)
    ours_before = await events_for(infra.kafka, INSTALLS_TOPIC, account)

    sent = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks",
        json={"type": kind, "account": account, "application": application},
    )
    assert sent.json()["status_code"] == 200  # acknowledged: Stripe must not retry it

    assert await events_for(infra.kafka, INSTALLS_TOPIC, account) == ours_before
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["type"] for e in held] == ["com.kobling.economic.connected.v1"]
    doc = await wait_for(http, account, lambda d: True)
    assert (doc["stripe"]["installed"], doc["economic"]["state"]) == (True, "connected")


async def test_another_app_installed_on_an_account_without_ours_is_no_install(
    http, account, infra: Infra
) -> None:
    sent = await http.post(
        f"{SANDBOX}/_sandbox/stripe/webhooks",
        json={
            "type": "account.application.authorized",
            "account": account,
            "application": "ca_another_app",
        },
    )
    assert sent.json()["status_code"] == 200
    assert await events_for(infra.kafka, INSTALLS_TOPIC, account) == []
    status = await http.get(f"{STATUS}/v1/accounts/{account}", headers=INTERNAL)
    assert status.status_code == 404
