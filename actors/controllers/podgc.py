"""The pod garbage collector (upstream pkg/controller/podgc), pure.

Every gcCheckPeriod (20 s, key ``gc``) it looks at all pods and nodes:

- **orphaned** pods — bound to a node that does not exist: the node name waits in
  quarantine (40 s) in case the informer is just late, then, still absent from the
  cache, each of its pods is marked Failed with the condition DisruptionTarget=True
  (reason DeletionByPodGC, "PodGC: node no longer exists") and force-deleted (grace 0),
  both only if a live GET confirms the node is gone (the action's ``if_absent`` with
  ``any_uid``: a node of that name re-registered meanwhile saves them). This is what
  makes deleting a Node object delete its pods;
- **terminating** pods on a node that is not Ready *and* has the
  ``node.kubernetes.io/out-of-service`` taint: marked Failed and force-deleted (without
  the taint, pods of an unreachable node stay Terminating until the node comes back or
  is deleted, as upstream);
- **unscheduled terminating** pods (deletionTimestamp, no nodeName): force-deleted;
- **terminated** pods (phase Succeeded/Failed) beyond terminatedPodGCThreshold (12500;
  0 = off): the oldest deleted first, evicted ones before the rest.

The pass itself only decides; each pod is then handled under its own key
``pod/<namespace>/<name>`` (status update through the status subresource, then the
delete — a failure skips the delete and retries the pod with backoff), as upstream's
markFailedAndDeletePod does per pod. Durations are upstream seconds scaled by
``time_scale``. PodGC posts no events.
"""

from __future__ import annotations

import functools
import random
from typing import Any, Mapping

from . import nodeutil as nu
from . import util as u
from .loop import Action, BaseController, Result, View, WatchEvent, register

GC_CHECK_PERIOD = 20.0
QUARANTINE_TIME = 40.0
TERMINATED_POD_GC_THRESHOLD = 12500

GC = "gc"
ORPHANED, TERMINATING, UNSCHEDULED, TERMINATED = (
    "orphaned", "terminating-out-of-service", "terminating-unscheduled", "terminated")

Obj = dict[str, Any]


def is_terminated(pod: Mapping[str, Any]) -> bool:
    return u.pod_phase(pod) not in ("Pending", "Running", "Unknown")


def is_evicted(pod: Mapping[str, Any]) -> bool:
    """eviction.PodIsEvicted: Failed with reason Evicted."""
    st = pod.get("status") or {}
    return st.get("phase") == "Failed" and st.get("reason") == "Evicted"


def _by_eviction_and_creation(a: Obj, b: Obj) -> int:
    ea, eb = is_evicted(a), is_evicted(b)
    if ea != eb:
        return -1 if ea else 1
    ta, tb = u.creation_time(a) or 0.0, u.creation_time(b) or 0.0
    if ta == tb:
        return (u.name(a) > u.name(b)) - (u.name(a) < u.name(b))
    return -1 if ta < tb else 1


def terminated_to_delete(pods: list[Obj], threshold: int) -> list[Obj]:
    """gcTerminated: the terminated pods beyond the threshold, evicted then oldest first."""
    if threshold <= 0:
        return []
    terminated = [p for p in pods if is_terminated(p)]
    count = len(terminated) - threshold
    if count <= 0:
        return []
    return sorted(terminated, key=functools.cmp_to_key(_by_eviction_and_creation))[:count]


def terminating_out_of_service(pods: list[Obj], nodes: Mapping[str, Obj]) -> list[Obj]:
    """gcTerminating: terminating pods on a not-Ready node tainted out-of-service."""
    out = []
    for p in pods:
        if u.deletion_timestamp(p) is None:
            continue
        node = nodes.get(nu.node_name_of(p))
        if node is None:
            continue
        if not nu.is_node_ready(node) and \
                nu.taint_key_exists(nu.node_taints(node), nu.TAINT_OUT_OF_SERVICE):
            out.append(p)
    return sorted(out, key=functools.cmp_to_key(_by_eviction_and_creation))


