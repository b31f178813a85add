"""Work that must happen once, with two instances of each service: a connect completes once
whichever instance e-conomic's callbacks reach, and the periodic grant check is spread by the
installs partitions each econ-auth instance holds, each grant presented to e-conomic once a round."""

import asyncio
import re
import time

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    ECON_AUTH,
    SANDBOX,
    add_app,
    connect_link,
    grant_page,
    install,
    wait_for,
)
from kobling_devkit.stack import Service
from kobling_devkit.stripe_signing import new_account
from kobling_shared.events import CONNECTIONS_TOPIC
from tests.cluster.conftest import ROUND_SECONDS

pytestmark = pytest.mark.usefixtures("stack")

ACCOUNTS = 10  # all on one instance's partitions: 2 * (1/2)**10, one run in 500


async def connected(http: httpx.AsyncClient, account: str) -> int:
    """Installs and connects `account` through the balancers; answers its agreement number."""
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"], timeout=60)
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        assert (await browser.get(grant.callback)).status_code == 303
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "connected", timeout=60)
    assert doc["economic"]["state"] == "connected"
    return grant.agreement


async def calls_by_round(http: httpx.AsyncClient, agreements: list[int]) -> dict[int, list[int]]:
    """For each agreement, the grant check round of each /self call e-conomic received."""
    seen = (await http.get(f"{SANDBOX}/_sandbox/economic/calls")).json()["by_agreement"]
    return {a: [int(t // ROUND_SECONDS) for t in seen.get(str(a), [])] for a in agreements}


async def checks_by(http: httpx.AsyncClient, instance: Service) -> float:
    metrics = (await http.get(f"{instance.url}/metrics")).text
    return sum(
        float(n) for n in re.findall(r"^kobling_grant_checks_total\{.*\} (\S+)$", metrics, re.M)
    )


async def test_two_econ_auth_instances_check_each_grant_once_a_round(
    http: httpx.AsyncClient, stack: dict[str, Service]
) -> None:
    agreements = [await connected(http, new_account()) for _ in range(ACCOUNTS)]
    first = int(time.time() // ROUND_SECONDS) + 1  # the first round wholly after the connects
    last = first + 2
    deadline = time.monotonic() + (last + 2) * ROUND_SECONDS - time.time() + 60
    # Each instance runs its rounds one after the other: once every grant has been checked in the
    # round after `last`, both instances are done with `last`.
    while True:
        rounds = await calls_by_round(http, agreements)
        if all(last + 1 in r for r in rounds.values()):
            break
        assert time.monotonic() < deadline, f"rounds {first}..{last + 1} not all seen: {rounds}"
        await asyncio.sleep(0.5)
    for agreement, seen in rounds.items():
        assert [seen.count(r) for r in range(first, last + 1)] == [1, 1, 1], (agreement, seen)
    # Spread, not done by one: each instance presented some of the grants.
    done = [await checks_by(http, stack[f"econ-auth-{n}"]) for n in (1, 2)]
    assert all(d > 0 for d in done), done


async def test_one_callback_at_both_econ_auth_instances_connects_once(
    http: httpx.AsyncClient, infra: Infra, stack: dict[str, Service]
) -> None:
    """e-conomic's callback for one state, fired 10 times at each instance at once: one connects."""
    account = new_account()
    await install(http, account)
    await wait_for(http, account, lambda d: d["stripe"]["installed"], timeout=60)
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        at = [grant.callback.replace(ECON_AUTH, stack[f"econ-auth-{n}"].url) for n in (1, 2)]
        answers = await asyncio.gather(*(browser.get(url) for url in at * 10))
    assert sorted(r.status_code for r in answers) == [303] + [400] * 19
    await wait_for(http, account, lambda d: d["economic"]["state"] == "connected", timeout=60)
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    assert [e["type"] for e in held] == ["com.kobling.economic.connected.v1"]
