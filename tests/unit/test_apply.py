"""Unit tests of actors/etcd/apply.py: etcdserverpb requests -> responses, events, errors."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.etcd.apply import (
    ApplyResult,
    Applier,
    EtcdError,
    check_txn_request,
    is_txn_readonly,
)
from actors.etcd.mvcc import EventType
from protos.etcdserverpb import internal_pb2, rpc_pb2

CLUSTER, MEMBER = 0xC1, 0xAB
C = rpc_pb2.Compare

COMPACTED = EtcdError("OUT_OF_RANGE", "etcdserver: mvcc: required revision has been compacted")
FUTURE = EtcdError("OUT_OF_RANGE", "etcdserver: mvcc: required revision is a future revision")
EMPTY_KEY = EtcdError("INVALID_ARGUMENT", "etcdserver: key is not provided")
KEY_NOT_FOUND = EtcdError("INVALID_ARGUMENT", "etcdserver: key not found")
DUP = EtcdError("INVALID_ARGUMENT", "etcdserver: duplicate key given in txn request")
TOO_MANY = EtcdError("INVALID_ARGUMENT", "etcdserver: too many operations in txn request")
LEASE_NOT_FOUND = EtcdError("NOT_FOUND", "etcdserver: requested lease not found")


# ---------------------------------------------------------------------------- builders


def put(key: bytes, value: bytes = b"", **kw: Any) -> rpc_pb2.PutRequest:
    return rpc_pb2.PutRequest(key=key, value=value, **kw)


def delete(key: bytes, range_end: bytes = b"", **kw: Any) -> rpc_pb2.DeleteRangeRequest:
    return rpc_pb2.DeleteRangeRequest(key=key, range_end=range_end, **kw)


def rng(key: bytes, range_end: bytes = b"", **kw: Any) -> rpc_pb2.RangeRequest:
    return rpc_pb2.RangeRequest(key=key, range_end=range_end, **kw)


def op(r: Any) -> rpc_pb2.RequestOp:
    if isinstance(r, rpc_pb2.PutRequest):
        return rpc_pb2.RequestOp(request_put=r)
    if isinstance(r, rpc_pb2.DeleteRangeRequest):
        return rpc_pb2.RequestOp(request_delete_range=r)
    if isinstance(r, rpc_pb2.RangeRequest):
        return rpc_pb2.RequestOp(request_range=r)
    if isinstance(r, rpc_pb2.TxnRequest):
        return rpc_pb2.RequestOp(request_txn=r)
    raise TypeError(r)


def txn(compare: list[rpc_pb2.Compare] = (), success: list[Any] = (),  # type: ignore[assignment]
        failure: list[Any] = ()) -> rpc_pb2.TxnRequest:  # type: ignore[assignment]
    return rpc_pb2.TxnRequest(compare=list(compare), success=[op(x) for x in success],
                              failure=[op(x) for x in failure])


def cmp(key: bytes, target: str, result: str, value: Any, range_end: bytes = b"") -> rpc_pb2.Compare:
    c = rpc_pb2.Compare(key=key, range_end=range_end, target=getattr(C, target),
                        result=getattr(C, result))
    field = {"VALUE": "value", "VERSION": "version", "CREATE": "create_revision",
             "MOD": "mod_revision", "LEASE": "lease"}[target]
    setattr(c, field, value)
    return c


def internal(r: Any) -> internal_pb2.InternalRequest:
    if isinstance(r, rpc_pb2.PutRequest):
        return internal_pb2.InternalRequest(put=r)
    if isinstance(r, rpc_pb2.DeleteRangeRequest):
        return internal_pb2.InternalRequest(delete_range=r)
    if isinstance(r, rpc_pb2.TxnRequest):
        return internal_pb2.InternalRequest(txn=r)
    if isinstance(r, rpc_pb2.CompactionRequest):
        return internal_pb2.InternalRequest(compaction=r)
    if isinstance(r, rpc_pb2.LeaseGrantRequest):
        return internal_pb2.InternalRequest(lease_grant=r)
    if isinstance(r, rpc_pb2.LeaseRevokeRequest):
        return internal_pb2.InternalRequest(lease_revoke=r)
    raise TypeError(r)


class Harness:
    def __init__(self, clock: float | None = None) -> None:
        self.now = clock
        self.a = Applier.new(cluster_id=CLUSTER, member_id=MEMBER,
                             clock=(lambda: self.now or 0.0) if clock is not None else None)
        self.index = 0

    def apply(self, r: Any, term: int = 3) -> ApplyResult:
        self.index += 1
        return self.a.apply(self.index, term, internal(r))

    def ok(self, r: Any) -> Any:
        res = self.apply(r)
        assert res.error is None, res.error
        return res.response

    def state(self) -> dict[bytes, tuple[bytes, int, int]]:
        resp = self.a.range(rng(b"\0", b"\0"))
        return {kv.key: (kv.value, kv.version, kv.lease) for kv in resp.kvs}


def seeded() -> Harness:
    h = Harness()
    h.ok(put(b"a", b"1"))  # rev 2
    h.ok(put(b"b", b"2"))  # rev 3
    h.ok(put(b"c", b"3"))  # rev 4
    h.ok(put(b"a", b"10"))  # rev 5: a version 2
    return h


# ---------------------------------------------------------------------------- put / delete


@pytest.mark.parametrize(
    ("req", "revision", "prev", "state_a", "error"),
    [
        pytest.param(put(b"a", b"x"), 6, None, (b"x", 3, 0), None, id="update"),
        pytest.param(put(b"a", b"x", prev_kv=True), 6, (b"a", b"10", 2), (b"x", 3, 0), None,
                     id="prev-kv"),
        pytest.param(put(b"new", b"x", prev_kv=True), 6, None, (b"10", 2, 0), None,
                     id="prev-kv-absent"),
        pytest.param(put(b"a", ignore_value=True), 6, None, (b"10", 3, 0), None,
                     id="ignore-value"),
        pytest.param(put(b"zz", ignore_value=True), 5, None, (b"10", 2, 0), KEY_NOT_FOUND,
                     id="ignore-value-missing"),
        pytest.param(put(b"zz", ignore_lease=True), 5, None, (b"10", 2, 0), KEY_NOT_FOUND,
                     id="ignore-lease-missing"),
        pytest.param(put(b"", b"x"), 5, None, (b"10", 2, 0), EMPTY_KEY, id="empty-key"),
        pytest.param(put(b"a", b"x", ignore_value=True), 5, None, (b"10", 2, 0),
                     EtcdError("INVALID_ARGUMENT", "etcdserver: value is provided"),
                     id="value-provided"),
        pytest.param(put(b"a", lease=5, ignore_lease=True), 5, None, (b"10", 2, 0),
                     EtcdError("INVALID_ARGUMENT", "etcdserver: lease is provided"),
                     id="lease-provided"),
        pytest.param(put(b"a", b"x", lease=999), 5, None, (b"10", 2, 0), LEASE_NOT_FOUND,
                     id="lease-not-found"),
    ],
)
def test_put(req: rpc_pb2.PutRequest, revision: int, prev: tuple[bytes, bytes, int] | None,
             state_a: tuple[bytes, int, int], error: EtcdError | None) -> None:
    h = seeded()
    res = h.apply(req, term=7)
    assert res.error == error
    assert h.a.store.revision == revision
    assert h.state()[b"a"] == state_a
    if error is not None:
        assert res.response is None and res.events == []
        return
    resp = res.response
    assert isinstance(resp, rpc_pb2.PutResponse)
    assert (resp.header.cluster_id, resp.header.member_id, resp.header.revision,
            resp.header.raft_term) == (CLUSTER, MEMBER, revision, 7)
    if prev is None:
        assert not resp.HasField("prev_kv")
    else:
        assert (resp.prev_kv.key, resp.prev_kv.value, resp.prev_kv.version) == prev
    assert [(rev, ev.type) for rev, ev in res.events] == [(revision, EventType.PUT)]


@pytest.mark.parametrize(
    ("req", "deleted", "revision", "left", "error"),
    [
        pytest.param(delete(b"a"), 1, 6, [b"b", b"c"], None, id="single"),
        pytest.param(delete(b"zz"), 0, 5, [b"a", b"b", b"c"], None, id="missing-no-bump"),
        pytest.param(delete(b"a", b"c"), 2, 6, [b"c"], None, id="interval"),
        pytest.param(delete(b"b", b"\0"), 2, 6, [b"a"], None, id="from-key"),
        pytest.param(delete(b"\0", b"\0"), 3, 6, [], None, id="all"),
        pytest.param(delete(b""), 0, 5, [b"a", b"b", b"c"], EMPTY_KEY, id="empty-key"),
    ],
)
def test_delete_range(req: rpc_pb2.DeleteRangeRequest, deleted: int, revision: int,
                      left: list[bytes], error: EtcdError | None) -> None:
    h = seeded()
    req.prev_kv = True
    res = h.apply(req)
    assert res.error == error
    assert sorted(h.state()) == left
    assert h.a.store.revision == revision
    if error is None:
        resp = res.response
        assert isinstance(resp, rpc_pb2.DeleteRangeResponse)
        assert resp.deleted == deleted == len(resp.prev_kvs) == len(res.events)
        assert resp.header.revision == revision
        assert all(ev.type == EventType.DELETE and ev.prev_kv is not None for _, ev in res.events)


# ---------------------------------------------------------------------------- txn compares


@pytest.mark.parametrize(
    ("compare", "succeeded"),
    [
        pytest.param(cmp(b"a", "VALUE", "EQUAL", b"10"), True, id="value-eq"),
        pytest.param(cmp(b"a", "VALUE", "EQUAL", b"1"), False, id="value-eq-false"),
        pytest.param(cmp(b"a", "VALUE", "GREATER", b"0"), True, id="value-gt"),
        pytest.param(cmp(b"a", "VALUE", "LESS", b"2"), True, id="value-lt-bytewise"),
        pytest.param(cmp(b"a", "VALUE", "NOT_EQUAL", b"10"), False, id="value-ne"),
        pytest.param(cmp(b"zz", "VALUE", "NOT_EQUAL", b"x"), False, id="value-missing-key-fails"),
        pytest.param(cmp(b"a", "VERSION", "EQUAL", 2), True, id="version-eq"),
        pytest.param(cmp(b"zz", "VERSION", "EQUAL", 0), True, id="version-missing-is-0"),
        pytest.param(cmp(b"zz", "CREATE", "EQUAL", 0), True, id="create-missing-is-0"),
        pytest.param(cmp(b"a", "CREATE", "EQUAL", 2), True, id="create-eq"),
        pytest.param(cmp(b"a", "MOD", "GREATER", 4), True, id="mod-gt"),
        pytest.param(cmp(b"a", "MOD", "LESS", 5), False, id="mod-lt-false"),
        pytest.param(cmp(b"a", "LEASE", "EQUAL", 0), True, id="lease-eq"),
        pytest.param(cmp(b"a", "MOD", "GREATER", 1, range_end=b"d"), True, id="range-all-match"),
        pytest.param(cmp(b"a", "MOD", "GREATER", 3, range_end=b"d"), False, id="range-one-fails"),
        pytest.param(cmp(b"b", "VERSION", "EQUAL", 1, range_end=b"\0"), True, id="range-from-key"),
        pytest.param(cmp(b"x", "VERSION", "EQUAL", 0, range_end=b"z"), True, id="empty-range"),
        pytest.param(cmp(b"x", "VALUE", "EQUAL", b"", range_end=b"z"), False,
                     id="empty-range-value-fails"),
    ],
)
def test_txn_compare(compare: rpc_pb2.Compare, succeeded: bool) -> None:
    h = seeded()
    resp = h.ok(txn([compare], success=[put(b"then", b"1")], failure=[put(b"else", b"1")]))
    assert resp.succeeded is succeeded
    assert (b"then" in h.state(), b"else" in h.state()) == (succeeded, not succeeded)


def test_compare_union_mismatch_compares_zero() -> None:
    h = seeded()
    c = rpc_pb2.Compare(key=b"a", target=C.VERSION, result=C.GREATER, mod_revision=100)
    assert h.ok(txn([c])).succeeded  # version 2 > 0 (mod_revision is ignored)
    assert h.ok(txn([cmp(b"a", "VALUE", "EQUAL", b"10"), cmp(b"b", "VALUE", "EQUAL", b"x")],
                    )).succeeded is False


# ---------------------------------------------------------------------------- txn execution


def test_txn_responses_and_headers() -> None:
    h = seeded()  # rev 5
    res = h.apply(txn(
        [cmp(b"a", "VERSION", "EQUAL", 2)],
        success=[
            rng(b"a"),
            put(b"a", b"11", prev_kv=True),
            rng(b"a"),
            delete(b"c", prev_kv=True),
            delete(b"nope"),
            txn([cmp(b"b", "VALUE", "EQUAL", b"2")], success=[put(b"n", b"1")],
                failure=[put(b"m", b"1")]),
            rng(b"\0", b"\0", count_only=True),
        ],
    ), term=9)
    resp = res.response
    assert isinstance(resp, rpc_pb2.TxnResponse)
    assert resp.succeeded
    assert (resp.header.revision, resp.header.raft_term, resp.header.member_id) == (6, 9, MEMBER)
    r = resp.responses
    assert [x.WhichOneof("response") for x in r] == [
        "response_range", "response_put", "response_range", "response_delete_range",
        "response_delete_range", "response_txn", "response_range"]
    # inner headers carry only the revision: previous one before the first write, new after
    assert r[0].response_range.header == rpc_pb2.ResponseHeader(revision=5)
    assert r[0].response_range.kvs[0].value == b"10"
    assert r[1].response_put.header == rpc_pb2.ResponseHeader(revision=6)
    assert r[1].response_put.prev_kv.value == b"10"
    assert r[2].response_range.kvs[0].value == b"11"  # sees the txn's own write
    assert r[2].response_range.header.revision == 6
    assert r[3].response_delete_range.deleted == 1
    assert r[3].response_delete_range.prev_kvs[0].value == b"3"
    assert r[4].response_delete_range.deleted == 0
    assert r[4].response_delete_range.header.revision == 6
    nested = r[5].response_txn
    assert nested.succeeded and nested.HasField("header")
    assert nested.header == rpc_pb2.ResponseHeader()
    assert nested.responses[0].response_put.header.revision == 6
    assert r[6].response_range.count == 3  # a, b, n (c deleted)
    # one revision for everything, events in op order
    assert h.a.store.revision == 6
    assert [(rev, ev.type.name, ev.kv.key) for rev, ev in res.events] == [
        (6, "PUT", b"a"), (6, "DELETE", b"c"), (6, "PUT", b"n")]
    assert h.state() == {b"a": (b"11", 3, 0), b"b": (b"2", 1, 0), b"n": (b"1", 1, 0)}


def test_nested_compares_see_state_before_txn() -> None:
    h = seeded()
    # the outer success writes b=changed, but the nested compare still sees b=2
    resp = h.ok(txn([], success=[
        put(b"b", b"changed"),
        txn([cmp(b"b", "VALUE", "EQUAL", b"2")], success=[put(b"saw-old", b"")],
            failure=[put(b"saw-new", b"")]),
    ]))
    assert resp.responses[1].response_txn.succeeded
    assert b"saw-old" in h.state()


@pytest.mark.parametrize(
    ("req", "revision_after"),
    [
        pytest.param(txn(), 5, id="empty"),
        pytest.param(txn([cmp(b"a", "VERSION", "EQUAL", 2)], success=[rng(b"a")]), 5,
                     id="reads-only"),
        pytest.param(txn(success=[delete(b"nope")]), 5, id="noop-delete"),
        pytest.param(txn(failure=[put(b"x")]), 5, id="write-in-untaken-branch"),
        pytest.param(txn(success=[put(b"x"), put(b"y"), delete(b"a")]), 6, id="three-writes"),
    ],
)
def test_txn_revision_bump(req: rpc_pb2.TxnRequest, revision_after: int) -> None:
    h = seeded()
    resp = h.ok(req)
    assert h.a.store.revision == resp.header.revision == revision_after


@pytest.mark.parametrize(
    ("req", "error"),
    [
        pytest.param(txn(success=[put(b"k"), put(b"k")]), DUP, id="put-twice"),
        pytest.param(txn(success=[delete(b"k"), put(b"k")]), DUP, id="delete-then-put"),
        pytest.param(txn(success=[put(b"k"), delete(b"a", b"z")]), DUP, id="put-in-deleted-range"),
        pytest.param(txn(success=[put(b"k"), txn(success=[put(b"k")])]), DUP, id="nested-put"),
        pytest.param(txn(success=[delete(b"k"), txn(success=[put(b"k")])]), DUP,
                     id="nested-put-under-delete"),
        pytest.param(txn(success=[put(b"k"), txn(success=[delete(b"k")])]), DUP,
                     id="put-over-nested-delete"),
        pytest.param(txn(success=[txn(success=[put(b"k")]), txn(failure=[put(b"k")])]), DUP,
                     id="two-nested-txns"),
        pytest.param(txn(success=[txn(success=[put(b"k")], failure=[put(b"k")])]), None,
                     id="then-else-same-key-ok"),
        pytest.param(txn(success=[put(b"k")], failure=[put(b"k")]), None, id="branches-ok"),
        pytest.param(txn(success=[delete(b"k"), delete(b"a", b"z")]), None,
                     id="overlapping-deletes-ok"),
        pytest.param(txn(success=[put(b"k"), delete(b"a", b"\0")]), None,
                     id="from-key-delete-not-checked-as-etcd"),
        pytest.param(txn(success=[put(b"k")] * 129), TOO_MANY, id="too-many-ops"),
        pytest.param(txn(compare=[cmp(b"a", "VERSION", "EQUAL", 1)] * 129), TOO_MANY,
                     id="too-many-compares"),
        pytest.param(txn(success=[put(b"k")] * 128), DUP, id="128-ops-ok-then-dup"),
        pytest.param(txn(compare=[cmp(b"", "VERSION", "EQUAL", 1)]), EMPTY_KEY,
                     id="empty-compare-key"),
        pytest.param(txn(success=[rng(b"")]), EMPTY_KEY, id="empty-range-key"),
        pytest.param(rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp()]), KEY_NOT_FOUND,
                     id="empty-op"),
    ],
)
def test_txn_validation(req: rpc_pb2.TxnRequest, error: EtcdError | None) -> None:
    if error is None:
        check_txn_request(req)
    else:
        with pytest.raises(EtcdError) as ei:
            check_txn_request(req)
        assert ei.value == error
    h = seeded()
    before = h.a.store.hash()
    res = h.apply(req)
    assert res.error == error
    if error is not None:
        assert h.a.store.hash() == before
        assert h.a.consistent_index == h.index  # the entry is consumed anyway


@pytest.mark.parametrize(
    ("req", "error"),
    [
        pytest.param(txn(success=[put(b"x"), rng(b"a", revision=99)]), FUTURE, id="future-range"),
        pytest.param(txn(success=[put(b"x"), rng(b"a", revision=2)]), COMPACTED,
                     id="compacted-range"),
        pytest.param(txn(success=[put(b"x"), put(b"zz", ignore_value=True)]), KEY_NOT_FOUND,
                     id="ignore-value-missing"),
        pytest.param(txn(success=[put(b"x"), put(b"y", lease=77)]), LEASE_NOT_FOUND,
                     id="lease-missing"),
        pytest.param(txn(success=[put(b"x"), txn(success=[put(b"y", lease=77)])]),
                     LEASE_NOT_FOUND, id="nested-lease-missing"),
        pytest.param(txn(failure=[put(b"y", lease=77)]), None, id="untaken-branch-not-checked"),
    ],
)
def test_txn_checks_leave_state_untouched(req: rpc_pb2.TxnRequest,
                                          error: EtcdError | None) -> None:
    h = seeded()
    h.ok(rpc_pb2.CompactionRequest(revision=3))
    before = h.a.store.hash()
    res = h.apply(req)
    assert res.error == error
    if error is not None:
        assert h.a.store.hash() == before and res.events == []


# ---------------------------------------------------------------------------- compaction / range


@pytest.mark.parametrize(
    ("revision", "error"),
    [
        pytest.param(3, None, id="ok"),
        pytest.param(5, None, id="at-head"),
        pytest.param(6, FUTURE, id="future"),
    ],
)
def test_compaction(revision: int, error: EtcdError | None) -> None:
    h = seeded()
    res = h.apply(rpc_pb2.CompactionRequest(revision=revision))
    assert res.error == error
    if error is None:
        assert isinstance(res.response, rpc_pb2.CompactionResponse)
        assert res.response.header.revision == 5
        again = h.apply(rpc_pb2.CompactionRequest(revision=revision))
        assert again.error == COMPACTED


@pytest.mark.parametrize(
    ("req", "keys", "count", "more", "error"),
    [
        pytest.param(rng(b"a"), [b"a"], 1, False, None, id="single"),
        pytest.param(rng(b"a", b"c"), [b"a", b"b"], 2, False, None, id="interval"),
        pytest.param(rng(b"\0", b"\0", limit=2), [b"a", b"b"], 3, True, None, id="limit"),
        pytest.param(rng(b"\0", b"\0", sort_target=rpc_pb2.RangeRequest.MOD,
                         sort_order=rpc_pb2.RangeRequest.DESCEND), [b"a", b"c", b"b"], 3, False,
                     None, id="sort-mod-desc"),
        pytest.param(rng(b"\0", b"\0", count_only=True), [], 3, False, None, id="count-only"),
        pytest.param(rng(b"a", revision=4), [b"a"], 1, False, None, id="historic"),
        pytest.param(rng(b"a", revision=2), [], 0, False, COMPACTED, id="compacted"),
        pytest.param(rng(b"a", revision=6), [], 0, False, FUTURE, id="future"),
        pytest.param(rng(b""), [], 0, False, EMPTY_KEY, id="empty-key"),
        pytest.param(rng(b"a", sort_order=7), [], 0, False,
                     EtcdError("INVALID_ARGUMENT", "etcdserver: invalid sort option"),
                     id="bad-sort-order"),
    ],
)
def test_local_range(req: rpc_pb2.RangeRequest, keys: list[bytes], count: int, more: bool,
                     error: EtcdError | None) -> None:
    h = seeded()
    h.ok(rpc_pb2.CompactionRequest(revision=3))
    if error is not None:
        with pytest.raises(EtcdError) as ei:
            h.a.range(req)
        assert ei.value == error
        return
    resp = h.a.range(req, raft_term=11)
    assert [kv.key for kv in resp.kvs] == keys
    assert (resp.count, resp.more) == (count, more)
    assert (resp.header.revision, resp.header.raft_term, resp.header.cluster_id) == (5, 11, CLUSTER)


def test_keys_only_and_historic_values() -> None:
    h = seeded()
    resp = h.a.range(rng(b"a", keys_only=True))
    assert resp.kvs[0].value == b"" and resp.kvs[0].version == 2
    old = h.a.range(rng(b"a", revision=4)).kvs[0]
    assert (old.value, old.create_revision, old.mod_revision, old.version) == (b"1", 2, 2, 1)


def test_txn_read() -> None:
    h = seeded()
    rt = txn([cmp(b"a", "VALUE", "EQUAL", b"10")], success=[rng(b"a")], failure=[rng(b"b")])
    assert is_txn_readonly(rt)
    resp = h.a.txn_read(rt)
    assert resp.succeeded and resp.responses[0].response_range.kvs[0].value == b"10"
    assert resp.header.revision == 5 and h.a.store.revision == 5
    assert not is_txn_readonly(txn(failure=[txn(success=[put(b"x")])]))
    with pytest.raises(ValueError):
        h.a.txn_read(txn(success=[delete(b"a")]))


# ---------------------------------------------------------------------------- leases


def test_lease_grant_revoke_and_attachment() -> None:
    h = Harness(clock=100.0)
    g = h.ok(rpc_pb2.LeaseGrantRequest(ID=0, TTL=1))
    assert g.TTL == 2 and g.ID > 0  # raised to the minimum TTL
    lid = g.ID
    assert h.apply(rpc_pb2.LeaseGrantRequest(ID=lid, TTL=5)).error == EtcdError(
        "FAILED_PRECONDITION", "etcdserver: lease already exists")
    assert h.apply(rpc_pb2.LeaseGrantRequest(ID=9, TTL=9_000_000_001)).error == EtcdError(
        "OUT_OF_RANGE", "etcdserver: too large lease TTL")
    h.ok(put(b"k1", b"v", lease=lid))
    h.ok(put(b"k2", b"v", lease=lid))
    h.ok(put(b"k3", b"v", lease=lid))
    h.ok(put(b"k3", b"v2"))  # re-put without a lease detaches
    h.ok(put(b"k2", ignore_value=True, ignore_lease=True))  # keeps the lease
    h.ok(txn(success=[delete(b"k1")]))
    h.ok(put(b"k1", b"again", lease=lid))
    assert h.a.lessor.lookup(lid).keys == {b"k1", b"k2"}  # type: ignore[union-attr]
    rev = h.a.store.revision
    res = h.apply(rpc_pb2.LeaseRevokeRequest(ID=lid))
    assert res.error is None
    assert isinstance(res.response, rpc_pb2.LeaseRevokeResponse)
    assert res.response.header.revision == rev + 1
    assert [(r, ev.type.name, ev.kv.key) for r, ev in res.events] == [
        (rev + 1, "DELETE", b"k1"), (rev + 1, "DELETE", b"k2")]
    assert sorted(h.state()) == [b"k3"]
    assert h.apply(rpc_pb2.LeaseRevokeRequest(ID=lid)).error == LEASE_NOT_FOUND
    # a lease without keys: revoking does not bump the revision
    empty = h.ok(rpc_pb2.LeaseGrantRequest(ID=55, TTL=10))
    assert empty.ID == 55
    rev = h.a.store.revision
    assert h.ok(rpc_pb2.LeaseRevokeRequest(ID=55)).header.revision == rev


def test_lease_ids_are_deterministic_across_members() -> None:
    a = Applier.new(cluster_id=CLUSTER, member_id=1)
    b = Applier.new(cluster_id=CLUSTER, member_id=2)
    ids_a = [a.apply(i, 1, internal(rpc_pb2.LeaseGrantRequest(TTL=10))).response.ID  # type: ignore[union-attr]
             for i in range(1, 4)]
    ids_b = [b.apply(i, 1, internal(rpc_pb2.LeaseGrantRequest(TTL=10))).response.ID  # type: ignore[union-attr]
             for i in range(1, 4)]
    assert ids_a == ids_b and len(set(ids_a)) == 3


def test_lease_leader_queries() -> None:
    h = Harness(clock=100.0)
    h.ok(rpc_pb2.LeaseGrantRequest(ID=7, TTL=30))
    h.ok(put(b"b", lease=7))
    h.ok(put(b"a", lease=7))
    not_leader = EtcdError("FAILED_PRECONDITION", "etcdserver: not leader")
    with pytest.raises(EtcdError) as ei:
        h.a.lease_time_to_live(rpc_pb2.LeaseTimeToLiveRequest(ID=7), 100.0)
    assert ei.value == not_leader
    with pytest.raises(EtcdError):
        h.a.lease_keep_alive(rpc_pb2.LeaseKeepAliveRequest(ID=7), 100.0)
    h.a.lessor.promote(100.0)
    h.ok(rpc_pb2.LeaseGrantRequest(ID=8, TTL=10))  # granted on the primary at clock 100
    assert h.a.lessor.lookup(8).expiry == 110.0  # type: ignore[union-attr]
    ttl = h.a.lease_time_to_live(rpc_pb2.LeaseTimeToLiveRequest(ID=7, keys=True), 110.5)
    assert (ttl.ID, ttl.TTL, ttl.grantedTTL, list(ttl.keys)) == (7, 19, 30, [b"a", b"b"])
    assert ttl.header.member_id == MEMBER
    missing = h.a.lease_time_to_live(rpc_pb2.LeaseTimeToLiveRequest(ID=99), 110.5)
    assert (missing.ID, missing.TTL) == (99, -1)
    ka = h.a.lease_keep_alive(rpc_pb2.LeaseKeepAliveRequest(ID=7), 120.0)
    assert (ka.ID, ka.TTL) == (7, 30)
    assert h.a.lease_keep_alive(rpc_pb2.LeaseKeepAliveRequest(ID=99), 120.0).TTL == 0
    assert h.a.lessor.expired(120.0) == [8]
    assert h.a.lease_keep_alive(rpc_pb2.LeaseKeepAliveRequest(ID=8), 120.0).TTL == 0  # expired
    assert [x.ID for x in h.a.lease_leases().leases] == [7, 8]


# ---------------------------------------------------------------------------- consistent index


def _random_requests(seed: int, n: int) -> list[Any]:
    r = random.Random(seed)
    keys = [b"/k/%d" % i for i in range(10)]
    out: list[Any] = [rpc_pb2.LeaseGrantRequest(ID=100, TTL=60)]
    for _ in range(n):
        x = r.random()
        k = r.choice(keys)
        if x < 0.4:
            out.append(put(k, b"v%d" % r.randrange(100), lease=r.choice([0, 100])))
        elif x < 0.55:
            out.append(delete(k, r.choice([b"", b"/k/5"])))
        elif x < 0.85:
            out.append(txn([cmp(k, "VERSION", r.choice(["GREATER", "EQUAL"]), 1)],
                           success=[put(k, b"t"), rng(b"/k/", b"/k0")],
                           failure=[delete(k), put(r.choice(keys) + b"x", b"f")]))
        elif x < 0.9:
            out.append(rpc_pb2.CompactionRequest(revision=r.randrange(1, 40)))
        elif x < 0.95:
            out.append(put(k, ignore_value=True))
        else:
            out.append(rpc_pb2.LeaseRevokeRequest(ID=100))
            out.append(rpc_pb2.LeaseGrantRequest(ID=100, TTL=60))
    return out


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(4)])
def test_members_converge_and_restart_from_snapshot(seed: int) -> None:
    reqs = [internal(x) for x in _random_requests(seed, 150)]
    a = Applier.new(cluster_id=CLUSTER, member_id=1)
    b = Applier.new(cluster_id=CLUSTER, member_id=2)
    ra = [a.apply(i + 1, 2, q) for i, q in enumerate(reqs)]
    # b takes a snapshot half way, "restarts" from it, and the log is replayed from the start
    cut = len(reqs) // 2
    for i, q in enumerate(reqs[:cut]):
        b.apply(i + 1, 2, q)
    snap = b.snapshot()
    b = Applier.restore(snap, cluster_id=CLUSTER, member_id=2)
    assert b.consistent_index == cut
    rb = [b.apply(i + 1, 2, q) for i, q in enumerate(reqs)]
    assert all(r.skipped for r in rb[:cut])
    assert not any(r.skipped for r in rb[cut:])
    assert a.store.hash() == b.store.hash() == b.store.full_hash() == a.store.full_hash()
    assert a.lessor.snapshot() == b.lessor.snapshot()
    assert a.consistent_index == b.consistent_index == len(reqs)
    for x, y in zip(ra[cut:], rb[cut:]):
        assert x.error == y.error
        assert [(r, e) for r, e in x.events] == [(r, e) for r, e in y.events]
        if x.response is not None:
            assert y.response is not None
            x.response.header.member_id = y.response.header.member_id = 0
            assert x.response == y.response
    # the lease's keys match the store's lease fields
    for kv in a.store.live_items():
        assert a.lessor.lease_of(kv.key) == kv.lease


def test_apply_skips_and_noop() -> None:
    h = seeded()
    ci = h.a.consistent_index
    assert ci == 4
    res = h.a.apply(3, 1, internal(put(b"again")))
    assert res.skipped and res.response is None and b"again" not in h.state()
    res = h.a.apply(5, 1, internal_pb2.InternalRequest(id=1))  # no request set
    assert (res.response, res.error, res.skipped) == (None, None, False)
    assert h.a.consistent_index == 5
    h.a.consistent_index = 9  # a member records an empty (leader no-op) entry
    assert h.a.store.consistent_index == 9
    r = Applier.restore(h.a.snapshot(), cluster_id=CLUSTER, member_id=MEMBER)
    assert r.consistent_index == 9 and r.store.hash() == h.a.store.hash()
