"""One node's kubelet without I/O: admission, pod workers and their wake-up heap (pure).

    core = KubeletCore(cfg)
    core.pod_changed(pod, now)        # watch ADDED / MODIFIED (spec.nodeName == this node)
    core.pod_deleted(pod, now)        # watch DELETED
    for out in core.run_due(now):     # every worker whose wake-up time has come
        post out.status, record out.events, delete the pod if out.delete
    core.next_wake()                  # when to call run_due again (None: only on events)
    core.log_target(ns, pod, container, previous)  # (LogView, Container) of a container log

Workers sleep in a heap keyed by their next wake-up time (stale entries are skipped
lazily), so an idle node costs nothing between events and a pool of thousands of
hollow nodes can drive every core from one loop. Admission is the kubelet's
predicate admit handler for resources: a pod that does not fit what the admitted,
not yet terminal pods leave of the node's allocatable is rejected with phase Failed
and reason OutOfcpu / OutOfmemory / OutOfpods ("Node didn't have enough resource:
cpu, requested: 500, used: 3800, capacity: 4000"). A pod seen for the first time
whose status says it already runs here (hostIP and startTime set) is adopted, not
restarted: that is a kubelet restart.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

from .config import NodeConfig
from .events import PodEvent
from .node_status import capacity
from .pod_status import quantity
from .pod_worker import PodWorker
from .runtime import Container, LogError, LogView, Runtime

Obj = dict[str, Any]


@dataclass(slots=True)
class PodOutput:
    """What one step of one pod asks the caller to do."""
    pod: Obj
    status: Obj | None = None
    events: list[PodEvent] = field(default_factory=list)
    delete: bool = False


def pod_requests(pod: Obj) -> dict[str, int]:
    """Effective requests (millicores, bytes): max(sum of containers, largest init
    container), plus overhead, as the scheduler and kubelet admission count them."""
    spec = pod.get("spec") or {}

    def req(c: Obj) -> dict[str, int]:
        res = c.get("resources") or {}
        r = dict(res.get("limits") or {})
        r.update(res.get("requests") or {})
        return {"cpu": int(quantity(r.get("cpu", 0)) * 1000),
                "memory": int(quantity(r.get("memory", 0)))}

    total = {"cpu": 0, "memory": 0}
    for c in spec.get("containers") or []:
        for k, v in req(c).items():
            total[k] += v
    for c in spec.get("initContainers") or []:
        for k, v in req(c).items():
            total[k] = max(total[k], v)
    for k, v in (spec.get("overhead") or {}).items():
        if k == "cpu":
            total["cpu"] += int(quantity(v) * 1000)
        elif k == "memory":
            total["memory"] += int(quantity(v))
    return total


class KubeletCore:
    __slots__ = ("cfg", "runtime", "workers", "_heap", "_wake", "_seq", "_alloc", "_requests")

    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        self.runtime = Runtime(cfg.node_name, cfg.pod_cidr, cfg.registry, cfg.time_scale,
                               cfg.preloaded_images)
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self._heap: list[tuple[float, int, str]] = []
        self._wake: dict[str, float] = {}
        self._seq = itertools.count()
        self._requests: dict[str, dict[str, int]] = {}  # admitted pod uid -> its requests
        cap = capacity(cfg)
        self._alloc = {"cpu": int(quantity(cap["cpu"]) * 1000),
                       "memory": int(quantity(cap["memory"])), "pods": int(quantity(cap["pods"]))}

    # ---- inputs ---------------------------------------------------------------------

    def pod_changed(self, pod: Obj, now: float, *, check_status: bool = False) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        w = self.workers.get(uid)
        if w is None:
            st = pod.get("status") or {}
            if st.get("hostIP") == self.cfg.node_ip and st.get("startTime"):
                w = PodWorker.adopt(pod, self.cfg, self.runtime, now)
            else:
                w = PodWorker(pod, self.cfg, self.runtime, rejected=self._admit(pod))
            if w.rejected is None:
                self._requests[uid] = pod_requests(pod)
            self.workers[uid] = w
            self._schedule(uid, now)
            return
        was = w.kill_requested
        w.update(pod, check_status=check_status)
        if (w.kill_requested and not was) or (check_status and w.last_status is None):
            self._schedule(uid, now)

    def pod_deleted(self, pod: Obj, now: float) -> PodOutput | None:
        """The pod object is gone; stops its containers if any still ran."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        w = self.workers.pop(uid, None)
        self._wake.pop(uid, None)
        self._requests.pop(uid, None)
        if w is None:
            return None
        fx = w.kill(now)
        return PodOutput(pod=w.pod, events=fx.events)

    # ---- the loop -------------------------------------------------------------------

    def next_wake(self) -> float | None:
        while self._heap:
            t, _, uid = self._heap[0]
            if self._wake.get(uid) == t:
                return t
            heapq.heappop(self._heap)  # stale
        return None

    def run_due(self, now: float) -> list[PodOutput]:
        out: list[PodOutput] = []
        while self._heap and self._heap[0][0] <= now:
            t, _, uid = heapq.heappop(self._heap)
            if self._wake.get(uid) != t:
                continue
            del self._wake[uid]
            w = self.workers.get(uid)
            if w is None:
                continue
            fx = w.step(now)
            if fx.wake_at is not None:
                self._schedule(uid, fx.wake_at)
            if fx.status is not None or fx.events or fx.delete:
                out.append(PodOutput(pod=w.pod, status=fx.status, events=fx.events,
                                     delete=fx.delete))
        return out

    def _schedule(self, uid: str, at: float) -> None:
        cur = self._wake.get(uid)
        if cur is not None and cur <= at:
            return
        self._wake[uid] = at
        heapq.heappush(self._heap, (at, next(self._seq), uid))

    # ---- admission ------------------------------------------------------------------

    def _admit(self, pod: Obj) -> tuple[str, str] | None:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            return None
        used = {"cpu": 0, "memory": 0, "pods": 0}
        for uid, r in self._requests.items():
            w = self.workers.get(uid)
            if w is None or w.finished:
                continue
            used["cpu"] += r["cpu"]
            used["memory"] += r["memory"]
            used["pods"] += 1
        want = pod_requests(pod)
        want_all = {"pods": 1, "cpu": want["cpu"], "memory": want["memory"]}
        for res in ("pods", "cpu", "memory"):
            if want_all[res] and used[res] + want_all[res] > self._alloc[res]:
                return (f"OutOf{res}", f"Node didn't have enough resource: {res}, requested: "
                        f"{want_all[res]}, used: {used[res]}, capacity: {self._alloc[res]}")
        return None

    # ---- logs -----------------------------------------------------------------------

    def find(self, namespace: str, name: str) -> PodWorker | None:
        """The worker of pod namespace/name (the live one when an old one still stops)."""
        best: PodWorker | None = None
        for w in self.workers.values():
            meta = w.pod.get("metadata") or {}
            if meta.get("name") == name and (meta.get("namespace") or "default") == namespace:
                if best is None or (best.kill_requested and not w.kill_requested):
                    best = w
        return best

    def log_target(self, namespace: str, name: str, container: str,
                   previous: bool) -> tuple[LogView, Container]:
        """What a log request reads (the kubelet's getContainerLogs checks, in order:
        the pod, the container in its spec, then the container's state); LogError."""
        w = self.find(namespace, name)
        if w is None:
            raise LogError(f'pod "{name}" does not exist', not_found=True)
        names = [s.name for s in w.slots]
        if not container:
            regular = [s.name for s in w.slots if not s.init]
            if len(regular) != 1:
                raise LogError(f"a container name must be specified for pod {name}, "
                               f"choose one of: [{' '.join(names)}]")
            container = regular[0]
        if container not in names:
            raise LogError(f'container "{container}" not found in pod "{name}"',
                           not_found=True)
        c = w.log_container(container, previous)
        return self.runtime.log_view(c, w.hostname), c

    # ---- introspection --------------------------------------------------------------

    def pod_count(self) -> int:
        return len(self.workers)

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for w in self.workers.values():
            st = w.last_status or {}
            out.append({"pod": w.key, "uid": w.uid, "phase": st.get("phase", ""),
                        "podIP": w.ip, "stage": w.stage})
        return sorted(out, key=lambda d: str(d["pod"]))
