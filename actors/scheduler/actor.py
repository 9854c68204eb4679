"""The scheduler shell: `SchedulerServer` (asyncio) and `SchedulerActor` (Ray).

All decisions are in the pure core (`scheduler.Scheduler`); this module only moves
data between it and the apiserver:

- two informers (actors.common.informer) feed the core: nodes, and pods that are not
  Succeeded/Failed (`status.phase!=Succeeded,status.phase!=Failed`, as upstream's pod
  informer), their handlers calling `on_node_*` / `on_pod_*` and waking the loop;
- the loop waits for both informers to sync, then runs `schedule_next()` until the
  queue has nothing active, sleeping until an informer event or the next flush tick
  (1 s, scaled); each cycle's writes (FailedScheduling events, the PodScheduled
  condition / nominatedNodeName patch, a preemption's victim patches, deletes and
  Preempted events) are sent in the background, one after the other;
- a decided placement is bound in the background (`APIClient.bind`, pods/binding),
  while the loop goes on with the next pod against the cache in which the pod is
  already assumed; the outcome goes back to the core (`bind_succeeded` posts the
  `Scheduled` event, `bind_failed` forgets the pod and requeues it).

Config keys:

    apiserver                          the apiserver's host:port
    scheduler_name                     "default-scheduler"
    time_scale                         multiplies every duration below (default 1.0)
    pod_initial_backoff_seconds        1
    pod_max_backoff_seconds            10
    pod_max_in_unschedulable_seconds   300
    seed                               the tie-breaking rng's seed (default: random)
    scheduler_config                   a KubeSchedulerConfiguration dict (config.py): profiles,
                                       percentageOfNodesToScore, and the pod backoffs (its
                                       podInitialBackoffSeconds / podMaxBackoffSeconds win over
                                       the keys above); an invalid one fails the start

Each cycle's decision record (decision.py) goes into the pod's
`kubemu.io/scheduling-decision` annotation: with the binding (whose annotations the
apiserver copies onto the pod) when scheduled, or as a metadata patch when the pod
failed differently from its last attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

from actors.api.errors import APIError
from actors.apiserver.client import APIClient
from actors.common.clock import Clock, RealClock
from actors.common.faultinject import FaultHooks
from actors.common.informer import Informer
from actors.common.loopthread import LoopThread

from .events import ApiCall
from .queue import BACKOFF_FLUSH_PERIOD, UNSCHEDULABLE_FLUSH_PERIOD, SchedulingQueue
from . import decision, helpers
from .config import load as load_scheduler_config
from .scheduler import Bind, Scheduler

log = logging.getLogger("kubemu.scheduler")

DEFAULTS: dict[str, Any] = {
    "apiserver": "",
    "scheduler_name": "default-scheduler",
    "time_scale": 1.0,
    "pod_initial_backoff_seconds": 1.0,
    "pod_max_backoff_seconds": 10.0,
    "pod_max_in_unschedulable_seconds": 300.0,
    "seed": None,
    "scheduler_config": None,
}

POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"


class SchedulerServer:
    """Construct, then `await start()` inside a running loop."""

    def __init__(self, config: dict[str, Any], *, clock: Clock | None = None,
                 client: Any = None) -> None:
        self.config = {**DEFAULTS, **config}
        if not self.config["apiserver"] and client is None:
            raise ValueError("scheduler: apiserver: Required value")
        self.clock = clock or RealClock()
        self.client = client if client is not None else APIClient(self.config["apiserver"])
        scale = float(self.config["time_scale"])
        seed = self.config["seed"]
        name = str(self.config["scheduler_name"])
        raw_cfg = dict(self.config.get("scheduler_config") or {})
        if not raw_cfg.get("profiles"):
            raw_cfg["profiles"] = [{"schedulerName": name}]
        sched_cfg, profiles = load_scheduler_config(raw_cfg)  # ConfigError: a bad configuration
        initial = sched_cfg.pod_initial_backoff_seconds if "podInitialBackoffSeconds" in raw_cfg \
            else float(self.config["pod_initial_backoff_seconds"])
        maximum = sched_cfg.pod_max_backoff_seconds if "podMaxBackoffSeconds" in raw_cfg \
            else float(self.config["pod_max_backoff_seconds"])
        queue = SchedulingQueue(
            self.clock,
            pod_initial_backoff=initial * scale,
            pod_max_backoff=maximum * scale,
            pod_max_in_unschedulable_pods_duration=float(self.config["pod_max_in_unschedulable_seconds"]) * scale)
        self.tick_period = BACKOFF_FLUSH_PERIOD * scale
        self.core = Scheduler(self.clock, random.Random(seed if seed is not None else time.time_ns()),
                              scheduler_name=sched_cfg.profiles[0].scheduler_name, queue=queue,
                              profiles=profiles,
                              percentage_of_nodes_to_score=sched_cfg.percentage_of_nodes_to_score,
                              backoff_flush_period=self.tick_period,
                              unschedulable_flush_period=UNSCHEDULABLE_FLUSH_PERIOD * scale)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None
        self._stopped = False
        self.started_at = time.time()
        self.api_errors = 0

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self.nodes = Informer(self.client, "nodes", on_add=self._node_add,
                              on_update=self._node_update, on_delete=self._node_delete)
        self.pods = Informer(self.client, "pods", field_selector=POD_FIELD_SELECTOR,
                             on_add=self._pod_add, on_update=self._pod_update,
                             on_delete=self._pod_delete)
        self.nodes.start()
        self.pods.start()
        self._main = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopped = True
        self.nodes.stop()
        self.pods.stop()
        tasks = list(self._tasks) + ([self._main] if self._main is not None else [])
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        close = getattr(self.client, "close", None)
        if close is not None:
            await close()

    # ---- informer handlers (run in the loop, synchronous) -------------------------------

    def _handle(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        finally:
            self._wake.set()

    def _node_add(self, node: dict[str, Any]) -> None:
        self._handle(self.core.on_node_add, node)

    def _node_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._handle(self.core.on_node_update, old, new)

    def _node_delete(self, node: dict[str, Any]) -> None:
        self._handle(self.core.on_node_delete, node)

    def _pod_add(self, pod: dict[str, Any]) -> None:
        self._handle(self.core.on_pod_add, pod)

    def _pod_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._handle(self.core.on_pod_update, old, new)

    def _pod_delete(self, pod: dict[str, Any]) -> None:
        self._handle(self.core.on_pod_delete, pod)

    # ---- the scheduling loop ------------------------------------------------------------

    async def _run(self) -> None:
        while not (await self.nodes.wait_for_sync(1.0) and await self.pods.wait_for_sync(1.0)):
            if self._stopped:
                return
        log.info("scheduler %s: caches synced (%d nodes)", self.core.scheduler_name,
                 self.core.cache.node_count())
        while not self._stopped:
            try:
                self.core.tick()
                cycle = self.core.schedule_next()
            except Exception:
                log.exception("scheduling cycle failed")
                cycle = None
            if cycle is None:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.tick_period)
                except asyncio.TimeoutError:
                    pass
                continue
            if cycle.calls:  # in order: a victim's DisruptionTarget patch goes before its delete
                self._spawn(self._api_calls(cycle.calls))
            if cycle.bind is None and cycle.decision is not None:
                latest = self.core.pending.get(helpers.pod_key(cycle.pod), cycle.pod)
                patch = decision.annotation_patch(latest, cycle.decision)
                if patch is not None:
                    self._spawn(self._api_call(patch))
            if cycle.bind is not None:
                self._spawn(self._bind(cycle.bind))
            elif cycle.message:
                log.info("unable to schedule %s/%s: %s", cycle.pod.get("metadata", {}).get("namespace"),
                         cycle.pod.get("metadata", {}).get("name"), cycle.message)
            await asyncio.sleep(0)  # let informer events in between cycles

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _bind(self, bind: Bind) -> None:
        try:
            if bind.decision is None:
                await self.client.bind(bind.namespace, bind.name, bind.node)
            else:  # pods/binding with the decision record, copied onto the pod
                await self.client.create("pods", {
                    "apiVersion": "v1", "kind": "Binding",
                    "metadata": {"name": bind.name, "namespace": bind.namespace,
                                 "annotations": decision.annotations_for(bind.decision)},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": bind.node}},
                    namespace=bind.namespace, subresource="binding")
        except asyncio.CancelledError:
            raise
        except Exception as e:
            message = e.message if isinstance(e, APIError) else str(e)
            log.info("binding %s/%s to %s failed: %s", bind.namespace, bind.name, bind.node, message)
            calls = self.core.bind_failed(bind, message)
            self._wake.set()
        else:
            calls = self.core.bind_succeeded(bind)
        for call in calls:
            await self._api_call(call)

    async def _api_calls(self, calls: list[ApiCall]) -> None:
        for call in calls:
            await self._api_call(call)

    async def _api_call(self, call: ApiCall) -> None:
        try:
            if call.verb == "create":
                await self.client.create(call.resource, call.body, namespace=call.namespace)
            elif call.verb == "delete":  # graceful, with the object's own grace period
                await self.client.delete(call.resource, call.name, namespace=call.namespace)
            else:
                await self.client.patch(call.resource, call.name, call.body, namespace=call.namespace,
                                        subresource=call.subresource)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.api_errors += 1
            if call.resource == "events":
                self.core.recorder.forget(call)
            log.info("%s %s %s/%s failed: %s", call.verb, call.resource, call.namespace, call.name, e)

    # ---- introspection ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "apiserver": self.config["apiserver"],
                "synced": self.nodes.has_synced and self.pods.has_synced,
                "uptime": time.time() - self.started_at, "api_errors": self.api_errors,
                "in_flight": len(self._tasks), **self.core.status()}


class SchedulerActor(FaultHooks):
    """Ray-facing shell: `rayutil.start_actor(SchedulerActor, "scheduler", config)`.

    `__init__` starts the informers and the loop in the actor's own loop thread, so a
    Ray restart after a crash resumes scheduling with nobody calling a start method
    (the informers relist; pods assumed but never bound are simply pending again).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        self._lt = LoopThread("scheduler")
        from actors.common import faultinject

        faultinject.install()  # before any client: every channel obeys `kubemu fault`
        self._server = SchedulerServer(dict(config))
        self._lt.run(self._server.start(), timeout=60)

    def status(self) -> dict[str, Any]:
        return self._lt.run(self._server_status(), timeout=10)

    def stop(self) -> None:
        self._lt.run(self._server.stop(), timeout=10)

    async def _server_status(self) -> dict[str, Any]:
        return self._server.status()
