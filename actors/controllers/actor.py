"""kube-controller-manager as a Ray actor: informers in, API writes and events out.

    rayutil.start_actor(ControllerManagerActor, "controller-manager",
                        {"apiserver": "127.0.0.1:6443",
                         "controllers": ["replicaset", "deployment", "garbagecollector",
                                         "nodelifecycle", "tainteviction", "podgc",
                                         "endpoints", "namespace"],
                         "seed": 1, "time_scale": 0.1})

`ControllerManager` is the asyncio shell around the pure `loop.Runner`: one shared
informer (`actors.common.informer.Informer` over `APIClient`) per watched resource
feeds the runner's event handlers and serves as the `View`; once every informer has
synced, ``workers`` tasks (default 5) take ready keys, reconcile, carry the actions
out through the API (concurrently within a batch, see `loop.Execution`) and report
back. Two verbs exist only here: ``update`` honours ``options["subresource"]`` (the
namespace controller's ``namespaces/finalize``), and ``deletecollection`` is upstream's
deleteEachItem done live (list, delete each item in Background, list again and fail if
anything is left: the apiserver serves no DeleteCollection). Events are posted
asynchronously as core/v1 Events (source.component
``replicaset-controller``, ``deployment-controller``...), repeated ones aggregated
into ``count`` as the event correlator does. `ControllerManagerActor` runs it in its
own loop thread started from ``__init__`` (a Ray restart re-runs ``__init__``, the
informers relist and reconciling resumes, level-based).

Config: ``apiserver`` (host:port, required), ``controllers`` (names, default all:
replicaset, deployment, garbagecollector, nodelifecycle, tainteviction, podgc,
endpoints, namespace),
``seed`` (pod-name randomness; default random), ``workers``, ``burstReplicas``,
``gcResources`` (resources the garbage collector watches), ``namespaceResources``
(namespaced resources the namespace controller watches; the others it deletes live;
default all but events), and for the node
controllers, in upstream seconds (each controller multiplies them by ``time_scale``):
``node_monitor_period`` (5), ``node_monitor_grace_period`` (50),
``node_startup_grace_period`` (60), ``node_eviction_rate`` (0.1 nodes/s),
``secondary_node_eviction_rate`` (0.01), ``large_cluster_size_threshold`` (50),
``unhealthy_zone_threshold`` (0.55), ``pod_gc_period`` (20),
``pod_gc_quarantine_time`` (40), ``terminated_pod_gc_threshold`` (12500), ``time_scale``
(1.0).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import OrderedDict
from typing import Any

from actors.api.errors import APIError
from actors.common.clock import Clock, RealClock, rfc3339
from actors.common.faultinject import FaultHooks
from actors.common.informer import Informer
from actors.common.loopthread import LoopThread

from . import namespace as _namespace  # noqa: F401  (registers "namespace")
from . import util as u
from .loop import Action, EventSpec, Execution, OwnerExists, Runner, WatchEvent, build_controllers

log = logging.getLogger("kubemu.controller-manager")

DEFAULT_CONTROLLERS = ("replicaset", "deployment", "garbagecollector", "nodelifecycle",
                       "tainteviction", "podgc", "endpoints", "namespace")
COMPONENTS = {"replicaset": "replicaset-controller", "deployment": "deployment-controller",
              "garbagecollector": "garbage-collector-controller",
              "nodelifecycle": "node-controller", "tainteviction": "taint-eviction-controller",
              "podgc": "pod-garbage-collector", "endpoints": "endpoint-controller",
              "namespace": "namespace-controller"}


class InformerView:
    """The `View` over the informers' caches."""

    def __init__(self, informers: dict[str, Informer]) -> None:
        self.informers = informers

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        inf = self.informers.get(resource)
        return None if inf is None else inf.get(namespace or None, name)

    def list(self, resource: str, namespace: str | None = None,
             selector: Any = None) -> list[dict[str, Any]]:
        inf = self.informers.get(resource)
        if inf is None:
            return []
        out = inf.list()
        if namespace is not None:
            out = [o for o in out if u.namespace(o) == namespace]
        if selector is not None:
            out = [o for o in out if selector.matches(u.labels(o))]
        return out


