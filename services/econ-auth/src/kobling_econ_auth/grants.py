"""Where grants are sealed and opened: under a data key per merchant, wrapped by the master keys.

A grant's ciphertext reads `g1.<data key id>.<AES-GCM>` and is bound (associated data) to its
account and mode and to that data key, so it opens nowhere else. The data keys live in a database
of their own, a fresh one for each grant: an uninstall deletes the merchant's keys, and a
disconnect, a revoked grant and a grant replaced by a reconnect delete the key of the grant let go,
so a copy of the connections taken before (a backup, the oplog, a leak) no longer opens it.
Grants sealed before data keys existed (Fernet under a master key) open until `reseal` has moved
them all over; from then on they are refused.
"""

import secrets
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo.asynchronous.collection import AsyncCollection

from kobling_shared.crypto import MasterKeys, TokenCipher, Unreadable, open_sealed, seal
from kobling_shared.events import account_key, now
from kobling_shared.mongo import Document

FORMAT = "g1"
KEYS_DATABASE = "kobling_econ_auth_keys"


def _key_context(key: str, data_key_id: str) -> str:
    return f"kobling data key|{key}|{data_key_id}"


def _grant_context(key: str, data_key_id: str) -> str:
    return f"kobling grant|{key}|{data_key_id}"


# Written by a re-seal that left no grant from before data keys: from then on such a ciphertext
# (a backup's, the oplog's) is refused, since no data key of it can be destroyed.
LEGACY_REFUSED = "legacy-refused"


@dataclass
class GrantVault:
    """Each seal takes a fresh data key, `<account key>|<id>`; keys made before that are one per
    account, under the account key itself, and still open what they sealed."""

    data_keys: AsyncCollection[Document]
    master: MasterKeys
    legacy: TokenCipher

    async def seal(self, account_id: str, livemode: bool, grant: str) -> str:
        key = account_key(account_id, livemode)
        data_key_id, data_key = secrets.token_hex(6), AESGCM.generate_key(bit_length=256)
        wrapped = self.master.wrap(data_key, _key_context(key, data_key_id))
        doc = {"_id": f"{key}|{data_key_id}", "account": key, "data_key_id": data_key_id}
        await self.data_keys.insert_one({**doc, "wrapped": wrapped, "at": now()})
        sealed = seal(data_key, grant.encode(), _grant_context(key, data_key_id))
        return f"{FORMAT}.{data_key_id}.{sealed}"

    async def open(self, account_id: str, livemode: bool, ciphertext: str) -> str:
        """The grant in the clear; Unreadable when its data key is gone, it is not this
        account's, or it is from before data keys and a re-seal has run."""
        key = account_key(account_id, livemode)
        if not ciphertext.startswith(f"{FORMAT}."):
            if await self.data_keys.find_one({"_id": LEGACY_REFUSED}) is not None:
                raise Unreadable()
            try:
                return self.legacy.decrypt(ciphertext)
            except InvalidToken:
                raise Unreadable() from None
        _, data_key_id, sealed = ciphertext.split(".", 2)
        doc = await self._find(key, data_key_id)
        if doc is None:
            raise Unreadable()
        data_key = self.master.unwrap(doc["wrapped"], _key_context(key, data_key_id))
        return open_sealed(data_key, sealed, _grant_context(key, data_key_id)).decode()

    async def destroy(self, account_id: str, livemode: bool) -> None:
        """Crypto-shredding: every grant the account's data keys sealed is unreadable from now."""
        key = account_key(account_id, livemode)
        # Every `<key>|…` by the _id index alone ("}" follows "|"): no index of its own to keep.
        await self.data_keys.delete_many({"_id": {"$gte": f"{key}|", "$lt": f"{key}}}"}})
        await self.data_keys.delete_one({"_id": key})

    async def retire(self, account_id: str, livemode: bool, ciphertext: str) -> None:
        """Crypto-shredding of one grant let go (disconnected, revoked, replaced): its data key."""
        if ciphertext.startswith(f"{FORMAT}."):
            key, data_key_id = account_key(account_id, livemode), ciphertext.split(".")[1]
            await self.data_keys.delete_one({"_id": f"{key}|{data_key_id}"})
            await self.data_keys.delete_one({"_id": key, "data_key_id": data_key_id})

    async def refuse_legacy(self) -> None:
        """Called once a re-seal left no grant from before data keys."""
        doc = {"_id": LEGACY_REFUSED, "at": now()}
        await self.data_keys.replace_one({"_id": LEGACY_REFUSED}, doc, upsert=True)

    async def reseal(self, account_id: str, livemode: bool, ciphertext: str) -> str | None:
        """Puts a grant under the newest master key: its data key is wrapped anew, and a grant
        from before data keys is sealed under a fresh one. The ciphertext to store when this
        changed anything, None when the grant was there already; Unreadable when no key opens
        it."""
        if not ciphertext.startswith(f"{FORMAT}."):
            grant = await self.open(account_id, livemode, ciphertext)
            return await self.seal(account_id, livemode, grant)
        key, data_key_id = account_key(account_id, livemode), ciphertext.split(".")[1]
        doc = await self._find(key, data_key_id)
        if doc is None:
            raise Unreadable()
        if MasterKeys.wrapped_by(doc["wrapped"]) == self.master.newest:
            return None
        context = _key_context(key, data_key_id)
        wrapped = self.master.wrap(self.master.unwrap(doc["wrapped"], context), context)
        await self.data_keys.update_one({"_id": doc["_id"]}, {"$set": {"wrapped": wrapped}})
        return ciphertext

    async def _find(self, key: str, data_key_id: str) -> Document | None:
        doc = await self.data_keys.find_one({"_id": f"{key}|{data_key_id}"})
        if doc is None:  # a key from when each account had one
            doc = await self.data_keys.find_one({"_id": key, "data_key_id": data_key_id})
        return doc
