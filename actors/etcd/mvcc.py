"""Multi-version key-value store with etcd v3 semantics (pure: no I/O, no asyncio, no rpc).

Model
-----
* One global ``revision``.  An empty store is at revision 1 (as etcd).  Every *write
  transaction* that changes something bumps it by exactly one; all the changes of that
  transaction share the new main revision (etcd's sub-revisions are simply the order of the
  events in the transaction).  A transaction with no writes, or a delete that deletes nothing,
  does not bump it.
* Per key a *history*: two parallel lists ``revs`` (main revisions, ascending, a revision may
  repeat when one transaction touches the key twice) and ``kvs`` (the :class:`KeyValue` written
  at that revision, or ``None`` for a tombstone).  The state of a key at revision ``r`` is the
  last record with ``rev <= r`` (``bisect_right``); a tombstone or no record means "absent".
  ``version`` counts puts since the key's creation; a delete ends the *generation* and the next
  put starts a new one (version 1, new create_revision).
* Index structures: ``_index`` (dict key -> history, O(1) point lookups), ``_keys`` (a
  ``SortedList`` of every key that still has history, for historic range scans) and ``_live``
  (a ``SortedList`` of the keys live in the newest state, for O(log n + k) range scans and
  O(log n) counts at the current revision, which is what nearly every read asks for).
* The *event log* (``_events`` with the parallel ``_ev_revs``) keeps every PUT/DELETE event
  with its ``prev_kv`` in revision order, for watchers catching up: ``events_since`` returns
  ``(revision, Event)`` pairs, the same shape the applier hands to live watchers.
* ``compact(rev)`` keeps, for each key, the newest record ``<= rev`` (dropped too when it is a
  tombstone) and everything after it, so reads at any revision ``>= rev`` see exactly what they
  saw before; reads below it raise :class:`CompactedError`.  Only keys with events in the
  compacted window can hold garbage, so compaction walks the event log, not the key space.
  Events with revision ``>= rev`` are kept: a watch from ``compact_revision`` still gets every
  event (etcd loses a tombstone that sits exactly at the compaction revision; we do not).
* Writes go through :class:`WriteTxn` (``store.txn()``), which sees its own writes (as etcd's
  ``storeTxnWrite.Range`` does) and can be aborted (an undo log reverts it), so a failed etcd
  Txn never leaves a half-applied state.  Only one write transaction may be open at a time.
* ``snapshot()``/``restore()`` encode everything (histories, event log, revision, compact
  revision, ``consistent_index``) with msgpack; shared :class:`KeyValue` objects are written
  once in a table and referenced by position, so a restored store continues exactly and its
  ``hash()`` equals the original's.
* ``consistent_index`` is the raft index of the last entry applied to this store; it is set by
  the applier and travels with the snapshot so a restarted member skips entries it already has.

Range semantics follow etcd: ``range_end == b""`` is the single key ``key``; ``range_end ==
b"\\0"`` means every key ``>= key`` (so ``key == range_end == b"\\0"`` is every key); otherwise
``[key, range_end)``.  ``count`` is the number of keys in the range at that revision (before
``limit`` and before the min/max revision filters, as etcd).  Sorting, filtering, limit and
``more`` follow etcd's ``executeRange`` (including its quirk that a limit without an explicit
sort order is applied before a sort by a non-key target).
"""

from __future__ import annotations

import enum
import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Final

import msgpack
from sortedcontainers import SortedList

__all__ = [
    "CompactedError",
    "DeleteResult",
    "Event",
    "EventType",
    "FutureRevError",
    "KeyValue",
    "MVCCError",
    "MVCCStore",
    "PutResult",
    "RangeResult",
    "SortOrder",
    "SortTarget",
    "WriteTxn",
    "key_in_range",
]

SNAPSHOT_VERSION: Final = 1


class MVCCError(Exception):
    """Base class of the store's errors (messages are etcd's mvcc error strings)."""


class CompactedError(MVCCError):
    """The requested revision is below the compaction revision."""

    def __init__(self, message: str = "mvcc: required revision has been compacted") -> None:
        super().__init__(message)


