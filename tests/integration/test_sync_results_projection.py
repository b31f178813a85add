"""status's projection of sync.results.v1 on the real database: one write for a batch, each
object keeping its result of the highest revision whatever else is in the batch (a stale or
repeated result beside new ones changes nothing and fails nothing)."""

from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared.events import InvoiceSynced, InvoiceSyncedData, SkippedData, SyncSkipped
from kobling_shared.mongo import Document
from kobling_status.sync_results import SyncResults

ACCOUNT = "acct_projection1"


def synced(object_id: str, revision: int) -> InvoiceSynced:
    data = InvoiceSyncedData(
        object_type="invoice",
        object_id=object_id,
        revision=revision,
        customer_number=1,
        booked_invoice_number=revision,
        currency="dkk",
        total=125000,
    )
    return InvoiceSynced(source="test", subject=ACCOUNT, livemode=False, data=data)


def skipped(object_id: str, revision: int) -> SyncSkipped:
    data = SkippedData(object_type="invoice", object_id=object_id, revision=revision, reason="x")
    return SyncSkipped(source="test", subject=ACCOUNT, livemode=False, data=data)


async def test_a_batch_keeps_each_objects_highest_revision(db: AsyncDatabase[Document]) -> None:
    results = SyncResults.of(db)
    await results.create_indexes()
    await results.apply([synced("in_a", 2)])

    # One batch: a stale result for in_a, the same result again, and two new objects.
    await results.apply(
        [skipped("in_a", 1), synced("in_a", 2), synced("in_b", 1), skipped("in_c", 3)]
    )

    a = await results.object_state(ACCOUNT, False, "in_a")
    b = await results.object_state(ACCOUNT, False, "in_b")
    c = await results.object_state(ACCOUNT, False, "in_c")
    assert a is not None and (a["state"], a["revision"]) == ("synced", 2)
    assert b is not None and b["state"] == "synced"
    assert c is not None and c["state"] == "skipped"

    await results.apply([skipped("in_b", 2)])  # a newer result replaces
    b = await results.object_state(ACCOUNT, False, "in_b")
    assert b is not None and (b["state"], b["revision"]) == ("skipped", 2)
    summary = await results.summary(ACCOUNT, False)
    assert (summary["synced"], summary["skipped"]) == (1, 2)
