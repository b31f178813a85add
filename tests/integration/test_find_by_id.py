"""kobling_shared.db.ferretdb.find_by_id, the `find` command status's reads use instead of `find_one`:
it must answer exactly what `find_one` answers, with the client's codecs (time zones)."""

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared.db.ferretdb import find_by_id
from kobling_shared.mongo import Document


async def test_it_answers_what_find_one_answers(db: AsyncDatabase[Document]) -> None:
    at = datetime(2026, 12, 1, 4, 56, 49, 887000, tzinfo=UTC)
    stored = {"_id": "acct_1:test", "rev": 3, "stripe": {"installed_at": at}, "shared": ["a"]}
    await db["accounts"].insert_many([stored, {"_id": "acct_2:test", "rev": 1}])

    found = await find_by_id(db["accounts"], "acct_1:test")

    assert found == stored == await db["accounts"].find_one({"_id": "acct_1:test"})
    # The status JSON shows times with their zone: the client is tz_aware, and so is this read.
    assert found is not None and found["stripe"]["installed_at"].tzinfo is not None


async def test_an_absent_id_is_none(db: AsyncDatabase[Document]) -> None:
    await db["accounts"].insert_many([{"_id": "acct_1:test"}])
    assert await find_by_id(db["accounts"], "acct_9:test") is None
    assert await find_by_id(db["nothing_here"], "acct_1:test") is None
