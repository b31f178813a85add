"""status's memory of accounts (kobling_status.read_cache): what it keeps, and what it must not.

The rule that matters: a database read that raced a write never leaves the older state behind.
The real thing, with two status instances and a merchant's page, is in
tests/cluster/test_read_your_writes.py."""

import json

import pytest

from kobling_status import read_cache
from kobling_status.read_cache import NO_SYNC, NO_USES, ReadCache, internal_response

KEY = "acct_1:test"


def opened(size: int = 10) -> ReadCache:
    cache = ReadCache(size=size)
    cache.opened(with_uses=set(), with_sync=set())
    return cache


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    cache = opened()
    stamp = cache.stamp()  # the read starts: it will find the older state
    cache.heard([KEY], "status")  # meanwhile another instance wrote the account
    cache.put(KEY, stamp, status=b'{"old":1}', view=b'{"old":1}')
    assert cache.view(KEY) is None  # the next read goes to the database, which has the write


def test_a_read_after_the_word_is_kept() -> None:
    cache = opened()
    cache.heard([KEY], "status")
    stamp = cache.stamp()
    cache.put(KEY, stamp, status=b'{"new":1}', view=b'{"v":1}')
    assert cache.view(KEY) == b'{"v":1}'


def test_word_of_a_write_forgets_what_was_held() -> None:
    cache = opened()
    cache.wrote(KEY, b'{"s":1}', b'{"v":1}', cache.stamp())
    assert cache.view(KEY) == b'{"v":1}'
    cache.heard([KEY], "status")
    assert cache.view(KEY) is None
    assert cache.internal(KEY) is None


def test_a_write_of_this_instance_is_held_as_written() -> None:
    cache = opened()
    stamp = cache.stamp()
    cache.wrote(KEY, b'{"s":2}', b'{"v":2}', stamp)
    assert cache.view(KEY) == b'{"v":2}'
    # no summaries in the database at start: the internal response is whole from memory
    assert json.loads(cache.internal(KEY) or b"") == {
        "s": 2,
        "grant_uses": json.loads(NO_USES),
        "sync": json.loads(NO_SYNC),
    }


def test_nothing_is_kept_before_the_marker_consumer_listens() -> None:
    cache = ReadCache(size=10)
    assert cache.stamp() is None
    cache.wrote(KEY, b"{}", b"{}", cache.stamp())
    cache.put(KEY, cache.stamp(), view=b"{}")
    assert cache.view(KEY) is None


def test_an_account_heard_to_have_uses_before_opening_keeps_them() -> None:
    cache = ReadCache(size=10)
    cache.heard([KEY], "uses")  # a marker before the database was asked who has summaries
    cache.opened(with_uses=set(), with_sync=set())  # and the database's answer missed it
    cache.wrote(KEY, b'{"s":1}', b"{}", cache.stamp())
    assert cache.internal(KEY) is None  # its summary is read, not taken for "none"


def test_a_summary_written_makes_the_internal_response_read_again() -> None:
    cache = opened()
    cache.put(KEY, cache.stamp(), status=b'{"s":1}', uses=b'{"count":1}', sync=NO_SYNC)
    assert cache.internal(KEY) is not None
    cache.heard([KEY], "uses")
    assert cache.internal(KEY) is None
    cache.put(KEY, cache.stamp(), uses=b'{"count":2}')
    assert json.loads(cache.internal(KEY) or b"")["grant_uses"] == {"count": 2}
    assert cache.view(KEY) is None  # never held: its status was read by the internal API only


def test_the_least_recently_read_go_first() -> None:
    cache = opened(size=2)
    for n in (1, 2):
        cache.put(f"acct_{n}:test", cache.stamp(), view=b"{}")
    assert cache.view("acct_1:test") == b"{}"  # 1 is now the most recent
    cache.put("acct_3:test", cache.stamp(), view=b"{}")
    assert cache.view("acct_2:test") is None
    assert cache.view("acct_1:test") == b"{}"


def test_an_old_entry_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = opened()
    cache.put(KEY, cache.stamp(), view=b"{}")
    later = read_cache.time.monotonic() + read_cache.MAX_AGE_SECONDS + 1
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: later)
    assert cache.view(KEY) is None


def test_a_read_that_took_too_long_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = opened()
    stamp = cache.stamp()
    later = read_cache.time.monotonic() + read_cache.READ_WINDOW_SECONDS + 1
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: later)
    cache.put(KEY, stamp, view=b"{}")  # word of a write during it may be forgotten already
    assert cache.view(KEY) is None


def test_the_internal_response_is_its_pieces_joined() -> None:
    joined = internal_response(b'{"a":1,"b":[]}', b'{"count":0}', b'{"synced":1}')
    assert json.loads(joined) == {
        "a": 1,
        "b": [],
        "grant_uses": {"count": 0},
        "sync": {"synced": 1},
    }
