"""The grant-use summary the internal API shows (`grant_uses`: count, last use), kept per install as
the uses are applied, against the real database through both doors of kobling_shared.db: each use counted
once however often its batch comes again, the last use the latest by time whatever the order."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kobling_devkit.infra import Infra
from kobling_shared.db.ferretdb import FerretDoor
from kobling_shared.db.mongodb import MongoDoor
from kobling_shared.db.ports import Door
from kobling_shared.events import EconomicGrantUsed, GrantUseData, now
from kobling_shared.mongo import Document
from kobling_status.grant_uses import COUNTED_IDS_KEPT, GrantUses


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        infra.mongodb, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    await client.admin.command("ping")  # no database: the test fails here, never skips
    database = client[f"test_grant_uses_{uuid.uuid4().hex[:8]}"]
    yield database
    await client.drop_database(database.name)
    await client.close()


DOORS: dict[str, Door] = {"mongodb": MongoDoor(), "ferretdb": FerretDoor()}


@pytest.fixture(params=DOORS)
def uses(request: pytest.FixtureRequest, db: AsyncDatabase[Document]) -> GrantUses:
    return GrantUses(db["timeline"], db["summaries"], DOORS[request.param])


def use(account: str, caller: str, seconds_ago: int = 0) -> EconomicGrantUsed:
    return EconomicGrantUsed(
        source="econ-auth",
        subject=account,
        livemode=False,
        time=now() - timedelta(seconds=seconds_ago),
        data=GrantUseData(
            caller=caller, method="GET", path="/self", status=200, duration_ms=3, agreement_number=7
        ),
    )


async def test_a_batch_delivered_again_is_counted_once(uses: GrantUses, account: str) -> None:
    first = [use(account, "sync", 20), use(account, "bench", 10)]
    await uses.record(first)
    await uses.record(first)  # its offsets were not committed: the same batch again
    await uses.record([first[1], use(account, "sync", 5)])  # part of it in the next one
    summary = await uses.summary(account, False)
    assert summary["count"] == 3
    assert summary["last_use"]["caller"] == "sync"
    assert summary["last_use"]["status"] == 200
    assert "agreement_number" not in summary["last_use"]
    assert await uses.timeline.count_documents({"key": f"{account}:test"}) == 3
    # The other mode's install is another summary.
    assert (await uses.summary(account, True))["count"] == 0


async def test_the_last_use_is_the_latest_whatever_arrives_last(
    uses: GrantUses, account: str
) -> None:
    newer, older = use(account, "newer", 1), use(account, "older", 60)
    await uses.record([newer])
    await uses.record([older])  # from another econ-auth instance, applied later
    summary = await uses.summary(account, False)
    assert summary["count"] == 2
    assert summary["last_use"]["caller"] == "newer"
    assert summary["last_used_at"] == newer.time


async def test_no_uses_is_a_count_of_zero(uses: GrantUses, account: str) -> None:
    assert await uses.summary(account, False) == {
        "count": 0,
        "last_used_at": None,
        "last_use": None,
    }


async def test_the_remembered_ids_stay_bounded(uses: GrantUses, account: str) -> None:
    many = [use(account, f"c{i}", 1) for i in range(COUNTED_IDS_KEPT + 50)]
    await uses.record(many)
    await uses.record(many[-10:])
    doc = await uses.summaries.find_one({"_id": f"{account}:test"})
    assert doc is not None
    assert doc["count"] == COUNTED_IDS_KEPT + 50
    assert len(doc["counted_ids"]) == COUNTED_IDS_KEPT
