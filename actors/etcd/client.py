"""The Python client of the kubemu store (and of any etcd v3 server).

Used by the apiserver, the benchmark, the CLI and the tests. It speaks the etcd v3
gRPC API, so the same code drives a kubemu store and a real etcd (that is how
`kubemu bench store` compares the two).

- **Endpoints and leader following.** It holds a channel to every member. Requests go
  to the member it believes is the leader (found with Maintenance.Status), which
  saves the follower→leader hop; when that member fails or loses leadership, it
  rediscovers the leader and moves on.
- **Safe retries.** Reads (Range) and watches are retried on any member until the
  deadline. A write is retried only when it certainly did not reach a server
  (connection refused / not connected); a write that reached a server and timed out
  may or may not have been applied, so it raises `UncertainWriteError` instead of being
  sent twice. `put_if(key, value, mod_revision)` is the idempotent form (a Txn on
  mod_revision): on an uncertain failure it re-reads the key to learn whether its own
  write landed, and so is safe to retry.
- **Watches resume.** `watch()` yields events; when the stream breaks it reopens it on
  another member from the last revision it delivered + 1, so no event is lost or
  repeated; a compacted start revision raises `CompactedError`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence, TypeVar

import grpc

from actors.common import grpcutil
from actors.common.loopthread import BlockingFacade, LoopThread
from protos.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from protos.mvccpb import kv_pb2

T = TypeVar("T")

_NOT_SENT_HINTS = ("failed to connect", "connection refused", "Connection refused",
                   "connect failed", "Socket closed", "No connection established",
                   "DNS resolution failed", "failed to pick subchannel")


class EtcdClientError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class UncertainWriteError(EtcdClientError):
    """A write reached a server but its outcome is unknown (timed out or connection lost)."""


class CompactedError(EtcdClientError):
    def __init__(self, compact_revision: int) -> None:
        super().__init__(grpc.StatusCode.OUT_OF_RANGE,
                         "etcdserver: mvcc: required revision has been compacted")
        self.compact_revision = compact_revision


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd)."""
    b = bytearray(prefix)
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return bytes(b[: i + 1])
    return b"\x00"


def _b(x: bytes | str) -> bytes:
    return x.encode() if isinstance(x, str) else x


@dataclass
class _Endpoint:
    addr: str
    channel: grpc.aio.Channel
    kv: rpc_pb2_grpc.KVStub
    watch: rpc_pb2_grpc.WatchStub
    lease: rpc_pb2_grpc.LeaseStub
    cluster: rpc_pb2_grpc.ClusterStub
    maint: rpc_pb2_grpc.MaintenanceStub


