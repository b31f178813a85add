"""The accounts status serves from memory: every view of the Dashboard and every internal read of
one account, without a database round trip once it is here.

A database read was most of a view request's cost (docs/benchmarks.md: the database alone served
finds by `_id` at about half the bare endpoint's rate), so a read that must reach it cannot meet
the view's goals. What is here follows the read model, never behind it by more than a marker's
delivery to this instance:

- The instance that writes an account (its projection owns the account's partition) puts what it
  wrote here, after the write, and tells every other instance: a marker on `status.projected.v1`
  naming the accounts written. An instance that hears of a write forgets those accounts; its next
  read fetches them from the database, which already holds the write (the marker is sent after it).
- A read that fetches from the database keeps what it found only if no word of a write to that
  account came while it read (`stamp` before, `put` checks after): a read that raced a write
  cannot leave the older state behind.
- Until this instance's marker consumer stands at the end of the topic (`open`), nothing is kept:
  a marker sent before it listened would be missed.
- An entry is dropped after MAX_AGE_SECONDS whatever happens, a bound on any word that never came
  (the database edited by hand); past `size` accounts, the least recently read go first.

Another instance's write reaches this one's memory when its marker arrives (milliseconds: the
marker consumer polls promptly); docs/reliability.md says what that means for a merchant who reads
through two instances at once. The merchant's page (`after=<event>`) waits for the event in the
database and reads the database, never this memory.

Each account's pieces are JSON bytes as served: its status in the internal API's shape and in the
view's, and its grant-use and sync summaries. A hit is a dict lookup and no JSON encoding; the
internal response is the pieces joined.
"""

import json
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from prometheus_client import Counter, Gauge

# A bound on any word of a write that never came (the database edited by hand).
MAX_AGE_SECONDS = 3600.0
# A database read that took longer than this is not kept: word of writes is remembered this long.
READ_WINDOW_SECONDS = 30.0

READS = Counter("kobling_status_cache_reads_total", "Account reads by where answered", ["found"])
HELD = Gauge("kobling_status_cache_accounts", "Accounts held in memory")


