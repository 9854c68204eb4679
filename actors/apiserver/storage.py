"""The apiserver's key-value layer: what the registry and the watch cache need from etcd.

`KV` is the abstract async interface; `EtcdKV` speaks to the kubemu store (or a real
etcd) through `actors.etcd.client.EtcdClient`; `MemoryKV` is a pure in-memory MVCC map
with the same semantics (revisions, compaction, a watch history) for unit tests.

Semantics, as etcd's:

- one global revision counter; every successful write bumps it by one and stamps the
  key with `mod_revision` (and `create_revision` when it comes into existence);
- `create` succeeds only when the key is absent (Txn compare create_revision == 0);
- `update` / `delete` succeed only when the key's mod_revision is still the one read
  (Txn compare mod_revision): optimistic concurrency, the apiserver's resourceVersion;
- `list` reads a prefix at the current revision or at an older one (until compacted);
- `watch` yields every change under a prefix from a start revision on, in revision
  order, each with the previous value; a compacted start revision raises
  `CompactedError`. A watch can be asked for a *progress notification*: an event of
  type "PROGRESS" whose revision promises that every change up to it was delivered
  (etcd's WatchProgressRequest) -- the watch cache uses it to know it is fresh.
"""

from __future__ import annotations

import abc
import asyncio
import bisect
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, NamedTuple, Sequence

PUT = "PUT"
DELETE = "DELETE"
PROGRESS = "PROGRESS"


class KVError(Exception):
    """The store failed (unavailable, timed out); the apiserver answers 500/504."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class CompactedError(KVError):
    def __init__(self, compact_revision: int) -> None:
        super().__init__("etcdserver: mvcc: required revision has been compacted")
        self.compact_revision = compact_revision


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True)
class ListResult:
    kvs: list[KeyValue]
    revision: int  # the store revision the list was read at
    more: bool     # the limit cut the range short
    count: int     # keys in [start, end) at that revision (before the limit)


class WatchEvent(NamedTuple):
    type: str                   # PUT | DELETE | PROGRESS
    key: str
    value: bytes | None         # None for DELETE and PROGRESS
    prev_value: bytes | None    # the value before this change (None if created)
    revision: int


class WriteResult(NamedTuple):
    ok: bool
    revision: int               # the write's revision if ok, else the store's
    current: KeyValue | None    # on failure: the key's current state (None if absent)


class KVWatch(abc.ABC):
    """One watch on a prefix: iterate for events; ask for progress; close."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    @abc.abstractmethod
    def request_progress(self) -> None:
        """Ask for a PROGRESS event (delivered in order with the other events)."""

    @abc.abstractmethod
    def close(self) -> None: ...


class KV(abc.ABC):
    @abc.abstractmethod
    async def get(self, key: str) -> KeyValue | None: ...

    @abc.abstractmethod
    async def list(self, prefix: str, *, start: str = "", revision: int = 0,
                   limit: int = 0) -> ListResult:
        """Keys in [max(prefix, start), prefix_end(prefix)) at `revision` (0 = now)."""

    @abc.abstractmethod
    async def create(self, key: str, value: bytes) -> WriteResult: ...

    @abc.abstractmethod
    async def update(self, key: str, value: bytes, mod_revision: int) -> WriteResult: ...

    @abc.abstractmethod
    async def delete(self, key: str, mod_revision: int) -> WriteResult: ...

    @abc.abstractmethod
    def watch(self, prefix: str, revision: int) -> KVWatch:
        """Changes under `prefix` with revision >= `revision`."""

    @abc.abstractmethod
    async def current_revision(self) -> int: ...

    @abc.abstractmethod
    async def compact(self, revision: int) -> None: ...

    async def close(self) -> None:
        return None


