"""One install process's part in a token-refresh race: `python -m tests.refresher <account>`.

It opens its own database client and Stripe client, says "ready", waits for "go" on stdin (so
two processes start their refresh together), then asks for the install's access token and prints
a digest of it (never the token) or the error that ended it.
"""

import asyncio
import hashlib
import sys

import httpx
from pymongo import AsyncMongoClient

from kobling_install.oauth import OAuthDeps, access_token
from kobling_install.settings import InstallSettings
from kobling_install.store import Installs, OAuthStates, TokenVault
from kobling_install.stripe_oauth import StripeOAuth
from kobling_shared.crypto import TokenCipher
from kobling_shared.db.choice import door


async def main(account: str) -> None:
    settings = InstallSettings()
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = client["kobling_install"]
    async with httpx.AsyncClient() as http:
        deps = OAuthDeps(
            settings,
            None,  # type: ignore[arg-type]  # a refresh publishes nothing
            OAuthStates(db, door(client)),
            Installs(db),
            TokenVault(db, door(client)),
            TokenCipher(settings.token_encryption_keys),
            StripeOAuth(
                settings.stripe_api_base,
                {True: settings.stripe_secret_key, False: settings.stripe_test_secret_key},
                http,
            ),
        )
        await db.command("ping")
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        try:
            token = await access_token(account, False, deps)
        except Exception as error:
            print(f"error {type(error).__name__}", flush=True)
        else:
            print(f"token {token[:8]} {hashlib.sha256(token.encode()).hexdigest()}", flush=True)
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
