"""What each stored record weighs: documents per collection and their mean BSON size, read from
whatever database MONGODB_URL names (after a test run or `make bench`, it holds real records).

    uv run python -m bench.sizes

docs/scaling.md multiplies these by a million merchants.
"""

import asyncio
import os
from typing import Any

import bson
from pymongo import AsyncMongoClient

SAMPLE = 2000
# A connected merchant's records are the largest (the sealed grant, the agreement): weighed apart.
SUBSETS = {
    ("kobling_econ_auth", "connections"): {"state": "connected"},
    ("kobling_status", "accounts"): {"economic.state": "connected"},
}


async def main() -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
    )
    try:
        print("| database.collection | documents | mean BSON bytes | mean _id bytes |")
        print("| --- | --- | --- | --- |")
        for name in sorted(await client.list_database_names()):
            if not name.startswith("kobling"):
                continue
            db = client[name]
            for collection in sorted(await db.list_collection_names()):
                subset = SUBSETS.get((name, collection))
                for where in ({}, subset) if subset else ({},):
                    docs = await db[collection].find(where).limit(SAMPLE).to_list()
                    if not docs:
                        continue
                    count = await db[collection].count_documents(where)
                    mean = sum(len(bson.encode(d)) for d in docs) / len(docs)
                    key = sum(len(str(d["_id"])) for d in docs) / len(docs)
                    label = f"{name}.{collection}" + (f" {where}" if where else "")
                    print(f"| {label} | {count} | {mean:.0f} | {key:.0f} |")
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
