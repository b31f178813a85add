"""Fault tests stop and start the real Kafka and FerretDB, so they need the local ones."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.infra import ROOT


def _infra(what: str, action: str) -> None:
    subprocess.run([str(ROOT / f"deploy/local/{what}.sh"), action], check=True)


@pytest.fixture(scope="session", autouse=True)
def local_infrastructure() -> None:
    for name, default in (
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        ("MONGODB_URL", "mongodb://127.0.0.1:27017"),
    ):
        if os.environ.get(name, default) != default:
            pytest.fail(
                f"fault tests stop and start the local infrastructure; {name} names another"
            )


@contextmanager
def down(what: str) -> Iterator[None]:
    """`kafka` or `ferretdb` stopped for the block, started again after it, whatever happens."""
    _infra(what, "stop")
    try:
        yield
    finally:
        _infra(what, "start")
