"""How grants are sealed, tried against the running stack and its database: bound to their
account, under a data key per merchant that an uninstall destroys (a backup taken before it
opens nothing after), and re-sealed under a new master key by `kobling_econ_auth.reseal`."""

import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from pymongo import AsyncMongoClient

from kobling_devkit.infra import Infra
from kobling_devkit.merchant import (
    ECON_AUTH,
    INSTALL,
    INTERNAL,
    Grant,
    add_app,
    connect_link,
    grant_page,
    install,
    wait_for,
)
from kobling_devkit.stripe_signing import body_of, install_event, sign
from kobling_devkit.waiting import eventually
from kobling_econ_auth.grants import KEYS_DATABASE, LEGACY_REFUSED, GrantVault
from kobling_shared.crypto import MasterKeys, TokenCipher, Unreadable, key_id
from kobling_shared.events import account_key
from kobling_shared.settings import DEV_SECRETS

pytestmark = pytest.mark.usefixtures("stack")

DEV_KEY = DEV_SECRETS["token_encryption_keys"]


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb, tz_aware=True)
    yield client
    await client.close()


def vault(client: AsyncMongoClient, keys: str) -> GrantVault:
    """The sealing econ-auth does, with the master keys we choose."""
    return GrantVault(client[KEYS_DATABASE]["data_keys"], MasterKeys(keys), TokenCipher(keys))


async def connected(http: httpx.AsyncClient, account: str) -> Grant:
    await install(http, account)
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as browser:
        grant = await add_app(
            browser, await grant_page(browser, await connect_link(browser, account))
        )
        assert (await browser.get(grant.callback)).status_code == 303
    await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    return grant


async def check(http: httpx.AsyncClient, account: str) -> str:
    response = await http.post(
        f"{ECON_AUTH}/internal/grants/check", json={"account_id": account}, headers=INTERNAL
    )
    assert response.status_code == 200, response.text
    return str(response.json()["result"])


async def stored(client: AsyncMongoClient, account: str) -> dict:
    doc = await client["kobling_econ_auth"]["connections"].find_one(
        {"_id": account_key(account, False)}
    )
    assert doc is not None
    return doc


async def test_a_grant_is_sealed_under_its_own_data_key_and_opens_for_its_account_only(
    http: httpx.AsyncClient, db: AsyncMongoClient, account: str
) -> None:
    other = "acct_" + os.urandom(8).hex()
    grant, others_grant = await connected(http, account), await connected(http, other)
    mine, theirs = await stored(db, account), await stored(db, other)
    fmt, data_key_id, _ = mine["grant_ciphertext"].split(".", 2)
    keys = db[KEYS_DATABASE]["data_keys"]
    data_key = await keys.find_one({"account": account_key(account, False)})
    assert fmt == "g1" and data_key is not None and data_key["data_key_id"] == data_key_id
    assert MasterKeys.wrapped_by(data_key["wrapped"]) == MasterKeys(DEV_KEY).newest
    assert theirs["grant_ciphertext"].split(".")[1] != data_key_id  # a key per merchant
    assert await vault(db, DEV_KEY).open(account, False, mine["grant_ciphertext"]) == grant.token

    # My sealed grant copied onto another account's record opens nothing there.
    moved = {"$set": {"grant_ciphertext": mine["grant_ciphertext"]}}
    await db["kobling_econ_auth"]["connections"].update_one({"_id": theirs["_id"]}, moved)
    with pytest.raises(Unreadable):
        await vault(db, DEV_KEY).open(other, False, mine["grant_ciphertext"])
    assert await check(http, other) == "unreadable"
    back = {"$set": {"grant_ciphertext": theirs["grant_ciphertext"]}}
    await db["kobling_econ_auth"]["connections"].update_one({"_id": theirs["_id"]}, back)
    assert await check(http, other) == "valid"
    assert others_grant.token != grant.token