class PodGCController(BaseController):
    name = "podgc"
    watches: tuple[str, ...] = ("pods", "nodes")
    component = "pod-garbage-collector"

    def __init__(self, *, gc_check_period: float = GC_CHECK_PERIOD,
                 quarantine_time: float = QUARANTINE_TIME,
                 terminated_pod_gc_threshold: int = TERMINATED_POD_GC_THRESHOLD,
                 time_scale: float = 1.0) -> None:
        self.period = gc_check_period
        self.quarantine_time = quarantine_time
        self.threshold = terminated_pod_gc_threshold
        self.time_scale = time_scale
        self.quarantine: dict[str, float] = {}  # missing node -> first seen missing
        self.pending: dict[str, tuple[str, str]] = {}  # pod key -> (reason, pod uid)
        self._started = False

    def scaled(self, seconds: float) -> float:
        return u.scaled(seconds, self.time_scale)

    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        if not self._started:  # Run(): the first pass right after the caches sync
            self._started = True
            return [(GC, 0.0)]
        return [(GC, self.scaled(self.period))]  # keeps the periodic pass alive

    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        if key == GC:
            return [], Result(requeue_after=self.scaled(self.period),
                              enqueue=[f"pod/{k}" for k in self._gc(view, now)])
        kind, _, rest = key.partition("/")
        if kind == "pod":
            return self._pod(rest, view, now), Result()
        return [], Result()

    def _gc(self, view: View, now: float) -> list[str]:
        pods = sorted(view.list("pods"), key=u.obj_key)
        nodes = {u.name(n): n for n in view.list("nodes")}
        chosen: dict[str, tuple[str, str]] = {}
        for p in terminated_to_delete(pods, self.threshold):
            chosen.setdefault(u.obj_key(p), (TERMINATED, u.uid(p)))
        for p in terminating_out_of_service(pods, nodes):
            chosen.setdefault(u.obj_key(p), (TERMINATING, u.uid(p)))
        # gcOrphaned: quarantine unknown node names, then trust a live GET
        for p in pods:
            n = nu.node_name_of(p)
            if n and n not in nodes:
                self.quarantine.setdefault(n, now)
        deleted: set[str] = set()
        for n, since in sorted(self.quarantine.items()):
            if n in nodes:
                del self.quarantine[n]
            elif now >= since + self.scaled(self.quarantine_time):
                deleted.add(n)
                del self.quarantine[n]
        for p in pods:
            if nu.node_name_of(p) in deleted:
                chosen.setdefault(u.obj_key(p), (ORPHANED, u.uid(p)))
        for p in pods:  # gcUnscheduledTerminating
            if u.deletion_timestamp(p) is not None and not nu.node_name_of(p):
                chosen.setdefault(u.obj_key(p), (UNSCHEDULED, u.uid(p)))
        self.pending.update(chosen)
        return sorted(chosen)

    def _pod(self, key: str, view: View, now: float) -> list[Action]:
        """markFailedAndDeletePod(WithCondition)."""
        reason, uid = self.pending.pop(key, ("", ""))
        ns, name = u.split_key(key)
        pod = view.get("pods", ns, name)
        if not reason or pod is None or u.uid(pod) != uid:
            return []
        checks: list[dict[str, Any]] = []
        if reason == ORPHANED:
            checks = [{"resource": "nodes", "namespace": "", "name": nu.node_name_of(pod),
                       "uid": "", "any_uid": True}]
        actions: list[Action] = []
        if u.pod_phase(pod) not in ("Succeeded", "Failed"):
            status = u.deepcopy(dict(pod.get("status") or {}))
            status["phase"] = "Failed"
            if reason == ORPHANED:
                nu.update_pod_condition(status, {
                    "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                    "message": "PodGC: node no longer exists"}, now)
            actions.append(Action("update_status", "pods", ns, name, nu.with_status(pod, status),
                                  options={"if_absent": checks}, tolerate=(404, 412)))
        actions.append(Action("delete", "pods", ns, name, options={
            "grace_period_seconds": 0, "preconditions_uid": uid, "if_absent": checks},
            tolerate=(404, 412)))
        return actions


@register("podgc")
def _new(config: dict[str, Any]) -> PodGCController:
    def num(k: str, d: float) -> float:
        v = config.get(k)
        return d if v is None else float(v)
    return PodGCController(
        gc_check_period=num("pod_gc_period", GC_CHECK_PERIOD),
        quarantine_time=num("pod_gc_quarantine_time", QUARANTINE_TIME),
        terminated_pod_gc_threshold=int(num("terminated_pod_gc_threshold",
                                            TERMINATED_POD_GC_THRESHOLD)),
        time_scale=num("time_scale", 1.0))
