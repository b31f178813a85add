"""install's access token when another install process refreshed it a moment before: Stripe
refuses the used refresh token, and the winner's tokens are not stored yet."""

import asyncio
from typing import Any

import pytest

from kobling_install import oauth
from kobling_install.stripe_oauth import InvalidGrant, StripeTokens
from kobling_shared.events import now

KEY = "acct_racer:test"


class Vault:
    def __init__(self) -> None:
        self.doc: dict[str, Any] = {
            "rev": 1,
            "access_token": "at-1",
            "refresh_token": "rt-1",
            "access_expires_at": now(),  # expired
        }

    async def get(self, key: str) -> dict[str, Any]:
        return dict(self.doc)

    async def put(self, key: str, fields: dict[str, Any], expected_rev: int | None) -> bool:
        if expected_rev != self.doc["rev"]:
            return False
        self.doc = {**self.doc, **fields, "rev": self.doc["rev"] + 1}
        return True


class Stripe:
    """Honours only refresh tokens nobody used yet: rt-1 was spent by the other process."""

    async def refresh(self, refresh_token: str, livemode: bool) -> StripeTokens:
        raise InvalidGrant()


class Plain:
    def encrypt(self, value: str) -> str:
        return value

    def decrypt(self, value: str) -> str:
        return value


def deps(vault: Vault) -> Any:
    return oauth.OAuthDeps(None, None, None, None, vault, Plain(), Stripe())  # type: ignore[arg-type]


async def test_a_refresh_refused_because_another_process_won_takes_the_winners_token() -> None:
    vault = Vault()

    async def the_other_process_stores_its_tokens() -> None:
        await asyncio.sleep(0.3)  # its refresh at Stripe answered; its write lands now
        await vault.put(
            KEY,
            {
                "access_token": "at-2",
                "refresh_token": "rt-2",
                "access_expires_at": now() + oauth.ACCESS_TOKEN_TTL,
            },
            1,
        )

    winner = asyncio.create_task(the_other_process_stores_its_tokens())
    assert await oauth.access_token("acct_racer", False, deps(vault)) == "at-2"
    await winner


async def test_a_refresh_token_nobody_replaces_is_refused_in_the_end(monkeypatch) -> None:
    monkeypatch.setattr(oauth, "REFRESH_SETTLES_SECONDS", 0.3)
    with pytest.raises(InvalidGrant):
        await oauth.access_token("acct_racer", False, deps(Vault()))
