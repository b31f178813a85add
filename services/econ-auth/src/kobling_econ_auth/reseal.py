"""Re-seals every grant under the newest key of TOKEN_ENCRYPTION_KEYS, so that the older keys
can be retired, and refuses grants sealed before data keys from then on:

    uv run python -m kobling_econ_auth.reseal

Run it after putting a new key first in the list (and restarting econ-auth with that list); when
it reports nothing left under an older key, drop that key from the list. Safe while econ-auth
serves, and to run again.
"""

import asyncio
import sys
from dataclasses import dataclass

from kobling_econ_auth.connection import Connection
from kobling_econ_auth.grants import KEYS_DATABASE, GrantVault
from kobling_econ_auth.settings import EconAuthSettings
from kobling_econ_auth.store import ConnectionStore
from kobling_shared import mongo
from kobling_shared.crypto import MasterKeys, TokenCipher, Unreadable
from kobling_shared.db.choice import door


@dataclass
class Resealed:
    key_id: str
    grants: int = 0  # grants held
    resealed: int = 0  # moved under the newest key by this run
    unreadable: int = 0  # opened by no key we hold: left as they are


async def reseal_all(settings: EconAuthSettings) -> Resealed:
    client = mongo.make_client(settings.mongodb_url)
    try:
        store = ConnectionStore(mongo.database(client, "kobling_econ_auth"), door(client))
        master = MasterKeys(settings.token_encryption_keys)
        vault = GrantVault(
            mongo.database(client, KEYS_DATABASE)["data_keys"],
            master,
            TokenCipher(settings.token_encryption_keys),
        )
        report = Resealed(master.newest)
        for conn in await store.connected():
            if conn.grant_ciphertext is None:
                continue
            report.grants += 1
            old = conn.grant_ciphertext
            try:
                new = await vault.reseal(conn.account_id, conn.livemode, old)
            except Unreadable:
                report.unreadable += 1
                continue
            if new is None:
                continue
            report.resealed += 1
            if new != old:

                def swap(current: Connection, old: str = old, new: str = new) -> Connection | None:
                    # Only the grant we re-sealed: a newer one stored meanwhile stays.
                    if current.grant_ciphertext != old:
                        return None
                    return current.model_copy(update={"grant_ciphertext": new})

                if await store.change(conn.account_id, conn.livemode, swap) is None:
                    await vault.retire(conn.account_id, conn.livemode, new)  # sealed nothing kept
        # Every grant from before data keys is re-sealed or opened by no key: refuse such
        # ciphertexts from now on (a backup's, the oplog's), as no data key of theirs can go.
        await vault.refuse_legacy()
        return report
    finally:
        await client.close()


def main() -> int:
    report = asyncio.run(reseal_all(EconAuthSettings()))
    print(
        f"re-sealed {report.resealed} of {report.grants} grants under key {report.key_id}; "
        f"{report.grants - report.resealed - report.unreadable} were under it already; "
        f"{report.unreadable} open with no key we hold"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
