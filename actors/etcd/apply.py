"""etcd's applier: committed requests -> MVCC/lease operations -> responses + watch events.

Pure (no I/O, no asyncio, no grpc server code): it works on the generated protobuf messages
only.  A member feeds it every committed raft entry in index order::

    res = applier.apply(entry.index, entry.term, InternalRequest.FromString(entry.data))
    res.response  # the etcdserverpb response (None when res.error is set or nothing ran)
    res.error     # EtcdError(code, message): gRPC status code name + etcd's exact message
    res.events    # [(revision, mvcc.Event)] for the watchers

Determinism is the whole point: every member applies the same entries to the same state and
must get the same store, leases and responses.  So every check that decides an outcome is
made here from the replicated state (never from a clock), errors leave the state untouched
(checks run before any write; the write transaction is aborted if anything escapes), and
``consistent_index`` (the last applied raft index) is stored in the MVCC store, travels with
its snapshot, and makes ``apply`` skip entries at or below it after a restart.

etcd semantics implemented (server/etcdserver/txn + api/v3rpc/key.go):

* Put: ``ignore_value``/``ignore_lease`` need an existing key ("etcdserver: key not found"),
  a non-zero lease must exist ("etcdserver: requested lease not found"), ``prev_kv``.
* DeleteRange with ``prev_kv``; deleting nothing does not bump the revision.
* Txn: compares (VALUE/VERSION/CREATE/MOD/LEASE x EQUAL/GREATER/LESS/NOT_EQUAL, with
  ``range_end``: every key in the range must satisfy it; a VALUE compare on no key fails, other
  targets compare against a zero KeyValue) evaluated - nested ones too - on the state before
  the txn; the chosen branch is then checked (range revisions, put preconditions) and executed
  in one MVCC write transaction, so the whole Txn is one revision.  Ranges inside a Txn see
  its earlier writes; inner response headers carry only ``revision`` (nested TxnResponse
  headers are empty), as etcd.  v3rpc's request validation (empty keys, too many ops,
  "duplicate key given in txn request" via etcd's put/delete interval rules, invalid sort
  options) is exposed as ``check_*`` functions for the gRPC layer and re-run here.
* Compaction, LeaseGrant (id 0 = the lessor picks one deterministically; TTL raised to the
  minimum), LeaseRevoke (deletes the lease's keys in one write transaction, sorted).
* Lease attachment mirrors every event: a PUT attaches the key to its lease (moving it off the
  previous one), a DELETE detaches it.

Local reads (``range``, read-only ``txn_read``) and leader-only lease queries
(``lease_time_to_live``, ``lease_keep_alive``, ``lease_leases``) are served from the current
state without raft.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import msgpack

from protos.etcdserverpb import internal_pb2, rpc_pb2
from protos.mvccpb import kv_pb2

from .lease import (
    DEFAULT_MIN_TTL,
    NO_LEASE,
    LeaseError,
    LeaseNotFoundError,
    Lessor,
    NotPrimaryError,
)
from .mvcc import CompactedError, Event, EventType, FutureRevError, KeyValue, MVCCStore, WriteTxn

__all__ = [
    "DEFAULT_MAX_TXN_OPS",
    "ApplyResult",
    "Applier",
    "EtcdError",
    "Response",
    "check_delete_request",
    "check_put_request",
    "check_range_request",
    "check_txn_request",
    "is_txn_readonly",
    "kv_to_pb",
]

DEFAULT_MAX_TXN_OPS: Final = 128
SNAPSHOT_VERSION: Final = 1

Response: TypeAlias = (
    rpc_pb2.PutResponse
    | rpc_pb2.DeleteRangeResponse
    | rpc_pb2.TxnResponse
    | rpc_pb2.CompactionResponse
    | rpc_pb2.LeaseGrantResponse
    | rpc_pb2.LeaseRevokeResponse
)


class EtcdError(Exception):
    """An etcd error as the client sees it: gRPC status ``code`` name and etcd's ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"EtcdError({self.code!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EtcdError):
            return NotImplemented
        return (self.code, self.message) == (other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.message))


