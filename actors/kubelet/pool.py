"""Hollow node pools: many kubelets in one process (kubemark's hollow nodes, on Ray).

A per-node Ray actor costs ~85 MiB and ~1 % of a core while idle, so thousands of
nodes cannot each have one. A `NodePool` runs N `Kubelet`s — the very class the
per-node actors run, with the same registration, Lease renewal, node status and pod
lifecycle (KubeletCore) — in one asyncio loop, sharing what can be shared:

- one gRPC channel to the apiserver (one `APIClient`);
- one pod informer, `spec.nodeName!=` (every assigned pod), whose events are routed to
  the kubelet of the pod's node; pods of nodes not in this pool are dropped, not kept
  (the informer's cache keeps only this pool's pods, so memory follows the pool's
  pods, not the cluster's);
- one node informer, from which each kubelet's status loop reads its Node every
  nodeStatusUpdateFrequency (upstream reads it from the apiserver's cache too) instead
  of one GET per node per 10 s.

- one kubelet API server (`KubeletServer`: container logs) for all its nodes, each
  request naming its node; every node publishes the same endpoint on its Node.

What stays per node is small: the Kubelet object, its KubeletCore (pod workers), the
last Lease and Node it wrote, and four sleeping asyncio tasks (lease, status, pods,
start-up). The pool's writes go through the apiserver's store client, which group
commits concurrent writes into one raft entry (storage.TxnBatcher), so 5000 nodes'
lease renewals (500 a second) cost the store tens of entries a second.

Each node registers with its status (Ready with the create, as upstream's initialNode
sets the conditions before registering), and events go through a second client with
few calls in flight, so start-up events never queue ahead of registrations and
renewals. Registration is paced (`register_rate` nodes a second per pool, upstream kubemark
also ramps) so that a 5000-node launch does not send 5000 creates in the same
millisecond; each node still registers, creates its Lease and posts Ready on its own.

`NodePoolActor(config)` is the Ray-facing class. Killing its process fails every node
it hosts at once — a rack failure; `kubemu fault kill pool-<name>-<k>` does that.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from typing import Any

from actors.common.clock import Clock, RealClock, rfc3339
from actors.common.faultinject import FaultHooks
from actors.common.informer import Informer
from actors.common.loopthread import LoopThread

from .actor import Kubelet, KubeletServer
from .config import NodeConfig

log = logging.getLogger("kubemu.pool")

Obj = dict[str, Any]

DEFAULT_REGISTER_RATE = 500.0  # nodes per second per pool


def _node_of(pod: Obj) -> str:
    return str(((pod.get("spec") or {}).get("nodeName")) or "")


class NodePool:
    """Construct with the node configs, then `await start()` inside a running loop."""

    def __init__(self, configs: list[NodeConfig], client: Any, clock: Clock | None = None,
                 rng: random.Random | None = None,
                 register_rate: float = DEFAULT_REGISTER_RATE,
                 event_client: Any = None, api_port: int | None = 0) -> None:
        """`api_port`: the kubelet API server's port (0: a free one; None: no server)."""
        self.client = client
        self.event_client = event_client
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.register_rate = register_rate
        names = {c.node_name for c in configs}
        self.pods = Informer(client, "pods", field_selector="spec.nodeName!=",
                             keep=lambda pod: _node_of(pod) in names,
                             on_add=self._on_add, on_update=self._on_update,
                             on_delete=self._on_delete)
        self.nodes = Informer(client, "nodes")
        self.kubelets: dict[str, Kubelet] = {
            c.node_name: Kubelet(c, client, self.clock, random.Random(self.rng.random()),
                                 pods=self.pods, nodes=self.nodes, event_client=event_client,
                                 register_with_status=True)
            for c in configs}
        self._starter: asyncio.Task[None] | None = None
        self.started_at = time.time()
        self.server = KubeletServer(self._lookup, api_port) if api_port is not None else None

    def _lookup(self, node: str) -> Kubelet | None:
        if not node and len(self.kubelets) == 1:
            return next(iter(self.kubelets.values()))
        return self.kubelets.get(node)

    async def start(self) -> None:
        if self.server is not None:  # before any node registers: they publish it
            await self.server.start()
            for k in self.kubelets.values():
                k.set_endpoint(self.server.endpoint)
        self.nodes.start()
        self.pods.start()
        self._starter = asyncio.get_running_loop().create_task(self._start_kubelets())

    async def _start_kubelets(self) -> None:
        gap = 1.0 / self.register_rate if self.register_rate > 0 else 0.0
        for i, k in enumerate(self.kubelets.values()):
            await k.start()
            if gap and i % 10 == 9:
                await asyncio.sleep(10 * gap)

    async def stop(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
        if self.server is not None:
            await self.server.stop()
        self.pods.stop()
        self.nodes.stop()
        for k in self.kubelets.values():
            k.client = _NoClose(k.client)
            await k.stop()
        for c in (self.client, self.event_client):
            close = getattr(c, "close", None)
            if close is not None:
                await close()

    # ---- routing ------------------------------------------------------------------

    def _on_add(self, pod: Obj) -> None:
        k = self.kubelets.get(_node_of(pod))
        if k is not None:
            k._on_add(pod)

    def _on_update(self, old: Obj, new: Obj) -> None:
        k = self.kubelets.get(_node_of(new))
        if k is not None:
            k._on_update(old, new)

    def _on_delete(self, pod: Obj) -> None:
        k = self.kubelets.get(_node_of(pod))
        if k is not None:
            k._on_delete(pod)

    # ---- introspection ------------------------------------------------------------

    def status(self, detail: bool = False) -> Obj:
        ks = list(self.kubelets.values())
        stats: dict[str, int] = {}
        for k in ks:
            for key, v in k.stats.items():
                stats[key] = stats.get(key, 0) + v
        errors: dict[str, int] = {}
        for k in ks:
            if k.last_error:
                what = k.last_error[:120]
                errors[what] = errors.get(what, 0) + 1
        out: Obj = {
            "last_errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
            "nodes": len(ks),
            "registered": sum(1 for k in ks if k.registered),
            "reported_ready": sum(1 for k in ks if k.node_status.last_report is not None),
            "pods": sum(k.core.pod_count() for k in ks),
            "synced": self.pods.has_synced and self.nodes.has_synced,
            "stats": stats,
            "kubelet_endpoint": self.server.endpoint if self.server is not None else "",
        }
        if detail:
            out["node_list"] = {name: {"registered": k.registered, "pods": k.core.pod_count(),
                                       "last_lease_renew": k.last_lease_renew}
                                for name, k in self.kubelets.items()}
        return out

    def kubelet_status(self, node: str) -> Obj | None:
        k = self.kubelets.get(node)
        return k.status() if k is not None else None


class _NoClose:
    """The shared client, minus `close` (the pool closes it once)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "close":
            raise AttributeError(name)
        return getattr(self._inner, name)


class NodePoolActor(FaultHooks):
    """Ray-facing: `rayutil.start_actor(NodePoolActor, "pool-hollow-0", config)`.

    config: {"apiserver": host:port, "nodes": [kubelet config dicts],
             "register_rate": nodes/s, "kubelet_port": the API port (default: a free one)}"""

    def __init__(self, config: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.WARNING)
        from actors.common import faultinject

        faultinject.install()
        from actors.apiserver.client import APIClient

        cfgs = [NodeConfig.from_dict(c) for c in config["nodes"]]
        self._lt = LoopThread(f"pool-{config.get('name', '')}")
        port = int(config.get("kubelet_port") or 0)
        self._pool = self._lt.start_bound(
            lambda: NodePool(cfgs, APIClient(config["apiserver"], max_inflight=256),
                             register_rate=float(config.get("register_rate",
                                                            DEFAULT_REGISTER_RATE)),
                             event_client=APIClient(config["apiserver"], max_inflight=16),
                             api_port=port),
            lambda pool: pool.start(), cleanup=lambda pool: pool.stop())
        self.port: int | None = self._pool.server.port if self._pool.server else None

    def status(self, detail: bool = False) -> dict[str, Any]:
        st = self._lt.run(self._async(self._pool.status, detail), timeout=30)
        st["now"] = rfc3339(time.time())
        return st  # type: ignore[no-any-return]

    def kubelet_status(self, node: str) -> dict[str, Any] | None:
        return self._lt.run(self._async(self._pool.kubelet_status, node),  # type: ignore[no-any-return]
                            timeout=10)

    def stop(self) -> None:
        self._lt.run(self._pool.stop(), timeout=30)

    @staticmethod
    async def _async(fn: Any, *args: Any) -> Any:
        return copy.deepcopy(fn(*args))