def prefix_end(prefix: str) -> str:
    """The exclusive end of the key range starting with `prefix` (ASCII keys)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\x00"


# --------------------------------------------------------------------------------------
# In memory
# --------------------------------------------------------------------------------------


@dataclass
class _Version:
    mod_revision: int
    create_revision: int
    value: bytes | None  # None = tombstone


class _MemoryWatch(KVWatch):
    def __init__(self, kv: "MemoryKV", prefix: str, revision: int) -> None:
        self.kv = kv
        self.prefix = prefix
        self.end = prefix_end(prefix)
        self.start = revision
        self.queue: asyncio.Queue[WatchEvent | None] | None = None
        self.closed = False
        self.progress_pending = False

    def matches(self, key: str) -> bool:
        return self.prefix <= key < self.end

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[WatchEvent]:
        kv = self.kv
        if self.start and self.start <= kv.compact_revision:
            raise CompactedError(kv.compact_revision)
        self.queue = asyncio.Queue()
        # replay and subscribe in one step (no await in between): nothing is missed
        start = self.start or kv.revision + 1
        for ev in kv._events[bisect.bisect_left(kv._event_revs, start):]:
            if self.matches(ev.key):
                self.queue.put_nowait(ev)
        kv._watches.add(self)
        if self.progress_pending:
            self.progress_pending = False
            self.request_progress()
        try:
            while not self.closed:
                item = await self.queue.get()
                if item is None:
                    return
                yield item
        finally:
            kv._watches.discard(self)

    def request_progress(self) -> None:
        if self.queue is None:
            self.progress_pending = True  # asked before the watch started
            return
        self.queue.put_nowait(WatchEvent(PROGRESS, "", None, None, self.kv.revision))

    def close(self) -> None:
        self.closed = True
        if self.queue is not None:
            self.queue.put_nowait(None)


class MemoryKV(KV):
    """etcd's MVCC semantics in a dict: revisions, history, compaction, watches."""

    def __init__(self) -> None:
        self.revision = 1  # as a fresh etcd
        self.compact_revision = 0
        self._keys: list[str] = []  # sorted, every key with any version
        self._versions: dict[str, list[_Version]] = {}
        self._events: list[WatchEvent] = []
        self._event_revs: list[int] = []
        self._watches: set[_MemoryWatch] = set()
        self.fail_next: Exception | None = None  # tests: make the next call fail

    def _check_fail(self) -> None:
        if self.fail_next is not None:
            e, self.fail_next = self.fail_next, None
            raise e

    def _latest(self, key: str, revision: int = 0) -> _Version | None:
        vs = self._versions.get(key)
        if not vs:
            return None
        if not revision:
            v = vs[-1]
        else:
            i = bisect.bisect_right([x.mod_revision for x in vs], revision)
            if i == 0:
                return None
            v = vs[i - 1]
        return v if v.value is not None else None

    def _kv(self, key: str, v: _Version) -> KeyValue:
        assert v.value is not None
        return KeyValue(key, v.value, v.create_revision, v.mod_revision)

    def _write(self, key: str, value: bytes | None) -> int:
        prev = self._latest(key)
        self.revision += 1
        rev = self.revision
        if key not in self._versions:
            bisect.insort(self._keys, key)
            self._versions[key] = []
        create = (prev.create_revision if prev is not None else rev) if value is not None else 0
        self._versions[key].append(_Version(rev, create, value))
        ev = WatchEvent(PUT if value is not None else DELETE, key, value,
                        prev.value if prev is not None else None, rev)
        self._events.append(ev)
        self._event_revs.append(rev)
        for w in list(self._watches):
            if w.matches(key) and w.queue is not None and rev >= w.start:
                w.queue.put_nowait(ev)
        return rev

    async def get(self, key: str) -> KeyValue | None:
        self._check_fail()
        v = self._latest(key)
        return self._kv(key, v) if v is not None else None

    async def list(self, prefix: str, *, start: str = "", revision: int = 0,
                   limit: int = 0) -> ListResult:
        self._check_fail()
        if revision and revision <= self.compact_revision:
            raise CompactedError(self.compact_revision)
        if revision > self.revision:
            raise KVError("etcdserver: mvcc: required revision is a future revision")
        lo = max(prefix, start)
        end = prefix_end(prefix)
        kvs: list[KeyValue] = []
        for key in self._keys[bisect.bisect_left(self._keys, lo):bisect.bisect_left(self._keys, end)]:
            v = self._latest(key, revision)
            if v is not None:
                kvs.append(self._kv(key, v))
        count = len(kvs)
        more = bool(limit) and count > limit
        if limit:
            kvs = kvs[:limit]
        return ListResult(kvs, revision or self.revision, more, count)

    async def create(self, key: str, value: bytes) -> WriteResult:
        self._check_fail()
        cur = self._latest(key)
        if cur is not None:
            return WriteResult(False, self.revision, self._kv(key, cur))
        return WriteResult(True, self._write(key, value), None)

    async def update(self, key: str, value: bytes, mod_revision: int) -> WriteResult:
        self._check_fail()
        cur = self._latest(key)
        if cur is None or cur.mod_revision != mod_revision:
            return WriteResult(False, self.revision,
                               self._kv(key, cur) if cur is not None else None)
        return WriteResult(True, self._write(key, value), None)

    async def delete(self, key: str, mod_revision: int) -> WriteResult:
        self._check_fail()
        cur = self._latest(key)
        if cur is None or cur.mod_revision != mod_revision:
            return WriteResult(False, self.revision,
                               self._kv(key, cur) if cur is not None else None)
        return WriteResult(True, self._write(key, None), None)

    def watch(self, prefix: str, revision: int) -> KVWatch:
        return _MemoryWatch(self, prefix, revision)

    async def current_revision(self) -> int:
        self._check_fail()
        return self.revision

    async def compact(self, revision: int) -> None:
        """Forget history at and below `revision` (keeping each key's latest version)."""
        if revision <= self.compact_revision:
            raise KVError("etcdserver: mvcc: required revision has been compacted")
        if revision > self.revision:
            raise KVError("etcdserver: mvcc: required revision is a future revision")
        self.compact_revision = revision
        for key in list(self._keys):
            vs = self._versions[key]
            i = bisect.bisect_right([x.mod_revision for x in vs], revision)
            keep = vs[max(0, i - 1):]
            if keep and keep[0].value is None and keep[0].mod_revision <= revision:
                keep = keep[1:]
            if keep:
                self._versions[key] = keep
            else:
                del self._versions[key]
                self._keys.remove(key)
        cut = bisect.bisect_right(self._event_revs, revision)
        del self._events[:cut]
        del self._event_revs[:cut]