# (code, message) of etcd's rpctypes errors used here
_EMPTY_KEY: Final = ("INVALID_ARGUMENT", "etcdserver: key is not provided")
_KEY_NOT_FOUND: Final = ("INVALID_ARGUMENT", "etcdserver: key not found")
_VALUE_PROVIDED: Final = ("INVALID_ARGUMENT", "etcdserver: value is provided")
_LEASE_PROVIDED: Final = ("INVALID_ARGUMENT", "etcdserver: lease is provided")
_TOO_MANY_OPS: Final = ("INVALID_ARGUMENT", "etcdserver: too many operations in txn request")
_DUPLICATE_KEY: Final = ("INVALID_ARGUMENT", "etcdserver: duplicate key given in txn request")
_INVALID_SORT: Final = ("INVALID_ARGUMENT", "etcdserver: invalid sort option")
_COMPACTED: Final = ("OUT_OF_RANGE", "etcdserver: mvcc: required revision has been compacted")
_FUTURE_REV: Final = ("OUT_OF_RANGE", "etcdserver: mvcc: required revision is a future revision")
_NOT_LEADER: Final = ("FAILED_PRECONDITION", "etcdserver: not leader")


def _err(e: tuple[str, str]) -> EtcdError:
    return EtcdError(e[0], e[1])


def _lease_err(e: LeaseError) -> EtcdError:
    if isinstance(e, NotPrimaryError):
        return _err(_NOT_LEADER)
    return EtcdError(e.code, e.message)


def kv_to_pb(kv: KeyValue) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(
        key=kv.key,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        value=kv.value,
        lease=kv.lease,
    )


def _fill_kv(out: kv_pb2.KeyValue, kv: KeyValue) -> None:
    out.key = kv.key
    out.create_revision = kv.create_revision
    out.mod_revision = kv.mod_revision
    out.version = kv.version
    out.value = kv.value
    out.lease = kv.lease


# ---------------------------------------------------------------------------- validation
# etcd's v3rpc request checks; the gRPC layer may call them before proposing.


def check_range_request(r: rpc_pb2.RangeRequest) -> None:
    if not r.key:
        raise _err(_EMPTY_KEY)
    if r.sort_order not in rpc_pb2.RangeRequest.SortOrder.values():
        raise _err(_INVALID_SORT)
    if r.sort_target not in rpc_pb2.RangeRequest.SortTarget.values():
        raise _err(_INVALID_SORT)


def check_put_request(r: rpc_pb2.PutRequest) -> None:
    if not r.key:
        raise _err(_EMPTY_KEY)
    if r.ignore_value and r.value:
        raise _err(_VALUE_PROVIDED)
    if r.ignore_lease and r.lease != NO_LEASE:
        raise _err(_LEASE_PROVIDED)


def check_delete_request(r: rpc_pb2.DeleteRangeRequest) -> None:
    if not r.key:
        raise _err(_EMPTY_KEY)


def _check_request_op(op: rpc_pb2.RequestOp, max_txn_ops: int) -> None:
    kind = op.WhichOneof("request")
    if kind == "request_range":
        check_range_request(op.request_range)
    elif kind == "request_put":
        check_put_request(op.request_put)
    elif kind == "request_delete_range":
        check_delete_request(op.request_delete_range)
    elif kind == "request_txn":
        _check_txn_ops(op.request_txn, max_txn_ops)
    else:  # empty op
        raise _err(_KEY_NOT_FOUND)


def _check_txn_ops(rt: rpc_pb2.TxnRequest, max_txn_ops: int) -> None:
    opc = max(len(rt.compare), len(rt.success), len(rt.failure))
    if opc > max_txn_ops:
        raise _err(_TOO_MANY_OPS)
    for c in rt.compare:
        if not c.key:
            raise _err(_EMPTY_KEY)
    for op in rt.success:
        _check_request_op(op, max_txn_ops - opc)
    for op in rt.failure:
        _check_request_op(op, max_txn_ops - opc)


