"""Two sync instances and a stream of paid invoices; one instance is SIGKILLed mid-stream and
comes back. Every invoice ends booked once with one payment, counted in the sandbox's books per
agreement (issue 24: "Two sync instances, and the cluster test kills one mid-stream")."""

import asyncio
from collections import Counter

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.stack import Service, kill, start, wait_ready
from kobling_devkit.stripe_signing import new_account
from tests.cluster.conftest import ROUND_SECONDS
from tests.integration.test_sync import books, merchant_ready, pay, state_of

pytestmark = [pytest.mark.usefixtures("stack"), pytest.mark.timeout(600)]

MERCHANTS = 4
INVOICES = 24  # over the merchants, one every PACE seconds
PACE = 0.25


async def test_invoices_are_booked_once_while_a_sync_instance_dies(
    stack: dict[str, Service], infra: Infra
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        accounts = [new_account() for _ in range(MERCHANTS)]
        agreements = {a: await merchant_ready(http, a) for a in accounts}
        paid: list[tuple[str, str]] = []

        async def stream() -> None:
            for n in range(INVOICES):
                account = accounts[n % MERCHANTS]
                paid.append((account, (await pay(http, account))["invoice"]["id"]))
                await asyncio.sleep(PACE)

        running = asyncio.create_task(stream())
        await asyncio.sleep(INVOICES * PACE / 3)
        doomed = stack["sync-1"]
        kill(doomed)  # mid-stream: whatever it held is taken over by sync-2, or by itself again
        await running
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
            "MONGODB_URL": infra.mongodb,
            "GRANT_CHECK_INTERVAL_SECONDS": str(ROUND_SECONDS),
        }
        start(doomed, env)
        await asyncio.to_thread(wait_ready, doomed, 120)

        for account, invoice in paid:
            await state_of(http, account, invoice, "synced", timeout=180)
        for account, agreement in agreements.items():
            book = await books(http, agreement)
            mine = [i for a, i in paid if a == account]
            markers = Counter(b["other"] for b in book["booked_invoices"])
            assert sorted(markers) == sorted(mine), (account, markers)
            assert set(markers.values()) == {1}, markers
            texts = [line["text"] for v in book["vouchers"] for line in v["lines"]]
            for invoice in mine:
                assert sum(invoice in (t or "") for t in texts) == 1, (invoice, texts)
