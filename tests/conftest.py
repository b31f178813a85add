import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pymongo import MongoClient

from kobling_devkit.infra import Infra, provide_infra
from kobling_devkit.stack import SERVICES, Service, fresh_logs, running
from kobling_shared.settings import DEV_SECRETS

# The tests run the services with the development secrets (KOBLING_ENV unset), so they sign
# webhooks and view requests with the same well-known values.
WEBHOOK_SECRET = DEV_SECRETS["stripe_webhook_secret"]
TEST_WEBHOOK_SECRET = DEV_SECRETS["stripe_test_webhook_secret"]
# The live endpoint's secret is mid-roll in the tests: the older one still verifies.
ROLLED_WEBHOOK_SECRET = "whsec_kobling_dev_before_the_roll"
APP_SECRET = DEV_SECRETS["stripe_app_secret"]
INTERNAL_TOKEN = DEV_SECRETS["internal_api_token"]


def pytest_configure(config: pytest.Config) -> None:
    """Each suite writes its services' logs afresh, to a folder of its own."""
    args = " ".join(str(a) for a in config.args)
    fresh_logs(
        "faults" if "tests/faults" in args else "cluster" if "tests/cluster" in args else "run"
    )


def start_clean(infra: Infra) -> None:
    """The three suites run one after another on one Kafka and one database. Each starts by
    checking the database answers, and drops the scratch databases (`test_…`, only tests make
    them) that an interrupted run left: a database left to FerretDB is one more file to open at
    every start, and to index every two seconds."""
    client: MongoClient = MongoClient(infra.mongodb, serverSelectionTimeoutMS=10_000)
    try:
        client.admin.command("ping")
        for name in client.list_database_names():
            if name.startswith("test_"):
                print(f"dropping {name}, a scratch database an earlier run left")
                client.drop_database(name)
    finally:
        client.close()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide_infra() as provided:
        start_clean(provided)
        yield provided


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[dict[str, Service]]:
    """install, econ-auth, status and the sandbox as real processes on their ports."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb,
        "STRIPE_WEBHOOK_SECRET": f"{WEBHOOK_SECRET},{ROLLED_WEBHOOK_SECRET}",
    }
    with running(list(SERVICES.values()), env) as services:
        yield {service.name: service for service in services}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def account() -> str:
    return "acct_" + uuid.uuid4().hex[:16]


@pytest.fixture
def internal_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Audits search what every other test left behind, so they run last."""
    items.sort(key=lambda item: item.get_closest_marker("audit") is not None)