async def test_a_backup_taken_before_an_uninstall_opens_no_grant_after_it(
    http: httpx.AsyncClient, db: AsyncMongoClient, account: str
) -> None:
    grant = await connected(http, account)
    connections = db["kobling_econ_auth"]["connections"]
    backup = await stored(db, account)  # the document as a backup of econ-auth holds it
    assert await vault(db, DEV_KEY).open(account, False, backup["grant_ciphertext"]) == grant.token

    body = body_of(install_event(account, kind="account.application.deauthorized"))
    headers = {"Stripe-Signature": sign(body, DEV_SECRETS["stripe_webhook_secret"])}
    assert (
        await http.post(f"{INSTALL}/stripe/webhooks", content=body, headers=headers)
    ).status_code == 200
    keys = db[KEYS_DATABASE]["data_keys"]
    await eventually(
        lambda: keys.find_one({"account": account_key(account, False)}),
        lambda key: key is None,
        timeout=20,
        interval=0.05,
        what="the uninstall did not destroy the data key",
    )
    assert (await stored(db, account))["grant_ciphertext"] is None

    await connections.replace_one({"_id": backup["_id"]}, backup)  # the backup restored
    with pytest.raises(Unreadable):
        await vault(db, DEV_KEY).open(account, False, backup["grant_ciphertext"])
    assert await check(http, account) == "unreadable"


def reseal(infra: Infra, keys: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-m", "kobling_econ_auth.reseal"],
        env={**os.environ, "MONGODB_URL": infra.mongodb, "TOKEN_ENCRYPTION_KEYS": keys},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


async def test_reseal_moves_every_grant_under_the_newest_key_so_old_keys_can_go(
    http: httpx.AsyncClient, db: AsyncMongoClient, infra: Infra, account: str
) -> None:
    grant = await connected(http, account)
    # A grant sealed the way econ-auth did before data keys: Fernet under the master key.
    legacy_account = "acct_" + os.urandom(8).hex()
    legacy_grant = await connected(http, legacy_account)
    connections = db["kobling_econ_auth"]["connections"]
    # As before the first re-seal ran (an earlier run of this test made one).
    await db[KEYS_DATABASE]["data_keys"].delete_one({"_id": LEGACY_REFUSED})
    fernet = TokenCipher(DEV_KEY).encrypt(legacy_grant.token)
    legacy = {"$set": {"grant_ciphertext": fernet}}
    await connections.update_one({"_id": account_key(legacy_account, False)}, legacy)

    # And one no key opens (garbage where a ciphertext should be): counted, left, no crash.
    broken_account = "acct_" + os.urandom(8).hex()
    await connected(http, broken_account)
    broken = {"$set": {"grant_ciphertext": "gAAAAA-not-a-ciphertext"}}
    await connections.update_one({"_id": account_key(broken_account, False)}, broken)

    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    try:
        out = reseal(infra, f"{new_key},{DEV_KEY}")
        assert f"under key {key_id(base64.urlsafe_b64decode(new_key))}" in out
        resealed = int(out.split("re-sealed ")[1].split(" ")[0])
        unreadable = int(out.split("; ")[-1].split(" ")[0])
        assert resealed >= 2 and unreadable >= 1, out
        assert (await stored(db, broken_account))["grant_ciphertext"] == "gAAAAA-not-a-ciphertext"
        # The old key is no longer needed for either grant; it alone opens neither.
        for acct, token in ((account, grant.token), (legacy_account, legacy_grant.token)):
            sealed = (await stored(db, acct))["grant_ciphertext"]
            assert sealed.startswith("g1.")
            assert await vault(db, new_key).open(acct, False, sealed) == token
            with pytest.raises(Unreadable):
                await vault(db, DEV_KEY).open(acct, False, sealed)
        # A copy of the grant from before (a backup's) opens no more: no data key of it can go.
        with pytest.raises(Unreadable):
            await vault(db, DEV_KEY).open(legacy_account, False, fernet)
        again = reseal(infra, f"{new_key},{DEV_KEY}")
        assert again.startswith("re-sealed 0 of "), again
    finally:
        # Back under the key the running stack holds, for the tests after this one.
        reseal(infra, f"{DEV_KEY},{new_key}")
    assert await check(http, account) == "valid"
    assert await check(http, legacy_account) == "valid"