# --------------------------------------------------------------------------------------
# Over etcd
# --------------------------------------------------------------------------------------


class _EtcdWatch(KVWatch):
    """One etcd Watch stream on a prefix, resumed on another member when it breaks.

    Written against the raw Watch stub rather than EtcdClient.watch because the watch
    cache needs progress requests on the same stream.
    """

    def __init__(self, kv: "EtcdKV", prefix: str, revision: int) -> None:
        self.kv = kv
        self.prefix = prefix.encode()
        self.end = prefix_end(prefix).encode()
        self.start = revision
        self._requests: asyncio.Queue[Any] | None = None
        self.closed = False
        self._call: Any = None
        self.progress_pending = False

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._gen()

    def request_progress(self) -> None:
        from protos.etcdserverpb import rpc_pb2

        if self._requests is None:
            self.progress_pending = True  # asked before the stream exists
            return
        self._requests.put_nowait(rpc_pb2.WatchRequest(
            progress_request=rpc_pb2.WatchProgressRequest()))

    def close(self) -> None:
        self.closed = True
        if self._call is not None:
            self._call.cancel()

    async def _gen(self) -> AsyncIterator[WatchEvent]:
        import grpc

        from protos.etcdserverpb import rpc_pb2, rpc_pb2_grpc
        from protos.mvccpb import kv_pb2

        next_rev = self.start
        failures = 0
        # each watch walks the members on its own: N watches breaking together must not
        # rotate one shared index N times (with N a multiple of the member count, they
        # would all land on the dead member again)
        member = self.kv._watch_cur
        while not self.closed:
            channel = self.kv._watch_channel(member)
            stub = rpc_pb2_grpc.WatchStub(channel)
            requests: asyncio.Queue[Any] = asyncio.Queue()
            requests.put_nowait(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
                key=self.prefix, range_end=self.end, start_revision=next_rev, prev_kv=True)))
            self._requests = requests
            if self.progress_pending:
                self.progress_pending = False
                self.request_progress()

            async def reqs(q: asyncio.Queue[Any] = requests) -> AsyncIterator[Any]:
                while True:
                    item = await q.get()
                    if item is None:  # the stream is over: let grpc's sender task end
                        return
                    yield item

            call = stub.Watch(reqs())
            self._call = call
            try:
                async for resp in call:
                    failures = 0
                    if resp.canceled:
                        if resp.compact_revision:
                            raise CompactedError(resp.compact_revision)
                        raise KVError(f"watch canceled: {resp.cancel_reason}")
                    if resp.created:
                        if not next_rev:
                            next_rev = resp.header.revision + 1
                        continue
                    if not resp.events:
                        # a progress notification: everything up to header.revision is here
                        if resp.header.revision >= next_rev - 1:
                            yield WatchEvent(PROGRESS, "", None, None, resp.header.revision)
                        continue
                    for ev in resp.events:
                        rev = ev.kv.mod_revision
                        if rev < next_rev:
                            continue  # delivered before a resume
                        key = ev.kv.key.decode()
                        prev = bytes(ev.prev_kv.value) if ev.HasField("prev_kv") else None
                        if ev.type == kv_pb2.Event.PUT:
                            yield WatchEvent(PUT, key, bytes(ev.kv.value), prev, rev)
                        else:
                            yield WatchEvent(DELETE, key, None, prev, rev)
                        next_rev = rev
                    next_rev = resp.events[-1].kv.mod_revision + 1
            except grpc.aio.AioRpcError:
                if self.closed:
                    return
                failures += 1
                member += 1
                self.kv._watch_cur = member  # new watches start past the broken member
                await asyncio.sleep(min(0.05 * failures, 1.0))
            except asyncio.CancelledError:
                if self.closed:
                    return
                raise
            finally:
                requests.put_nowait(None)
                call.cancel()
                self._call = None