# A delete interval as etcd's adt "string affine" interval: [begin, end) compared bytewise,
# a point when range_end is empty; b"" as a bound would mean +infinity but only appears as
# a point's key.  Note range_end == b"\0" is taken literally (as etcd does here), so a
# from-key delete never conflicts with a put in the same txn.
_Interval: TypeAlias = tuple[bytes, bytes | None]  # (begin, end) ; end None = point


def _intersects(dels: Sequence[_Interval], k: bytes) -> bool:
    for begin, end in dels:
        if end is None:
            if k == begin:
                return True
        elif begin <= k < end:
            return True
    return False


def _check_intervals(
    reqs: Sequence[rpc_pb2.RequestOp],
) -> tuple[set[bytes], list[_Interval]]:
    dels: list[_Interval] = []
    for op in reqs:
        if op.WhichOneof("request") == "request_delete_range":
            d = op.request_delete_range
            dels.append((d.key, d.range_end if d.range_end else None))
    puts: set[bytes] = set()
    for op in reqs:
        if op.WhichOneof("request") != "request_txn":
            continue
        puts_then, dels_then = _check_intervals(op.request_txn.success)
        puts_else, dels_else = _check_intervals(op.request_txn.failure)
        for k in puts_then:
            if k in puts or _intersects(dels, k):
                raise _err(_DUPLICATE_KEY)
            puts.add(k)
        for k in puts_else:
            if k in puts and k not in puts_then:
                raise _err(_DUPLICATE_KEY)
            if _intersects(dels, k):
                raise _err(_DUPLICATE_KEY)
            puts.add(k)
        dels.extend(dels_then)
        dels.extend(dels_else)
    for op in reqs:
        if op.WhichOneof("request") != "request_put":
            continue
        k = op.request_put.key
        if k in puts or _intersects(dels, k):
            raise _err(_DUPLICATE_KEY)
        puts.add(k)
    return puts, dels


def check_txn_request(rt: rpc_pb2.TxnRequest, max_txn_ops: int = DEFAULT_MAX_TXN_OPS) -> None:
    """v3rpc's Txn validation: op counts, empty keys, then put/delete overlaps."""
    _check_txn_ops(rt, max_txn_ops)
    _check_intervals(rt.success)
    _check_intervals(rt.failure)


def is_txn_readonly(rt: rpc_pb2.TxnRequest) -> bool:
    """True when no branch (at any depth) writes."""
    for op in (*rt.success, *rt.failure):
        kind = op.WhichOneof("request")
        if kind in ("request_put", "request_delete_range"):
            return False
        if kind == "request_txn" and not is_txn_readonly(op.request_txn):
            return False
    return True


# ---------------------------------------------------------------------------- compares


def _cmp(a: int | bytes, b: int | bytes) -> int:
    return (a > b) - (a < b)  # type: ignore[operator]


_ZERO_KV: Final = KeyValue(b"", 0, 0, 0, b"", 0)
_C = rpc_pb2.Compare


def _compare_kv(c: rpc_pb2.Compare, kv: KeyValue) -> bool:
    union = c.WhichOneof("target_union")
    t = c.target
    if t == _C.VALUE:
        result = _cmp(kv.value, c.value if union == "value" else b"")
    elif t == _C.CREATE:
        result = _cmp(kv.create_revision, c.create_revision if union == "create_revision" else 0)
    elif t == _C.MOD:
        result = _cmp(kv.mod_revision, c.mod_revision if union == "mod_revision" else 0)
    elif t == _C.VERSION:
        result = _cmp(kv.version, c.version if union == "version" else 0)
    elif t == _C.LEASE:
        result = _cmp(kv.lease, c.lease if union == "lease" else 0)
    else:
        result = 0
    r = c.result
    if r == _C.EQUAL:
        return result == 0
    if r == _C.NOT_EQUAL:
        return result != 0
    if r == _C.GREATER:
        return result > 0
    if r == _C.LESS:
        return result < 0
    return True


# ---------------------------------------------------------------------------- applier


