"""The kubelet shell: the pure cores wired to the apiserver (asyncio + gRPC client).

`Kubelet` runs in one asyncio loop and does the kubelet's I/O:

- registers its Node (create; if it exists, reconcile the labels/taints it owns) and
  posts node status every nodeStatusUpdateFrequency when `NodeStatusManager` says so;
- creates / renews its Lease in kube-node-lease (`LeaseTimer`: every 10 s + jitter,
  retry backoff on failure), optimistically updating the last lease it wrote;
- list-watches its pods (fieldSelector spec.nodeName=<node>) with an `Informer` and
  feeds `KubeletCore`; one loop sleeps until the core's next wake-up or a watch
  event, runs the due workers and dispatches what they ask for: status updates
  (status subresource, retried on conflict against a fresh copy), events (created or
  aggregated by `EventRecorder`), and deletion with grace period 0 once a deleted
  pod's containers are gone. Writes for one pod are applied in order; different pods
  proceed concurrently.

`KubeletServer` is the kubelet API (protos/kubeletpb: container logs, what `kubectl
logs` reaches through the apiserver), for one kubelet or for every kubelet of a hollow
node pool (the request names the node). It reads a container's log from the pod
worker (runtime.logs: computed, never stored) with the kubelet's checks and messages,
sends an empty first chunk once the request is accepted, then the lines in chunks of
64 KiB; with `follow` it sleeps until the next line is due (or 1 s, to notice a stop)
and ends when the container has exited. The kubelet publishes where it listens on its
Node (annotation kubemu.io/kubelet-endpoint and daemonEndpoints), at registration.

`KubeletActor(config)` is the Ray-facing class: the loop runs in a thread started
from `__init__`, so a Ray restart re-registers and adopts the running pods, and the
new API port (config `kubelet_port`, default a free one) is published again.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from typing import Any, AsyncIterator, Callable

import grpc

from actors.api.errors import APIError
from actors.common import faultinject, grpcutil
from actors.common.clock import Clock, RealClock, parse_time, rfc3339
from actors.common.faultinject import FaultHooks
from actors.common.informer import Informer
from actors.common.loopthread import LoopThread
from protos.kubeletpb import kubelet_pb2, kubelet_pb2_grpc

from . import lease as lease_mod
from .config import KUBELET_PORT, NodeConfig
from .core import KubeletCore, PodOutput
from .events import EventAction, EventRecorder, PodEvent, node_ref
from .node_status import NodeStatusManager, build_node, endpoint_port, reconcile_registered
from .runtime import LogError, LogReader

log = logging.getLogger("kubemu.kubelet")

Obj = dict[str, Any]
STATUS_RETRIES = 5
STATUS_RESYNC_SECONDS = 10.0  # upstream's status manager syncBatch period
LOG_CHUNK_BYTES = 64 * 1024
FOLLOW_POLL_SECONDS = 1.0  # a followed container that is stopped is noticed within this


def _rv(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


class Kubelet:
    """One node's kubelet. Construct, then `await start()` inside a running loop."""

    def __init__(self, cfg: NodeConfig, client: Any, clock: Clock | None = None,
                 rng: random.Random | None = None, *, pods: Informer | None = None,
                 nodes: Informer | None = None, event_client: Any = None,
                 register_with_status: bool = False, endpoint: str = "") -> None:
        """`pods` / `nodes`: informers shared by a node pool (see pool.py). With `pods`
        the owner routes this node's pod events to `_on_add/_on_update/_on_delete`;
        with `nodes` the node status loop reads the Node from it instead of a GET.
        `endpoint`: where its KubeletServer listens (host:port), published on the Node."""
        self.cfg = cfg
        self.endpoint = endpoint
        # a pool's kubelets send events through a client of their own (fewer calls in
        # flight), so that thousands of start-up events do not queue ahead of the
        # registrations and Lease renewals that keep nodes Ready
        self.event_client = event_client if event_client is not None else client
        # register the Node with its status (conditions included), as upstream's
        # initialNode does: Ready with the create, one write fewer per node
        self.register_with_status = register_with_status
        self._registered_ready = False
        self._shared_pods = pods
        self._shared_nodes = nodes
        self.client = client
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.core = KubeletCore(cfg)
        self.recorder = EventRecorder(cfg.node_name)
        self.node_status = NodeStatusManager(cfg, images=self.core.runtime.images.status_images,
                                             boot_seed=str(int(self.clock.now())))
        self.set_endpoint(endpoint)
        self.lease_timer = lease_mod.LeaseTimer(cfg, self.rng)
        self.node: Obj | None = None  # the Node as last returned by the apiserver
        self.node_uid = ""
        self.lease: Obj | None = None
        self.registered = False
        self.last_lease_renew: float | None = None
        self.informer: Informer | None = pods
        self._kick: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._writers: dict[str, asyncio.Task[None]] = {}
        self._written: dict[str, Obj] = {}  # pod uid -> the object our last write returned
        self._event_tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.stats = {"status_updates": 0, "events": 0, "deletes": 0, "errors": 0}
        self.last_error = ""

    # ---- lifecycle ------------------------------------------------------------------

    def set_endpoint(self, endpoint: str) -> None:
        """Where this kubelet's API listens (before `start`: registration publishes it)."""
        self.endpoint = endpoint
        self.node_status.port = endpoint_port(endpoint) if endpoint else KUBELET_PORT

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._kick = asyncio.Event()
        self._tasks.append(loop.create_task(self._run()))

    async def stop(self) -> None:
        self._stopped = True
        if self.informer is not None and self._shared_pods is None:
            self.informer.stop()
        for t in self._tasks + list(self._writers.values()) + list(self._event_tasks):
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        close = getattr(self.client, "close", None)
        if close is not None:
            await close()

    async def _run(self) -> None:
        await self._register()
        # the Lease exists before the node first reports Ready (a Ready node without a
        # heartbeat would look stale to the node lifecycle controller)
        try:
            await self._renew_lease()
            self.last_lease_renew = self.clock.now()
        except Exception as e:
            self._error("first lease", e)
        while not self._stopped and not self._registered_ready:
            try:
                await self._post_node_status(force=True)
                break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("kubelet %s: first node status: %s", self.cfg.node_name, e)
                await asyncio.sleep(self.cfg.scaled(1.0))
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._lease_loop()))
        self._tasks.append(loop.create_task(self._node_status_loop()))
        if self._shared_pods is None:
            self.informer = Informer(self.client, "pods",
                                     field_selector=f"spec.nodeName={self.cfg.node_name}",
                                     on_add=self._on_add, on_update=self._on_update,
                                     on_delete=self._on_delete)
            self.informer.start()
        await self._pod_loop()

    def _error(self, where: str, e: BaseException, log_it: bool = True) -> None:
        self.stats["errors"] += 1
        self.last_error = f"{where}: {type(e).__name__}: {e}"
        if log_it:
            log.info("kubelet %s: %s", self.cfg.node_name, self.last_error)

    def status(self) -> Obj:
        return {"node": self.cfg.node_name, "last_error": self.last_error, "registered": self.registered,
                "kubelet_endpoint": self.endpoint,
                "pods": self.core.pod_count(), "pod_list": self.core.summary(),
                "last_lease_renew": self.last_lease_renew,
                "last_status_report": self.node_status.last_report,
                "synced": bool(self.informer and self.informer.has_synced),
                "stats": dict(self.stats)}

    # ---- registration and node status -----------------------------------------------

    async def _register(self) -> None:
        delay = 0.1
        while not self._stopped:
            try:
                now = self.clock.now()
                node = build_node(self.cfg, now, endpoint=self.endpoint)
                if self.register_with_status:
                    node["status"] = self.node_status.compute_status(None, now)
                else:
                    # conditions (Ready) come with the first status update, after the Lease
                    node["status"].pop("conditions", None)
                try:
                    self.node = await self.client.create("nodes", node)
                    if self.register_with_status:
                        self.node_status.posted(self.node, now)
                        self._registered_ready = True
                        for ev in self.node_status.take_events():
                            self._record(node_ref(self.cfg.node_name), ev)
                except APIError as e:
                    if e.code != 409:
                        raise
                    existing = await self.client.get("nodes", self.cfg.node_name)
                    fixed = reconcile_registered(existing, self.cfg, self.endpoint)
                    self.node = await self.client.update("nodes", fixed) if fixed else existing
                assert self.node is not None
                self.node_uid = str((self.node.get("metadata") or {}).get("uid") or "")
                self.registered = True
                self._record(node_ref(self.cfg.node_name),
                             PodEvent(now, "Normal", "Starting", "Starting kubelet."))
                self._record(node_ref(self.cfg.node_name),
                             PodEvent(now, "Normal", "NodeAllocatableEnforced",
                                      "Updated Node Allocatable limit across pods"))
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("kubelet %s: registering: %s", self.cfg.node_name, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.cfg.scaled(7.0) or 0.1)

    async def _post_node_status(self, force: bool = False) -> None:
        """kubelet's tryUpdateNodeStatus: get the Node, post a status when it is due.

        In a pool the Node comes from the shared node informer (upstream reads it from
        the apiserver's cache too); the GET is only needed when it has none."""
        cached = None
        if self._shared_nodes is not None:
            # the pool's node informer, or (first post) the Node registration returned
            cached = self._shared_nodes.get(None, self.cfg.node_name) if not force else self.node
        try:
            self.node = cached if cached is not None else \
                await self.client.get("nodes", self.cfg.node_name)
        except APIError as e:
            if e.code != 404:
                raise
            self.registered = False  # someone deleted our Node: register again
            await self._register()
            self.node_status.last_report = None
            self.node = await self.client.get("nodes", self.cfg.node_name)
        now = self.clock.now()
        if force:
            self.node_status.last_report = None
        upd = self.node_status.status_update(self.node, now)
        if upd is None:
            return
        for attempt in range(STATUS_RETRIES):
            try:
                self.node = await self.client.update("nodes", upd, subresource="status")
                self.node_status.posted(self.node, now)
                for ev in self.node_status.take_events():
                    self._record(node_ref(self.cfg.node_name), ev)
                return
            except APIError as e:
                if e.code != 409 or attempt + 1 == STATUS_RETRIES:
                    raise
                fresh = await self.client.get("nodes", self.cfg.node_name)
                upd = dict(fresh, status=upd["status"])

    async def _node_status_loop(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.cfg.scaled(self.cfg.node_status_update_frequency))
            try:
                await self._post_node_status()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._error("node status", e)

    # ---- lease ----------------------------------------------------------------------

    async def _renew_lease(self) -> None:
        now = self.clock.now()
        if self.lease is not None:
            try:
                self.lease = await self.client.update(
                    "leases", lease_mod.renewed(self.lease, self.cfg, now, self.node_uid))
                return
            except APIError as e:
                if e.code not in (404, 409):
                    raise
                self.lease = None
        if self.last_lease_renew is None and self._shared_pods is not None:
            # a pool's node at start-up: its Lease is usually new, so create first and
            # fall back to get + update only when it exists (one request instead of two)
            try:
                self.lease = await self.client.create(
                    "leases", lease_mod.build_lease(self.cfg, now, self.node_uid),
                    lease_mod.NAMESPACE)
                return
            except APIError as e:
                if e.code != 409:
                    raise
        try:
            cur = await self.client.get("leases", self.cfg.node_name, lease_mod.NAMESPACE)
            self.lease = await self.client.update(
                "leases", lease_mod.renewed(cur, self.cfg, now, self.node_uid))
        except APIError as e:
            if e.code != 404:
                raise
            self.lease = await self.client.create(
                "leases", lease_mod.build_lease(self.cfg, now, self.node_uid),
                lease_mod.NAMESPACE)

    async def _lease_loop(self) -> None:
        while not self._stopped:
            try:
                await self._renew_lease()
                now = self.clock.now()
                self.last_lease_renew = now
                delay = self.lease_timer.next_renew(now) - now
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._error("lease", e)
                now = self.clock.now()
                delay = self.lease_timer.next_retry(now) - now
            await asyncio.sleep(max(0.0, delay))

    # ---- pods -----------------------------------------------------------------------

    def _on_add(self, pod: Obj) -> None:
        self.core.pod_changed(pod, self.clock.now())
        self._wake()

    def _on_update(self, old: Obj, new: Obj) -> None:
        now = self.clock.now()
        if (old.get("metadata") or {}).get("uid") != (new.get("metadata") or {}).get("uid"):
            self._on_delete(old)
        uid = str((new.get("metadata") or {}).get("uid") or "")
        mine = self._written.get(uid)
        if mine is not None and _rv(new) >= _rv(mine):
            del self._written[uid]  # the watch caught up with our write: no second copy
            mine = None
        # compare the status with ours only when no write of ours is still in flight
        self.core.pod_changed(new, now, check_status=mine is None and uid not in self._writers)
        self._wake()

    def _on_delete(self, pod: Obj) -> None:
        self._written.pop(str((pod.get("metadata") or {}).get("uid") or ""), None)
        out = self.core.pod_deleted(pod, self.clock.now())
        if out is not None and out.events:
            self._dispatch(out)
        self._wake()

    def _wake(self) -> None:
        if self._kick is not None:
            self._kick.set()

    async def _pod_loop(self) -> None:
        assert self._kick is not None
        while not self._stopped:
            self._kick.clear()
            now = self.clock.now()
            for out in self.core.run_due(now):
                self._dispatch(out)
            nxt = self.core.next_wake()
            timeout = None if nxt is None else max(0.0, nxt - self.clock.now())
            try:
                await asyncio.wait_for(self._kick.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _dispatch(self, out: PodOutput) -> None:
        """Apply one pod's output after the previous output of the same pod."""
        uid = str((out.pod.get("metadata") or {}).get("uid") or "")
        prev = self._writers.get(uid)
        task = asyncio.get_running_loop().create_task(self._apply(out, prev))
        self._writers[uid] = task

        def done(t: "asyncio.Task[None]") -> None:
            if self._writers.get(uid) is t:
                del self._writers[uid]
        task.add_done_callback(done)

    async def _apply(self, out: PodOutput, prev: "asyncio.Task[None] | None") -> None:
        if prev is not None:
            try:
                await prev
            except (asyncio.CancelledError, Exception):
                pass
        for ev in out.events:
            self._record(out.pod, ev)
        try:
            if out.status is not None:
                await self._post_pod_status(out.pod, out.status)
            if out.delete:
                meta = out.pod.get("metadata") or {}
                try:
                    await self.client.delete("pods", meta.get("name", ""),
                                             meta.get("namespace"), grace_period_seconds=0,
                                             preconditions_uid=meta.get("uid"))
                    self.stats["deletes"] += 1
                except APIError as e:
                    if e.code not in (404, 409):
                        raise
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._error("pod", e, log_it=False)
            if out.status is not None and not self._stopped:
                # as upstream's status manager resyncs: post the pod's status again later
                asyncio.get_running_loop().call_later(
                    self.cfg.scaled(STATUS_RESYNC_SECONDS), self._resync_status, out.pod)
            log.info("kubelet %s: pod %s: %s", self.cfg.node_name,
                     (out.pod.get("metadata") or {}).get("name"), e)

    def _resync_status(self, pod: Obj) -> None:
        """A status write failed: compare the pod's status with the worker's again
        (the worker re-posts its view when they differ)."""
        if self._stopped:
            return
        meta = pod.get("metadata") or {}
        cur = self.informer.get(meta.get("namespace"), meta.get("name", "")) \
            if self.informer is not None else None
        if cur is None or (cur.get("metadata") or {}).get("uid") != meta.get("uid"):
            return  # gone (or replaced): nothing to resync
        self.core.pod_changed(cur, self.clock.now(), check_status=True)
        self._wake()

    async def _post_pod_status(self, pod: Obj, status: Obj) -> None:
        meta = pod.get("metadata") or {}
        ns, name, uid = meta.get("namespace"), meta.get("name", ""), meta.get("uid")
        cur = self.informer.get(ns, name) if self.informer is not None else None
        if cur is None or (cur.get("metadata") or {}).get("uid") != uid:
            cur = pod
        mine = self._written.get(str(uid))
        if mine is not None and _rv(mine) > _rv(cur):
            cur = mine  # our own last write is newer than what the watch has shown yet
        for attempt in range(STATUS_RETRIES):
            body = dict(cur)
            body["status"] = status
            try:
                self._written[str(uid)] = await self.client.update("pods", body,
                                                                   subresource="status")
                self.stats["status_updates"] += 1
                return
            except APIError as e:
                if e.code == 404:
                    return
                if e.code != 409 or attempt + 1 == STATUS_RETRIES:
                    raise
                cur = await self.client.get("pods", name, ns)
                if (cur.get("metadata") or {}).get("uid") != uid:
                    return  # a new pod with the same name: not ours to update

    # ---- events ---------------------------------------------------------------------

    def _record(self, obj: Obj, ev: PodEvent) -> None:
        action = self.recorder.record(obj, ev)
        task = asyncio.get_running_loop().create_task(self._send_event(obj, ev, action))
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _send_event(self, obj: Obj, ev: PodEvent, action: EventAction) -> None:
        try:
            client = self.event_client
            if action.verb == "create":
                await client.create("events", action.body, action.namespace)
            else:
                try:
                    await client.patch("events", action.name, action.body,
                                       namespace=action.namespace)
                except APIError as e:
                    if e.code != 404:
                        raise
                    self.recorder.forget(action)
                    again = self.recorder.record(obj, ev)
                    await client.create("events", again.body, again.namespace)
            self.stats["events"] += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.debug("kubelet %s: event %s: %s", self.cfg.node_name, ev.reason, e)


class KubeletServer(kubelet_pb2_grpc.KubeletServicer):
    """The kubelet API on 127.0.0.1:<port> for the kubelets `lookup(node)` returns
    (`lookup("")`: the only one, for a per-node kubelet)."""

    def __init__(self, lookup: Callable[[str], "Kubelet | None"], port: int = 0) -> None:
        self.lookup = lookup
        self.port = port
        self.server: grpc.aio.Server | None = None
        self.stats = {"logs": 0, "follows": 0, "errors": 0}

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = grpcutil.aio_server()
        kubelet_pb2_grpc.add_KubeletServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.port = grpcutil.bind(self.server, self.port)
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(grace=0.2)

    async def Logs(self, request: Any, context: Any) -> AsyncIterator[Any]:
        k = self.lookup(request.node)
        if k is None:
            self.stats["errors"] += 1
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f'node "{request.node}" is not served here')
        assert k is not None
        if faultinject.STATE.partitioned:  # a cut-off node answers nobody
            await context.abort(grpc.StatusCode.UNAVAILABLE,
                                f"{faultinject.PREFIX} node {k.cfg.node_name} is partitioned")
        now = k.clock.now()
        tail = request.tail_lines if request.HasField("tail_lines") else None
        limit = request.limit_bytes if request.HasField("limit_bytes") else None
        since: float | None = None
        if request.HasField("since_seconds"):
            since = now - request.since_seconds
        try:
            if request.since_time:
                t = parse_time(request.since_time)
                since = t if since is None else max(since, t)
            if (tail is not None and tail < 0) or (limit is not None and limit < 1) or \
                    (request.HasField("since_seconds") and request.since_seconds < 1):
                raise ValueError("bad options")
        except ValueError:
            self.stats["errors"] += 1
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Invalid request.")
        try:
            view, c = k.core.log_target(request.namespace or "default", request.pod,
                                        request.container, request.previous)
        except LogError as e:
            self.stats["errors"] += 1
            await context.abort(grpc.StatusCode.NOT_FOUND if e.not_found
                                else grpc.StatusCode.FAILED_PRECONDITION, e.message)
        self.stats["logs"] += 1
        reader = LogReader(view, c.log_end(now), tail=tail, since=since, limit_bytes=limit,
                           timestamps=request.timestamps)
        yield kubelet_pb2.LogChunk()  # accepted: the caller can answer 200 now
        if request.follow:
            self.stats["follows"] += 1
        while True:
            now = k.clock.now()
            end = c.log_end(now)
            while True:
                data = reader.read(end, LOG_CHUNK_BYTES)
                if data:
                    yield kubelet_pb2.LogChunk(data=data)
                if reader.caught_up(end):
                    break
                await asyncio.sleep(0)  # a long log: let the kubelet's own work run
            if not request.follow or reader.limited or c.exited_by(now):
                return
            nxt = reader.next_time()
            delay = FOLLOW_POLL_SECONDS if nxt is None else \
                min(FOLLOW_POLL_SECONDS, nxt - k.clock.now())
            await asyncio.sleep(max(0.001, delay))