class EventPoster:
    """Posts recorded events; an identical (object, type, reason, message) event seen
    again bumps count/lastTimestamp of the first one instead (EventCorrelator, reduced)."""

    def __init__(self, client: Any, clock: Clock, cache_size: int = 4096) -> None:
        self.client = client
        self.clock = clock
        self.queue: asyncio.Queue[tuple[str, EventSpec, float]] = asyncio.Queue()
        self._seen: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()
        self._cache_size = cache_size
        self._seq = 0
        self.posted = 0
        self.failed = 0

    def record(self, controller: str, spec: EventSpec, now: float) -> None:
        self.queue.put_nowait((controller, spec, now))

    async def run(self) -> None:
        while True:
            controller, spec, now = await self.queue.get()
            try:
                await self._post(controller, spec, now)
                self.posted += 1
            except Exception as e:  # events are best effort
                self.failed += 1
                log.debug("posting event failed: %s", e)

    async def _post(self, controller: str, spec: EventSpec, now: float) -> None:
        component = COMPONENTS.get(controller, controller)
        ref = spec.regarding
        ns = ref.get("namespace") or "default"
        key = (ref.get("uid", ""), ref.get("name", ""), ns, spec.type, spec.reason, spec.message,
               component)
        ts = rfc3339(now)
        prev = self._seen.get(key)
        if prev is not None:
            name, _, count = prev
            try:
                await self.client.patch("events", name, {"count": count + 1, "lastTimestamp": ts},
                                        namespace=ns)
                self._seen[key] = (name, ns, count + 1)
                self._seen.move_to_end(key)
                return
            except APIError as e:
                if e.code != 404:
                    raise
        self._seq += 1
        name = f"{ref.get('name', 'unknown')}.{int(now * 1e9) + self._seq:x}"
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": name, "namespace": ns},
              "involvedObject": dict(ref), "reason": spec.reason, "message": spec.message,
              "type": spec.type, "source": {"component": component},
              "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
              "reportingComponent": component, "reportingInstance": component}
        await self.client.create("events", ev, namespace=ns)
        self._seen[key] = (name, ns, 1)
        if len(self._seen) > self._cache_size:
            self._seen.popitem(last=False)


