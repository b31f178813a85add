"""The sealing primitives grants stand on: AES-GCM with the account as associated data, and
master keys known by an id that says nothing about them."""

import base64
import os

import pytest

from kobling_shared.crypto import MasterKeys, Unreadable, key_id, open_sealed, seal


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_a_sealed_value_opens_only_in_its_context() -> None:
    key = os.urandom(32)
    sealed = seal(key, b"grant-123", "acct_a:test")
    assert b"grant-123" not in base64.urlsafe_b64decode(sealed)
    assert open_sealed(key, sealed, "acct_a:test") == b"grant-123"
    for wrong in ("acct_b:test", "acct_a:live"):
        with pytest.raises(Unreadable):
            open_sealed(key, sealed, wrong)
    with pytest.raises(Unreadable):
        open_sealed(key, sealed[:-4] + "AAAA", "acct_a:test")


def test_a_wrapped_key_names_its_master_key_and_rotation_reads_the_old_one() -> None:
    old, new = new_key(), new_key()
    wrapped = MasterKeys(old).wrap(b"k" * 32, "ctx")
    assert MasterKeys.wrapped_by(wrapped) == key_id(base64.urlsafe_b64decode(old))
    rotated = MasterKeys(f"{new},{old}")
    assert rotated.unwrap(wrapped, "ctx") == b"k" * 32
    assert MasterKeys.wrapped_by(rotated.wrap(b"k" * 32, "ctx")) == rotated.newest
    with pytest.raises(Unreadable):
        MasterKeys(new).unwrap(wrapped, "ctx")  # the old key retired: nothing opens
    assert old[:8] not in rotated.newest and new[:8] not in rotated.newest