class EtcdClient:
    def __init__(self, endpoints: Sequence[str], *, timeout: float = 10.0,
                 start_endpoint: int | None = None, follow_leader: bool = True) -> None:
        """`follow_leader=False` keeps the client on `start_endpoint` (round-robin load
        spreading, as etcd's own benchmark does) and moves only when that member fails."""
        if not endpoints:
            raise ValueError("no endpoints")
        self.timeout = timeout
        self._eps: list[_Endpoint] = []
        for addr in endpoints:
            addr = addr.replace("http://", "")
            ch = grpcutil.aio_channel(addr)
            self._eps.append(_Endpoint(addr, ch, rpc_pb2_grpc.KVStub(ch),
                                       rpc_pb2_grpc.WatchStub(ch), rpc_pb2_grpc.LeaseStub(ch),
                                       rpc_pb2_grpc.ClusterStub(ch),
                                       rpc_pb2_grpc.MaintenanceStub(ch)))
        self._cur = (random.randrange(len(self._eps)) if start_endpoint is None
                     else start_endpoint % len(self._eps))
        self._leader_known = False
        self.follow_leader = follow_leader

    async def close(self) -> None:
        for ep in self._eps:
            await ep.channel.close()

    async def __aenter__(self) -> "EtcdClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def endpoint(self) -> str:
        return self._eps[self._cur].addr

    # ---- leader discovery and retry -------------------------------------------------

    async def find_leader(self) -> str | None:
        """Point the client at the leader's endpoint; returns its address (None if unknown)."""
        for i, ep in enumerate(self._eps):
            try:
                st = await ep.maint.Status(rpc_pb2.StatusRequest(), timeout=1.0)
            except grpc.aio.AioRpcError:
                continue
            if st.leader and st.leader == st.header.member_id:
                self._cur = i
                self._leader_known = True
                return ep.addr
        self._leader_known = False
        return None

    def _rotate(self) -> None:
        self._cur = (self._cur + 1) % len(self._eps)
        self._leader_known = False

    async def _call(self, fn: Callable[[_Endpoint, float], Awaitable[T]], *,
                    write: bool) -> T:
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            ep = self._eps[self._cur]
            remaining = deadline - time.monotonic()
            try:
                return await fn(ep, max(0.05, remaining))
            except grpc.aio.AioRpcError as e:
                code, details = e.code(), e.details() or ""
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise EtcdClientError(code, details) from None
                not_sent = code == grpc.StatusCode.UNAVAILABLE and any(
                    h in details for h in _NOT_SENT_HINTS)
                if write and not not_sent:
                    self._rotate()
                    raise UncertainWriteError(code, details) from None
                attempt += 1
                if time.monotonic() >= deadline:
                    raise EtcdClientError(code, details) from None
                self._rotate()
                if attempt % len(self._eps) == 0:
                    await asyncio.sleep(min(0.05 * attempt, 0.5))
                    if self.follow_leader:
                        await self.find_leader()

    # ---- KV -------------------------------------------------------------------------

    async def range(self, req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse:
        return await self._call(lambda ep, t: ep.kv.Range(req, timeout=t), write=False)

    async def get(self, key: bytes | str, *, prefix: bool = False, range_end: bytes = b"",
                  revision: int = 0, limit: int = 0, serializable: bool = False,
                  keys_only: bool = False, count_only: bool = False) -> rpc_pb2.RangeResponse:
        key = _b(key)
        if prefix:
            range_end = prefix_end(key)
        return await self.range(rpc_pb2.RangeRequest(
            key=key, range_end=range_end, revision=revision, limit=limit,
            serializable=serializable, keys_only=keys_only, count_only=count_only))

    async def put(self, key: bytes | str, value: bytes | str, *, lease: int = 0,
                  prev_kv: bool = False) -> rpc_pb2.PutResponse:
        req = rpc_pb2.PutRequest(key=_b(key), value=_b(value), lease=lease, prev_kv=prev_kv)
        return await self._call(lambda ep, t: ep.kv.Put(req, timeout=t), write=True)

    async def delete(self, key: bytes | str, *, prefix: bool = False, range_end: bytes = b"",
                     prev_kv: bool = False) -> rpc_pb2.DeleteRangeResponse:
        key = _b(key)
        if prefix:
            range_end = prefix_end(key)
        req = rpc_pb2.DeleteRangeRequest(key=key, range_end=range_end, prev_kv=prev_kv)
        return await self._call(lambda ep, t: ep.kv.DeleteRange(req, timeout=t), write=True)

    async def txn(self, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        return await self._call(lambda ep, t: ep.kv.Txn(req, timeout=t), write=True)

    async def put_if(self, key: bytes | str, value: bytes | str, mod_revision: int, *,
                     lease: int = 0) -> tuple[bool, int]:
        """Write `value` only if the key's mod_revision is still `mod_revision` (0 = absent).

        Returns (written, revision). Safe to retry: after an uncertain failure it reads the
        key back and reports success if its own write is there.
        """
        key, value = _b(key), _b(value)
        cmp = rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.MOD,
                              result=rpc_pb2.Compare.EQUAL, mod_revision=mod_revision)
        req = rpc_pb2.TxnRequest(
            compare=[cmp],
            success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value,
                                                                     lease=lease))])
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                r = await self.txn(req)
                return r.succeeded, r.header.revision
            except UncertainWriteError:
                if time.monotonic() > deadline:
                    raise
                cur = await self.get(key)
                if cur.kvs and cur.kvs[0].value == value and cur.kvs[0].mod_revision > mod_revision:
                    return True, cur.kvs[0].mod_revision
                if (cur.kvs[0].mod_revision if cur.kvs else 0) != mod_revision:
                    return False, cur.header.revision
                # untouched: our write did not land; send it again

    async def compact(self, revision: int, physical: bool = False) -> rpc_pb2.CompactionResponse:
        req = rpc_pb2.CompactionRequest(revision=revision, physical=physical)
        return await self._call(lambda ep, t: ep.kv.Compact(req, timeout=t), write=True)

    # ---- leases ---------------------------------------------------------------------

    async def lease_grant(self, ttl: int, lease_id: int = 0) -> rpc_pb2.LeaseGrantResponse:
        req = rpc_pb2.LeaseGrantRequest(TTL=ttl, ID=lease_id)
        return await self._call(lambda ep, t: ep.lease.LeaseGrant(req, timeout=t), write=True)

    async def lease_revoke(self, lease_id: int) -> rpc_pb2.LeaseRevokeResponse:
        req = rpc_pb2.LeaseRevokeRequest(ID=lease_id)
        return await self._call(lambda ep, t: ep.lease.LeaseRevoke(req, timeout=t), write=True)

    async def lease_keepalive_once(self, lease_id: int) -> int:
        async def once(ep: _Endpoint, t: float) -> int:
            call = ep.lease.LeaseKeepAlive(iter([rpc_pb2.LeaseKeepAliveRequest(ID=lease_id)]),
                                           timeout=t)
            async for resp in call:
                return int(resp.TTL)
            return 0
        return await self._call(once, write=False)

    async def lease_ttl(self, lease_id: int, keys: bool = False) -> rpc_pb2.LeaseTimeToLiveResponse:
        req = rpc_pb2.LeaseTimeToLiveRequest(ID=lease_id, keys=keys)
        return await self._call(lambda ep, t: ep.lease.LeaseTimeToLive(req, timeout=t),
                                write=False)

    # ---- cluster --------------------------------------------------------------------

    async def member_list(self) -> rpc_pb2.MemberListResponse:
        return await self._call(lambda ep, t: ep.cluster.MemberList(
            rpc_pb2.MemberListRequest(), timeout=t), write=False)

    async def status(self, endpoint: str | None = None) -> rpc_pb2.StatusResponse:
        if endpoint is None:
            return await self._call(lambda ep, t: ep.maint.Status(rpc_pb2.StatusRequest(),
                                                                  timeout=t), write=False)
        ep = next(e for e in self._eps if e.addr == endpoint.replace("http://", ""))
        try:
            return await ep.maint.Status(rpc_pb2.StatusRequest(), timeout=self.timeout)
        except grpc.aio.AioRpcError as e:
            raise EtcdClientError(e.code(), e.details() or "") from None

    # ---- watch ----------------------------------------------------------------------

    async def watch(self, key: bytes | str, *, prefix: bool = False, range_end: bytes = b"",
                    start_revision: int = 0, prev_kv: bool = False
                    ) -> AsyncIterator[tuple[int, kv_pb2.Event]]:
        """Yield (revision, event) forever; resumes on another member if a stream breaks."""
        key = _b(key)
        if prefix:
            range_end = prefix_end(key)
        next_rev = start_revision
        failures = 0
        while True:
            ep = self._eps[self._cur]
            create = rpc_pb2.WatchCreateRequest(key=key, range_end=range_end,
                                                start_revision=next_rev, prev_kv=prev_kv)
            queue: asyncio.Queue[rpc_pb2.WatchRequest] = asyncio.Queue()
            queue.put_nowait(rpc_pb2.WatchRequest(create_request=create))

            async def requests() -> AsyncIterator[rpc_pb2.WatchRequest]:
                while True:
                    yield await queue.get()

            call = ep.watch.Watch(requests())
            try:
                async for resp in call:
                    failures = 0
                    if resp.canceled:
                        if resp.compact_revision:
                            raise CompactedError(resp.compact_revision)
                        raise EtcdClientError(grpc.StatusCode.CANCELLED, resp.cancel_reason)
                    if resp.created and not next_rev:
                        next_rev = resp.header.revision + 1
                    for ev in resp.events:
                        rev = ev.kv.mod_revision
                        if rev < next_rev:
                            continue  # already delivered before a resume
                        yield rev, ev
                        next_rev = rev  # events of one revision may be split across responses
                    if resp.events:
                        next_rev = resp.events[-1].kv.mod_revision + 1
            except grpc.aio.AioRpcError:
                failures += 1
                self._rotate()
                await asyncio.sleep(min(0.05 * failures, 1.0))
            finally:
                call.cancel()


class SyncEtcdClient(BlockingFacade):
    """Blocking facade over EtcdClient (its own loop thread) for the CLI and tests."""

    def __init__(self, endpoints: Sequence[str], *, timeout: float = 10.0) -> None:
        self._lt = LoopThread("etcd-client")
        self._c: EtcdClient = self._lt.run(self._make(list(endpoints), timeout))

    @staticmethod
    async def _make(endpoints: list[str], timeout: float) -> EtcdClient:
        return EtcdClient(endpoints, timeout=timeout)
