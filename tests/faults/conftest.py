"""Fault tests stop and start the real Kafka and FerretDB, so they need the local ones.

Each fault ends with a check that the infrastructure came back. When it did not, that test fails
saying what it saw (the port, the last lines of the log), and the run stops before the next test:
one broken restart reads as one failure, not as every later test failing on a database that is gone.
"""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from kobling_devkit.paths import ROOT

RUN_DIR = Path(os.environ.get("KOBLING_RUN_DIR") or ROOT / ".run")
PORTS = {"kafka": 9092, "ferretdb": 27017}
DATABASE_URL = f"mongodb://127.0.0.1:{PORTS['ferretdb']}"
# Why the infrastructure is unusable, once a fault has broken it; the run stops at the next test.
_broken: list[str] = []


def _infra(what: str, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / f"deploy/local/{what}.sh"), action], capture_output=True, text=True, check=False
    )


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _log_tail(what: str, lines: int = 12) -> str:
    log = RUN_DIR / what / f"{what}.log"
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    except OSError as error:
        return f"(no log: {error})"


def _database_answers() -> str | None:
    """None when FerretDB answers a ping and lists its databases; else what it said."""
    client: MongoClient = MongoClient(DATABASE_URL, serverSelectionTimeoutMS=5000)
    try:
        client.admin.command("ping")
        client.list_database_names()
        return None
    except PyMongoError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        client.close()


def infrastructure_problem(within: float = 0.0) -> str | None:
    """What is wrong with the local Kafka and FerretDB, waiting up to `within` seconds for them."""
    deadline = time.monotonic() + within
    while True:
        problems = []
        for what, port in PORTS.items():
            if not _answers(port):
                problems.append(
                    f"{what} does not answer on 127.0.0.1:{port}; "
                    f"{RUN_DIR / what / (what + '.log')} ends:\n{_log_tail(what)}"
                )
        if not problems and (said := _database_answers()):
            problems.append(
                f"FerretDB answers on its port but not to a ping ({said}); its log ends:\n"
                + _log_tail("ferretdb")
            )
        if not problems or time.monotonic() >= deadline:
            return "\n".join(problems) or None
        time.sleep(0.5)


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


@pytest.fixture(autouse=True)
def infrastructure_is_up(request: pytest.FixtureRequest) -> None:
    """Each fault test starts from infrastructure that answers, or the run stops here, once."""
    if not _broken and (problem := infrastructure_problem(within=10)):
        _broken.append(f"before {request.node.name}: {problem}")
    if _broken:
        pytest.exit(
            "the local infrastructure is down, so no further fault test can say anything:\n"
            + _broken[0],
            returncode=1,
        )


@contextmanager
def down(what: str) -> Iterator[None]:
    """`kafka` or `ferretdb` stopped for the block, started again after it, whatever happens;
    then the first check is that it came back."""
    stopped = _infra(what, "stop")
    if stopped.returncode != 0:
        pytest.fail(f"could not stop {what}: {stopped.stderr.strip()}", pytrace=False)
    try:
        yield
    finally:
        started = _infra(what, "start")
        problem = infrastructure_problem(within=30)
        if started.returncode != 0 or problem:
            _broken.append(
                f"{what} did not come back after the fault (`{what}.sh start` exited "
                f"{started.returncode}: {started.stderr.strip()[-2000:]})\n{problem or ''}"
            )
    if _broken:
        pytest.fail(_broken[-1], pytrace=False)