class FutureRevError(MVCCError):
    """The requested revision is above the current revision."""

    def __init__(self, message: str = "mvcc: required revision is a future revision") -> None:
        super().__init__(message)


class EventType(enum.IntEnum):
    """mvccpb.Event.EventType values."""

    PUT = 0
    DELETE = 1


class SortOrder(enum.IntEnum):
    """etcdserverpb.RangeRequest.SortOrder values."""

    NONE = 0
    ASCEND = 1
    DESCEND = 2


class SortTarget(enum.IntEnum):
    """etcdserverpb.RangeRequest.SortTarget values."""

    KEY = 0
    VERSION = 1
    CREATE = 2
    MOD = 3
    VALUE = 4


@dataclass(slots=True, frozen=True)
class KeyValue:
    """mvccpb.KeyValue.  Shared between histories, events and results: never mutate."""

    key: bytes
    create_revision: int
    mod_revision: int
    version: int
    value: bytes = b""
    lease: int = 0


@dataclass(slots=True, frozen=True)
class Event:
    """mvccpb.Event.  For DELETE, ``kv`` is a tombstone: only ``key`` and ``mod_revision``."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(slots=True)
class RangeResult:
    kvs: list[KeyValue]
    count: int  # keys in the range at that revision (ignores limit and min/max filters)
    more: bool  # limit cut the result short
    revision: int  # the store revision the read was served at (response header revision)


@dataclass(slots=True)
class PutResult:
    revision: int
    prev_kv: KeyValue | None
    events: list[Event]


@dataclass(slots=True)
class DeleteResult:
    revision: int  # new revision if something was deleted, else the unchanged one
    deleted: int
    prev_kvs: list[KeyValue]
    events: list[Event]


def key_in_range(k: bytes, key: bytes, range_end: bytes) -> bool:
    """etcd interval membership: single key, ``>= key`` (``range_end == b"\\0"``) or [key, end)."""
    if not range_end:
        return k == key
    if range_end == b"\0":
        return k >= key
    return key <= k < range_end


class _History:
    """Every surviving record of one key, oldest first."""

    __slots__ = ("revs", "kvs")

    def __init__(self) -> None:
        self.revs: list[int] = []
        self.kvs: list[KeyValue | None] = []

    def at(self, rev: int) -> KeyValue | None:
        revs = self.revs
        if revs[-1] <= rev:
            return self.kvs[-1]
        i = bisect_right(revs, rev)
        return self.kvs[i - 1] if i else None


def _bounds(range_end: bytes) -> bytes | None:
    """Upper bound for SortedList.irange (None = unbounded); only for non-empty range_end."""
    return None if range_end == b"\0" else range_end


def _tombstone(key: bytes, rev: int) -> KeyValue:
    return KeyValue(key, 0, rev, 0)


_MASK64: Final = (1 << 64) - 1


def _record_digest(key: bytes, rev: int, kv: KeyValue | None) -> int:
    """Deterministic 64-bit digest of one history record (for the incremental hash)."""
    h = hashlib.blake2b(digest_size=8)
    if kv is None:
        h.update(b"T%d,%d|" % (rev, len(key)))
        h.update(key)
    else:
        h.update(b"P%d,%d,%d,%d,%d|" % (rev, kv.create_revision, kv.version, kv.lease, len(key)))
        h.update(key)
        h.update(kv.value)
    return int.from_bytes(h.digest(), "big")


_SORT_KEYS: Final = {
    SortTarget.KEY: lambda kv: kv.key,
    SortTarget.VERSION: lambda kv: kv.version,
    SortTarget.CREATE: lambda kv: kv.create_revision,
    SortTarget.MOD: lambda kv: kv.mod_revision,
    SortTarget.VALUE: lambda kv: kv.value,
}


class MVCCStore:
    """The multi-version key-value store (see the module docstring)."""

    def __init__(self) -> None:
        self._revision = 1
        self._compact_rev = -1
        self.consistent_index = 0
        self._index: dict[bytes, _History] = {}
        self._keys: SortedList = SortedList()  # keys with any history
        self._live: SortedList = SortedList()  # keys live in the newest state
        self._events: list[Event] = []
        self._ev_revs: list[int] = []
        self._txn: WriteTxn | None = None
        # sum (mod 2**64) of _record_digest over every history record: hash() in O(1)
        self._hash_acc = 0

    # ------------------------------------------------------------------ properties
    @property
    def revision(self) -> int:
        """The last committed revision (1 for an empty store)."""
        return self._revision

    @property
    def compact_revision(self) -> int:
        """The last compaction revision, -1 if the store was never compacted (as etcd)."""
        return self._compact_rev

    @property
    def first_event_revision(self) -> int:
        """The oldest revision a watch can start from without CompactedError."""
        return max(self._compact_rev, 1)

    def __len__(self) -> int:
        """Number of live keys at the newest state."""
        return len(self._live)

    # ------------------------------------------------------------------ reads
    def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        keys_only: bool = False,
        sort_order: int = SortOrder.NONE,
        sort_target: int = SortTarget.KEY,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResult:
        """etcd Range at ``revision`` (0 = current).  Raises CompactedError/FutureRevError."""
        return self._range(
            self._revision,
            key,
            range_end,
            revision,
            limit,
            count_only,
            keys_only,
            SortOrder(sort_order),
            SortTarget(sort_target),
            min_mod_revision,
            max_mod_revision,
            min_create_revision,
            max_create_revision,
        )

    def get(self, key: bytes, revision: int = 0) -> KeyValue | None:
        """The key's KeyValue at ``revision`` (0 = current) or None."""
        rr = self.range(key, revision=revision)
        return rr.kvs[0] if rr.kvs else None

    def _newest_rev(self) -> int:
        """Revision of the newest state in the index (includes an open txn's writes)."""
        txn = self._txn
        if txn is not None and txn._events:
            return txn.revision
        return self._revision

    def _range(
        self,
        view_rev: int,
        key: bytes,
        range_end: bytes,
        revision: int,
        limit: int,
        count_only: bool,
        keys_only: bool,
        sort_order: SortOrder,
        sort_target: SortTarget,
        min_mod: int,
        max_mod: int,
        min_create: int,
        max_create: int,
    ) -> RangeResult:
        rev = revision
        if rev > view_rev:
            raise FutureRevError()
        if rev <= 0:
            rev = view_rev
        if rev < self._compact_rev:
            raise CompactedError()

        filtered = bool(min_mod or max_mod or min_create or max_create)
        # etcd fetches everything when an explicit sort order or a filter is given
        fetch = 0 if (sort_order != SortOrder.NONE or filtered) else limit
        if fetch > 0:
            fetch += 1  # one extra for `more`

        kvs: list[KeyValue]
        if not range_end:
            h = self._index.get(key)
            kv = h.at(rev) if h is not None else None
            kvs = [kv] if kv is not None else []
            total = len(kvs)
            if count_only:
                kvs = []
        elif rev == self._newest_rev():
            live = self._live
            hi_key = _bounds(range_end)
            lo = live.bisect_left(key)
            hi = len(live) if hi_key is None else live.bisect_left(hi_key)
            total = max(0, hi - lo)
            if count_only or total == 0:
                kvs = []
            else:
                n = total if fetch <= 0 else min(total, fetch)
                index = self._index
                kvs = []
                for k in live.islice(lo, lo + n):
                    kv = index[k].kvs[-1]
                    assert kv is not None
                    kvs.append(kv)
        else:
            index = self._index
            kvs = []
            total = 0
            for k in self._keys.irange(key, _bounds(range_end), inclusive=(True, False)):
                kv = index[k].at(rev)
                if kv is None:
                    continue
                total += 1
                if not count_only and (fetch <= 0 or len(kvs) < fetch):
                    kvs.append(kv)

        if filtered and kvs:
            kvs = [
                kv
                for kv in kvs
                if not (max_mod and kv.mod_revision > max_mod)
                and not (min_mod and kv.mod_revision < min_mod)
                and not (max_create and kv.create_revision > max_create)
                and not (min_create and kv.create_revision < min_create)
            ]

        order = sort_order
        if sort_target != SortTarget.KEY and order == SortOrder.NONE:
            order = SortOrder.ASCEND
        elif sort_target == SortTarget.KEY and order == SortOrder.ASCEND:
            order = SortOrder.NONE
        if order != SortOrder.NONE and len(kvs) > 1:
            kvs.sort(key=_SORT_KEYS[sort_target], reverse=order == SortOrder.DESCEND)

        more = False
        if limit > 0 and len(kvs) > limit:
            del kvs[limit:]
            more = True
        if keys_only:
            kvs = [replace(kv, value=b"") for kv in kvs]
        return RangeResult(kvs, total, more, view_rev)

    # ------------------------------------------------------------------ writes
    def txn(self) -> WriteTxn:
        """Open the (single) write transaction; use as a context manager or call end()/abort()."""
        if self._txn is not None:
            raise RuntimeError("a write transaction is already open")
        txn = WriteTxn(self)
        self._txn = txn
        return txn

    def put(self, key: bytes, value: bytes, lease: int = 0) -> PutResult:
        """A one-operation write transaction."""
        with self.txn() as t:
            prev = t.put(key, value, lease)
        return PutResult(self._revision, prev, t.events)

    def delete_range(self, key: bytes, range_end: bytes = b"") -> DeleteResult:
        """A one-operation write transaction; deleting nothing does not bump the revision."""
        with self.txn() as t:
            prev = t.delete_range(key, range_end)
        return DeleteResult(self._revision, len(prev), prev, t.events)

    # ------------------------------------------------------------------ compaction
    def compact(self, revision: int) -> None:
        """Drop history below ``revision`` (reads at >= revision are unaffected)."""
        if self._txn is not None:
            raise RuntimeError("compact while a write transaction is open")
        if revision <= self._compact_rev:
            raise CompactedError()
        if revision > self._revision:
            raise FutureRevError()
        n = bisect_right(self._ev_revs, revision)
        touched = {ev.kv.key for ev in self._events[:n]}
        index = self._index
        for k in touched:
            h = index.get(k)
            if h is None:
                continue
            i = bisect_right(h.revs, revision) - 1
            if i < 0:
                continue
            if h.kvs[i] is None:
                i += 1  # a tombstone at or below the compaction revision goes too
            if i > 0:
                acc = self._hash_acc
                for rev, kv in zip(h.revs[:i], h.kvs[:i]):
                    acc -= _record_digest(k, rev, kv)
                self._hash_acc = acc & _MASK64
                del h.revs[:i]
                del h.kvs[:i]
            if not h.revs:
                del index[k]
                self._keys.remove(k)
        keep_from = bisect_left(self._ev_revs, revision)
        del self._events[:keep_from]
        del self._ev_revs[:keep_from]
        self._compact_rev = revision

    # ------------------------------------------------------------------ watch history
    def events_since(
        self, start_revision: int, key: bytes, range_end: bytes = b""
    ) -> list[tuple[int, Event]]:
        """Committed ``(revision, event)`` pairs with revision >= start_revision on keys in the
        etcd interval ``key``/``range_end``, in revision (then sub-revision) order.

        Raises CompactedError when start_revision < compact_revision (history is gone, etcd's
        watch rule).  start_revision <= 0 or beyond the current revision gives [].
        """
        if start_revision <= 0:
            return []
        if start_revision < self._compact_rev:
            raise CompactedError()
        if start_revision > self._revision:
            return []
        i = bisect_left(self._ev_revs, start_revision)
        evs = self._events
        if not range_end:
            return [(ev.kv.mod_revision, ev) for ev in evs[i:] if ev.kv.key == key]
        if range_end == b"\0":
            return [(ev.kv.mod_revision, ev) for ev in evs[i:] if ev.kv.key >= key]
        return [(ev.kv.mod_revision, ev) for ev in evs[i:] if key <= ev.kv.key < range_end]

    def iter_events(self, start_revision: int) -> Iterator[Event]:
        """All retained committed events with revision >= start_revision, in order."""
        i = bisect_left(self._ev_revs, start_revision)
        return iter(self._events[i:])

    # ------------------------------------------------------------------ snapshot / hash
    def snapshot(self) -> bytes:
        """Everything needed to continue exactly (history and event log included)."""
        if self._txn is not None:
            raise RuntimeError("snapshot while a write transaction is open")
        table: list[list[Any]] = []
        ids: dict[int, int] = {}

        def ref(kv: KeyValue | None) -> int:
            if kv is None:
                return -1
            i = ids.get(id(kv))
            if i is None:
                i = len(table)
                ids[id(kv)] = i
                table.append(
                    [kv.key, kv.create_revision, kv.mod_revision, kv.version, kv.value, kv.lease]
                )
            return i

        hist = []
        for k in self._keys:
            h = self._index[k]
            hist.append([k, h.revs, [ref(kv) for kv in h.kvs]])
        events = [[int(ev.type), ref(ev.kv), ref(ev.prev_kv)] for ev in self._events]
        doc = [
            SNAPSHOT_VERSION,
            self._revision,
            self._compact_rev,
            self.consistent_index,
            table,
            hist,
            events,
        ]
        out = msgpack.packb(doc, use_bin_type=True)
        assert isinstance(out, bytes)
        return out

    @classmethod
    def restore(cls, data: bytes) -> MVCCStore:
        """Rebuild a store from snapshot() bytes."""
        doc = msgpack.unpackb(data, raw=False, use_list=True)
        version, revision, compact_rev, ci, table, hist, events = doc
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported mvcc snapshot version {version}")
        s = cls()
        s._revision = revision
        s._compact_rev = compact_rev
        s.consistent_index = ci
        kvs = [KeyValue(k, c, m, v, val, le) for k, c, m, v, val, le in table]
        keys: list[bytes] = []
        live: list[bytes] = []
        acc = 0
        for k, revs, refs in hist:
            h = _History()
            h.revs = revs
            h.kvs = [kvs[r] if r >= 0 else None for r in refs]
            for rev, kv in zip(h.revs, h.kvs):
                acc += _record_digest(k, rev, kv)
            s._index[k] = h
            keys.append(k)
            if h.kvs[-1] is not None:
                live.append(k)
        s._hash_acc = acc & _MASK64
        s._keys = SortedList(keys)
        s._live = SortedList(live)
        for t, r, p in events:
            ev = Event(EventType(t), kvs[r], kvs[p] if p >= 0 else None)
            s._events.append(ev)
            s._ev_revs.append(ev.kv.mod_revision)
        return s

    def hash(self) -> int:
        """64-bit digest of revision, compact revision and every key's full history.

        Maintained incrementally (each history record's digest is added when written and
        subtracted when compacted or aborted), so it costs O(1); members that applied the same
        entries (or restored the same snapshot) have equal hashes.
        """
        h = hashlib.blake2b(digest_size=8)
        h.update(b"%d/%d/%d" % (self._revision, self._compact_rev, self._hash_acc))
        return int.from_bytes(h.digest(), "big")

    def full_hash(self) -> int:
        """hash() recomputed from scratch (a consistency check of the incremental one)."""
        acc = 0
        for k in self._keys:
            hist = self._index[k]
            for rev, kv in zip(hist.revs, hist.kvs):
                acc += _record_digest(k, rev, kv)
        h = hashlib.blake2b(digest_size=8)
        h.update(b"%d/%d/%d" % (self._revision, self._compact_rev, acc & _MASK64))
        return int.from_bytes(h.digest(), "big")

    def live_items(self) -> Iterable[KeyValue]:
        """Every live KeyValue at the current revision, in key order."""
        rev = self._revision
        for k in self._keys:
            kv = self._index[k].at(rev)
            if kv is not None:
                yield kv