class KubeletActor(FaultHooks):
    """Ray-facing: `rayutil.start_actor(KubeletActor, "kubelet-node-1", config)`."""

    def __init__(self, config: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        from actors.common import faultinject

        faultinject.install()  # before any client: every channel obeys `kubemu fault`
        from actors.apiserver.client import APIClient

        self.cfg = NodeConfig.from_dict(config)
        self._lt = LoopThread(f"kubelet-{self.cfg.node_name}")
        self._kubelet = Kubelet(self.cfg, APIClient(self.cfg.apiserver))
        port = int(config.get("kubelet_port") or 0)
        self._server = self._lt.start_bound(
            lambda: KubeletServer(self._lookup, port), lambda srv: srv.start(),
            cleanup=lambda srv: srv.stop())
        self.port: int | None = self._server.port
        self._kubelet.set_endpoint(self._server.endpoint)
        self._lt.run(self._kubelet.start(), timeout=30)

    def _lookup(self, node: str) -> Kubelet | None:
        return self._kubelet if node in ("", self.cfg.node_name) else None

    def endpoint(self) -> str:
        """Where the kubelet API listens (127.0.0.1:port)."""
        return self._server.endpoint

    def status(self) -> dict[str, Any]:
        st = self._lt.run(self._async(self._kubelet.status), timeout=10)
        st["now"] = rfc3339(time.time())
        return st  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._lt.run(self._server.stop(), timeout=10)
        self._lt.run(self._kubelet.stop(), timeout=10)

    @staticmethod
    async def _async(fn: Any, *args: Any) -> Any:
        return copy.deepcopy(fn(*args))
