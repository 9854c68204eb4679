"""The taint eviction controller — the NoExecute taint manager (upstream
pkg/controller/tainteviction), pure.

For each pod bound to a node with NoExecute taints (key ``<namespace>/<name>``,
handlePodUpdate / handleNodeUpdate → processPodOnNode):

- a taint the pod does not tolerate → the pod is deleted at once;
- every taint tolerated, the smallest tolerationSeconds among the tolerations used
  (the first toleration matching each taint) finite → the deletion is scheduled that
  many seconds (scaled by ``time_scale``) after the eviction's start: the earliest
  ``timeAdded`` of the node's NoExecute taints when the controller first sees the pod
  there (upstream starts at that first sight; timeAdded makes it survive a restart of
  the controller), kept while the pod stays tainted — swapping one taint for another
  does not restart the clock; tolerationSeconds <= 0 means at once;
- tolerating forever (no tolerationSeconds) → nothing, and a scheduled eviction is
  cancelled; so are those of pods whose node lost its NoExecute taints, went away, or
  that were deleted (event ``TaintManagerEviction`` "Cancelling deletion of Pod ns/name").

An eviction posts ``TaintManagerEviction`` "Marking for deletion Pod ns/name" on the pod,
adds the condition DisruptionTarget=True (reason DeletionByTaintManager) through the
status subresource and deletes the pod gracefully (its own grace period; the kubelet
finishes it — on an unreachable node it stays Terminating). A pod is evicted once (a
failed attempt is retried with the loop's backoff, without a second event); the timers are ``Result(requeue_after=...)`` on the pod's key. Pods already being deleted
are left alone (upstream would issue the same delete again).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping

from . import nodeutil as nu
from . import util as u
from .loop import Action, BaseController, EventSpec, Result, View, WatchEvent, register

COMPONENT = "taint-eviction-controller"

Obj = dict[str, Any]


@dataclass
class Scheduled:
    """A pending eviction (TimedWorker): when it started and when it fires."""
    start: float
    fire_at: float


def eviction_start(taints: list[Obj], now: float) -> float:
    """The earliest timeAdded of the taints; now when none has one, or when it is within
    the last second (timeAdded has second precision: a taint just added counts from
    now, as upstream's first sight of it)."""
    times = [t for t in (u.ts(x.get("timeAdded")) for x in taints) if t is not None]
    start = min([now, *times])
    return now if now - start < 1.0 else start


def pod_decision(pod: Mapping[str, Any], taints: list[Obj]) -> tuple[str, float | None]:
    """("none" | "cancel" | "now" | "after", seconds): what the taints mean for the pod —
    no NoExecute taints: cancel; one not tolerated: now; all tolerated forever: cancel;
    else after the least tolerationSeconds (upstream seconds, 0 = now)."""
    if not taints:
        return "cancel", None
    tolerated, used = nu.matching_tolerations(taints, nu.pod_tolerations(pod))
    if not tolerated:
        return "now", 0.0
    least = nu.min_toleration_seconds(used)
    if least is None:
        return "cancel", None
    return "after", least


class TaintEvictionController(BaseController):
    name = "tainteviction"
    watches: tuple[str, ...] = ("nodes", "pods")
    component = COMPONENT

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self.scheduled: dict[str, Scheduled] = {}
        self.fired: set[str] = set()  # evicted: not again until cancelled (nil workers)
        self.announced: set[str] = set()  # "Marking for deletion" posted (not on retries)

    def scaled(self, seconds: float) -> float:
        return u.scaled(seconds, self.time_scale)

    # -- event handlers (PodUpdated / NodeUpdated) --
    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        o = ev.obj
        if ev.resource == "pods":
            if ev.type == "MODIFIED" and ev.old is not None and \
                    u.semantic_equal(nu.pod_tolerations(ev.old), nu.pod_tolerations(o)) and \
                    nu.node_name_of(ev.old) == nu.node_name_of(o):
                return []
            if ev.type != "DELETED" and not nu.node_name_of(o) and \
                    u.obj_key(o) not in self.scheduled:
                return []
            return [(u.obj_key(o), 0.0)]
        old_taints = nu.noexecute_taints(ev.old) if ev.type == "MODIFIED" else []
        new_taints = nu.noexecute_taints(o) if ev.type != "DELETED" else []
        if ev.type == "MODIFIED" and u.semantic_equal(old_taints, new_taints):
            return []
        if ev.type == "ADDED" and not new_taints:
            return []
        name = u.name(o)
        return [(u.obj_key(p), 0.0) for p in nu.pods_on_node(view, name)]

    # -- reconcile (processPodOnNode) --
    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        ns, name = u.split_key(key)
        pod = view.get("pods", ns, name)
        if pod is None:
            self.fired.discard(key)
            self.announced.discard(key)
            return self._cancel(key, ns, name, None), Result()
        node_name = nu.node_name_of(pod)
        if not node_name:
            return [], Result()
        taints = nu.noexecute_taints(view.get("nodes", "", node_name))
        decision, seconds = pod_decision(pod, taints)
        if decision == "cancel":
            self.fired.discard(key)
            self.announced.discard(key)
            return self._cancel(key, ns, name, pod), Result()
        if key in self.fired:
            return [], Result()  # evicted already
        if decision == "now":
            return [*self._cancel(key, ns, name, pod), *self._evict(key, pod, now)], Result()
        assert seconds is not None
        sched = self.scheduled.get(key)
        start = sched.start if sched is not None else eviction_start(taints, now)
        fire_at = start + self.scaled(seconds)
        if fire_at > now:
            self.scheduled[key] = Scheduled(start, fire_at)
            return [], Result(requeue_after=fire_at - now)
        self.scheduled.pop(key, None)
        return self._evict(key, pod, now), Result()

    def _cancel(self, key: str, ns: str, name: str, pod: Mapping[str, Any] | None
                ) -> list[Action]:
        """cancelWorkWithEvent: only a still pending eviction gets the event."""
        if self.scheduled.pop(key, None) is None:
            return []
        ref = nu.pod_ref(pod) if pod is not None else \
            {"kind": "Pod", "apiVersion": "v1", "name": name, "namespace": ns}
        return [Action("event", "pods", ns, name, always=True, event=EventSpec(
            "Normal", "TaintManagerEviction", f"Cancelling deletion of Pod {ns}/{name}", ref))]

    def _evict(self, key: str, pod: Obj, now: float) -> list[Action]:
        """deletePodHandler: the event, DisruptionTarget, then a graceful delete."""
        self.fired.add(key)
        if u.deletion_timestamp(pod) is not None:
            return []
        ns, name = u.namespace(pod), u.name(pod)
        actions: list[Action] = []
        if key not in self.announced:
            self.announced.add(key)
            actions.append(Action("event", "pods", ns, name, event=EventSpec(
                "Normal", "TaintManagerEviction", f"Marking for deletion Pod {ns}/{name}",
                nu.pod_ref(pod))))
        status = u.deepcopy(dict(pod.get("status") or {}))
        if nu.update_pod_condition(status, {
                "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint"}, now):
            actions.append(Action("update_status", "pods", ns, name, nu.with_status(pod, status),
                                  tolerate=(404,)))
        actions.append(Action("delete", "pods", ns, name,
                              options={"preconditions_uid": u.uid(pod)}, tolerate=(404,)))
        return actions

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None:
        # a failed eviction may be tried again (the worker is dropped, not kept as nil);
        # the loop requeues the key with backoff
        if error is not None and action.verb in ("update_status", "delete") and \
                getattr(error, "code", None) != 404:
            self.fired.discard(key)


@register("tainteviction")
def _new(config: dict[str, Any]) -> TaintEvictionController:
    ts = config.get("time_scale")
    return TaintEvictionController(1.0 if ts is None else float(ts))