class WriteTxn:
    """One write transaction: every change gets the same revision (store.revision + 1).

    Reads through ``range`` see the transaction's own writes.  ``end()`` commits (bumping the
    revision only if something changed) and returns the events; ``abort()`` reverts.  As a
    context manager it commits on normal exit and aborts when an exception escapes.
    """

    def __init__(self, store: MVCCStore) -> None:
        self._store = store
        self._rev = store._revision + 1
        self._events: list[Event] = []
        # undo log: (key, history existed before, key was live before)
        self._undo: list[tuple[bytes, bool, bool]] = []
        self._closed = False
        self.events: list[Event] = []  # set by end()

    @property
    def revision(self) -> int:
        """The revision this transaction writes at."""
        return self._rev

    @property
    def changed(self) -> bool:
        return bool(self._events)

    @property
    def current_revision(self) -> int:
        """The revision reads in this txn see as current: ``revision`` once it wrote, else the
        store's (etcd's inner-response header revision)."""
        return self._rev if self._events else self._store._revision

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("write transaction already ended")

    def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        keys_only: bool = False,
        sort_order: int = SortOrder.NONE,
        sort_target: int = SortTarget.KEY,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResult:
        """Range seeing this transaction's writes (its revision counts as current once written)."""
        self._check_open()
        return self._store._range(
            self.current_revision,
            key,
            range_end,
            revision,
            limit,
            count_only,
            keys_only,
            SortOrder(sort_order),
            SortTarget(sort_target),
            min_mod_revision,
            max_mod_revision,
            min_create_revision,
            max_create_revision,
        )

    def put(self, key: bytes, value: bytes, lease: int = 0) -> KeyValue | None:
        """Write key; returns the previous live KeyValue (None if the key was absent)."""
        self._check_open()
        s = self._store
        rev = self._rev
        h = s._index.get(key)
        existed = h is not None
        if h is None:
            h = _History()
            s._index[key] = h
            s._keys.add(key)
            prev = None
        else:
            prev = h.kvs[-1]
        if prev is None:
            kv = KeyValue(key, rev, rev, 1, value, lease)
            s._live.add(key)
        else:
            kv = KeyValue(key, prev.create_revision, rev, prev.version + 1, value, lease)
        h.revs.append(rev)
        h.kvs.append(kv)
        s._hash_acc = (s._hash_acc + _record_digest(key, rev, kv)) & _MASK64
        self._undo.append((key, existed, prev is not None))
        self._events.append(Event(EventType.PUT, kv, prev))
        return prev

    def delete_range(self, key: bytes, range_end: bytes = b"") -> list[KeyValue]:
        """Delete the live keys in the etcd interval; returns their previous KeyValues."""
        self._check_open()
        s = self._store
        if not range_end:
            h = s._index.get(key)
            keys = [key] if h is not None and h.kvs[-1] is not None else []
        else:
            keys = list(s._live.irange(key, _bounds(range_end), inclusive=(True, False)))
        rev = self._rev
        prevs: list[KeyValue] = []
        for k in keys:
            h = s._index[k]
            prev = h.kvs[-1]
            assert prev is not None
            h.revs.append(rev)
            h.kvs.append(None)
            s._hash_acc = (s._hash_acc + _record_digest(k, rev, None)) & _MASK64
            s._live.remove(k)
            self._undo.append((k, True, True))
            self._events.append(Event(EventType.DELETE, _tombstone(k, rev), prev))
            prevs.append(prev)
        return prevs

    def end(self) -> list[Event]:
        """Commit; returns the events (empty if nothing changed)."""
        self._check_open()
        s = self._store
        self._closed = True
        s._txn = None
        if self._events:
            s._revision = self._rev
            s._events.extend(self._events)
            s._ev_revs.extend([self._rev] * len(self._events))
        self.events = self._events
        return self._events

    def abort(self) -> None:
        """Revert every change of this transaction."""
        self._check_open()
        s = self._store
        for key, existed, was_live in reversed(self._undo):
            h = s._index[key]
            rev = h.revs.pop()
            kv = h.kvs.pop()
            s._hash_acc = (s._hash_acc - _record_digest(key, rev, kv)) & _MASK64
            if not existed:
                del s._index[key]
                s._keys.remove(key)
            is_live = kv is not None
            if is_live and not was_live:
                s._live.remove(key)
            elif was_live and not is_live:
                s._live.add(key)
        self._undo.clear()
        self._events = []
        self._closed = True
        s._txn = None

    def __enter__(self) -> WriteTxn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.end()
        else:
            self.abort()
