"""What the benchmark runs against: the stack's settings (production mode, fresh secrets), where
its parts listen, and how much CPU each process has used."""

import base64
import json
import os
import secrets
from pathlib import Path

from kobling_devkit.paths import ROOT
from kobling_devkit.stack import SERVICES, Service, start, wait_ready
from kobling_econ_auth.settings import DEV_BROKER_SCOPES
from kobling_shared.settings import DEV_SECRETS

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
MONGO = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
# Where `make bench` (or `make infra`) keeps Kafka's and FerretDB's pid files.
INFRA_DIR = Path(os.environ.get("KOBLING_RUN_DIR", ROOT / ".run"))
WORK = ROOT / ".run" / "bench"
SECRETS = {name.upper(): f"bench-{secrets.token_urlsafe(32)}" for name in DEV_SECRETS}
SECRETS["TOKEN_ENCRYPTION_KEYS"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
SECRETS["STRIPE_WEBHOOK_SECRET"] = "whsec_" + secrets.token_hex(16)
SECRETS["STRIPE_APP_SECRET"] = "absec_" + secrets.token_hex(16)
# Production refuses the development ids: the bench's app has its own, and its events name it.
BENCH_APP = "ca_bench_" + secrets.token_hex(8)
BENCH_TEST_APP = "ca_bench_test_" + secrets.token_hex(8)  # each mode has its own client id
SECRETS["STRIPE_CLIENT_ID"], SECRETS["STRIPE_TEST_CLIENT_ID"] = BENCH_APP, BENCH_TEST_APP
SECRETS["STRIPE_APPLICATION_IDS"] = f"{BENCH_APP},{BENCH_TEST_APP},app_bench"
# caller:token, as production: the bench itself (the broker's row) and sync (the sync rows).
BROKER_TOKENS = {caller: secrets.token_urlsafe(32) for caller in ("bench", "sync")}
SECRETS["ECONOMIC_BROKER_TOKENS"] = ",".join(f"{c}:{t}" for c, t in BROKER_TOKENS.items())
STRIPE_BROKER_TOKEN = secrets.token_urlsafe(32)
SECRETS["STRIPE_BROKER_TOKENS"] = f"sync:{STRIPE_BROKER_TOKEN}"
# The bench reads /self and may spend the whole day, as before scopes (one ticket a call); sync
# books as development lets it (customers, drafts, bookings, vouchers; never a delete).
SCOPES = {
    "ECONOMIC_BROKER_SCOPES": json.dumps(
        {"bench": {"allow": ["GET /self"], "daily_share": 1}, "sync": DEV_BROKER_SCOPES["sync"]}
    ),
    "SYNC_ECONOMIC_BROKER_TOKEN": BROKER_TOKENS["sync"],
    "SYNC_STRIPE_BROKER_TOKEN": STRIPE_BROKER_TOKEN,
}
# Production mode with the sandbox standing in for Stripe and e-conomic.
ENV = {
    "KOBLING_ENV": "production",
    "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
    "MONGODB_URL": MONGO,
    "STRIPE_API_BASE": "http://127.0.0.1:8010",
    "STRIPE_DASHBOARD_URL": "http://127.0.0.1:8010/dashboard",
    "STRIPE_MARKETPLACE_URL": "http://127.0.0.1:8010",
    "ECONOMIC_GRANT_URL": "http://127.0.0.1:8010/economic/secure/api1/requestaccess.aspx",
    "ECONOMIC_API_URL": "http://127.0.0.1:8010/economic/api",
    # Production wants them set; loopback by address is the one http it takes.
    "INSTALL_PUBLIC_URL": "http://127.0.0.1:8001",
    "ECON_AUTH_PUBLIC_URL": "http://127.0.0.1:8002",
    "STATUS_PUBLIC_URL": "http://127.0.0.1:8003",
    # status holds every account of the bench's read model in memory (about 350,000 after the
    # rebuild rows; kobling_status.read_cache), so the reads, drawn from 100,000 of them, show
    # memory's speed; its resident size after the runs is in the report's memory table.
    "STATUS_CACHE_ACCOUNTS": "500000",
    **SCOPES,
    **SECRETS,
}
TICKS = os.sysconf("SC_CLK_TCK")


def start_stack() -> list[Service]:
    """install, econ-auth, status and the sandbox, started with the bench's settings and ready."""
    services = [SERVICES[name] for name in ("install", "econ-auth", "status", "sandbox")]
    for service in services:
        # The sandbox is a development tool and refuses production; it shares the secrets.
        dev = {"KOBLING_ENV": "development"} if service.name == "sandbox" else {}
        start(service, {**ENV, **dev})
    for service in services:
        wait_ready(service)
    return services


def infra_pids() -> dict[str, int]:
    """Kafka's and FerretDB's processes, from the pid files the infra scripts write."""
    found = {}
    for name, file in (("kafka", "kafka/kafka.pid"), ("ferretdb", "ferretdb/ferretdb.pid")):
        path = INFRA_DIR / file
        if path.exists():
            found[name] = int(path.read_text().strip())
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads, so far."""
    # The command may hold spaces and parentheses: the fields start after the last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU each named process used between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._at: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> "CpuMeter":
        self._at = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> dict[str, float]:
        self.used = {name: cpu_seconds(pid) - self._at[name] for name, pid in self.pids.items()}
        return self.used


class CpuSampler:
    """Samples each process's CPU time every `every` seconds in a thread, so a slow request can be
    matched with who was busy while it waited. /proc counts in ticks (10 ms): only windows of tens
    of milliseconds, or many windows together, say much."""

    def __init__(self, pids: dict[str, int], every: float = 0.01) -> None:
        import threading

        self.pids, self.every = pids, every
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        while not self._stop.wait(self.every):
            self.samples.append(
                (time.time(), {name: cpu_seconds(pid) for name, pid in self.pids.items()})
            )

    def __enter__(self) -> "CpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def busy(self, since: float, until: float) -> dict[str, float]:
        """Share of one core each process used between two wall-clock times."""
        inside = [s for s in self.samples if since <= s[0] <= until]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {name: (last[name] - first[name]) / (t1 - t0) for name in self.pids}
