"""econ-auth's store and e-conomic client in memory, with the semantics of store.py and
economic.py."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from kobling_econ_auth.budget import DailyBudget, caller_shares
from kobling_econ_auth.connection import Agreement, Connection, new_connection
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.economic import EconomicClient
from kobling_econ_auth.ports import (
    Change,
    EconomicUnavailable,
    GrantRejected,
    PendingState,
    PermissionRefused,
    Reply,
    RestRequest,
    Sent,
    UnsentUses,
)
from kobling_econ_auth.rejections import RejectionWave
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.arrivals import Arrivals
from kobling_shared.crypto import Unreadable
from kobling_shared.db.ferretdb import FerretDoor
from kobling_shared.events import EconomicGrantUsed, account_key
from tests.fakes.kafka import FakeTopic
from tests.fakes.mongo import FakeCollection


class DatabaseDown(Exception):
    pass


class FakeConnections:
    """Satisfies kobling_econ_auth.ports.Connections, as ConnectionStore. Each method runs
    without an await inside, so it is atomic as the store's unique inserts and locks are."""

    def __init__(self) -> None:
        self.connections: dict[str, Connection] = {}
        self.pending: set[str] = set()  # keys that may hold unpublished events
        self.used: set[str] = set()
        self.states: dict[str, PendingState] = {}
        self.fail_sent = False  # a crash between publishing and recording it

    async def get(self, account_id: str, livemode: bool) -> Connection | None:
        return self.connections.get(account_key(account_id, livemode))

    async def create(self, connections: list[Connection]) -> set[str]:
        existing = set()
        for conn in connections:
            key = account_key(conn.account_id, conn.livemode)
            if key in self.connections:
                existing.add(key)
            else:
                self.connections[key] = conn
        return existing

    async def change(self, account_id: str, livemode: bool, change: Change) -> Connection | None:
        key = account_key(account_id, livemode)
        current = self.connections.get(key) or new_connection(account_id, livemode)
        updated = change(current)
        if updated is None:
            return None
        if len(updated.outbox) > len(current.outbox):
            self.pending.add(key)
        self.connections[key] = updated
        return updated

    async def connected_elsewhere(
        self, agreement_number: int, account_id: str
    ) -> list[tuple[str, bool]]:
        return sorted(
            (conn.account_id, conn.livemode)
            for conn in self.connections.values()
            if conn.state == "connected"
            and conn.agreement is not None
            and conn.agreement.agreement_number == agreement_number
            and conn.account_id != account_id
        )

    async def connected(self) -> list[Connection]:
        return [conn for conn in self.connections.values() if conn.state == "connected"]

    async def held_expired(self, at: datetime) -> list[tuple[str, bool]]:
        return sorted(
            (conn.account_id, conn.livemode)
            for conn in self.connections.values()
            if conn.held is not None and conn.held.expires_at < at
        )

    async def connected_accounts(self) -> AsyncIterator[tuple[str, bool]]:
        for conn in await self.connected():
            yield conn.account_id, conn.livemode

    async def with_outbox(self) -> list[Connection]:
        found = [self.connections[key] for key in sorted(self.pending)]
        self.pending = {account_key(c.account_id, c.livemode) for c in found if c.outbox}
        return [conn for conn in found if conn.outbox]

    async def sent(self, conn: Connection, event_ids: set[str]) -> None:
        if self.fail_sent:
            raise DatabaseDown("sent")

        def drop(current: Connection) -> Connection | None:
            left = [e for e in current.outbox if e["id"] not in event_ids]
            return current.model_copy(update={"outbox": left}) if left != current.outbox else None

        left = await self.change(conn.account_id, conn.livemode, drop)
        if left is not None and not left.outbox:
            self.pending.discard(account_key(conn.account_id, conn.livemode))

    async def use_once(self, kind: str, secret: str) -> bool:
        if f"{kind}:{secret}" in self.used:
            return False
        self.used.add(f"{kind}:{secret}")
        return True

    async def was_used(self, kind: str, secret: str) -> bool:
        return f"{kind}:{secret}" in self.used

    async def save_state(self, state: str, pending: PendingState) -> None:
        self.states[state] = pending

    async def find_state(self, state: str) -> PendingState | None:
        return self.states.get(state)


