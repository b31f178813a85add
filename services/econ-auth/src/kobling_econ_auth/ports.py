"""What econ-auth's use cases need of the world, and the types they exchange with it: store.py's
ConnectionStore and UnsentUses, grants.py's GrantVault, economic.py's EconomicClient and
kobling_shared.kafka's publisher are the real ones (mypy checks app.py wires them in), and
tests/fakes holds in-memory ones for the unit tests. A store imports this module, never the
reverse."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.rest_paths import RestRequest
from kobling_shared.events import EconomicGrantUsed

Change = Callable[[Connection], Connection | None]


@dataclass(frozen=True)
class PendingState:
    account_id: str
    livemode: bool
    expires_at: datetime
    locale: str
    # The digest of the browser id (kobling_shared.binding) of the browser that confirmed; a
    # state saved before browsers were bound has none, and no browser matches it.
    browser: str = ""
    # When the connect link behind it was minted: an uninstall after that kills the state.
    started_at: datetime | None = None
    # The Dashboard user whose signed request minted that link (None in states saved before).
    user_id: str | None = None


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

    async def held_expired(self, at: datetime) -> list[tuple[str, bool]]:
        """The installs (account, livemode) whose held grant's hold ended before `at`."""
        ...

    def connected_accounts(self) -> AsyncIterator[tuple[str, bool]]: ...

    async def with_outbox(self) -> list[Connection]: ...

    async def sent(self, conn: Connection, event_ids: set[str]) -> None: ...

    async def use_once(self, kind: str, secret: str) -> bool: ...

    async def was_used(self, kind: str, secret: str) -> bool: ...

    async def save_state(self, state: str, pending: PendingState) -> None: ...

    async def find_state(self, state: str) -> PendingState | None: ...


class UnsentUses(Protocol):
    """The broker's outbox (store.UnsentUses): each use kept until its audit event is out."""

    async def add(self, event: EconomicGrantUsed, relay_after: datetime) -> None: ...

    async def replace(self, event: EconomicGrantUsed, relay_after: datetime) -> None:
        """In place of the one kept under its id, if it still is."""

    async def forget(self, event_id: str) -> None: ...

    async def due(self, at: datetime) -> list[EconomicGrantUsed]:
        """What the relay may publish at `at` (a few hundred at a time)."""


class Grants(Protocol):
    """Grants sealed under a data key per merchant (GrantVault)."""

    async def seal(self, account_id: str, livemode: bool, grant: str) -> str: ...

    async def open(self, account_id: str, livemode: bool, ciphertext: str) -> str: ...

    async def destroy(self, account_id: str, livemode: bool) -> None: ...

    async def retire(self, account_id: str, livemode: bool, ciphertext: str) -> None: ...


class SignatureSpent(Exception):
    """A signed view request already acted on: Stripe's signature stays valid for 300 s, and a
    captured one must not mint another link, disconnect again after a reconnect, or answer a
    request to join twice."""


class GrantRejected(Exception):
    """e-conomic did not accept the credentials (401): a revoked or wrong grant (E02250), or
    just as well our own app secret token (see rejections.py)."""


class PermissionRefused(Exception):
    """e-conomic accepted the credentials but refuses the request (403): the user who granted
    the app lacks a role it needs. Never a revocation."""


class EconomicUnavailable(Exception):
    """No answer about the grant: 5xx, 429 or a timeout, after bounded retries."""


class Unanswered(Exception):
    """No answer at all: the connection failed or timed out, on every attempt it was safe to
    make."""


@dataclass
class Sent:
    """What became of a call's attempts: how many went out, and e-conomic's last status (0 while
    an attempt is out or got no answer)."""

    attempts: int = 0
    status: int = 0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    content: bytes


class Economic(Protocol):
    """e-conomic's REST API (EconomicClient), which owns the retries and Retry-After."""

    async def self_info(self, grant_token: str) -> Agreement:
        """GET /self: the grant's agreement, or GrantRejected, PermissionRefused or
        EconomicUnavailable."""

    async def send(
        self,
        request: RestRequest,
        grant: str,
        body: Any,
        sent: Sent,
        before_each: Callable[[], Awaitable[object]],
    ) -> Reply:
        """The request as a caller asked for it, `before_each` awaited before every attempt and
        `sent` kept up to date; e-conomic's last reply, or Unanswered."""
