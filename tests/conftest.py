import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from kobling_shared.settings import DEV_SECRETS
from tests.infra import Infra, provide_infra
from tests.stack import SERVICES, Service, running

# The tests run the services with the development secrets (KOBLING_ENV unset), so they sign
# webhooks and view requests with the same well-known values.
WEBHOOK_SECRET = DEV_SECRETS["stripe_webhook_secret"]
TEST_WEBHOOK_SECRET = DEV_SECRETS["stripe_test_webhook_secret"]
# The live endpoint's secret is mid-roll in the tests: the older one still verifies.
ROLLED_WEBHOOK_SECRET = "whsec_kobling_dev_before_the_roll"
APP_SECRET = DEV_SECRETS["stripe_app_secret"]
INTERNAL_TOKEN = DEV_SECRETS["internal_api_token"]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide_infra() as provided:
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
