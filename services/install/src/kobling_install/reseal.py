"""Re-seals every Stripe token under the newest key of TOKEN_ENCRYPTION_KEYS, so that the older
keys can be retired (grants: `kobling_econ_auth.reseal`):

    uv run python -m kobling_install.reseal

Safe while install serves (a token refreshed meanwhile is left as the refresh wrote it), and to
run again.
"""

import asyncio
import sys

from cryptography.fernet import InvalidToken

from kobling_install.settings import InstallSettings
from kobling_install.store import TokenVault
from kobling_shared import mongo
from kobling_shared.crypto import TokenCipher
from kobling_shared.db.choice import door

SEALED = ("access_token", "refresh_token")


async def reseal_all(settings: InstallSettings) -> tuple[int, int, list[str]]:
    """(installs whose tokens this run re-sealed, installs holding tokens, the installs whose
    tokens no key of TOKEN_ENCRYPTION_KEYS opens). Those last are left as they are and named:
    one unreadable token must not stop the others from moving to the newest key."""
    client = mongo.make_client(settings.mongodb_url)
    try:
        db = mongo.database(client, "kobling_install")
        vault, cipher = TokenVault(db, door(client)), TokenCipher(settings.token_encryption_keys)
        resealed = held = 0
        unreadable: list[str] = []
        async for doc in db["stripe_tokens"].find():
            held += 1
            old = [name for name in SEALED if cipher.needs_rotation(doc[name])]
            if not old:
                continue
            try:
                fields = {name: cipher.encrypt(cipher.decrypt(doc[name])) for name in old}
            except InvalidToken:
                unreadable.append(str(doc["_id"]))
                continue
            if await vault.put(doc["_id"], fields, expected_rev=doc["rev"]):
                resealed += 1
        return resealed, held, unreadable
    finally:
        await client.close()


def main() -> int:
    resealed, held, unreadable = asyncio.run(reseal_all(InstallSettings()))
    print(f"re-sealed the Stripe tokens of {resealed} of {held} installs under the newest key")
    if unreadable:
        # Sealed under a key this deployment no longer holds: retiring more keys changes nothing
        # for them, and the merchant must reinstall to give us tokens again.
        names = ", ".join(unreadable[:20]) + (" …" if len(unreadable) > 20 else "")
        print(
            f"{len(unreadable)} installs hold tokens no key of TOKEN_ENCRYPTION_KEYS opens,"
            f" left as they are: {names}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
