"""Crypto-shredding beyond the uninstall (issue 23, item 8): a grant let go by a disconnect, a
revocation or a reconnect that replaces it is unreadable from then on, a copy of the connection
(a backup, the oplog) included; a grant sealed before data keys is refused once a re-seal ran."""

import base64
import os

import pytest

from kobling_devkit.stripe_signing import new_account
from kobling_econ_auth import connecting, grant_callback, grant_checks
from kobling_econ_auth.grants import GrantVault
from kobling_shared.crypto import MasterKeys, TokenCipher, Unreadable
from tests.fakes.mongo import FakeCollection
from tests.unit.test_econ_auth_handlers import ACME, World


@pytest.fixture
def world() -> World:
    return World()


async def connect(world: World, account: str, grant: str) -> str:
    """Connects `account` with `grant`; answers the stored ciphertext (what a backup keeps)."""
    world.economic.grants[grant] = ACME
    await grant_callback.complete_grant(await world.state_for(account), grant, "b1", world.deps)
    conn = await world.store.get(account, False)
    assert conn is not None and conn.grant_ciphertext
    return conn.grant_ciphertext


async def installed_and_connected(world: World) -> tuple[str, str]:
    """A new account connected with grant-1, and the ciphertext a backup of it keeps."""
    account = new_account()
    await world.installed(account)
    return account, await connect(world, account, "grant-1")


async def test_a_disconnect_leaves_no_copy_of_the_grant_readable(world) -> None:
    account, backup = await installed_and_connected(world)
    await connecting.disconnect(account, False, world.deps, "signed-d")
    with pytest.raises(Unreadable):
        await world.grants.open(account, False, backup)


async def test_a_revoked_grant_leaves_no_copy_readable(world) -> None:
    account, backup = await installed_and_connected(world)
    del world.economic.grants["grant-1"]
    for _ in range(world.settings.revocation_strikes):
        await grant_checks.check_grant(account, False, world.deps)
    conn = await world.store.get(account, False)
    assert conn is not None and conn.state == "disconnected"
    with pytest.raises(Unreadable):
        await world.grants.open(account, False, backup)


async def test_a_reconnect_seals_the_new_grant_under_a_fresh_key_and_shreds_the_old(
    world,
) -> None:
    account, backup = await installed_and_connected(world)
    replacement = await connect(world, account, "grant-2")
    assert await world.grants.open(account, False, replacement) == "grant-2"
    with pytest.raises(Unreadable):
        await world.grants.open(account, False, backup)


async def test_a_check_that_keeps_the_grant_keeps_its_key(world) -> None:
    account, sealed = await installed_and_connected(world)
    assert await grant_checks.check_grant(account, False, world.deps) == "valid"
    assert await world.grants.open(account, False, sealed) == "grant-1"


def vault() -> GrantVault:
    keys = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return GrantVault(FakeCollection(), MasterKeys(keys), TokenCipher(keys))  # type: ignore[arg-type]


async def test_each_seal_takes_a_fresh_data_key_and_retire_shreds_only_its_own() -> None:
    grants = vault()
    first = await grants.seal("acct_1", False, "grant-1")
    second = await grants.seal("acct_1", False, "grant-2")
    assert first.split(".")[1] != second.split(".")[1]
    await grants.retire("acct_1", False, first)
    with pytest.raises(Unreadable):
        await grants.open("acct_1", False, first)
    assert await grants.open("acct_1", False, second) == "grant-2"


async def test_a_grant_from_before_data_keys_is_refused_once_a_reseal_has_run() -> None:
    """A Fernet grant is bound to no data key, so none can be destroyed: once every stored one
    is re-sealed, a copy (a backup's, the oplog's) must open no more."""
    grants = vault()
    legacy = grants.legacy.encrypt("grant-1")
    assert await grants.open("acct_1", False, legacy) == "grant-1"
    resealed = await grants.reseal("acct_1", False, legacy)
    assert resealed is not None and await grants.open("acct_1", False, resealed) == "grant-1"
    await grants.refuse_legacy()
    with pytest.raises(Unreadable):
        await grants.open("acct_1", False, legacy)
