"""Real Kafka and a real database for the tests, in this order of preference:

1. the ones named by KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL (CI and `make test` set these after
   `deploy/local/infra.sh start`);
2. testcontainers, where a Docker engine answers (the workspace's dev dependencies bring it);
3. the project's own local scripts.

If none works the run fails: a missing service is never a skipped test.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kobling_devkit.paths import ROOT


@dataclass(frozen=True)
class Infra:
    kafka: str
    mongodb: str


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


@contextmanager
def provide_infra() -> Iterator[Infra]:
    kafka, mongodb = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URL")
    if kafka and mongodb:
        yield Infra(kafka, mongodb)
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with (
            KafkaContainer("apache/kafka:4.1.1").with_kraft() as k,
            MongoDbContainer("mongo:8") as m,
        ):
            yield Infra(k.get_bootstrap_server(), m.get_connection_url())
        return
    subprocess.run([str(ROOT / "deploy/local/infra.sh"), "start"], check=True)
    yield Infra("127.0.0.1:9092", "mongodb://127.0.0.1:27017")
