"""Where grants are sealed and opened: under a data key per merchant, wrapped by the master keys.

A grant's ciphertext reads `g1.<data key id>.<AES-GCM>` and is bound (associated data) to its
account and mode and to that data key, so it opens nowhere else. The data keys live in a database
of their own: an uninstall deletes the merchant's key, and a copy of the connections taken before
it (a backup, a leak) no longer opens that grant. Grants sealed before data keys existed (Fernet
under a master key) still open, and `reseal` moves them over.
"""

import secrets
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo.asynchronous.collection import AsyncCollection

from kobling_shared.crypto import MasterKeys, TokenCipher, Unreadable, open_sealed, seal
from kobling_shared.events import account_key, now
from kobling_shared.mongo import Document, insert_new

FORMAT = "g1"
KEYS_DATABASE = "kobling_econ_auth_keys"


def _key_context(key: str, data_key_id: str) -> str:
    return f"kobling data key|{key}|{data_key_id}"


def _grant_context(key: str, data_key_id: str) -> str:
    return f"kobling grant|{key}|{data_key_id}"


@dataclass
class GrantVault:
    data_keys: AsyncCollection[Document]
    master: MasterKeys
    legacy: TokenCipher

    async def seal(self, account_id: str, livemode: bool, grant: str) -> str:
        key = account_key(account_id, livemode)
        data_key_id, data_key = await self._data_key(key)
        sealed = seal(data_key, grant.encode(), _grant_context(key, data_key_id))
        return f"{FORMAT}.{data_key_id}.{sealed}"

    async def open(self, account_id: str, livemode: bool, ciphertext: str) -> str:
        """The grant in the clear; Unreadable when its data key is gone or it is not this
        account's."""
        key = account_key(account_id, livemode)
        if not ciphertext.startswith(f"{FORMAT}."):
            try:
                return self.legacy.decrypt(ciphertext)
            except InvalidToken:
                raise Unreadable() from None
        _, data_key_id, sealed = ciphertext.split(".", 2)
        doc = await self.data_keys.find_one({"_id": key})
        if doc is None or doc["data_key_id"] != data_key_id:
            raise Unreadable()
        data_key = self.master.unwrap(doc["wrapped"], _key_context(key, data_key_id))
        return open_sealed(data_key, sealed, _grant_context(key, data_key_id)).decode()

    async def destroy(self, account_id: str, livemode: bool) -> None:
        """Crypto-shredding: every grant the account's data key sealed is unreadable from now."""
        await self.data_keys.delete_one({"_id": account_key(account_id, livemode)})

    async def reseal(self, account_id: str, livemode: bool, ciphertext: str) -> str | None:
        """Puts a grant under the newest master key: its data key is wrapped anew, and a grant
        from before data keys is sealed under one. The ciphertext to store when this changed
        anything, None when the grant was there already; Unreadable when no key opens it."""
        legacy = not ciphertext.startswith(f"{FORMAT}.")
        if legacy:
            grant = await self.open(account_id, livemode, ciphertext)
            ciphertext = await self.seal(account_id, livemode, grant)
        key = account_key(account_id, livemode)
        doc = await self.data_keys.find_one({"_id": key})
        if doc is None or doc["data_key_id"] != ciphertext.split(".")[1]:
            raise Unreadable()
        if MasterKeys.wrapped_by(doc["wrapped"]) == self.master.newest:
            return ciphertext if legacy else None
        context = _key_context(key, doc["data_key_id"])
        wrapped = self.master.wrap(self.master.unwrap(doc["wrapped"], context), context)
        await self.data_keys.update_one({"_id": key}, {"$set": {"wrapped": wrapped}})
        return ciphertext

    async def _data_key(self, key: str) -> tuple[str, bytes]:
        doc = await self.data_keys.find_one({"_id": key})
        if doc is None:
            data_key_id = secrets.token_hex(6)
            data_key = AESGCM.generate_key(bit_length=256)
            wrapped = self.master.wrap(data_key, _key_context(key, data_key_id))
            doc = {"_id": key, "data_key_id": data_key_id, "wrapped": wrapped, "at": now()}
            if not await insert_new(self.data_keys, [doc]):
                return data_key_id, data_key
            doc = await self.data_keys.find_one({"_id": key})  # another writer made it first
            if doc is None:
                raise Unreadable()  # and an uninstall destroyed it since: nothing to seal under
        return doc["data_key_id"], self.master.unwrap(
            doc["wrapped"], _key_context(key, doc["data_key_id"])
        )
