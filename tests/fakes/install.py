"""install's stores in memory, with the semantics of their MongoDB versions in store.py."""

from datetime import datetime
from typing import Any

from kobling_install.ports import Claim
from kobling_install.stripe_oauth import InvalidGrant, StripeTokens
from kobling_shared.events import now


class DatabaseDown(Exception):
    pass


class FakeLedger:
    """Satisfies kobling_install.ports.Ledger, as WebhookLedger: seen ids, published ids."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.published: set[str] = set()
        self.fail_marking = False

    async def claim(self, event_ids: list[str]) -> dict[str, Claim]:
        claims = {}
        for id_ in event_ids:
            if id_ in self.seen:
                claims[id_] = Claim.DONE if id_ in self.published else Claim.PENDING
            else:
                self.seen.add(id_)
                claims[id_] = Claim.NEW
        return claims

    async def mark_published(self, event_ids: list[str]) -> None:
        if self.fail_marking:
            raise DatabaseDown("mark_published")
        self.published.update(event_ids)

    async def release(self, event_id: str) -> None:
        self.seen.discard(event_id)


class FakeAnnouncements:
    """Satisfies kobling_install.ports.Announcements, as Installs: when each install was last
    announced by the OAuth redirect, and by which install webhook."""

    def __init__(self) -> None:
        self.oauth: dict[str, datetime] = {}
        self.webhook: dict[str, tuple[datetime, str]] = {}

    async def oauth_announced(self, keys: list[str]) -> dict[str, datetime]:
        return {key: self.oauth[key] for key in keys if key in self.oauth}

    async def announced_by_webhooks(self, latest: dict[str, tuple[datetime, str]]) -> None:
        for key, announced in latest.items():
            if key not in self.webhook or self.webhook[key][0] < announced[0]:
                self.webhook[key] = announced

    async def unannounce_webhook(self, key: str, event_id: str) -> None:
        if key in self.webhook and self.webhook[key][1] == event_id:
            del self.webhook[key]


class FakeTokens:
    """Satisfies kobling_install.ports.Tokens: remembers which installs' tokens were forgotten."""

    def __init__(self) -> None:
        self.forgotten: list[tuple[str, datetime]] = []

    async def forget(self, key: str, uninstalled_at: datetime) -> None:
        self.forgotten.append((key, uninstalled_at))


class FakeOAuthStates:
    """Satisfies kobling_install.ports.States, as OAuthStates: each state spent once, none after
    its deadline."""

    def __init__(self) -> None:
        self.states: dict[str, tuple[bool, datetime, str]] = {}
        self.spent: set[str] = set()

    async def save(self, state: str, livemode: bool, expires_at: datetime, browser: str) -> None:
        self.states[state] = (livemode, expires_at, browser)

    async def browser_of(self, state: str) -> str | None:
        found = self.states.get(state)
        return None if found is None or found[1] < now() else found[2]

    async def spend(self, state: str) -> bool | None:
        found = self.states.get(state)
        if found is None or found[1] < now() or state in self.spent:
            return None
        self.spent.add(state)
        return found[0]

    async def outstanding(self) -> int:
        return len(self.states)  # the real store's sweep keeps only live ones, give or take 5 s


class FakeStripeOAuth:
    """Stripe's /v1/oauth/token for the codes it issued: the calls it was sent, by mode."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    async def exchange_code(self, code: str, livemode: bool) -> StripeTokens:
        self.calls.append((code, livemode))
        raise InvalidGrant()  # no code of these tests was issued by Stripe

    async def refresh(self, refresh_token: str, livemode: bool) -> StripeTokens:
        raise InvalidGrant()

    async def account_name(self, access_token: str) -> str | None:
        return None


class FakeTokenVault:
    """The install's Stripe tokens as TokenVault keeps them (sealed by the cipher given to
    OAuthDeps; a test's plain cipher keeps them readable), each write guarded by `rev`."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def hold(self, key: str, access: str, refresh: str, expires_at: datetime) -> None:
        self.docs[key] = {
            "rev": 1,
            "access_token": access,
            "refresh_token": refresh,
            "access_expires_at": expires_at,
            "installed_at": now(),
        }

    async def get(self, key: str) -> dict[str, Any] | None:
        doc = self.docs.get(key)
        return dict(doc) if doc else None

    async def put(self, key: str, fields: dict[str, Any], expected_rev: int | None) -> bool:
        current = self.docs.get(key)
        if expected_rev is not None and (current is None or current["rev"] != expected_rev):
            return False
        rev = current["rev"] + 1 if current else 1
        self.docs[key] = {**(current or {}), **fields, "rev": rev}
        return True


class PlainCipher:
    """TokenCipher's shape without the cipher: what a test stores is what it reads."""

    def encrypt(self, value: str) -> str:
        return value

    def decrypt(self, value: str) -> str:
        return value


class FakeBrokerUses:
    """Satisfies kobling_install.ports.BrokerUses, as StripeBrokerUses: the audit by use id."""

    def __init__(self) -> None:
        self.uses: dict[str, dict[str, Any]] = {}

    async def record(self, use: dict[str, Any]) -> None:
        self.uses[use["_id"]] = dict(use)

    async def settle(self, use_id: str, result: dict[str, Any]) -> None:
        self.uses[use_id].update(result)

    @property
    def all(self) -> list[dict[str, Any]]:
        return list(self.uses.values())