def encode(content: Any) -> bytes:
    """The bytes FastAPI's JSONResponse sends for `content` (already JSON-ready)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


# What a summary is for an account that has none in the database: which accounts have any is read
# from the database once at start, and kept current by the markers.
NO_USES = encode({"count": 0, "last_used_at": None, "last_use": None})
NO_SYNC = encode(
    {
        "synced": 0,
        "needs_attention": 0,
        "skipped": 0,
        "last_result_at": None,
        "last_result": None,
    }
)


def internal_response(status: bytes, uses: bytes, sync: bytes) -> bytes:
    """`{**status, "grant_uses": uses, "sync": sync}` from their JSON, without decoding any."""
    return b"".join((status[:-1], b',"grant_uses":', uses, b',"sync":', sync, b"}"))


Piece = Literal["status", "uses", "sync"]


class Stamp(NamedTuple):
    heard: int  # how many words of writes had come
    at: float


class Entry:
    __slots__ = ("born", "status", "sync", "uses", "view")

    def __init__(self, born: float) -> None:
        self.born = born
        self.status: bytes | None = None  # the internal API's status JSON (public_view)
        self.view: bytes | None = None  # the Stripe App view's response (merchant_view)
        self.uses: bytes | None = None  # the grant-use summary
        self.sync: bytes | None = None  # the sync summary


@dataclass
class ReadCache:
    size: int = 100_000
    max_age: float = MAX_AGE_SECONDS
    open: bool = False  # set once the marker consumer stands at the end of the topic
    entries: OrderedDict[str, Entry] = field(default_factory=OrderedDict)
    # Which accounts have a grant-use summary / sync results at all: None until read at start.
    with_uses: set[str] | None = None
    with_sync: set[str] | None = None
    # Word of writes: a counter, and for each account written lately the count when word came.
    _heard: int = 0
    _heard_of: OrderedDict[str, Stamp] = field(default_factory=OrderedDict)
    # Accounts heard to have a summary before the database was asked which have one.
    _early_uses: set[str] = field(default_factory=set)
    _early_sync: set[str] = field(default_factory=set)

    def stamp(self) -> Stamp | None:
        """Taken before a database read; `put` with it keeps what was read only if no word of a
        write to the account came since."""
        return Stamp(self._heard, time.monotonic()) if self.open else None

    def heard(self, keys: Iterable[str], piece: Piece) -> None:
        """Word that `piece` of each of `keys` was written: forget what is held of it. A written
        grant-use or sync summary also says the account now has one."""
        now = time.monotonic()
        for key in keys:
            self._heard += 1
            self._heard_of.pop(key, None)
            self._heard_of[key] = Stamp(self._heard, now)
            entry = self.entries.get(key)
            if piece == "status":
                if entry is not None:
                    entry.status = entry.view = None
            elif piece == "uses":
                if entry is not None:
                    entry.uses = None
                (self.with_uses if self.with_uses is not None else self._early_uses).add(key)
            else:
                if entry is not None:
                    entry.sync = None
                (self.with_sync if self.with_sync is not None else self._early_sync).add(key)
        while self._heard_of:
            oldest = next(iter(self._heard_of.values()))
            if now - oldest.at <= READ_WINDOW_SECONDS:
                break
            self._heard_of.popitem(last=False)

    def opened(self, with_uses: set[str], with_sync: set[str]) -> None:
        """The marker consumer stands at the end of the topic, and the database said which
        accounts have a grant-use summary or sync results (read after it did): keep from now."""
        self.with_uses = with_uses | self._early_uses
        self.with_sync = with_sync | self._early_sync
        self._early_uses, self._early_sync = set(), set()
        self.open = True

    def wrote(self, key: str, status: bytes, view: bytes, stamp: Stamp | None) -> None:
        """This instance wrote `key`'s status (and tells the others): hold it as written."""
        entry = self._entry(key, stamp)
        if entry is not None:
            entry.status, entry.view = status, view

    # -- reads ---------------------------------------------------------------------------------

    def held(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.born > self.max_age:
            self._drop(key)
            return None
        self.entries.move_to_end(key)
        return entry

    def view(self, key: str) -> bytes | None:
        entry = self.held(key)
        found = entry.view if entry else None
        READS.labels("memory" if found else "database").inc()
        return found

    def internal(self, key: str) -> bytes | None:
        """The internal API's response for `key`, when every piece of it is held."""
        entry = self.held(key)
        status = entry.status if entry else None
        uses = self.uses(key, entry)
        sync = self.sync(key, entry)
        if status is None or uses is None or sync is None:
            READS.labels("database").inc()
            return None
        READS.labels("memory").inc()
        return internal_response(status, uses, sync)

    def uses(self, key: str, entry: Entry | None) -> bytes | None:
        return _summary(entry.uses if entry else None, key, self.with_uses, NO_USES)

    def sync(self, key: str, entry: Entry | None) -> bytes | None:
        return _summary(entry.sync if entry else None, key, self.with_sync, NO_SYNC)

    # -- what a read fetched -------------------------------------------------------------------

    def put(self, key: str, stamp: Stamp | None, **pieces: bytes) -> None:
        """Keeps what a read fetched (`status`, `view`, `uses`, `sync`), unless word of a write
        to `key` came since `stamp`."""
        entry = self._entry(key, stamp)
        if entry is not None:
            for name, value in pieces.items():
                setattr(entry, name, value)

    def _entry(self, key: str, stamp: Stamp | None) -> Entry | None:
        if stamp is None or not self.open:
            return None
        now = time.monotonic()
        if now - stamp.at > READ_WINDOW_SECONDS:
            return None  # word of a write during it may be forgotten already
        heard = self._heard_of.get(key)
        if heard is not None and heard.heard > stamp.heard:
            return None
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = Entry(born=now)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
            HELD.set(len(self.entries))
        return entry

    def _drop(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            HELD.set(len(self.entries))


def _summary(held: bytes | None, key: str, holders: set[str] | None, none: bytes) -> bytes | None:
    """A summary held, or `none` for an account known to have none, or None: read it."""
    if held is not None:
        return held
    if holders is not None and key not in holders:
        return none
    return None