class TxnBatcher:
    """Group commit: guarded writes that arrive while a Txn is in flight are sent
    together, as the nested Txns of one outer Txn (one raft entry, one fsync), when it
    returns.

    A write arriving while nothing is in flight goes out alone and at once, so an idle
    store sees exactly the single-key Txns it saw before; under load (thousands of
    lease renewals and pod status writes a second) the store applies up to
    `max_ops` (100) writes (and 1 MiB) per entry. With `linger` > 0 the first write
    of a burst waits that long for company (the apiserver uses a few milliseconds:
    thousands of lease renewals a second then cost tens of raft entries, not
    hundreds). Each nested Txn keeps its own compare, success and
    failure ops, so its outcome is the same as if it had been sent alone; writes in one
    batch share a revision, as etcd gives the writes of one Txn. Two writes to the same
    key never share a batch (etcd refuses duplicate keys in one Txn): the later one
    waits for the next. A failed batch fails each of its writes with the same error,
    and each caller handles it as it would have handled its own (an uncertain write is
    read back per key).
    """

    def __init__(self, send: Callable[[Any], Awaitable[Any]], max_ops: int = 100,
                 max_bytes: int = 1 << 20, linger: float = 0.0) -> None:
        self._send = send
        self.linger = linger
        # etcd's --max-txn-ops (128) bounds the outer Txn's op count plus each nested
        # Txn's op count (1 here): at most 127 writes per batch
        self.max_ops = max_ops
        self.max_bytes = max_bytes  # under etcd's 1.5 MiB request limit
        self._pending: list[tuple[str, Any, asyncio.Future[Any]]] = []
        self._inflight = False
        self.stats = {"batches": 0, "txns": 0}

    async def submit(self, key: str, req: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((key, req, fut))
        if not self._inflight:
            self._inflight = True
            asyncio.get_running_loop().create_task(self._drain())
        return await fut

    def _take(self) -> list[tuple[str, Any, asyncio.Future[Any]]]:
        batch: list[tuple[str, Any, asyncio.Future[Any]]] = []
        keys: set[str] = set()
        rest: list[tuple[str, Any, asyncio.Future[Any]]] = []
        size = 0
        for item in self._pending:
            if item[2].done():
                continue
            n = item[1].ByteSize()
            if len(batch) < self.max_ops and item[0] not in keys and \
                    (not batch or size + n <= self.max_bytes):
                keys.add(item[0])
                batch.append(item)
                size += n
            else:
                rest.append(item)
        self._pending = rest
        return batch

    async def _drain(self) -> None:
        from protos.etcdserverpb import rpc_pb2

        try:
            while self._pending:
                if self.linger > 0 and len(self._pending) < self.max_ops:
                    await asyncio.sleep(self.linger)  # let a burst gather into one entry
                batch = self._take()
                if not batch:
                    continue
                self.stats["batches"] += 1
                self.stats["txns"] += len(batch)
                try:
                    if len(batch) == 1:
                        results = [await self._send(batch[0][1])]
                    else:
                        outer = rpc_pb2.TxnRequest(success=[
                            rpc_pb2.RequestOp(request_txn=req) for _, req, _ in batch])
                        r = await self._send(outer)
                        results = []
                        for resp in r.responses:
                            inner = resp.response_txn
                            inner.header.revision = r.header.revision
                            results.append(inner)
                except BaseException as e:  # noqa: B902 - every waiter gets the failure
                    task = asyncio.current_task()
                    really_cancelled = isinstance(e, asyncio.CancelledError) and \
                        task is not None and task.cancelling() > 0
                    if isinstance(e, asyncio.CancelledError) and not really_cancelled:
                        # the store answered CANCELLED (grpc.aio raises CancelledError
                        # for it): the writes may or may not have landed
                        from actors.etcd.client import UncertainWriteError

                        import grpc

                        e = UncertainWriteError(grpc.StatusCode.CANCELLED, "cancelled by the store")
                    for _, _, fut in batch:
                        if not fut.done():
                            fut.set_exception(e)
                    if really_cancelled:
                        raise
                    continue
                for (_, _, fut), res in zip(batch, results):
                    if not fut.done():
                        fut.set_result(res)
        finally:
            self._inflight = False
            for _, _, fut in self._pending:  # only on cancellation
                if not fut.done():
                    fut.set_exception(KVError("store client closed"))
            if self._pending:
                self._pending = []


class EtcdKV(KV):
    """The KV over an etcd v3 cluster (the kubemu store): Txn-based optimistic concurrency."""

    def __init__(self, endpoints: Sequence[str], *, timeout: float = 10.0,
                 batch_linger: float = 0.0) -> None:
        from actors.etcd.client import EtcdClient

        self.endpoints = [e.replace("http://", "") for e in endpoints]
        self.client = EtcdClient(self.endpoints, timeout=timeout)
        self.timeout = timeout
        self._watch_channels: list[Any] = []
        self._watch_cur = 0
        self._batcher = TxnBatcher(self.client.txn, linger=batch_linger)

    def _watch_channel(self, member: int) -> Any:
        from actors.common import grpcutil

        if not self._watch_channels:
            self._watch_channels = [grpcutil.aio_channel(e) for e in self.endpoints]
        return self._watch_channels[member % len(self._watch_channels)]

    async def close(self) -> None:
        for ch in self._watch_channels:
            await ch.close()
        await self.client.close()

    @staticmethod
    def _map_error(e: Exception) -> KVError:
        from actors.etcd.client import CompactedError as EtcdCompacted
        from actors.etcd.client import EtcdClientError, UncertainWriteError

        if isinstance(e, EtcdCompacted):
            return CompactedError(e.compact_revision)
        if isinstance(e, UncertainWriteError):
            return KVError(e.message, timeout=True)
        if isinstance(e, EtcdClientError):
            if "compacted" in e.message:
                return CompactedError(0)
            return KVError(e.message, timeout=e.code.name == "DEADLINE_EXCEEDED")
        return KVError(str(e))

    async def _guard(self, coro: Any) -> Any:
        from actors.etcd.client import EtcdClientError

        try:
            return await coro
        except EtcdClientError as e:
            raise self._map_error(e) from None

    @staticmethod
    def _kv(kv: Any) -> KeyValue:
        return KeyValue(kv.key.decode(), bytes(kv.value), kv.create_revision, kv.mod_revision)

    async def get(self, key: str) -> KeyValue | None:
        r = await self._guard(self.client.get(key))
        return self._kv(r.kvs[0]) if r.kvs else None

    async def list(self, prefix: str, *, start: str = "", revision: int = 0,
                   limit: int = 0) -> ListResult:
        from protos.etcdserverpb import rpc_pb2

        lo = max(prefix, start)
        req = rpc_pb2.RangeRequest(key=lo.encode(), range_end=prefix_end(prefix).encode(),
                                   revision=revision, limit=limit)
        r = await self._guard(self.client.range(req))
        return ListResult([self._kv(kv) for kv in r.kvs], r.header.revision if not revision
                          else revision, bool(r.more), int(r.count))

    async def _txn(self, key: str, cmp: Any, op: Any, expect_value: bytes | None
                   ) -> WriteResult:
        """One guarded write; after an uncertain failure, read back to learn the outcome."""
        from actors.etcd.client import EtcdClientError, UncertainWriteError
        from protos.etcdserverpb import rpc_pb2

        req = rpc_pb2.TxnRequest(
            compare=[cmp], success=[op],
            failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key.encode()))])
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                r = await self._batcher.submit(key, req)
            except UncertainWriteError:
                cur = await self.get(key)
                if expect_value is None:  # a delete: gone means it (or another) landed
                    if cur is None:
                        return WriteResult(True, await self.current_revision(), None)
                elif cur is not None and cur.value == expect_value:
                    return WriteResult(True, cur.mod_revision, None)
                if time.monotonic() > deadline:
                    raise KVError("request did not complete within requested timeout",
                                  timeout=True) from None
                if not self._still_applicable(cmp, cur):
                    return WriteResult(False, await self.current_revision(), cur)
                continue
            except EtcdClientError as e:
                raise self._map_error(e) from None
            if r.succeeded:
                return WriteResult(True, r.header.revision, None)
            rr = r.responses[0].response_range if r.responses else None
            cur = self._kv(rr.kvs[0]) if rr is not None and rr.kvs else None
            return WriteResult(False, r.header.revision, cur)

    @staticmethod
    def _still_applicable(cmp: Any, cur: KeyValue | None) -> bool:
        from protos.etcdserverpb import rpc_pb2

        if cmp.target == rpc_pb2.Compare.CREATE:
            return cur is None
        return cur is not None and cur.mod_revision == cmp.mod_revision

    async def create(self, key: str, value: bytes) -> WriteResult:
        from protos.etcdserverpb import rpc_pb2

        k = key.encode()
        cmp = rpc_pb2.Compare(key=k, target=rpc_pb2.Compare.CREATE,
                              result=rpc_pb2.Compare.EQUAL, create_revision=0)
        op = rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=k, value=value))
        return await self._txn(key, cmp, op, value)

    async def update(self, key: str, value: bytes, mod_revision: int) -> WriteResult:
        from protos.etcdserverpb import rpc_pb2

        k = key.encode()
        cmp = rpc_pb2.Compare(key=k, target=rpc_pb2.Compare.MOD,
                              result=rpc_pb2.Compare.EQUAL, mod_revision=mod_revision)
        op = rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=k, value=value))
        return await self._txn(key, cmp, op, value)

    async def delete(self, key: str, mod_revision: int) -> WriteResult:
        from protos.etcdserverpb import rpc_pb2

        k = key.encode()
        cmp = rpc_pb2.Compare(key=k, target=rpc_pb2.Compare.MOD,
                              result=rpc_pb2.Compare.EQUAL, mod_revision=mod_revision)
        op = rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=k))
        return await self._txn(key, cmp, op, None)

    def watch(self, prefix: str, revision: int) -> KVWatch:
        return _EtcdWatch(self, prefix, revision)

    async def current_revision(self) -> int:
        # a linearizable read of one (absent) key: its header carries the store revision
        r = await self._guard(self.client.get("/registry", keys_only=True))
        return int(r.header.revision)

    async def compact(self, revision: int) -> None:
        await self._guard(self.client.compact(revision, physical=True))

