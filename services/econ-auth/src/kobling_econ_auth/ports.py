"""What econ-auth's handlers need of the world, as protocols: store.py's ConnectionStore,
grants.py's GrantVault, economic.py's EconomicClient and kobling_shared.kafka's publisher are the
real ones (mypy checks app.py wires them in), and tests/fakes holds in-memory ones for the unit
tests."""

from collections.abc import AsyncIterator
from typing import Protocol

from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.store import Change, PendingState


class Connections(Protocol):
    """Connections with their outbox, and the one-time states and links (ConnectionStore)."""

    async def get(self, account_id: str, livemode: bool) -> Connection | None: ...

    async def create(self, connections: list[Connection]) -> set[str]: ...

    async def change(
        self, account_id: str, livemode: bool, change: Change
    ) -> Connection | None: ...

    async def connected_elsewhere(
        self, agreement_number: int, account_id: str
    ) -> list[tuple[str, bool]]: ...

    async def connected(self) -> list[Connection]: ...

    def connected_accounts(self) -> AsyncIterator[tuple[str, bool]]: ...

    async def with_outbox(self) -> list[Connection]: ...

    async def sent(self, conn: Connection, event_ids: set[str]) -> None: ...

    async def use_once(self, kind: str, secret: str) -> bool: ...

    async def was_used(self, kind: str, secret: str) -> bool: ...

    async def save_state(self, state: str, pending: PendingState) -> None: ...

    async def find_state(self, state: str) -> PendingState | None: ...


class Grants(Protocol):
    """Grants sealed under a data key per merchant (GrantVault)."""

    async def seal(self, account_id: str, livemode: bool, grant: str) -> str: ...

    async def open(self, account_id: str, livemode: bool, ciphertext: str) -> str: ...

    async def destroy(self, account_id: str, livemode: bool) -> None: ...


class Economic(Protocol):
    """e-conomic's GET /self (EconomicClient)."""

    async def self_info(self, grant_token: str) -> Agreement: ...