@dataclass(slots=True)
class ApplyResult:
    response: Response | None = None
    error: EtcdError | None = None
    events: list[tuple[int, Event]] = field(default_factory=list)
    skipped: bool = False  # the entry was at or below consistent_index: nothing done


_Reader: TypeAlias = MVCCStore | WriteTxn


class Applier:
    """Applies committed etcd requests to an MVCCStore + Lessor (see the module docstring).

    ``clock`` (optional) gives the leader-local time used for the expiry of leases granted
    while this member's lessor is primary; without it the lessor uses the last time it was
    given (``expired``/``renew``/``promote`` calls).
    """

    def __init__(
        self,
        store: MVCCStore,
        lessor: Lessor,
        *,
        cluster_id: int,
        member_id: int,
        clock: Callable[[], float] | None = None,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> None:
        self.store = store
        self.lessor = lessor
        self.cluster_id = cluster_id
        self.member_id = member_id
        self.clock = clock
        self.max_txn_ops = max_txn_ops
        self.term = 0  # raft term of the last applied entry

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _lease_seed(cluster_id: int) -> int:
        return cluster_id & ((1 << 64) - 1)

    @classmethod
    def new(
        cls,
        *,
        cluster_id: int,
        member_id: int,
        min_lease_ttl: int = DEFAULT_MIN_TTL,
        clock: Callable[[], float] | None = None,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> Applier:
        """An empty store and lessor (lease ids chosen from a seed shared by the cluster)."""
        lessor = Lessor(min_ttl=min_lease_ttl, id_seed=cls._lease_seed(cluster_id))
        return cls(MVCCStore(), lessor, cluster_id=cluster_id, member_id=member_id,
                   clock=clock, max_txn_ops=max_txn_ops)

    def snapshot(self) -> bytes:
        """The whole state machine: MVCC store (with consistent_index) and replicated leases."""
        out = msgpack.packb(
            [SNAPSHOT_VERSION, self.store.snapshot(), self.lessor.snapshot()], use_bin_type=True
        )
        assert isinstance(out, bytes)
        return out

    @classmethod
    def restore(
        cls,
        data: bytes,
        *,
        cluster_id: int,
        member_id: int,
        min_lease_ttl: int = DEFAULT_MIN_TTL,
        clock: Callable[[], float] | None = None,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> Applier:
        """An applier from snapshot() bytes (its lessor is not primary)."""
        version, store_data, lessor_data = msgpack.unpackb(data, raw=False)
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported applier snapshot version {version}")
        store = MVCCStore.restore(store_data)
        lessor = Lessor.restore(lessor_data, min_ttl=min_lease_ttl,
                                id_seed=cls._lease_seed(cluster_id))
        return cls(store, lessor, cluster_id=cluster_id, member_id=member_id, clock=clock,
                   max_txn_ops=max_txn_ops)

    @property
    def consistent_index(self) -> int:
        """Raft index of the last applied entry (stored in, and snapshotted with, the store)."""
        return self.store.consistent_index

    @consistent_index.setter
    def consistent_index(self, index: int) -> None:
        self.store.consistent_index = index

    def header(self, raft_term: int | None = None) -> rpc_pb2.ResponseHeader:
        return rpc_pb2.ResponseHeader(
            cluster_id=self.cluster_id,
            member_id=self.member_id,
            revision=self.store.revision,
            raft_term=self.term if raft_term is None else raft_term,
        )

    def _fill_header(self, h: rpc_pb2.ResponseHeader, raft_term: int | None = None) -> None:
        h.cluster_id = self.cluster_id
        h.member_id = self.member_id
        h.revision = self.store.revision
        h.raft_term = self.term if raft_term is None else raft_term

    # ------------------------------------------------------------------ apply
    def apply(self, index: int, term: int, req: internal_pb2.InternalRequest) -> ApplyResult:
        """Apply one committed entry; entries at or below consistent_index are skipped."""
        if index <= self.store.consistent_index:
            return ApplyResult(skipped=True)
        self.term = term
        kind = req.WhichOneof("request")
        events: list[tuple[int, Event]] = []
        try:
            resp: Response | None
            if kind == "put":
                resp = self._apply_put(req.put, events)
            elif kind == "delete_range":
                resp = self._apply_delete_range(req.delete_range, events)
            elif kind == "txn":
                resp = self._apply_txn(req.txn, events)
            elif kind == "compaction":
                resp = self._apply_compaction(req.compaction)
            elif kind == "lease_grant":
                resp = self._apply_lease_grant(req.lease_grant)
            elif kind == "lease_revoke":
                resp = self._apply_lease_revoke(req.lease_revoke, events)
            else:
                resp = None
        except EtcdError as e:
            return ApplyResult(error=e)
        finally:
            self.store.consistent_index = index
        if resp is not None:
            self._fill_header(resp.header)
        return ApplyResult(response=resp, events=events)

    def _commit(self, txn: WriteTxn, events: list[tuple[int, Event]]) -> None:
        """End the write txn and mirror its events into the lessor."""
        evs = txn.end()
        rev = txn.revision
        lessor = self.lessor
        for ev in evs:
            if ev.type == EventType.PUT:
                lessor.set_key_lease(ev.kv.key, ev.kv.lease)
            else:
                lessor.set_key_lease(ev.kv.key, NO_LEASE)
            events.append((rev, ev))

    def _check_lease(self, lease_id: int) -> None:
        if lease_id != NO_LEASE and lease_id not in self.lessor:
            raise _lease_err(LeaseNotFoundError())

    def _apply_put(
        self, p: rpc_pb2.PutRequest, events: list[tuple[int, Event]]
    ) -> rpc_pb2.PutResponse:
        check_put_request(p)
        self._check_lease(p.lease)
        txn = self.store.txn()
        try:
            resp = self._exec_put(txn, p)
        except BaseException:
            txn.abort()
            raise
        self._commit(txn, events)
        return resp

    def _apply_delete_range(
        self, d: rpc_pb2.DeleteRangeRequest, events: list[tuple[int, Event]]
    ) -> rpc_pb2.DeleteRangeResponse:
        check_delete_request(d)
        txn = self.store.txn()
        try:
            resp = self._exec_delete(txn, d)
        except BaseException:
            txn.abort()
            raise
        self._commit(txn, events)
        return resp

    def _apply_txn(
        self, rt: rpc_pb2.TxnRequest, events: list[tuple[int, Event]]
    ) -> rpc_pb2.TxnResponse:
        check_txn_request(rt, self.max_txn_ops)
        path = self._compare_to_path(rt)
        self._check_txn(rt, path, 0)
        txn = self.store.txn()
        try:
            resp = rpc_pb2.TxnResponse()
            self._exec_txn(txn, rt, path, 0, resp)
        except BaseException:
            txn.abort()
            raise
        self._commit(txn, events)
        return resp

    def _apply_compaction(self, c: rpc_pb2.CompactionRequest) -> rpc_pb2.CompactionResponse:
        try:
            self.store.compact(c.revision)
        except CompactedError:
            raise _err(_COMPACTED) from None
        except FutureRevError:
            raise _err(_FUTURE_REV) from None
        return rpc_pb2.CompactionResponse()

    def _apply_lease_grant(self, g: rpc_pb2.LeaseGrantRequest) -> rpc_pb2.LeaseGrantResponse:
        now = self.clock() if self.clock is not None else None
        try:
            lease = self.lessor.grant(g.ID, g.TTL, now)
        except LeaseError as e:
            raise _lease_err(e) from None
        return rpc_pb2.LeaseGrantResponse(ID=lease.id, TTL=lease.ttl)

    def _apply_lease_revoke(
        self, r: rpc_pb2.LeaseRevokeRequest, events: list[tuple[int, Event]]
    ) -> rpc_pb2.LeaseRevokeResponse:
        try:
            keys = self.lessor.revoke(r.ID)
        except LeaseError as e:
            raise _lease_err(e) from None
        if keys:
            txn = self.store.txn()
            try:
                for k in keys:
                    txn.delete_range(k)
            except BaseException:
                txn.abort()
                raise
            self._commit(txn, events)
        return rpc_pb2.LeaseRevokeResponse()

    # ------------------------------------------------------------------ txn machinery
    def _compare(self, c: rpc_pb2.Compare) -> bool:
        try:
            kvs = self.store.range(c.key, c.range_end).kvs
        except (CompactedError, FutureRevError):
            return False
        if not kvs:
            if c.target == _C.VALUE:
                return False  # no way to compare the value of a missing key
            return _compare_kv(c, _ZERO_KV)
        return all(_compare_kv(c, kv) for kv in kvs)

    def _compare_to_path(self, rt: rpc_pb2.TxnRequest) -> list[bool]:
        """Outcome of this txn's compares, then (preorder) of the chosen branch's nested txns,
        all evaluated on the state before the txn (as etcd's compareToPath)."""
        ok = all(self._compare(c) for c in rt.compare)
        path = [ok]
        for op in rt.success if ok else rt.failure:
            if op.WhichOneof("request") == "request_txn":
                path.extend(self._compare_to_path(op.request_txn))
        return path

    def _check_txn(self, rt: rpc_pb2.TxnRequest, path: list[bool], pos: int) -> int:
        """etcd's checkTxn on the chosen branches; returns the path position after them."""
        ok = path[pos]
        pos += 1
        store = self.store
        for op in rt.success if ok else rt.failure:
            kind = op.WhichOneof("request")
            if kind == "request_range":
                rev = op.request_range.revision
                if rev == 0:
                    continue
                if rev > store.revision:
                    raise _err(_FUTURE_REV)
                if rev < store.compact_revision:
                    raise _err(_COMPACTED)
            elif kind == "request_put":
                p = op.request_put
                if (p.ignore_value or p.ignore_lease) and store.get(p.key) is None:
                    raise _err(_KEY_NOT_FOUND)
                self._check_lease(p.lease)
            elif kind == "request_txn":
                pos = self._check_txn(op.request_txn, path, pos)
        return pos

    def _exec_txn(
        self,
        txn: WriteTxn,
        rt: rpc_pb2.TxnRequest,
        path: list[bool],
        pos: int,
        resp: rpc_pb2.TxnResponse,
    ) -> int:
        ok = path[pos]
        pos += 1
        resp.succeeded = ok
        resp.header.SetInParent()
        for op in rt.success if ok else rt.failure:
            out = resp.responses.add()
            kind = op.WhichOneof("request")
            if kind == "request_range":
                self._exec_range(txn, op.request_range, out.response_range)
            elif kind == "request_put":
                out.response_put.CopyFrom(self._exec_put(txn, op.request_put))
            elif kind == "request_delete_range":
                out.response_delete_range.CopyFrom(self._exec_delete(txn, op.request_delete_range))
            elif kind == "request_txn":
                pos = self._exec_txn(txn, op.request_txn, path, pos, out.response_txn)
        return pos

    # ------------------------------------------------------------------ single operations
    def _exec_put(self, txn: WriteTxn, p: rpc_pb2.PutRequest) -> rpc_pb2.PutResponse:
        prev: KeyValue | None = None
        if p.ignore_value or p.ignore_lease or p.prev_kv:
            kvs = txn.range(p.key).kvs
            prev = kvs[0] if kvs else None
        value, lease = p.value, p.lease
        if p.ignore_value or p.ignore_lease:
            if prev is None:
                raise _err(_KEY_NOT_FOUND)
            if p.ignore_value:
                value = prev.value
            if p.ignore_lease:
                lease = prev.lease
        txn.put(p.key, value, lease)
        resp = rpc_pb2.PutResponse()
        resp.header.revision = txn.revision
        if p.prev_kv and prev is not None:
            _fill_kv(resp.prev_kv, prev)
        return resp

    def _exec_delete(
        self, txn: WriteTxn, d: rpc_pb2.DeleteRangeRequest
    ) -> rpc_pb2.DeleteRangeResponse:
        prevs = txn.delete_range(d.key, d.range_end)
        resp = rpc_pb2.DeleteRangeResponse(deleted=len(prevs))
        resp.header.revision = txn.current_revision
        if d.prev_kv:
            for kv in prevs:
                _fill_kv(resp.prev_kvs.add(), kv)
        return resp

    @staticmethod
    def _exec_range(
        reader: _Reader, r: rpc_pb2.RangeRequest, out: rpc_pb2.RangeResponse
    ) -> None:
        try:
            rr = reader.range(
                r.key,
                r.range_end,
                revision=r.revision,
                limit=r.limit,
                count_only=r.count_only,
                keys_only=r.keys_only,
                sort_order=r.sort_order,
                sort_target=r.sort_target,
                min_mod_revision=r.min_mod_revision,
                max_mod_revision=r.max_mod_revision,
                min_create_revision=r.min_create_revision,
                max_create_revision=r.max_create_revision,
            )
        except CompactedError:
            raise _err(_COMPACTED) from None
        except FutureRevError:
            raise _err(_FUTURE_REV) from None
        out.header.revision = rr.revision
        out.count = rr.count
        out.more = rr.more
        add = out.kvs.add
        for kv in rr.kvs:
            _fill_kv(add(), kv)

    # ------------------------------------------------------------------ local reads
    def range(
        self, req: rpc_pb2.RangeRequest, *, raft_term: int | None = None
    ) -> rpc_pb2.RangeResponse:
        """Serve a Range from the local state (serializable, or after a ReadIndex)."""
        check_range_request(req)
        resp = rpc_pb2.RangeResponse()
        self._exec_range(self.store, req, resp)
        self._fill_header(resp.header, raft_term)
        return resp

    def txn_read(
        self, rt: rpc_pb2.TxnRequest, *, raft_term: int | None = None
    ) -> rpc_pb2.TxnResponse:
        """Serve a read-only Txn locally (raises ValueError if it could write)."""
        if not is_txn_readonly(rt):
            raise ValueError("txn_read needs a read-only txn")
        check_txn_request(rt, self.max_txn_ops)
        path = self._compare_to_path(rt)
        self._check_txn(rt, path, 0)
        resp = rpc_pb2.TxnResponse()
        with self.store.txn() as txn:
            self._exec_txn(txn, rt, path, 0, resp)
        self._fill_header(resp.header, raft_term)
        return resp

    # ------------------------------------------------------------------ leader-local lease ops
    def lease_time_to_live(
        self, req: rpc_pb2.LeaseTimeToLiveRequest, now: float
    ) -> rpc_pb2.LeaseTimeToLiveResponse:
        """On the primary lessor; an unknown lease answers TTL -1 (not an error), as etcd."""
        resp = rpc_pb2.LeaseTimeToLiveResponse(ID=req.ID)
        self._fill_header(resp.header)
        try:
            ttl = self.lessor.time_to_live(req.ID, now)
        except LeaseNotFoundError:
            resp.TTL = -1
            return resp
        except LeaseError as e:
            raise _lease_err(e) from None
        resp.TTL = ttl.ttl
        resp.grantedTTL = ttl.granted_ttl
        if req.keys:
            resp.keys.extend(ttl.keys)
        return resp

    def lease_keep_alive(
        self, req: rpc_pb2.LeaseKeepAliveRequest, now: float
    ) -> rpc_pb2.LeaseKeepAliveResponse:
        """Renew on the primary lessor; unknown/expired lease answers TTL 0, as etcd."""
        resp = rpc_pb2.LeaseKeepAliveResponse(ID=req.ID)
        self._fill_header(resp.header)
        try:
            resp.TTL = self.lessor.renew(req.ID, now)
        except LeaseNotFoundError:
            resp.TTL = 0
        except LeaseError as e:
            raise _lease_err(e) from None
        return resp

    def lease_leases(self) -> rpc_pb2.LeaseLeasesResponse:
        resp = rpc_pb2.LeaseLeasesResponse()
        self._fill_header(resp.header)
        for lid in self.lessor.ids():
            resp.leases.add(ID=lid)
        return resp
