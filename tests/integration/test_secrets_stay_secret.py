"""After the journeys, no grant token, Stripe token or signing secret is anywhere in plaintext:
not on a Kafka topic, not in a database field, not in a service's log.

Marked `audit`: the conftest runs it after every other test, so it searches what they all left.
"""

import json

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for, records_on
from kobling_devkit.merchant import (
    ECON_AUTH,
    SANDBOX,
    add_app,
    connect_link,
    grant_page,
    install,
    wait_for,
)
from kobling_devkit.stack import Service, log_dir
from kobling_shared.events import (
    CONNECTIONS_TOPIC,
    DEAD_LETTER_TOPIC,
    GRANT_USES_TOPIC,
    INSTALLS_TOPIC,
)
from kobling_shared.settings import DEV_SECRETS

pytestmark = [pytest.mark.usefixtures("stack"), pytest.mark.audit]

SECRET_SETTINGS = (
    "stripe_secret_key",
    "stripe_webhook_secret",
    "stripe_app_secret",
    "economic_app_secret_token",
    "token_encryption_keys",
    "page_link_key",
    "connect_link_key",
    "internal_api_token",
)
BROKER_TOKENS = [p.split(":")[1] for p in DEV_SECRETS["economic_broker_tokens"].split(",")]
# What a service sends through the broker is the merchant's books: never audited, never logged.
BOOKS = "Invoice for a customer that only the books may know about"


async def everything_on_kafka(bootstrap: str) -> str:
    """Each topic read from its start to its end offsets (one poll may return only part)."""
    values = []
    for topic in (INSTALLS_TOPIC, CONNECTIONS_TOPIC, DEAD_LETTER_TOPIC, GRANT_USES_TOPIC):
        values += [r.value.decode("utf-8", "replace") for r in await records_on(bootstrap, topic)]
    return "\n".join(values)


async def everything_in_the_database(url: str) -> str:
    client: AsyncMongoClient = AsyncMongoClient(url)
    dumps = []
    for name in ("kobling_install", "kobling_econ_auth", "kobling_status"):
        db = client[name]
        for collection in await db.list_collection_names():
            dumps += [json.dumps(d, default=str) async for d in db[collection].find()]
    await client.close()
    return "\n".join(dumps)


async def test_no_secret_is_stored_published_or_logged_in_plaintext(
    http: httpx.AsyncClient, account: str, infra: Infra, stack: dict[str, Service]
) -> None:
    # One more connection of our own, so there is certainly a grant to look for.
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as browser:
        await install(browser, account)
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        await browser.get(grant.callback)
    await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    # And a use of it through the broker, with a body, so the audit topic has this account too.
    used = await http.post(
        f"{ECON_AUTH}/internal/economic",
        json={
            "account_id": account,
            "livemode": False,
            "method": "POST",
            "path": "/customers",  # within sync's development scope (ECONOMIC_BROKER_SCOPES)
            "body": {"heading": BOOKS},
        },
        headers={"Authorization": f"Bearer {BROKER_TOKENS[0]}"},
    )
    assert used.status_code == 200, used.text
    audit = await events_for(infra.kafka, GRANT_USES_TOPIC, account)

    grants = (await http.get(f"{SANDBOX}/_sandbox/economic/grants")).json()["tokens"]
    stripe_tokens = (await http.get(f"{SANDBOX}/_sandbox/stripe/tokens")).json()["tokens"]
    secrets = {name: DEV_SECRETS[name] for name in SECRET_SETTINGS}
    assert grant.token in grants

    kafka = await everything_on_kafka(infra.kafka)
    database = await everything_in_the_database(infra.mongodb)
    # Every service's log, the extra econ-auth instances' of the broker's tests too.
    logs = {
        path.stem: path.read_text(errors="replace")
        for path in log_dir().glob("*.log")
        if path.stem != "sandbox"
    }
    assert {"install", "econ-auth", "status"} <= set(logs)
    assert account in kafka and account in database  # we are looking in the right places
    assert audit and account in str(audit)
    assert BOOKS not in kafka and BOOKS not in database
    for service, text in logs.items():
        assert BOOKS not in text, f"a broker body in {service}'s log"
    for token in BROKER_TOKENS:
        assert token not in kafka and token not in database, "a broker token stored"
        for service, text in logs.items():
            assert token not in text, f"a broker token in {service}'s log"
    for token in grants + stripe_tokens:
        assert token not in kafka, "a token on Kafka"
        assert token not in database, "a token in the database"
        for service, text in logs.items():
            assert token not in text, f"a token in {service}'s log"
    for name, value in secrets.items():
        assert value not in kafka and value not in database, name
        for service, text in logs.items():
            assert value not in text, f"{name} in {service}'s log"