class ControllerManager:
    def __init__(self, config: dict[str, Any], client: Any = None,
                 clock: Clock | None = None) -> None:
        self.config = dict(config)
        self.names = list(config.get("controllers") or DEFAULT_CONTROLLERS)
        self.workers = int(config.get("workers", 5))
        seed = config.get("seed")
        # a process restarted by Ray must not replay the names its predecessor generated
        # (a re-used pod name could collide with a pod that still exists): mix in the pid
        self.rng = random.Random(None if seed is None else f"{seed}/{os.getpid()}")
        self.clock = clock or RealClock()
        self._client = client
        self.informers: dict[str, Informer] = {}
        self.runner: Runner | None = None
        self.events: EventPoster | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._wake: asyncio.Event | None = None
        self._stopped = False
        self.synced = False
        self.started_at = time.time()

    async def start(self) -> None:
        if self._client is None:
            from actors.apiserver.client import APIClient
            self._client = APIClient(str(self.config["apiserver"]))
        client = self._client
        controllers = build_controllers(self.names, self.config)
        view = InformerView(self.informers)
        self.events = EventPoster(client, self.clock)
        self.runner = Runner(controllers, view, self.rng, recorder=self.events.record)
        self._wake = asyncio.Event()
        self.runner.on_wake = self._wake.set
        for res in self.runner.watched_resources():
            inf = Informer(client, res)
            inf.add_event_handler(on_add=self._handler(res, "ADDED"),
                                  on_update=self._update_handler(res),
                                  on_delete=self._handler(res, "DELETED"))
            self.informers[res] = inf
            inf.start()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self.events.run()))
        self._tasks.append(loop.create_task(self._start_workers()))

    def _handler(self, resource: str, etype: str) -> Any:
        def on(obj: dict[str, Any]) -> None:
            assert self.runner is not None
            self.runner.handle(WatchEvent(etype, resource, obj), self.clock.now())
        return on

    def _update_handler(self, resource: str) -> Any:
        def on(old: dict[str, Any], new: dict[str, Any]) -> None:
            assert self.runner is not None
            self.runner.handle(WatchEvent("MODIFIED", resource, new, old), self.clock.now())
        return on

    async def _start_workers(self) -> None:
        """WaitForCacheSync, then the workers."""
        await asyncio.gather(*(inf.wait_for_sync() for inf in self.informers.values()))
        self.synced = True
        log.info("caches synced for %s; starting %d workers", ",".join(self.names), self.workers)
        loop = asyncio.get_running_loop()
        for i in range(self.workers):
            self._tasks.append(loop.create_task(self._worker(i)))

    async def _worker(self, i: int) -> None:
        assert self.runner is not None and self._wake is not None
        runner, wake = self.runner, self._wake
        while not self._stopped:
            now = self.clock.now()
            ex = runner.pop(now)
            if ex is None:
                deadline = runner.next_deadline(now)
                wake.clear()
                timeout = None if deadline is None else max(deadline - now, 0.0)
                try:
                    await asyncio.wait_for(wake.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
                continue
            try:
                await self.execute(ex)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # never lose the key
                log.exception("executing %s %s", ex.controller, ex.key)
                ex.failed = True
                ex.errors.append(e)
            runner.finish(ex, self.clock.now())
            if runner.next_deadline(self.clock.now()) == self.clock.now():
                wake.set()  # more ready work for the other workers

    async def execute(self, ex: Execution) -> None:
        while (step := ex.next_step()) is not None:
            results = await asyncio.gather(*(self._do(a) for a in step), return_exceptions=True)
            for a, r in zip(step, results):
                if isinstance(r, BaseException):
                    if isinstance(r, asyncio.CancelledError):
                        raise r
                    ex.record(a, None, r)
                else:
                    ex.record(a, r, None)

    async def _do(self, a: Action) -> dict[str, Any] | None:
        c = self._client
        if a.verb == "event":
            return None
        for chk in a.options.get("if_absent") or []:
            try:
                o = await c.get(chk["resource"], chk["name"], chk["namespace"] or None)
            except APIError as e:
                if e.code == 404:
                    continue
                raise
            if chk.get("any_uid") or u.uid(o) == chk["uid"]:
                raise OwnerExists(f'{chk["resource"]} "{chk["name"]}"')
        ns = a.namespace or None
        if a.verb == "create":
            r: dict[str, Any] = await c.create(a.resource, a.body, namespace=ns)
        elif a.verb == "update":
            r = await c.update(a.resource, a.body, subresource=a.options.get("subresource", ""))
        elif a.verb == "update_status":
            r = await c.update(a.resource, a.body, subresource="status")
        elif a.verb == "patch":
            r = await c.patch(a.resource, a.name, a.options["patch"], namespace=ns,
                              patch_type=a.options.get("patch_type", "merge"))
        elif a.verb == "delete":
            r = await c.delete(a.resource, a.name, namespace=ns,
                               grace_period_seconds=a.options.get("grace_period_seconds"),
                               propagation_policy=a.options.get("propagation_policy"),
                               preconditions_uid=a.options.get("preconditions_uid"))
        elif a.verb == "deletecollection":
            await self._delete_collection(a)
            return None
        else:
            raise ValueError(f"unknown verb {a.verb}")
        return r

    async def _delete_collection(self, a: Action) -> None:
        """deleteEachItem: every item of a.resource in a.namespace, then a check that
        nothing is left (the namespace controller's unwatched resources)."""
        c, ns = self._client, a.namespace or None
        policy = a.options.get("propagation_policy")

        async def delete(o: dict[str, Any]) -> None:
            try:
                await c.delete(a.resource, u.name(o), namespace=ns, propagation_policy=policy,
                               preconditions_uid=u.uid(o))
            except APIError as e:
                if e.code not in (404, 405, 409):
                    raise

        items = [o for o in (await c.list_all(a.resource, ns)).get("items") or []
                 if u.deletion_timestamp(o) is None]
        for i in range(0, len(items), 50):
            await asyncio.gather(*(delete(o) for o in items[i:i + 50]))
        if (await c.list_all(a.resource, ns)).get("items"):
            raise RuntimeError(_namespace.remaining_error(a.namespace, a.resource))

    async def status(self) -> dict[str, Any]:
        r = self.runner
        return {
            "apiserver": self.config.get("apiserver"),
            "controllers": self.names,
            "synced": self.synced,
            "informers": {res: {"synced": inf.has_synced, "objects": len(inf.cache),
                                **inf.stats} for res, inf in self.informers.items()},
            "queues": {} if r is None else {
                n: {"ready": len(q), "pending": q.pending(), "processing": q.processing()}
                for n, q in r.queues.items()},
            "stats": {} if r is None else {n: vars(s) for n, s in r.stats.items()},
            "events": {} if self.events is None else
            {"posted": self.events.posted, "failed": self.events.failed,
             "queued": self.events.queue.qsize()},
            "uptime": time.time() - self.started_at,
        }

    async def stop(self) -> None:
        self._stopped = True
        for inf in self.informers.values():
            inf.stop()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        close = getattr(self._client, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:
                pass


class ControllerManagerActor(FaultHooks):
    """Ray-facing shell: ``rayutil.start_actor(ControllerManagerActor, name, config)``."""

    def __init__(self, config: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        self._lt = LoopThread("controller-manager")
        from actors.common import faultinject

        faultinject.install()  # before any client: every channel obeys `kubemu fault`
        self._cm = ControllerManager(config)
        self._lt.run(self._cm.start(), timeout=60)

    def status(self) -> dict[str, Any]:
        return self._lt.run(self._cm.status(), timeout=30)

    def stop(self) -> None:
        self._lt.run(self._cm.stop(), timeout=10)