class FakeUnsentUses:
    """Satisfies kobling_econ_auth.ports.UnsentUses, as store.UnsentUses."""

    def __init__(self) -> None:
        self.kept: dict[str, tuple[EconomicGrantUsed, datetime]] = {}

    async def add(self, event: EconomicGrantUsed, relay_after: datetime) -> None:
        assert event.id not in self.kept  # a unique _id
        self.kept[event.id] = (event, relay_after)

    async def replace(self, event: EconomicGrantUsed, relay_after: datetime) -> None:
        if event.id in self.kept:
            self.kept[event.id] = (event, relay_after)

    async def forget(self, event_id: str) -> None:
        self.kept.pop(event_id, None)

    async def due(self, at: datetime) -> list[EconomicGrantUsed]:
        return [event for event, after in self.kept.values() if after <= at]


class FakeGrants:
    """Satisfies kobling_econ_auth.ports.Grants, as GrantVault: each seal takes a fresh data key,
    and a grant opens only while its data key lives, and only for its account."""

    def __init__(self) -> None:
        self.data_keys: dict[str, set[int]] = {}
        self._next_key = 0

    async def seal(self, account_id: str, livemode: bool, grant: str) -> str:
        key = account_key(account_id, livemode)
        self._next_key += 1
        self.data_keys.setdefault(key, set()).add(self._next_key)
        return f"sealed|{key}|{self._next_key}|{grant}"

    async def open(self, account_id: str, livemode: bool, ciphertext: str) -> str:
        _, key, _, grant = ciphertext.split("|", 3)
        if key != account_key(account_id, livemode) or not self.holds(ciphertext):
            raise Unreadable()
        return grant

    async def destroy(self, account_id: str, livemode: bool) -> None:
        self.data_keys.pop(account_key(account_id, livemode), None)

    async def retire(self, account_id: str, livemode: bool, ciphertext: str) -> None:
        _, key, data_key, _ = ciphertext.split("|", 3)
        self.data_keys.get(key, set()).discard(int(data_key))
        if not self.data_keys.get(key, True):
            del self.data_keys[key]

    def holds(self, ciphertext: str) -> bool:
        """Whether the data key that sealed `ciphertext` still lives."""
        _, key, data_key, _ = ciphertext.split("|", 3)
        return int(data_key) in self.data_keys.get(key, set())


class FakeEconomic:
    """Satisfies kobling_econ_auth.ports.Economic: e-conomic's /self for the grants it knows."""

    def __init__(self) -> None:
        self.grants: dict[str, Agreement] = {}
        self.unavailable = False
        self.wrong_app_secret = False  # every grant answers 401, as after a reset secret
        self.forbidden: set[str] = set()  # grants whose user lacks a role (403)
        self.calls = 0

    async def self_info(self, grant_token: str) -> Agreement:
        # The real client sends the token in a header, which httpx encodes as ASCII.
        grant_token.encode("ascii")
        self.calls += 1
        if self.unavailable:
            raise EconomicUnavailable("e-conomic did not answer")
        if self.wrong_app_secret or grant_token not in self.grants:
            raise GrantRejected("E02250")
        if grant_token in self.forbidden:
            raise PermissionRefused("403")
        return self.grants[grant_token]

    async def send(
        self,
        request: RestRequest,
        grant: str,
        body: Any,
        sent: Sent,
        before_each: Callable[[], Awaitable[object]],
    ) -> Reply:
        raise NotImplementedError("the broker's tests lend through EconomicClient: lend_in_memory")


def fake_deps(settings: EconAuthSettings | None = None) -> Deps:
    """econ-auth's dependencies, every adapter in memory."""
    return Deps(
        settings or EconAuthSettings(),
        FakeConnections(),
        FakeTopic(),
        FakeGrants(),
        FakeEconomic(),
        Arrivals(),
        RejectionWave(),
    )


def lend_in_memory(
    app: FastAPI, deps: Deps, economic: Callable[[httpx.Request], httpx.Response]
) -> Deps:
    """The app's broker on `deps`, with its outbox and budgets in memory and e-conomic answering
    `economic` to the real client (its retries, its Retry-After). Answers the broker's deps."""
    broker = app.state.broker
    http = httpx.AsyncClient(transport=httpx.MockTransport(economic))
    settings = deps.settings
    client = EconomicClient(settings.economic_api_url, settings.economic_app_secret_token, http)
    unsent: UnsentUses = FakeUnsentUses()
    broker.deps, broker.unsent = replace(deps, economic=client), unsent
    # The budgets in memory, counted as on FerretDB (numbered tickets: inserts a fake can hold).
    tickets: Any = FakeCollection()
    broker.budget = DailyBudget(tickets, broker.budget.limit, FerretDoor())
    broker.shares = caller_shares(broker.budget, broker.scopes)
    lent: Deps = broker.deps
    return lent
