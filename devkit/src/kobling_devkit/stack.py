"""Runs our services as real processes on their real ports, as `make run` does."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kobling_devkit.paths import ARTIFACTS, ROOT

# The services' logs of this run, under test-artifacts/logs/<suite>: `make test`, `make test-faults`
# and `make test-cluster` run one after another in one checkout, and used to append to one file
# per service across every run (see `fresh_logs`).
_logs = [ARTIFACTS / "logs" / "run"]


def fresh_logs(suite: str) -> Path:
    """An empty log folder for `suite`, the one `start` and `log_dir` use from now on."""
    _logs[0] = ARTIFACTS / "logs" / suite
    shutil.rmtree(_logs[0], ignore_errors=True)
    _logs[0].mkdir(parents=True)
    return _logs[0]


def log_dir() -> Path:
    _logs[0].mkdir(parents=True, exist_ok=True)
    return _logs[0]


@dataclass
class Service:
    name: str
    module: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)
    env: dict[str, str] = field(default_factory=dict)  # its own settings, e.g. an instance's PORT
    argv: list[str] = field(default_factory=list)  # a command, instead of `python -m module`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = {
    "install": Service("install", "kobling_install", 8001),
    "econ-auth": Service("econ-auth", "kobling_econ_auth", 8002),
    "status": Service("status", "kobling_status", 8003),
    "sync": Service("sync", "kobling_sync", 8004),
    "sandbox": Service("sandbox", "kobling_sandbox", 8010),
}
OURS = ("install", "econ-auth", "status", "sync")


def instances(name: str, count: int = 2) -> list[Service]:
    """`count` instances of one of our services on ports of their own: 8101, 8201 for 8001."""
    base = SERVICES[name]
    return [
        Service(
            f"{name}-{n}", base.module, base.port + 100 * n, env={"PORT": str(base.port + 100 * n)}
        )
        for n in range(1, count + 1)
    ]


def balancer(name: str, behind: list[Service]) -> Service:
    """The service's public port, answered by any of the instances `behind` it."""
    port = SERVICES[name].port
    argv = [sys.executable, str(ROOT / "deploy/local/balancer.py"), str(port)]
    return Service(f"{name}-balancer", "", port, argv=argv + [str(s.port) for s in behind])


def cluster(count: int = 2) -> dict[str, Service]:
    """`count` instances of each of our services, a balancer on each public port, the sandbox."""
    found: dict[str, Service] = {}
    for name in OURS:
        behind = instances(name, count)
        found |= {s.name: s for s in behind}
        found[name] = balancer(name, behind)
    found["sandbox"] = SERVICES["sandbox"]
    return found


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def kill(service: Service) -> None:
    """SIGKILL: no shutdown hooks, nothing flushed, as a crash or an OOM kill."""
    assert service.process is not None
    service.process.kill()
    service.process.wait()


def start(service: Service, env: dict[str, str]) -> None:
    if _port_taken(service.port):
        raise RuntimeError(
            f"port {service.port} is taken: stop whatever runs there (`make run`?) before testing"
        )
    service.log_path = log_dir() / f"{service.name}.log"
    log = service.log_path.open("ab")
    service.process = subprocess.Popen(
        service.argv or [sys.executable, "-m", service.module],
        env={**os.environ, **env, **service.env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(service: Service, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.process is not None
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited: see {service.log_path}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} was not ready within {timeout}s: see {service.log_path}")


def stop_all(services: list[Service], timeout: float = 20.0) -> None:
    """SIGTERM to all, as an orchestrator would; SIGKILL for what has not ended by the deadline."""
    running = [s.process for s in services if s.process and s.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(services: list[Service], env: dict[str, str]) -> Iterator[list[Service]]:
    """`services` started with `env` and ready, then stopped as `stop_all` does."""
    try:
        for service in services:
            start(service, env)
        for service in services:
            wait_ready(service)
        yield services
    finally:
        stop_all(services)
