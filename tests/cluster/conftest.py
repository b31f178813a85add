"""The cluster suite (`make test-cluster`): three local Kafka nodes (deploy/local/kafka.sh with
KOBLING_CLUSTER=1), two instances of each service behind a balancer on its public port."""

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from kobling_devkit.infra import Infra
from kobling_devkit.paths import ROOT
from kobling_devkit.stack import Service, cluster, start, stop_all, wait_ready
from kobling_shared.events import INSTALLS_TOPIC

NODES = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292"
# Grant check rounds this short, so a test sees several (production: 6 hours).
ROUND_SECONDS = 6


@pytest.fixture(scope="session")
def infra() -> Infra:
    if (
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS") != NODES
        or os.environ.get("KOBLING_CLUSTER") != "1"
    ):
        pytest.fail("the cluster suite kills local Kafka nodes: run it with `make test-cluster`")
    return Infra(NODES, os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017"))


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[dict[str, Service]]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb,
        "GRANT_CHECK_INTERVAL_SECONDS": str(ROUND_SECONDS),
    }
    services = cluster()
    try:
        for service in services.values():
            start(service, env)
        for service in services.values():
            wait_ready(service, timeout=120)
        yield services
    finally:
        stop_all(list(services.values()))


def kafka_node(action: str, node: int) -> None:
    """`kill-node` (SIGKILL) or `start-node` for node 0, 1 or 2 (node.id 1, 2, 3)."""
    subprocess.run([str(ROOT / "deploy/local/kafka.sh"), action, str(node)], check=True)


async def describe_installs(infra: Infra) -> list[dict[str, Any]]:
    """The installs topic's partitions: each with its leader's node.id and in-sync replicas."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka, request_timeout_ms=10000)
    await admin.start()
    try:
        (topic,) = await admin.describe_topics([INSTALLS_TOPIC])
    finally:
        await admin.close()
    return sorted(topic["partitions"], key=lambda p: p["partition"])
