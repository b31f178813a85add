"""What single operations cost on the database itself, apart from our services:
`uv run python -m bench.ferretdb_ops` (with `make infra` running). The numbers in
docs/benchmarks-analysis.md about FerretDB come from here."""

import asyncio
import os
import time
import uuid

from pymongo import AsyncMongoClient

MONGO = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
DOCS = 5000
SAMPLE = 300


async def rate(label: str, calls: list, gathered: bool = False) -> None:  # type: ignore[type-arg]
    started = time.perf_counter()
    if gathered:
        await asyncio.gather(*calls)
    else:
        for call in calls:
            await call
    print(f"{label:<48} {len(calls) / (time.perf_counter() - started):8.0f} /s")


async def main() -> None:
    client: AsyncMongoClient = AsyncMongoClient(MONGO)
    db = client[f"bench_ops_{uuid.uuid4().hex[:8]}"]
    col = db["docs"]
    try:
        await col.insert_many([{"_id": f"d{i}", "x": i, "rev": 1} for i in range(DOCS)])
        await asyncio.sleep(3)  # the local runner indexes new tables every two seconds
        keys = [f"d{i}" for i in range(SAMPLE)]
        await rate("insert_one, one at a time", [col.insert_one({"x": i}) for i in range(SAMPLE)])
        started = time.perf_counter()
        for i in range(0, 10_000, 100):
            await col.insert_many([{"_id": f"n{j}"} for j in range(i, i + 100)])
        print(
            f"{'insert_many of 100, per document':<48} {10_000 / (time.perf_counter() - started):8.0f} /s"
        )
        await rate("find_one by _id", [col.find_one({"_id": k}) for k in keys])
        await rate("replace_one by _id", [col.replace_one({"_id": k}, {"x": 1}) for k in keys])
        await rate(
            "replace_one by _id and rev (scans: no pushdown)",
            [col.replace_one({"_id": k, "rev": 1}, {"x": 2, "rev": 2}) for k in keys[:100]],
        )
        await rate("delete_one by _id", [col.delete_one({"_id": k}) for k in keys])
    finally:
        await client.drop_database(db.name)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
