"""Unit tests of actors/etcd/mvcc.py (etcd v3 MVCC semantics)."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from actors.etcd.mvcc import (
    CompactedError,
    Event,
    EventType,
    FutureRevError,
    KeyValue,
    MVCCError,
    MVCCStore,
    SortOrder,
    SortTarget,
    key_in_range,
)

Op = tuple[Any, ...]


def run(store: MVCCStore, ops: list[Op]) -> list[int]:
    """Apply a tiny op language; returns the revision after each op.

    ("put", key, value[, lease]) | ("del", key[, range_end]) | ("txn", [ops]) | ("compact", rev)
    """
    revs = []
    for op in ops:
        kind = op[0]
        if kind == "put":
            store.put(op[1], op[2], op[3] if len(op) > 3 else 0)
        elif kind == "del":
            store.delete_range(op[1], op[2] if len(op) > 2 else b"")
        elif kind == "txn":
            with store.txn() as t:
                for sub in op[1]:
                    if sub[0] == "put":
                        t.put(sub[1], sub[2], sub[3] if len(sub) > 3 else 0)
                    elif sub[0] == "del":
                        t.delete_range(sub[1], sub[2] if len(sub) > 2 else b"")
                    else:
                        raise AssertionError(sub)
        elif kind == "compact":
            store.compact(op[1])
        else:
            raise AssertionError(op)
        revs.append(store.revision)
    return revs


def state(store: MVCCStore, revision: int = 0) -> dict[bytes, tuple[int, int, int, bytes, int]]:
    rr = store.range(b"\0", b"\0", revision=revision)
    return {
        kv.key: (kv.create_revision, kv.mod_revision, kv.version, kv.value, kv.lease)
        for kv in rr.kvs
    }


# ---------------------------------------------------------------------------- revisions


@pytest.mark.parametrize(
    ("ops", "expected_revs"),
    [
        pytest.param([], [], id="empty-store"),
        pytest.param([("put", b"a", b"1")], [2], id="first-put-is-rev-2"),
        pytest.param([("put", b"a", b"1"), ("put", b"a", b"2")], [2, 3], id="update-bumps"),
        pytest.param([("put", b"a", b"1"), ("del", b"a")], [2, 3], id="delete-bumps"),
        pytest.param([("put", b"a", b"1"), ("del", b"b")], [2, 2], id="delete-missing-no-bump"),
        pytest.param(
            [("put", b"a", b"1"), ("del", b"a"), ("del", b"a")], [2, 3, 3], id="double-delete"
        ),
        pytest.param(
            [("put", b"a", b""), ("put", b"b", b""), ("put", b"c", b""), ("del", b"a", b"\0")],
            [2, 3, 4, 5],
            id="range-delete-bumps-once",
        ),
        pytest.param(
            [("txn", [("put", b"a", b"1"), ("put", b"b", b"2"), ("del", b"c")])],
            [2],
            id="txn-several-writes-one-rev",
        ),
        pytest.param([("txn", [])], [1], id="txn-no-writes-no-bump"),
        pytest.param([("txn", [("del", b"zz")])], [1], id="txn-noop-delete-no-bump"),
        pytest.param(
            [("put", b"a", b"1"), ("txn", [("del", b"a"), ("put", b"a", b"2")])],
            [2, 3],
            id="txn-delete-then-put",
        ),
        pytest.param([("put", b"a", b"1"), ("compact", 2)], [2, 2], id="compact-no-bump"),
    ],
)
def test_revision_after_ops(ops: list[Op], expected_revs: list[int]) -> None:
    s = MVCCStore()
    assert s.revision == 1
    assert run(s, ops) == expected_revs


@pytest.mark.parametrize(
    ("ops", "key", "expected"),
    [
        pytest.param([("put", b"a", b"1")], b"a", (2, 2, 1, b"1", 0), id="created"),
        pytest.param(
            [("put", b"a", b"1"), ("put", b"a", b"2"), ("put", b"a", b"3", 7)],
            b"a",
            (2, 4, 3, b"3", 7),
            id="version-counts-puts",
        ),
        pytest.param(
            [("put", b"a", b"1"), ("put", b"a", b"2"), ("del", b"a"), ("put", b"a", b"x")],
            b"a",
            (5, 5, 1, b"x", 0),
            id="new-generation-after-delete",
        ),
        pytest.param(
            [("txn", [("put", b"a", b"1"), ("put", b"b", b"2")])],
            b"b",
            (2, 2, 1, b"2", 0),
            id="txn-shares-revision",
        ),
        pytest.param(
            [("put", b"a", b"1"), ("txn", [("del", b"a"), ("put", b"a", b"2")])],
            b"a",
            (3, 3, 1, b"2", 0),
            id="delete-put-in-one-txn-new-generation",
        ),
        pytest.param(
            [("txn", [("put", b"a", b"1"), ("put", b"a", b"2")])],
            b"a",
            (2, 2, 2, b"2", 0),
            id="put-twice-in-one-txn",
        ),
        pytest.param([("put", b"a", b"1"), ("del", b"a")], b"a", None, id="deleted"),
    ],
)
def test_key_metadata(ops: list[Op], key: bytes, expected: tuple[Any, ...] | None) -> None:
    s = MVCCStore()
    run(s, ops)
    assert state(s).get(key) == expected


# ---------------------------------------------------------------------------- range


def _range_store() -> MVCCStore:
    s = MVCCStore()
    # rev 2..7
    for k, v in [(b"a", b"3"), (b"ab", b"1"), (b"b", b"2"), (b"c", b"5"), (b"d", b"4")]:
        s.put(k, v)
    s.put(b"b", b"9")  # rev 7: b version 2
    return s


@pytest.mark.parametrize(
    ("key", "range_end", "kwargs", "keys", "count", "more"),
    [
        pytest.param(b"a", b"", {}, [b"a"], 1, False, id="single-key"),
        pytest.param(b"zz", b"", {}, [], 0, False, id="single-missing"),
        pytest.param(b"a", b"c", {}, [b"a", b"ab", b"b"], 3, False, id="interval"),
        pytest.param(b"a", b"b", {}, [b"a", b"ab"], 2, False, id="prefix-a"),
        pytest.param(b"b", b"\0", {}, [b"b", b"c", b"d"], 3, False, id="from-key"),
        pytest.param(b"\0", b"\0", {}, [b"a", b"ab", b"b", b"c", b"d"], 5, False, id="all-keys"),
        pytest.param(b"c", b"a", {}, [], 0, False, id="end-before-key"),
        pytest.param(b"\0", b"\0", {"limit": 2}, [b"a", b"ab"], 5, True, id="limit-more"),
        pytest.param(b"\0", b"\0", {"limit": 5}, [b"a", b"ab", b"b", b"c", b"d"], 5, False,
                     id="limit-exact"),
        pytest.param(b"\0", b"\0", {"count_only": True}, [], 5, False, id="count-only"),
        pytest.param(b"a", b"", {"count_only": True}, [], 1, False, id="count-only-single"),
        pytest.param(b"\0", b"\0", {"sort_order": SortOrder.DESCEND},
                     [b"d", b"c", b"b", b"ab", b"a"], 5, False, id="sort-key-descend"),
        pytest.param(b"\0", b"\0", {"sort_target": SortTarget.VALUE},
                     [b"ab", b"a", b"d", b"c", b"b"], 5, False, id="sort-value-default-ascend"),
        pytest.param(b"\0", b"\0", {"sort_target": SortTarget.VALUE, "sort_order": SortOrder.DESCEND},
                     [b"b", b"c", b"d", b"a", b"ab"], 5, False, id="sort-value-descend"),
        pytest.param(b"\0", b"\0", {"sort_target": SortTarget.MOD, "sort_order": SortOrder.DESCEND,
                                    "limit": 2}, [b"b", b"d"], 5, True, id="sort-mod-limit"),
        pytest.param(b"\0", b"\0", {"sort_target": SortTarget.VERSION, "sort_order": SortOrder.DESCEND,
                                    "limit": 1}, [b"b"], 5, True, id="sort-version"),
        pytest.param(b"\0", b"\0", {"sort_target": SortTarget.CREATE, "sort_order": SortOrder.DESCEND},
                     [b"d", b"c", b"b", b"ab", b"a"], 5, False, id="sort-create"),
        # etcd quirk: no explicit order -> limit+1 fetched by key first, then sorted by value
        pytest.param(b"b", b"\0", {"sort_target": SortTarget.VALUE, "limit": 1},
                     [b"c"], 3, True, id="sort-target-without-order-limits-first"),
        pytest.param(b"b", b"\0", {"sort_target": SortTarget.VALUE, "limit": 1,
                                    "sort_order": SortOrder.ASCEND},
                     [b"d"], 3, True, id="explicit-order-sorts-everything"),
        pytest.param(b"\0", b"\0", {"min_mod_revision": 5}, [b"b", b"c", b"d"], 5, False,
                     id="min-mod-count-unfiltered"),
        pytest.param(b"\0", b"\0", {"max_mod_revision": 3}, [b"a", b"ab"], 5, False, id="max-mod"),
        pytest.param(b"\0", b"\0", {"min_create_revision": 4, "max_create_revision": 5},
                     [b"b", b"c"], 5, False, id="create-window"),
        pytest.param(b"\0", b"\0", {"max_mod_revision": 6, "limit": 1}, [b"a"], 5, True,
                     id="filter-then-limit"),
        pytest.param(b"\0", b"\0", {"revision": 4}, [b"a", b"ab", b"b"], 3, False, id="historic"),
        pytest.param(b"\0", b"\0", {"revision": 1}, [], 0, False, id="historic-empty-rev1"),
        pytest.param(b"a", b"c", {"revision": 4, "limit": 1}, [b"a"], 3, True,
                     id="historic-limit"),
    ],
)
def test_range(
    key: bytes, range_end: bytes, kwargs: dict[str, Any], keys: list[bytes], count: int, more: bool
) -> None:
    s = _range_store()
    rr = s.range(key, range_end, **kwargs)
    assert [kv.key for kv in rr.kvs] == keys
    assert rr.count == count
    assert rr.more == more
    assert rr.revision == s.revision == 7


def test_range_keys_only_and_values() -> None:
    s = _range_store()
    rr = s.range(b"b", keys_only=True)
    assert rr.kvs == [KeyValue(b"b", 4, 7, 2, b"", 0)]
    assert s.range(b"b").kvs == [KeyValue(b"b", 4, 7, 2, b"9", 0)]
    assert s.range(b"b", revision=6).kvs == [KeyValue(b"b", 4, 4, 1, b"2", 0)]
    assert s.get(b"b", revision=3) is None
    assert len(s) == 5


@pytest.mark.parametrize(
    ("revision", "error"),
    [
        pytest.param(8, FutureRevError, id="future"),
        pytest.param(100, FutureRevError, id="far-future"),
        pytest.param(4, CompactedError, id="below-compaction"),
        pytest.param(1, CompactedError, id="rev-1-compacted"),
    ],
)
def test_range_errors(revision: int, error: type[MVCCError]) -> None:
    s = _range_store()
    s.compact(5)
    with pytest.raises(error) as ei:
        s.range(b"a", revision=revision)
    assert str(ei.value) == {
        FutureRevError: "mvcc: required revision is a future revision",
        CompactedError: "mvcc: required revision has been compacted",
    }[error]


@pytest.mark.parametrize(
    ("k", "key", "end", "inside"),
    [
        pytest.param(b"a", b"a", b"", True, id="single-hit"),
        pytest.param(b"ab", b"a", b"", False, id="single-miss"),
        pytest.param(b"zz", b"b", b"\0", True, id="from-key"),
        pytest.param(b"a", b"b", b"\0", False, id="from-key-below"),
        pytest.param(b"b", b"a", b"b", False, id="end-exclusive"),
        pytest.param(b"a", b"a", b"b", True, id="start-inclusive"),
    ],
)
def test_key_in_range(k: bytes, key: bytes, end: bytes, inside: bool) -> None:
    assert key_in_range(k, key, end) is inside


# ---------------------------------------------------------------------------- historic reads


def _random_ops(rng: random.Random, n: int) -> list[Op]:
    keys = [b"k%02d" % i for i in range(12)]
    ops: list[Op] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.55:
            ops.append(("put", rng.choice(keys), b"v%d" % rng.randrange(1000), rng.choice([0, 0, 5])))
        elif r < 0.7:
            ops.append(("del", rng.choice(keys)))
        elif r < 0.8:
            a, b = sorted(rng.sample(keys, 2))
            ops.append(("del", a, b))
        else:
            sub: list[Op] = []
            used: set[bytes] = set()
            for _ in range(rng.randrange(0, 4)):
                k = rng.choice(keys)
                if k in used:
                    continue
                used.add(k)
                sub.append(("put", k, b"t") if rng.random() < 0.7 else ("del", k))
            ops.append(("txn", sub))
    return ops


class Model:
    """A naive reference: a full copy of the state after every revision."""

    def __init__(self) -> None:
        self.states: dict[int, dict[bytes, tuple[int, int, int, bytes, int]]] = {1: {}}
        self.rev = 1

    def apply(self, op: Op) -> None:
        cur = dict(self.states[self.rev])
        new_rev = self.rev + 1
        changed = False

        def put(k: bytes, v: bytes, lease: int) -> None:
            nonlocal changed
            old = cur.get(k)
            if old is None:
                cur[k] = (new_rev, new_rev, 1, v, lease)
            else:
                cur[k] = (old[0], new_rev, old[2] + 1, v, lease)
            changed = True

        def delete(k: bytes, end: bytes) -> None:
            nonlocal changed
            for key in [key for key in cur if key_in_range(key, k, end)]:
                del cur[key]
                changed = True

        subs = op[1] if op[0] == "txn" else [op]
        for sub in subs:
            if sub[0] == "put":
                put(sub[1], sub[2], sub[3] if len(sub) > 3 else 0)
            else:
                delete(sub[1], sub[2] if len(sub) > 2 else b"")
        if changed:
            self.rev = new_rev
            self.states[new_rev] = cur


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(6)])
def test_historic_reads_match_model(seed: int) -> None:
    rng = random.Random(seed)
    ops = _random_ops(rng, 150)
    s, m = MVCCStore(), Model()
    for op in ops:
        run(s, [op])
        m.apply(op)
        assert s.revision == m.rev
    for rev, expected in m.states.items():
        assert state(s, rev) == expected, rev
    # compaction keeps every revision >= the compaction revision exact
    c = m.rev // 2
    s.compact(c)
    assert s.hash() == s.full_hash()
    for rev, expected in m.states.items():
        if rev < c:
            with pytest.raises(CompactedError):
                s.range(b"\0", b"\0", revision=rev)
        else:
            assert state(s, rev) == expected, rev
            # ... and point reads too
            for k in [b"k%02d" % i for i in range(12)]:
                kv = s.get(k, revision=rev)
                exp = expected.get(k)
                got = None if kv is None else (kv.create_revision, kv.mod_revision, kv.version,
                                               kv.value, kv.lease)
                assert got == exp, (rev, k)


# ---------------------------------------------------------------------------- compaction


@pytest.mark.parametrize(
    ("ops", "compact_to", "error"),
    [
        pytest.param([], 1, None, id="fresh-store-rev-1"),
        pytest.param([("put", b"a", b"")], 2, None, id="current-revision"),
        pytest.param([("put", b"a", b"")], 3, FutureRevError, id="future"),
        pytest.param([("put", b"a", b""), ("compact", 2)], 2, CompactedError, id="same-again"),
        pytest.param([("put", b"a", b""), ("put", b"a", b""), ("compact", 3)], 2, CompactedError,
                     id="below-previous"),
    ],
)
def test_compact_errors(ops: list[Op], compact_to: int, error: type[Exception] | None) -> None:
    s = MVCCStore()
    run(s, ops)
    if error is None:
        s.compact(compact_to)
        assert s.compact_revision == compact_to
    else:
        with pytest.raises(error):
            s.compact(compact_to)


def test_compaction_drops_history() -> None:
    s = MVCCStore()
    assert s.compact_revision == -1
    run(s, [
        ("put", b"a", b"1"),  # 2
        ("put", b"a", b"2"),  # 3
        ("put", b"gone", b"x"),  # 4
        ("del", b"gone"),  # 5
        ("put", b"tomb-at-c", b"y"),  # 6
        ("del", b"tomb-at-c"),  # 7
        ("put", b"a", b"3"),  # 8
    ])
    before = state(s, 7)
    s.compact(7)
    assert state(s, 7) == before == {b"a": (2, 3, 2, b"2", 0)}
    # only the live key's history survives; the deleted keys are gone from the index
    assert sorted(s._index) == [b"a"]
    assert s._index[b"a"].revs == [3, 8]
    assert state(s) == {b"a": (2, 8, 3, b"3", 0)}
    with pytest.raises(CompactedError):
        s.range(b"a", revision=6)
    # compact again at the head: only the newest version is left
    s.compact(8)
    assert s._index[b"a"].revs == [8]
    assert state(s) == {b"a": (2, 8, 3, b"3", 0)}
    # writes continue normally after compaction
    s.put(b"a", b"4")
    assert state(s)[b"a"] == (2, 9, 4, b"4", 0)


# ---------------------------------------------------------------------------- write txn


def test_txn_sees_own_writes_and_events() -> None:
    s = MVCCStore()
    s.put(b"a", b"1")  # rev 2
    with s.txn() as t:
        assert t.revision == 3
        assert t.range(b"a").revision == 2
        prev = t.put(b"a", b"2")
        assert prev == KeyValue(b"a", 2, 2, 1, b"1")
        assert [kv.value for kv in t.range(b"a").kvs] == [b"2"]
        assert t.range(b"a").revision == 3
        assert t.range(b"a", revision=2).kvs[0].value == b"1"
        # outside readers do not see the open txn
        assert s.range(b"a").kvs[0].value == b"1"
        assert s.range(b"\0", b"\0").kvs[0].value == b"1"
        t.put(b"b", b"x")
        deleted = t.delete_range(b"a", b"\0")
        assert [kv.key for kv in deleted] == [b"a", b"b"]
        assert t.range(b"\0", b"\0").count == 0
    assert s.revision == 3
    assert t.events == [
        Event(EventType.PUT, KeyValue(b"a", 2, 3, 2, b"2"), KeyValue(b"a", 2, 2, 1, b"1")),
        Event(EventType.PUT, KeyValue(b"b", 3, 3, 1, b"x"), None),
        Event(EventType.DELETE, KeyValue(b"a", 0, 3, 0), KeyValue(b"a", 2, 3, 2, b"2")),
        Event(EventType.DELETE, KeyValue(b"b", 0, 3, 0), KeyValue(b"b", 3, 3, 1, b"x")),
    ]
    assert all(ev.revision == 3 for ev in t.events)
    assert state(s) == {}
    assert state(s, 2) == {b"a": (2, 2, 1, b"1", 0)}


@pytest.mark.parametrize(
    "sub",
    [
        pytest.param([("put", b"new", b"1")], id="create"),
        pytest.param([("put", b"a", b"2")], id="update"),
        pytest.param([("del", b"a")], id="delete"),
        pytest.param([("del", b"a"), ("put", b"a", b"3")], id="delete-recreate"),
        pytest.param([("put", b"n", b"1"), ("del", b"n"), ("put", b"n", b"2")], id="churn-new"),
        pytest.param([("del", b"\0", b"\0"), ("put", b"z", b"")], id="delete-all"),
    ],
)
def test_txn_abort_reverts(sub: list[Op]) -> None:
    s = MVCCStore()
    run(s, [("put", b"a", b"1"), ("put", b"b", b"1")])
    h0, st0, snap0 = s.hash(), state(s), s.snapshot()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with s.txn() as t:
            for op in sub:
                if op[0] == "put":
                    t.put(op[1], op[2])
                else:
                    t.delete_range(op[1], op[2] if len(op) > 2 else b"")
            raise Boom()
    assert s.hash() == h0 == s.full_hash()
    assert state(s) == st0
    assert s.snapshot() == snap0
    assert s.events_since(1, b"\0", b"\0") == MVCCStore.restore(snap0).events_since(1, b"\0", b"\0")
    s.put(b"c", b"1")  # the store is usable again
    assert s.revision == 4


def test_only_one_write_txn() -> None:
    s = MVCCStore()
    t = s.txn()
    with pytest.raises(RuntimeError):
        s.txn()
    with pytest.raises(RuntimeError):
        s.compact(1)
    t.end()
    with pytest.raises(RuntimeError):
        t.put(b"a", b"")
    s.txn().end()


def test_put_and_delete_results() -> None:
    s = MVCCStore()
    r = s.put(b"a", b"1", 5)
    assert (r.revision, r.prev_kv) == (2, None)
    r = s.put(b"a", b"2")
    assert r.prev_kv == KeyValue(b"a", 2, 2, 1, b"1", 5)
    d = s.delete_range(b"x")
    assert (d.revision, d.deleted, d.prev_kvs, d.events) == (3, 0, [], [])
    d = s.delete_range(b"a")
    assert (d.revision, d.deleted) == (4, 1)
    assert d.prev_kvs == [KeyValue(b"a", 2, 3, 2, b"2", 0)]
    assert d.events[0].type == EventType.DELETE


# ---------------------------------------------------------------------------- watch history


def _watch_store() -> MVCCStore:
    s = MVCCStore()
    run(s, [
        ("put", b"/a/1", b"x"),  # 2
        ("put", b"/b/1", b"y"),  # 3
        ("txn", [("put", b"/a/2", b"z"), ("put", b"/a/1", b"x2")]),  # 4
        ("del", b"/a/", b"/a0"),  # 5
        ("put", b"/a/1", b"again"),  # 6
    ])
    return s


@pytest.mark.parametrize(
    ("start", "key", "end", "expected"),
    [
        pytest.param(1, b"\0", b"\0", [(2, "PUT", b"/a/1"), (3, "PUT", b"/b/1"), (4, "PUT", b"/a/2"),
                                       (4, "PUT", b"/a/1"), (5, "DELETE", b"/a/1"),
                                       (5, "DELETE", b"/a/2"), (6, "PUT", b"/a/1")], id="all"),
        pytest.param(4, b"/a/1", b"", [(4, "PUT", b"/a/1"), (5, "DELETE", b"/a/1"),
                                       (6, "PUT", b"/a/1")], id="single-key"),
        pytest.param(3, b"/b/", b"/b0", [(3, "PUT", b"/b/1")], id="prefix"),
        pytest.param(5, b"/a/", b"\0", [(5, "DELETE", b"/a/1"), (5, "DELETE", b"/a/2"),
                                        (6, "PUT", b"/a/1")], id="from-key"),
        pytest.param(7, b"\0", b"\0", [], id="next-revision-empty"),
        pytest.param(99, b"\0", b"\0", [], id="future-empty"),
        pytest.param(0, b"\0", b"\0", [], id="zero-is-now"),
    ],
)
def test_events_since(start: int, key: bytes, end: bytes, expected: list[tuple[int, str, bytes]]) -> None:
    s = _watch_store()
    got = [(rev, ev.type.name, ev.kv.key) for rev, ev in s.events_since(start, key, end)]
    assert all(rev == ev.revision for rev, ev in s.events_since(start, key, end))
    assert got == expected


def test_events_prev_kv() -> None:
    s = _watch_store()
    evs = [ev for _, ev in s.events_since(4, b"/a/1")]
    assert evs[0].prev_kv == KeyValue(b"/a/1", 2, 2, 1, b"x")
    assert evs[1].prev_kv == KeyValue(b"/a/1", 2, 4, 2, b"x2")
    assert evs[1].kv == KeyValue(b"/a/1", 0, 5, 0)
    assert evs[2].prev_kv is None


@pytest.mark.parametrize(
    ("compact", "start", "ok"),
    [
        pytest.param(4, 3, False, id="below-compaction"),
        pytest.param(4, 1, False, id="far-below"),
        pytest.param(4, 4, True, id="at-compaction"),
        pytest.param(5, 5, True, id="tombstones-at-compaction-kept"),
        pytest.param(6, 7, True, id="after-head-compaction"),
    ],
)
def test_events_since_after_compaction(compact: int, start: int, ok: bool) -> None:
    s = _watch_store()
    full = _watch_store().events_since(start, b"\0", b"\0")
    s.compact(compact)
    if ok:
        assert s.events_since(start, b"\0", b"\0") == full
    else:
        with pytest.raises(CompactedError):
            s.events_since(start, b"\0", b"\0")


# ---------------------------------------------------------------------------- snapshot / hash


@pytest.mark.parametrize(
    ("seed", "compact"),
    [
        pytest.param(1, False, id="no-compaction"),
        pytest.param(2, True, id="compacted"),
        pytest.param(3, True, id="compacted-other"),
    ],
)
def test_snapshot_round_trip(seed: int, compact: bool) -> None:
    rng = random.Random(seed)
    s = MVCCStore()
    run(s, _random_ops(rng, 120))
    if compact:
        s.compact(s.revision // 2)
    s.consistent_index = 4242
    r = MVCCStore.restore(s.snapshot())
    assert r.hash() == s.hash() == s.full_hash()
    assert (r.revision, r.compact_revision, r.consistent_index) == (
        s.revision, s.compact_revision, 4242)
    lo = max(s.compact_revision, 1)
    for rev in range(lo, s.revision + 1):
        assert state(r, rev) == state(s, rev)
    assert r.events_since(lo, b"\0", b"\0") == s.events_since(lo, b"\0", b"\0")
    assert r.snapshot() == s.snapshot()
    # both continue identically
    more = _random_ops(random.Random(seed + 100), 40)
    run(s, more)
    run(r, more)
    assert r.hash() == s.hash()
    r.compact(r.revision)
    s.compact(s.revision)
    assert r.hash() == s.hash() == s.full_hash()


def test_hash_differs_on_state() -> None:
    a, b = MVCCStore(), MVCCStore()
    a.put(b"k", b"1")
    b.put(b"k", b"2")
    assert a.hash() != b.hash()
    b2 = MVCCStore()
    b2.put(b"k", b"1")
    assert a.hash() == b2.hash()


# ---------------------------------------------------------------------------- performance


def test_performance_100k_keys() -> None:
    s = MVCCStore()
    t0 = time.perf_counter()
    for i in range(100_000):
        s.put(b"/registry/pods/ns%03d/p%06d" % (i % 100, i), b"v")
    put_time = time.perf_counter() - t0
    assert put_time < 10.0
    t0 = time.perf_counter()
    for _ in range(20):
        rr = s.range(b"/registry/pods/ns042/", b"/registry/pods/ns0420")
    range_time = (time.perf_counter() - t0) / 20
    assert rr.count == len(rr.kvs) == 1000
    assert range_time < 0.05
    t0 = time.perf_counter()
    for i in range(1000):
        s.put(b"/registry/pods/ns%03d/p%06d" % (i % 100, i), b"w")
        s.get(b"/registry/pods/ns%03d/p%06d" % (i % 100, i))
    assert (time.perf_counter() - t0) / 1000 < 0.001
    assert s.range(b"/registry/", b"/registry0", count_only=True).count == 100_000
