"""The etcd member: the shell around the pure raft core, MVCC applier and WAL.

One `Member` runs in one asyncio loop (its own thread inside a Ray actor, see
`EtcdMemberActor`) and hosts two gRPC servers on 127.0.0.1:

- the **peer** server (`kubemu.raftpb.RaftPeer`): raft message batches between members,
  lease renewals forwarded by followers to the leader, pings;
- the **client** server: etcd v3's `etcdserverpb` KV, Watch, Lease, Cluster and
  Maintenance services, wire-compatible with the real etcdctl.

The raft loop follows etcd-io/raft's Ready/Advance contract::

    ready = node.ready()
    storage.save(hard_state, entries)      # one write + one fsync for the whole batch
    transport.send(ready.messages)         # only after the batch is durable
    apply committed entries -> resolve the proposers' futures, feed the watchers
    node.advance(ready)

Throughput comes from batching: every client request that arrives while a batch is
being fsynced joins the next batch, and each peer gets all its queued messages in one
RPC. Writes go through raft on any member (a follower's node forwards the proposal to
the leader); the member that accepted the client call resolves it when it applies the
entry with the request's id. Linearizable reads use ReadIndex, one round shared by
every read that arrived meanwhile. Leases expire on the leader, which proposes their
revocation; followers forward keep-alives to it.

Faults for tests and for `kubemu fault`: `partition(peers)` drops raft traffic to and
from the given members (the process stays alive); SIGKILL of the actor's process is
a crash, after which Ray restarts the actor and `__init__` recovers from the data dir.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator

import grpc

from actors.common import grpcutil
from actors.common.loopthread import LoopThread
from protos.etcdserverpb import internal_pb2, rpc_pb2, rpc_pb2_grpc
from protos.mvccpb import kv_pb2
from protos.raftpb import raft_pb2, raft_pb2_grpc

from . import raftwire
from .apply import (Applier, EtcdError, check_delete_request, check_put_request,
                    check_range_request, check_txn_request, is_txn_readonly)
from .lease import LeaseError
from .raft import RawNode
from .rafttypes import Config, Message, MsgType, Ready, Role
from .wal import Storage

log = logging.getLogger("kubemu.etcd")

SERVER_VERSION = "3.4.0"  # the etcd API level we speak (etcdctl prints it)
MAX_REQUEST_BYTES = int(1.5 * 1024 * 1024)  # etcd --max-request-bytes default
GRPC_OVERHEAD_BYTES = 512 * 1024  # etcd allows this much on top for the gRPC envelope


_LEADER_EARLY = frozenset({MsgType.APP, MsgType.HEARTBEAT, MsgType.SNAP})


def etcd_member_id(cluster: str, name: str) -> int:
    """A stable 64-bit member ID, shown in hex by etcdctl (etcd derives it from URLs)."""
    return int.from_bytes(hashlib.sha256(f"{cluster}/{name}".encode()).digest()[:8], "big") or 1


@dataclass
class PeerInfo:
    id: int  # raft id (1..n)
    name: str
    peer_port: int
    client_port: int

    @property
    def peer_addr(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    @property
    def client_addr(self) -> str:
        return f"127.0.0.1:{self.client_port}"


@dataclass
class MemberConfig:
    id: int
    cluster: str
    peers: list[PeerInfo]
    data_dir: str
    tick_ms: int = 100  # etcd --heartbeat-interval
    election_tick: int = 10  # etcd --election-timeout 1000 ms / heartbeat
    snapshot_count: int = 10_000  # applied entries between snapshots
    request_timeout: float = 7.0  # etcd: 5 s + 2 election timeouts
    max_request_bytes: int = MAX_REQUEST_BYTES
    seed: int | None = None

    @property
    def me(self) -> PeerInfo:
        return next(p for p in self.peers if p.id == self.id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MemberConfig":
        d = dict(d)
        d["peers"] = [PeerInfo(**p) for p in d["peers"]]
        return cls(**d)


class _PeerLink:
    """Outgoing raft traffic to one peer: a queue drained by one sender task, batching."""

    def __init__(self, member: "Member", peer: PeerInfo) -> None:
        self.member = member
        self.peer = peer
        self.queue: list[raft_pb2.Message] = []
        self.wakeup = asyncio.Event()
        self.channel = grpcutil.aio_channel(peer.peer_addr)
        self.stub = raft_pb2_grpc.RaftPeerStub(self.channel)
        self.task = asyncio.get_running_loop().create_task(self._run())
        self.failures = 0

    def send(self, m: Message) -> None:
        self.queue.append(raftwire.message_to_pb(m))
        self.wakeup.set()

    async def _run(self) -> None:
        """Drain the queue into one long-lived SendStream call; reopen it after a failure."""
        call: Any = None
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            if not self.queue:
                continue
            batch, self.queue = self.queue, []
            if self.peer.id in self.member.blocked:
                continue
            try:
                if call is None:
                    call = self.stub.SendStream()
                await call.write(raft_pb2.MessageBatch(messages=batch))
                self.failures = 0
            except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
                # raft retries by itself (heartbeats, probes); just do not spin
                if call is not None:
                    call.cancel()
                call = None
                self.failures += 1
                await asyncio.sleep(min(0.05 * self.failures, 0.5))

    async def close(self) -> None:
        self.task.cancel()
        await self.channel.close()


@dataclass
class _Watcher:
    id: int
    key: bytes
    end: bytes
    prev_kv: bool
    no_put: bool
    no_delete: bool
    start_rev: int
    stream: "_WatchStream"

    def matches(self, key: bytes) -> bool:
        if not self.end:
            return key == self.key
        if self.end == b"\x00":
            return key >= self.key
        return self.key <= key < self.end


@dataclass
class _WatchStream:
    queue: "asyncio.Queue[rpc_pb2.WatchResponse | None]" = field(default_factory=asyncio.Queue)
    watchers: dict[int, _Watcher] = field(default_factory=dict)
    next_id: int = 0


def kv_to_pb(kv: Any) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(key=kv.key, create_revision=kv.create_revision,
                           mod_revision=kv.mod_revision, version=kv.version,
                           value=kv.value, lease=kv.lease)


class Member:
    """One etcd member. Construct, then `await start()` inside a running loop."""

    def __init__(self, cfg: MemberConfig) -> None:
        self.cfg = cfg
        self.id = cfg.id
        self.etcd_id = etcd_member_id(cfg.cluster, cfg.me.name)
        self.cluster_id = int.from_bytes(hashlib.sha256(cfg.cluster.encode()).digest()[:8], "big")
        self.blocked: set[int] = set()
        self._req_ids = itertools.count(1)
        # request id -> (future, the leader this member knew when it proposed)
        self._pending: dict[int, tuple[asyncio.Future[Any], int]] = {}
        self._read_waiters: list[asyncio.Future[None]] = []
        self._read_states: dict[bytes, asyncio.Future[int]] = {}
        self._apply_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._watch_streams: set[_WatchStream] = set()
        self._watchers: dict[tuple[int, int], _Watcher] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._timeouts: list[tuple[float, int, asyncio.Future[Any]]] = []
        self._timeout_seq = itertools.count()
        self._links: dict[int, _PeerLink] = {}
        self._peer_channels: dict[int, Any] = {}
        self.started_at = time.time()
        self.leader_since = 0.0  # wall clock of this member's latest election win
        self.stats = {"proposals": 0, "batches": 0, "fsyncs": 0, "entries": 0, "reads": 0,
                      "snapshots_taken": 0, "snapshots_installed": 0}

    # ---- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._kick_event = asyncio.Event()
        self._read_event = asyncio.Event()
        cfg = self.cfg
        peers = tuple(p.id for p in cfg.peers)
        rng = random.Random(cfg.seed if cfg.seed is not None else (os.getpid() ^ time.time_ns()))
        if Storage.exists(cfg.data_dir):
            self.storage = Storage.open(cfg.data_dir)
            rec = self.storage.load()
            for w in rec.warnings:
                log.warning("member %s: %s", cfg.me.name, w)
            hard_state, snap, entries = rec.hard_state, rec.snapshot, rec.entries
        else:
            os.makedirs(cfg.data_dir, exist_ok=True)
            self.storage = Storage.create(cfg.data_dir, cfg.id, self.cluster_id, list(peers))
            hard_state, snap, entries = None, None, []
        if snap is not None and snap.data:
            self.applier = Applier.restore(snap.data, cluster_id=self.cluster_id,
                                           member_id=self.etcd_id, clock=time.monotonic)
        else:
            self.applier = Applier.new(cluster_id=self.cluster_id, member_id=self.etcd_id,
                                       clock=time.monotonic)
        self.snapshot_index = snap.index if snap else 0
        self.node = RawNode(
            Config(id=cfg.id, peers=peers, election_tick=cfg.election_tick, heartbeat_tick=1),
            rng, hard_state=hard_state, snapshot=snap, entries=entries)
        self.role = self.node.role
        self.leader = self.node.leader
        self._synced_tv = (hard_state.term, hard_state.vote) if hard_state else (0, 0)

        self.peer_server = grpcutil.aio_server()
        raft_pb2_grpc.add_RaftPeerServicer_to_server(_PeerService(self), self.peer_server)
        grpcutil.bind(self.peer_server, cfg.me.peer_port)
        self.client_server = grpcutil.aio_server(cfg.max_request_bytes + GRPC_OVERHEAD_BYTES)
        rpc_pb2_grpc.add_KVServicer_to_server(_KVService(self), self.client_server)
        rpc_pb2_grpc.add_WatchServicer_to_server(_WatchService(self), self.client_server)
        rpc_pb2_grpc.add_LeaseServicer_to_server(_LeaseService(self), self.client_server)
        rpc_pb2_grpc.add_ClusterServicer_to_server(_ClusterService(self), self.client_server)
        rpc_pb2_grpc.add_MaintenanceServicer_to_server(_MaintenanceService(self),
                                                       self.client_server)
        grpcutil.bind(self.client_server, cfg.me.client_port)
        for p in cfg.peers:
            if p.id != cfg.id:
                self._links[p.id] = _PeerLink(self, p)
        await self.peer_server.start()
        await self.client_server.start()
        self._tasks = [loop.create_task(self._ticker()), loop.create_task(self._raft_loop()),
                       loop.create_task(self._read_loop())]
        self.kick()

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for link in self._links.values():
            await link.close()
        await self.client_server.stop(0.5)
        await self.peer_server.stop(0.5)
        self.storage.close()

    # ---- the raft loop --------------------------------------------------------------

    def _election_timeout(self) -> float:
        return self.cfg.election_tick * self.cfg.tick_ms / 1000

    def kick(self) -> None:
        self._kick_event.set()

    async def _ticker(self) -> None:
        period = self.cfg.tick_ms / 1000
        next_at = time.monotonic()
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            self.node.tick()
            self.kick()
            if self._timeouts:
                self._sweep_timeouts()
            if self.role == Role.LEADER:
                self._expire_leases()

    async def _raft_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._kick_event.wait()
            # let the handlers that are already runnable (more proposals, more acks) run
            # first, so this Ready carries them all: one fsync and one send for the lot
            await asyncio.sleep(0)
            self._kick_event.clear()
            while self.node.has_ready():
                rd = self.node.ready()
                late = rd.messages
                if self.node.role == Role.LEADER:
                    # As etcd's server does: a leader sends appends and heartbeats while its
                    # own copy is being written (thesis §10.2.1). Safe because the commit
                    # index they would reveal, and any reply to a client, come only from a
                    # later Ready, which starts after this one is durable. Anything else
                    # (votes, acks, transfer) waits for the fsync.
                    late = []
                    for m in rd.messages:
                        if m.type in _LEADER_EARLY:
                            self._send(m)
                        else:
                            late.append(m)
                if rd.snapshot is not None:
                    await loop.run_in_executor(None, self.storage.save_snapshot, rd.snapshot)
                if rd.hard_state is not None or rd.entries:
                    if self._must_sync(rd):
                        await loop.run_in_executor(None, self.storage.save, rd.hard_state,
                                                   rd.entries)
                        self.stats["fsyncs"] += 1
                        self.stats["entries"] += len(rd.entries)
                    else:
                        # only the commit index moved: written, not fsynced (as etcd's
                        # MustSync) -- a lost commit index is re-learned from the leader
                        self.storage.save(rd.hard_state, rd.entries, sync=False)
                for m in late:
                    self._send(m)
                self._apply_ready(rd)
                self.node.advance(rd)
                self.stats["batches"] += 1
                self._maybe_snapshot()

    def _must_sync(self, rd: Ready) -> bool:
        hs = rd.hard_state
        must = bool(rd.entries) or (hs is not None and (hs.term, hs.vote) != self._synced_tv)
        if hs is not None:
            self._synced_tv = (hs.term, hs.vote)
        return must

    def _send(self, m: Message) -> None:
        link = self._links.get(m.to)
        if link is not None:
            link.send(m)

    def _apply_ready(self, rd: Ready) -> None:
        leader_changed = False
        if rd.soft_state is not None:
            was_leader = self.role == Role.LEADER
            old_leader = self.leader
            self.role, self.leader = rd.soft_state.role, rd.soft_state.leader
            leader_changed = self.leader != old_leader
            if self.role == Role.LEADER and not was_leader:
                self.leader_since = time.time()
                # as etcd: a new leader extends every lease by an election timeout
                self.applier.lessor.promote(time.monotonic(), self._election_timeout())
            elif was_leader and self.role != Role.LEADER:
                self.applier.lessor.demote()
        if rd.snapshot is not None and rd.snapshot.index > self.applier.consistent_index:
            self.applier = Applier.restore(rd.snapshot.data, cluster_id=self.cluster_id,
                                           member_id=self.etcd_id, clock=time.monotonic)
            self.snapshot_index = rd.snapshot.index
            self.stats["snapshots_installed"] += 1
            if self.role == Role.LEADER:
                self.applier.lessor.promote(time.monotonic(), self._election_timeout())
            self._resync_watchers()
        term = self.node.term
        for e in rd.committed_entries:
            if e.index <= self.applier.consistent_index:
                continue
            if not e.data:
                self.applier.consistent_index = e.index
                continue
            req = internal_pb2.InternalRequest.FromString(e.data)
            res = self.applier.apply(e.index, term, req)
            pending = self._pending.pop(req.id, None)
            if pending is not None and not pending[0].done():
                pending[0].set_result(res)
            if res.events:
                self._notify_watchers(res.events)
        if rd.committed_entries:
            applied = rd.committed_entries[-1].index
            if self._apply_waiters:
                still = []
                for idx, f in self._apply_waiters:
                    if idx <= applied:
                        if not f.done():
                            f.set_result(None)
                    else:
                        still.append((idx, f))
                self._apply_waiters = still
        for rs in rd.read_states:
            rf = self._read_states.pop(rs.context, None)
            if rf is not None and not rf.done():
                rf.set_result(rs.index)
        if leader_changed:  # after applying: what this Ready committed was answered above
            self._fail_orphaned_proposals()

    def _fail_orphaned_proposals(self) -> None:
        """The leader changed: proposals handed to the old one may never commit.

        Waiting out the request timeout helps nobody, so answer them now with
        UNAVAILABLE, as etcd answers "leader changed". The outcome is uncertain (the new
        leader may still commit an entry the old one replicated); clients treat it so.
        Re-proposing instead could apply a write twice.
        """
        for rid, (fut, leader) in list(self._pending.items()):
            if leader != self.leader and not fut.done():
                fut.set_exception(EtcdError(
                    "UNAVAILABLE", "etcdserver: leader changed"))
                del self._pending[rid]

    def _maybe_snapshot(self) -> None:
        """Every `snapshot_count` applied entries: snapshot the store, compact the raft log,
        persist the snapshot and release WAL segments below the *previous* snapshot (so a
        damaged newest snapshot can still fall back to the one before it)."""
        applied = self.applier.consistent_index
        if applied - self.snapshot_index < self.cfg.snapshot_count:
            return
        snap = self.node.compact(applied, self.applier.snapshot())
        if snap is None:
            return
        self.storage.save_snapshot(snap)
        if self.snapshot_index:
            self.storage.release(self.snapshot_index)
        self.snapshot_index = applied
        self.stats["snapshots_taken"] += 1

    async def wait_applied(self, index: int) -> None:
        if self.applier.consistent_index >= index:
            return
        f: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._apply_waiters.append((index, f))
        await f

    # ---- proposals and reads --------------------------------------------------------

    def _deadline(self, context: Any) -> float:
        remaining = context.time_remaining() if context is not None else None
        timeout = self.cfg.request_timeout
        if remaining is not None:
            # answer (UNAVAILABLE) a little before the client's own deadline fires
            timeout = min(timeout, max(0.0, remaining - 0.05))
        return time.monotonic() + timeout

    async def propose(self, req: internal_pb2.InternalRequest, context: Any) -> Any:
        rid = (self.id << 48) | next(self._req_ids)
        req.id = rid
        data = req.SerializeToString()
        if len(data) > self.cfg.max_request_bytes:
            raise EtcdError("INVALID_ARGUMENT", "etcdserver: request is too large")
        deadline = self._deadline(context)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (fut, self.node.leader)
        try:
            tick = self.cfg.tick_ms / 1000
            while not self.node.propose(data):
                if time.monotonic() + tick > deadline:
                    raise EtcdError("UNAVAILABLE", "etcdserver: request timed out")
                await asyncio.sleep(tick)
            self.stats["proposals"] += 1
            self.kick()
            self._expire_at(deadline, fut)
            res = await fut
        finally:
            self._pending.pop(rid, None)
        if res.error is not None:
            raise res.error
        return res.response

    async def read_barrier(self, context: Any) -> None:
        """Wait until a linearizable read may be served from the local store."""
        deadline = self._deadline(context)
        f: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._read_waiters.append(f)
        self._read_event.set()
        self._expire_at(deadline, f)
        await f

    def _expire_at(self, deadline: float, fut: "asyncio.Future[Any]") -> None:
        """Fail `fut` with UNAVAILABLE at `deadline` unless it is done by then.

        One heap swept every tick instead of a timer task per request: at thousands of
        requests per second, asyncio.wait_for's per-call task is a visible cost.
        """
        heapq.heappush(self._timeouts, (deadline, next(self._timeout_seq), fut))

    def _sweep_timeouts(self) -> None:
        now = time.monotonic()
        while self._timeouts and self._timeouts[0][0] <= now:
            _, _, fut = heapq.heappop(self._timeouts)
            if not fut.done():
                fut.set_exception(EtcdError("UNAVAILABLE", "etcdserver: request timed out"))

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        ctxs = itertools.count(1)
        tick = self.cfg.tick_ms / 1000
        while True:
            await self._read_event.wait()
            self._read_event.clear()
            waiters, self._read_waiters = self._read_waiters, []
            waiters = [w for w in waiters if not w.done()]
            if not waiters:
                continue
            while waiters:
                ctx = (self.id << 48 | next(ctxs)).to_bytes(8, "big")
                if not self.node.read_index(ctx):
                    await asyncio.sleep(tick)
                    waiters = [w for w in waiters if not w.done()]
                    continue
                f: asyncio.Future[int] = loop.create_future()
                self._read_states[ctx] = f
                self.kick()
                try:
                    index = await asyncio.wait_for(f, self.cfg.election_tick * tick)
                except asyncio.TimeoutError:
                    self._read_states.pop(ctx, None)
                    waiters = [w for w in waiters if not w.done()]
                    continue
                await self.wait_applied(index)
                self.stats["reads"] += len(waiters)
                for w in waiters:
                    if not w.done():
                        w.set_result(None)
                waiters = []

    # ---- watches --------------------------------------------------------------------

    def _header(self) -> rpc_pb2.ResponseHeader:
        return rpc_pb2.ResponseHeader(cluster_id=self.cluster_id, member_id=self.etcd_id,
                                      revision=self.applier.store.revision,
                                      raft_term=self.node.term)

    def _notify_watchers(self, events: list[tuple[int, Any]]) -> None:
        if not self._watchers:
            return
        per: dict[tuple[int, int], list[kv_pb2.Event]] = {}
        for w_key, w in self._watchers.items():
            for rev, ev in events:
                if rev < w.start_rev or not w.matches(ev.kv.key):
                    continue
                is_put = ev.type == 0 or getattr(ev.type, "name", "") == "PUT"
                if (is_put and w.no_put) or (not is_put and w.no_delete):
                    continue
                per.setdefault(w_key, []).append(self._event_pb(ev, w.prev_kv))
        if not per:
            return
        header = self._header()
        for w_key, evs in per.items():
            w = self._watchers[w_key]
            w.stream.queue.put_nowait(rpc_pb2.WatchResponse(header=header, watch_id=w.id,
                                                            events=evs))

    @staticmethod
    def _event_pb(ev: Any, prev_kv: bool) -> kv_pb2.Event:
        is_put = ev.type == 0 or getattr(ev.type, "name", "") == "PUT"
        if is_put:
            pb = kv_pb2.Event(type=kv_pb2.Event.PUT, kv=kv_to_pb(ev.kv))
        else:  # as etcd: a DELETE event's kv carries only the key and the deletion revision
            pb = kv_pb2.Event(type=kv_pb2.Event.DELETE,
                              kv=kv_pb2.KeyValue(key=ev.kv.key, mod_revision=ev.kv.mod_revision))
        if prev_kv and ev.prev_kv is not None:
            pb.prev_kv.CopyFrom(kv_to_pb(ev.prev_kv))
        return pb

    def _resync_watchers(self) -> None:
        """After a snapshot install the event history is not local: cancel as compacted."""
        for w in list(self._watchers.values()):
            w.stream.queue.put_nowait(rpc_pb2.WatchResponse(
                header=self._header(), watch_id=w.id, canceled=True,
                compact_revision=self.applier.store.compact_revision,
                cancel_reason="etcdserver: mvcc: required revision has been compacted"))
            self._watchers.pop((id(w.stream), w.id), None)
            w.stream.watchers.pop(w.id, None)

    def watch_create(self, stream: _WatchStream, cr: rpc_pb2.WatchCreateRequest) -> None:
        wid = cr.watch_id if cr.watch_id else stream.next_id
        if wid in stream.watchers:
            stream.queue.put_nowait(rpc_pb2.WatchResponse(
                header=self._header(), watch_id=wid, created=True, canceled=True,
                cancel_reason="etcdserver: duplicate watch ID provided"))
            return
        stream.next_id = max(stream.next_id, wid + 1)
        filters = set(cr.filters)
        store = self.applier.store
        w = _Watcher(id=wid, key=bytes(cr.key), end=bytes(cr.range_end), prev_kv=cr.prev_kv,
                     no_put=0 in filters, no_delete=1 in filters,
                     start_rev=cr.start_revision or store.revision + 1, stream=stream)
        stream.queue.put_nowait(rpc_pb2.WatchResponse(header=self._header(), watch_id=wid,
                                                      created=True))
        if cr.start_revision and cr.start_revision <= store.revision:
            try:
                history = store.events_since(cr.start_revision, w.key, w.end)
            except Exception as e:  # CompactedError
                if "compacted" not in str(e):
                    raise
                # as etcd: no cancel_reason; clients turn compact_revision into the message
                stream.queue.put_nowait(rpc_pb2.WatchResponse(
                    header=self._header(), watch_id=wid, canceled=True,
                    compact_revision=store.compact_revision))
                return
            evs = []
            for rev, ev in history:
                is_put = ev.type == 0 or getattr(ev.type, "name", "") == "PUT"
                if (is_put and w.no_put) or (not is_put and w.no_delete):
                    continue
                evs.append(self._event_pb(ev, w.prev_kv))
            if evs:
                stream.queue.put_nowait(rpc_pb2.WatchResponse(header=self._header(),
                                                              watch_id=wid, events=evs))
            w.start_rev = store.revision + 1
        stream.watchers[wid] = w
        self._watchers[(id(stream), wid)] = w

    def watch_cancel(self, stream: _WatchStream, wid: int) -> None:
        w = stream.watchers.pop(wid, None)
        self._watchers.pop((id(stream), wid), None)
        if w is not None:
            stream.queue.put_nowait(rpc_pb2.WatchResponse(header=self._header(), watch_id=wid,
                                                          canceled=True))

    def watch_close(self, stream: _WatchStream) -> None:
        for wid in list(stream.watchers):
            self._watchers.pop((id(stream), wid), None)
        stream.watchers.clear()

    # ---- leases ---------------------------------------------------------------------

    def _expire_leases(self) -> None:
        for lid in self.applier.lessor.expired(time.monotonic()):
            req = internal_pb2.InternalRequest(lease_revoke=rpc_pb2.LeaseRevokeRequest(ID=lid))
            asyncio.get_running_loop().create_task(self._revoke_quietly(req))

    async def _revoke_quietly(self, req: internal_pb2.InternalRequest) -> None:
        try:
            await self.propose(req, None)
        except EtcdError:
            pass

    def _peer_stub(self, raft_id: int) -> raft_pb2_grpc.RaftPeerStub | None:
        link = self._links.get(raft_id)
        return link.stub if link is not None else None

    async def lease_renew(self, lease_id: int) -> int:
        """Renew on the leader (here, or forwarded); returns the TTL, 0 if not found."""
        deadline = time.monotonic() + self.cfg.request_timeout
        while time.monotonic() < deadline:
            if self.role == Role.LEADER:
                resp = self.applier.lease_keep_alive(
                    rpc_pb2.LeaseKeepAliveRequest(ID=lease_id), time.monotonic())
                return int(resp.TTL)
            stub = self._peer_stub(self.leader)
            if stub is not None and self.leader not in self.blocked:
                try:
                    r = await stub.LeaseRenew(raft_pb2.LeaseRenewRequest(id=lease_id),
                                              timeout=1.0)
                    if not r.error:
                        return max(0, int(r.ttl))
                except grpc.aio.AioRpcError:
                    pass
            await asyncio.sleep(self.cfg.tick_ms / 1000)
        raise EtcdError("UNAVAILABLE", "etcdserver: request timed out")

    async def lease_ttl(self, req: rpc_pb2.LeaseTimeToLiveRequest) -> rpc_pb2.LeaseTimeToLiveResponse:
        deadline = time.monotonic() + self.cfg.request_timeout
        while time.monotonic() < deadline:
            if self.role == Role.LEADER:
                resp = self.applier.lease_time_to_live(req, time.monotonic())
                resp.header.CopyFrom(self._header())
                return resp
            stub = self._peer_stub(self.leader)
            if stub is not None and self.leader not in self.blocked:
                try:
                    resp = await stub.LeaseTimeToLive(req, timeout=1.0)
                    resp.header.CopyFrom(self._header())
                    return resp
                except grpc.aio.AioRpcError as e:
                    if e.code() == grpc.StatusCode.NOT_FOUND:
                        raise EtcdError("NOT_FOUND", e.details() or "") from None
            await asyncio.sleep(self.cfg.tick_ms / 1000)
        raise EtcdError("UNAVAILABLE", "etcdserver: request timed out")

    # ---- status ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        st = self.node.status() if hasattr(self.node, "status") else {}
        me = self.cfg.me
        return {
            "id": self.id, "name": me.name, "etcd_id": f"{self.etcd_id:x}",
            "pid": os.getpid(), "peer_addr": me.peer_addr, "client_addr": me.client_addr,
            "role": Role(self.node.role).name.lower(), "leader": self.node.leader,
            "leader_since": self.leader_since,
            "term": self.node.term, "commit": self.node.commit,
            "applied": self.applier.consistent_index, "last_index": self.node.last_index,
            "revision": self.applier.store.revision, "hash": self.applier.store.hash(),
            "blocked": sorted(self.blocked),
            "data_dir": self.cfg.data_dir, "stats": dict(self.stats),
            "progress": st.get("progress", {}),
        }

    def partition(self, peers: list[int]) -> None:
        self.blocked = set(peers)

    def heal(self) -> None:
        self.blocked = set()

    def transfer_leader(self, to: int) -> None:
        self.node.transfer_leader(to)
        self.kick()

    def leader_etcd_id(self) -> int:
        if not self.leader:
            return 0
        p = next((p for p in self.cfg.peers if p.id == self.leader), None)
        return etcd_member_id(self.cfg.cluster, p.name) if p else 0


# ---- gRPC services ----------------------------------------------------------------------


async def _abort(context: Any, err: EtcdError) -> None:
    code = getattr(grpc.StatusCode, err.code, grpc.StatusCode.UNKNOWN)
    await context.abort(code, err.message)


class _PeerService(raft_pb2_grpc.RaftPeerServicer):
    def __init__(self, m: Member) -> None:
        self.m = m

    async def Send(self, request: raft_pb2.MessageBatch, context: Any) -> raft_pb2.SendResponse:
        m = self.m
        for pb in request.messages:
            if pb.frm in m.blocked:
                continue
            m.node.step(raftwire.message_from_pb(pb))
        m.kick()
        return raft_pb2.SendResponse()

    async def SendStream(self, request_iterator: AsyncIterator[raft_pb2.MessageBatch],
                         context: Any) -> raft_pb2.SendResponse:
        m = self.m
        async for batch in request_iterator:
            for pb in batch.messages:
                if pb.frm in m.blocked:
                    continue
                m.node.step(raftwire.message_from_pb(pb))
            m.kick()
        return raft_pb2.SendResponse()

    async def LeaseRenew(self, request: raft_pb2.LeaseRenewRequest,
                         context: Any) -> raft_pb2.LeaseRenewResponse:
        m = self.m
        if m.role != Role.LEADER:
            return raft_pb2.LeaseRenewResponse(error="not leader")
        try:
            resp = m.applier.lease_keep_alive(rpc_pb2.LeaseKeepAliveRequest(ID=request.id),
                                              time.monotonic())
            return raft_pb2.LeaseRenewResponse(ttl=int(resp.TTL))
        except (EtcdError, LeaseError) as e:
            return raft_pb2.LeaseRenewResponse(error=str(e))

    async def LeaseTimeToLive(self, request: rpc_pb2.LeaseTimeToLiveRequest,
                              context: Any) -> rpc_pb2.LeaseTimeToLiveResponse:
        m = self.m
        if m.role != Role.LEADER:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "not leader")
        try:
            return m.applier.lease_time_to_live(request, time.monotonic())
        except EtcdError as e:
            await _abort(context, e)
            raise

    async def Ping(self, request: raft_pb2.PingRequest, context: Any) -> raft_pb2.PingResponse:
        return raft_pb2.PingResponse(id=self.m.id, term=self.m.node.term, leader=self.m.leader)


class _KVService(rpc_pb2_grpc.KVServicer):
    def __init__(self, m: Member) -> None:
        self.m = m

    async def Range(self, request: rpc_pb2.RangeRequest, context: Any) -> rpc_pb2.RangeResponse:
        try:
            check_range_request(request)
            if not request.serializable:
                await self.m.read_barrier(context)
            resp = self.m.applier.range(request)
            resp.header.raft_term = self.m.node.term
            return resp
        except EtcdError as e:
            await _abort(context, e)
            raise

    async def _write(self, context: Any, **kw: Any) -> Any:
        try:
            return await self.m.propose(internal_pb2.InternalRequest(**kw), context)
        except EtcdError as e:
            await _abort(context, e)
            raise

    async def Put(self, request: rpc_pb2.PutRequest, context: Any) -> rpc_pb2.PutResponse:
        try:
            check_put_request(request)
        except EtcdError as e:
            await _abort(context, e)
        return await self._write(context, put=request)  # type: ignore[no-any-return]

    async def DeleteRange(self, request: rpc_pb2.DeleteRangeRequest,
                          context: Any) -> rpc_pb2.DeleteRangeResponse:
        try:
            check_delete_request(request)
        except EtcdError as e:
            await _abort(context, e)
        return await self._write(context, delete_range=request)  # type: ignore[no-any-return]

    async def Txn(self, request: rpc_pb2.TxnRequest, context: Any) -> rpc_pb2.TxnResponse:
        try:
            check_txn_request(request)
            if is_txn_readonly(request):  # as etcd: a read-only txn is a linearizable read
                await self.m.read_barrier(context)
                return self.m.applier.txn_read(request, raft_term=self.m.node.term)
        except EtcdError as e:
            await _abort(context, e)
        return await self._write(context, txn=request)  # type: ignore[no-any-return]

    async def Compact(self, request: rpc_pb2.CompactionRequest,
                      context: Any) -> rpc_pb2.CompactionResponse:
        return await self._write(context, compaction=request)  # type: ignore[no-any-return]


class _WatchService(rpc_pb2_grpc.WatchServicer):
    def __init__(self, m: Member) -> None:
        self.m = m

    async def Watch(self, request_iterator: AsyncIterator[rpc_pb2.WatchRequest],
                    context: Any) -> AsyncIterator[rpc_pb2.WatchResponse]:
        m = self.m
        stream = _WatchStream()

        async def reader() -> None:
            try:
                async for req in request_iterator:
                    which = req.WhichOneof("request_union")
                    if which == "create_request":
                        m.watch_create(stream, req.create_request)
                    elif which == "cancel_request":
                        m.watch_cancel(stream, req.cancel_request.watch_id)
                    elif which == "progress_request":
                        stream.queue.put_nowait(rpc_pb2.WatchResponse(header=m._header(),
                                                                      watch_id=-1))
            finally:
                stream.queue.put_nowait(None)

        task = asyncio.get_running_loop().create_task(reader())
        try:
            while True:
                resp = await stream.queue.get()
                if resp is None:
                    break
                yield resp
        finally:
            task.cancel()
            m.watch_close(stream)


class _LeaseService(rpc_pb2_grpc.LeaseServicer):
    def __init__(self, m: Member) -> None:
        self.m = m

    async def LeaseGrant(self, request: rpc_pb2.LeaseGrantRequest,
                         context: Any) -> rpc_pb2.LeaseGrantResponse:
        try:
            return await self.m.propose(  # type: ignore[no-any-return]
                internal_pb2.InternalRequest(lease_grant=request), context)
        except EtcdError as e:
            await _abort(context, e)
            raise

    async def LeaseRevoke(self, request: rpc_pb2.LeaseRevokeRequest,
                          context: Any) -> rpc_pb2.LeaseRevokeResponse:
        try:
            return await self.m.propose(  # type: ignore[no-any-return]
                internal_pb2.InternalRequest(lease_revoke=request), context)
        except EtcdError as e:
            await _abort(context, e)
            raise

    async def LeaseKeepAlive(self, request_iterator: AsyncIterator[rpc_pb2.LeaseKeepAliveRequest],
                             context: Any) -> AsyncIterator[rpc_pb2.LeaseKeepAliveResponse]:
        async for req in request_iterator:
            try:
                ttl = await self.m.lease_renew(req.ID)
            except EtcdError as e:
                await _abort(context, e)
                raise
            yield rpc_pb2.LeaseKeepAliveResponse(header=self.m._header(), ID=req.ID, TTL=ttl)

    async def LeaseTimeToLive(self, request: rpc_pb2.LeaseTimeToLiveRequest,
                              context: Any) -> rpc_pb2.LeaseTimeToLiveResponse:
        try:
            return await self.m.lease_ttl(request)
        except EtcdError as e:
            await _abort(context, e)
            raise

    async def LeaseLeases(self, request: rpc_pb2.LeaseLeasesRequest,
                          context: Any) -> rpc_pb2.LeaseLeasesResponse:
        return self.m.applier.lease_leases()


class _ClusterService(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, m: Member) -> None:
        self.m = m

    async def MemberList(self, request: rpc_pb2.MemberListRequest,
                         context: Any) -> rpc_pb2.MemberListResponse:
        m = self.m
        members = [rpc_pb2.Member(ID=etcd_member_id(m.cfg.cluster, p.name), name=p.name,
                                  peerURLs=[f"http://{p.peer_addr}"],
                                  clientURLs=[f"http://{p.client_addr}"])
                   for p in m.cfg.peers]
        return rpc_pb2.MemberListResponse(header=m._header(), members=members)


class _MaintenanceService(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, m: Member) -> None:
        self.m = m

    async def Status(self, request: rpc_pb2.StatusRequest,
                     context: Any) -> rpc_pb2.StatusResponse:
        m = self.m
        size = m.storage.disk_usage() if hasattr(m.storage, "disk_usage") else 0
        return rpc_pb2.StatusResponse(
            header=m._header(), version=SERVER_VERSION, dbSize=size, dbSizeInUse=size,
            leader=m.leader_etcd_id(), raftIndex=m.node.commit, raftTerm=m.node.term,
            raftAppliedIndex=m.applier.consistent_index, isLearner=False)

    async def Alarm(self, request: rpc_pb2.AlarmRequest, context: Any) -> rpc_pb2.AlarmResponse:
        return rpc_pb2.AlarmResponse(header=self.m._header())


# ---- the Ray actor ----------------------------------------------------------------------


class EtcdMemberActor:
    """Ray-facing shell: `rayutil.start_actor(EtcdMemberActor, name, cfg_dict)`.

    `__init__` starts the member in its own loop thread, so a Ray restart after a
    SIGKILL recovers from the data dir with nobody calling a start method. The
    ports are fixed by the launcher, so a restarted member comes back where its
    peers and clients expect it.
    """

    def __init__(self, cfg: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        self._cfg = MemberConfig.from_dict(cfg)
        self._lt = LoopThread(f"etcd-{self._cfg.me.name}")
        self._member = self._lt.start_bound(lambda: Member(self._cfg), lambda m: m.start())

    def status(self) -> dict[str, Any]:
        return self._lt.run(self._async(self._member.status))

    def pid(self) -> int:
        return os.getpid()

    def partition(self, peers: list[int]) -> None:
        self._lt.run(self._async(self._member.partition, peers))

    def heal(self) -> None:
        self._lt.run(self._async(self._member.heal))

    def transfer_leader(self, to: int) -> None:
        self._lt.run(self._async(self._member.transfer_leader, to))

    def set_fault(self, partitioned: bool = False, delay: float = 0.0,
                  drop_rate: float = 0.0) -> dict[str, Any]:
        """`kubemu fault` on one member: partitioned = cut off from every other member
        (`partition` with all peers; peers' own blocks are the caller's business).
        Raft traffic has no delay/drop knob: raft's own retries would hide it."""
        if delay or drop_rate:
            raise ValueError("etcd members support partition only (no delay or drop)")
        others = [p.id for p in self._cfg.peers if p.id != self._cfg.id]
        self.partition(others if partitioned else [])
        return self.fault_state()

    def fault_state(self) -> dict[str, Any]:
        blocked = self.status()["blocked"]
        return {"partitioned": bool(blocked), "blocked": blocked, "delay": 0.0,
                "drop_rate": 0.0}

    def stop(self) -> None:
        self._lt.run(self._member.stop(), timeout=10)

    @staticmethod
    async def _async(fn: Any, *args: Any) -> Any:
        return fn(*args)
