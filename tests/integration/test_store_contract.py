"""One contract for every way the stores guard a read-modify-write (issue 15).

Each test runs on both doors of kobling_shared.db: `mongodb` (a conditional `replace_one` on `_id`
and `rev`, TTL and partial indexes) and `ferretdb` (a unique-insert claim of the next revision, side
collections, deadline sweeps), and the store-level ones also on the in-memory fake the unit tests
use. They run against the database
of MONGODB_URL (kobling_devkit.infra): FerretDB here, a real MongoDB wherever MONGODB_URL names one. A
database that does not answer fails the run.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kobling_devkit.infra import Infra
from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.ports import Connections
from kobling_econ_auth.store import ConnectionStore
from kobling_install.store import TokenVault
from kobling_shared.db import choice, ferretdb
from kobling_shared.db.mongodb import MongoDoor
from kobling_shared.db.ports import Door, OneTime, Versioned
from kobling_shared.events import now
from kobling_shared.mongo import Document
from tests.fakes.econ_auth import FakeConnections

DOORS: dict[str, Door] = {"mongodb": MongoDoor(), "ferretdb": ferretdb.FerretDoor()}
ABANDONED_CLAIM = ferretdb.VersionedDocs.ABANDONED_CLAIM
DAY = date(2026, 12, 1)


@pytest.fixture
async def client(infra: Infra) -> AsyncIterator[AsyncMongoClient[Document]]:
    connected: AsyncMongoClient[Document] = AsyncMongoClient(
        infra.mongodb, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    await connected.admin.command("ping")  # no database: the test fails here, never skips
    yield connected
    await connected.close()


@pytest.fixture
async def db(client: AsyncMongoClient[Document]) -> AsyncIterator[AsyncDatabase[Document]]:
    database = client[f"test_contract_{uuid.uuid4().hex[:8]}"]
    yield database
    await client.drop_database(database.name)


@pytest.fixture(params=DOORS)
def docs(request: pytest.FixtureRequest, db: AsyncDatabase[Document]) -> Versioned:
    return DOORS[request.param].versioned(db["docs"], give_up_after=30.0)


def append(name: str):  # type: ignore[no-untyped-def]
    def change(doc: Document | None) -> Document:
        return {"writers": [*(doc or {}).get("writers", []), name]}

    return change


async def test_a_writer_stalled_between_its_read_and_its_write_does_not_overwrite(
    docs: Versioned,
) -> None:
    """The attack on the old lease lock: a holder paused past its lease (callbacks once took
    14-21 s) wrote unconditionally over the update made meanwhile. Here the stalled writer's
    write must lose, and its change be recomputed on top of the newer document."""
    await docs.change("k", append("first"))
    stalled, resume = asyncio.Event(), asyncio.Event()
    calls = []

    async def stall_once(current: Document | None, new: Document) -> None:
        calls.append(new["writers"])
        if len(calls) == 1:  # between the read and the write, as long as it takes
            stalled.set()
            await resume.wait()

    slow = asyncio.create_task(docs.change("k", append("slow"), before=stall_once))
    await asyncio.wait_for(stalled.wait(), 10)
    await docs.change("k", append("fast"))  # the newer write, made while the other is stalled
    resume.set()
    await asyncio.wait_for(slow, 30)

    stored = await docs.get("k")
    assert stored is not None
    assert stored["writers"] == ["first", "fast", "slow"]  # nothing overwritten
    assert stored["rev"] == 3
    assert calls == [["first", "slow"], ["first", "fast", "slow"]]  # recomputed once


async def test_a_write_from_a_stale_revision_changes_nothing(docs: Versioned) -> None:
    await docs.change("k", append("a"))
    await docs.change("k", append("b"))
    assert not await docs.write("k", 1, {"writers": ["stale"]})
    assert not await docs.write("k", None, {"writers": ["as if new"]})
    assert await docs.get("k") == {"_id": "k", "rev": 2, "writers": ["a", "b"]}
    assert await docs.write("k", 2, {"writers": ["c"]})
    assert await docs.get("k") == {"_id": "k", "rev": 3, "writers": ["c"]}


async def test_of_racing_first_writes_exactly_one_lands(docs: Versioned) -> None:
    landed = await asyncio.gather(*(docs.write("k", None, {"n": i}) for i in range(10)))
    assert landed.count(True) == 1
    stored = await docs.get("k")
    assert stored is not None and stored["rev"] == 1 and stored["n"] == landed.index(True)


async def test_concurrent_writers_lose_no_update(
    docs: Versioned, client: AsyncMongoClient[Document], request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["docs"] == "mongodb" and await ferretdb.answers(client):
        # Not a skip: FerretDB's non-atomic conditional update is what the other door exists
        # for; this pins that the door chosen where the app is built is that one by itself.
        assert isinstance(await choice.chosen(client), ferretdb.FerretDoor)
        docs = choice.door(client).versioned(docs.docs, give_up_after=30.0)
    await asyncio.gather(*(docs.change("k", append(f"w{i}")) for i in range(20)))
    stored = await docs.get("k")
    assert stored is not None
    assert sorted(stored["writers"]) == sorted(f"w{i}" for i in range(20))
    assert stored["rev"] == 20


async def test_a_writer_that_died_mid_write_does_not_block_the_document_for_good(
    docs: Versioned, db: AsyncDatabase[Document]
) -> None:
    await docs.change("k", append("a"))
    # What the FerretDB door leaves when a process dies between claiming revision 2 and writing.
    dead = now() - ABANDONED_CLAIM - timedelta(seconds=1)
    await db["docs_claims"].insert_one({"_id": "k#2", "at": dead})
    await docs.change("k", append("b"))
    assert (await docs.get("k") or {}).get("writers") == ["a", "b"]


async def test_claims_left_by_dead_writers_are_swept_and_live_ones_kept(
    db: AsyncDatabase[Document],
) -> None:
    # Claims are the FerretDB door's alone: MongoDB's guarded write is one command.
    docs = ferretdb.FerretDoor().versioned(db["docs"])
    dead = now() - ABANDONED_CLAIM - timedelta(seconds=1)
    await db["docs_claims"].insert_many([{"_id": "a#2", "at": dead}, {"_id": "b#2", "at": now()}])
    assert await docs.tidy() == 1
    assert [c["_id"] async for c in db["docs_claims"].find({}, {"_id": 1})] == ["b#2"]


async def test_on_ferretdbs_path_a_live_claim_holds_off_other_writers(
    db: AsyncDatabase[Document],
) -> None:
    docs = ferretdb.FerretDoor().versioned(db["docs"])
    await docs.change("k", append("a"))
    await db["docs_claims"].insert_one({"_id": "k#2", "at": now()})  # a writer mid-write
    assert not await docs.write("k", 1, {"writers": ["other"]})
    assert (await docs.get("k") or {}).get("writers") == ["a"]


# --- econ-auth's Connections: the MongoDB store through both doors, and the fake --------------


@pytest.fixture(params=(*DOORS, "fake"))
def connections(request: pytest.FixtureRequest, db: AsyncDatabase[Document]) -> Connections:
    if request.param == "fake":
        return FakeConnections()
    return ConnectionStore(db, DOORS[request.param])


def bump(conn: Connection) -> Connection:
    return conn.model_copy(update={"sequence": conn.sequence + 1})


async def test_connections_concurrent_changes_all_apply(
    connections: Connections,
    account: str,
    client: AsyncMongoClient[Document],
    db: AsyncDatabase[Document],
    request: pytest.FixtureRequest,
) -> None:
    if request.node.callspec.params["connections"] == "mongodb":
        if await ferretdb.answers(client):
            connections = ConnectionStore(db, choice.door(client))  # as in the test above
    await asyncio.gather(*(connections.change(account, False, bump) for _ in range(10)))
    stored = await connections.get(account, False)
    assert stored is not None and stored.sequence == 10


async def test_connections_a_change_that_changes_nothing_writes_nothing(
    connections: Connections, account: str
) -> None:
    assert await connections.change(account, False, lambda conn: None) is None
    assert await connections.get(account, False) is None


async def test_connections_outbox_is_found_until_sent(
    connections: Connections, account: str
) -> None:
    event = {"id": "evt-1", "type": "kobling.test"}

    def owe(conn: Connection) -> Connection:
        return conn.model_copy(update={"outbox": [*conn.outbox, event]})

    written = await connections.change(account, False, owe)
    assert written is not None and written.outbox == [event]
    assert [c.account_id for c in await connections.with_outbox()] == [account]
    await connections.sent(written, {"evt-1"})
    assert await connections.with_outbox() == []
    assert (await connections.get(account, False) or written).outbox == []


async def test_connections_an_agreement_is_shared_only_while_connected(
    connections: Connections,
) -> None:
    first, second = "acct_" + uuid.uuid4().hex[:12], "acct_" + uuid.uuid4().hex[:12]
    agreement = Agreement(agreement_number=4242, company_name="Acme ApS")

    def connect(conn: Connection) -> Connection:
        return conn.model_copy(update={"state": "connected", "agreement": agreement})

    def leave(conn: Connection) -> Connection:
        return conn.model_copy(update={"state": "disconnected"})

    await connections.change(first, False, connect)
    await connections.change(second, True, connect)
    assert await connections.connected_elsewhere(4242, first) == [(second, True)]
    await connections.change(second, True, leave)
    assert await connections.connected_elsewhere(4242, first) == []


async def test_connections_an_agreement_changed_while_connected_is_found_by_the_new_one(
    connections: Connections,
) -> None:
    first, second = "acct_" + uuid.uuid4().hex[:12], "acct_" + uuid.uuid4().hex[:12]

    def connect_to(number: int):  # type: ignore[no-untyped-def]
        def change(conn: Connection) -> Connection:
            agreement = Agreement(agreement_number=number, company_name=f"Company {number}")
            return conn.model_copy(update={"state": "connected", "agreement": agreement})

        return change

    await connections.change(first, False, connect_to(1))
    await connections.change(second, False, connect_to(1))
    await connections.change(second, False, connect_to(2))
    assert await connections.connected_elsewhere(1, first) == []
    assert await connections.connected_elsewhere(2, first) == [(second, False)]


async def test_connections_installs_joining_one_agreement_at_once_are_all_found(
    connections: Connections,
) -> None:
    """On FerretDB an agreement's members are one list, written by read-modify-write: merchants
    connecting the same company at the same moment must each be found by the others."""
    accounts = ["acct_" + uuid.uuid4().hex[:12] for _ in range(6)]
    agreement = Agreement(agreement_number=777, company_name="Shared ApS")

    def connect(conn: Connection) -> Connection:
        return conn.model_copy(update={"state": "connected", "agreement": agreement})

    await asyncio.gather(*(connections.change(a, False, connect) for a in accounts))
    for account in accounts:
        others = [(a, False) for a in sorted(accounts) if a != account]
        assert await connections.connected_elsewhere(777, account) == others


# --- one-time records past their deadline ------------------------------------------------------


@pytest.fixture(params=["mongodb", "ferretdb-small", "ferretdb-large"])
def expiring(request: pytest.FixtureRequest, db: AsyncDatabase[Document]) -> OneTime:
    name, _, size = request.param.partition("-")
    return DOORS[name].one_time(db["once"], small=size != "large")


async def test_records_past_their_deadline_are_forgotten_and_the_rest_kept(
    expiring: OneTime,
) -> None:
    at = now()
    # Kept a fixed time, so written in deadline order, as every one-time record is.
    past = [{"_id": f"old-{i}", "expires_at": at - timedelta(seconds=1000 - i)} for i in range(450)]
    live = [{"_id": f"new-{i}", "expires_at": at + timedelta(minutes=i + 1)} for i in range(3)]
    await expiring.docs.insert_many(past + live)  # more than one sweep batch of expired ones
    assert await expiring.forget_expired(at) == 450
    left = await expiring.docs.find({}, {"_id": 1}).to_list()
    assert sorted(doc["_id"] for doc in left) == ["new-0", "new-1", "new-2"]
    assert await expiring.forget_expired(at) == 0


async def test_the_database_that_has_ttl_indexes_gets_one(
    db: AsyncDatabase[Document], client: AsyncMongoClient[Document]
) -> None:
    expiring = choice.door(client).one_time(db["once"])  # the door chosen, as the services run
    await expiring.docs.insert_one({"_id": "x", "expires_at": now()})
    await expiring.create_index()
    ttl = {
        name: index.get("expireAfterSeconds")
        for name, index in (await expiring.docs.index_information()).items()
        if "expireAfterSeconds" in index
    }
    # FerretDB has no TTL index (its records go by forget_expired alone); MongoDB gets one.
    assert ttl == ({} if await ferretdb.answers(client) else {"expires_at_1": 0})


@pytest.mark.parametrize("door", DOORS)
async def test_a_token_refresh_from_a_stale_revision_is_refused(
    door: str, db: AsyncDatabase[Document]
) -> None:
    vault = TokenVault(db, DOORS[door])
    await vault.put("k", {"access": "a1", "refresh": "r1"}, None)
    read = await vault.get("k")
    assert read is not None
    assert await vault.put("k", {"access": "a2", "refresh": "r2"}, expected_rev=read["rev"])
    # A refresher that read before that write, stalled, and comes back with older tokens.
    assert not await vault.put("k", {"access": "a3", "refresh": "r3"}, expected_rev=read["rev"])
    stored = await vault.get("k")
    assert stored is not None and (stored["access"], stored["refresh"]) == ("a2", "r2")


# --- a daily counter shared by instances ------------------------------------------------------


@pytest.fixture(params=DOORS)
async def counting(
    request: pytest.FixtureRequest, db: AsyncDatabase[Document], client: AsyncMongoClient[Document]
) -> Door:
    if request.param == "mongodb" and await ferretdb.answers(client):
        # As in the tests above: a conditional `$inc` is not atomic on FerretDB; pinned that the
        # door chosen there is the one that counts by tickets.
        assert isinstance(await choice.chosen(client), ferretdb.FerretDoor)
        return choice.door(client)
    return DOORS[request.param]


async def test_a_daily_counter_taken_by_two_instances_at_once_never_passes_its_limit(
    counting: Door, db: AsyncDatabase[Document]
) -> None:
    first, second = (counting.daily_counter(db["counts"], 30) for _ in range(2))
    left = await asyncio.gather(*(c.take("k", DAY) for c in [first, second] * 25))
    assert sorted(n for n in left if n is not None) == list(range(30))
    assert left.count(None) == 20
    assert await first.take("k", DAY) is None and await second.take("k", DAY) is None


async def test_each_key_and_day_has_its_own_count_forgotten_a_day_after_it(
    counting: Door, db: AsyncDatabase[Document]
) -> None:
    counter = counting.daily_counter(db["counts"], 2)
    assert [await counter.take("k", DAY) for _ in range(3)] == [1, 0, None]
    assert await counter.take("other", DAY) == 1
    assert await counter.take("k", DAY + timedelta(days=1)) == 1
    after_the_next_day = datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC)
    assert await counter.forget_expired(after_the_next_day) > 0
    assert await counter.take("k", DAY) == 1  # that day is gone
    assert await counter.take("k", DAY + timedelta(days=1)) == 0  # the next one is kept
