"""Messages a consumer cannot apply go to the dead-letter topic with the reason; the consumer
goes on with the next one."""

import json

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import ECON_AUTH_GROUP, STATUS_GROUP, consumed, everything_on
from kobling_devkit.merchant import STATUS, wait_for
from kobling_shared.events import (
    CONNECTIONS_TOPIC,
    DEAD_LETTER_TOPIC,
    INSTALLS_TOPIC,
    InstallData,
    StripeAppInstalled,
)

pytestmark = pytest.mark.usefixtures("stack")


def dead_letters(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("kobling_dead_letters_total{")
    )


async def test_poison_on_each_topic_is_parked_and_the_consumer_goes_on(
    http: httpx.AsyncClient, account: str, infra: Infra
) -> None:
    before = dead_letters((await http.get(f"{STATUS}/metrics")).text)
    marker = f"poison-{account}"
    newer = StripeAppInstalled(
        source="test", subject=account, livemode=False, data=InstallData(via="webhook")
    ).model_dump(mode="json")
    newer["type"] = newer["type"].replace(".v1", ".v2")
    newer["marker"] = marker
    poison = [
        f"not json {marker}".encode(),
        json.dumps({"type": "com.kobling.unknown.v1", "marker": marker}).encode(),
        json.dumps(newer).encode(),
    ]
    good = StripeAppInstalled(
        source="test", subject=account, livemode=False, data=InstallData(via="webhook")
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for topic in (INSTALLS_TOPIC, CONNECTIONS_TOPIC):
            for value in poison:
                await producer.send_and_wait(topic, value, key=account.encode())
        await producer.send_and_wait(
            INSTALLS_TOPIC, good.model_dump_json().encode(), key=account.encode()
        )
    finally:
        await producer.stop()

    doc = await wait_for(http, account, lambda d: d["stripe"]["installed"])
    assert doc["stripe"]["installed"] is True, "the consumer stopped at the poison"

    # Both consumers commit only after parking what they could not apply: once they are past
    # our records, every dead letter about them is on the topic.
    await consumed(infra.kafka, STATUS_GROUP, INSTALLS_TOPIC, account)
    await consumed(infra.kafka, STATUS_GROUP, CONNECTIONS_TOPIC, account)
    await consumed(infra.kafka, ECON_AUTH_GROUP, INSTALLS_TOPIC, account)
    parked = [
        json.loads(v)
        for v in await everything_on(infra.kafka, DEAD_LETTER_TOPIC)
        if marker.encode() in v
    ]
    # status parks 3 from each topic; econ-auth (installs only) parks 3 more of its own.
    assert len(parked) == 9, parked
    assert {p["topic"] for p in parked} == {INSTALLS_TOPIC, CONNECTIONS_TOPIC}
    assert all(p["reason"].startswith("invalid:") for p in parked)
    after = dead_letters((await http.get(f"{STATUS}/metrics")).text)
    assert after - before == 6
