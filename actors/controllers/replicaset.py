"""The ReplicaSet controller (upstream pkg/controller/replicaset), pure.

One reconcile of ``namespace/name`` (syncReplicaSet):

1. expectations: if the controller's own creates/deletes from an earlier pass are not
   observed yet (and not older than 5 minutes), it does not manage replicas this time;
2. claim: among the active pods of the namespace, adopt orphans matching the selector
   (controller ownerReference via a guarded JSON patch) and release owned pods that no
   longer match;
3. manage replicas: create the missing pods from the template — named
   ``<rs>-<5 random chars>``, owned (controller=true, blockOwnerDeletion=true), in
   slow-start batches 1, 2, 4, ... (a failed batch stops the rest), at most 500 per
   pass — or delete the surplus pods upstream would choose (`pods_to_delete`:
   unassigned < assigned, Pending < Unknown < Running, not ready < ready, lower
   deletion cost, more pods of the same owner on the node, more recently ready
   (log2 buckets), more restarts, newer (log2 buckets));
4. status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas
   (minReadySeconds), observedGeneration, and the ReplicaFailure condition after a
   failed create/delete; requeue after minReadySeconds while pods are ready but not
   yet available.

The "detect" part is plain functions (`calculate_status`, `pods_to_delete`,
`slow_start_batches`, `pod_from_template`, `claim`); `ReplicaSetController` turns their
answers into `Action`\\ s and keeps the expectations. ReplicaFailure is reported on the
pass after the failure (the loop requeues a failed key at once with backoff), since
actions run after `reconcile` returns.
"""

from __future__ import annotations

import functools
import random
from typing import Any, Mapping

from . import util as u
from .loop import (Action, BaseController, EventSpec, Result, Skipped, View, WatchEvent,
                   error_code, error_message, register)

BURST_REPLICAS = 500  # replicaset.BurstReplicas
SLOW_START_INITIAL_BATCH_SIZE = 1
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
COMPONENT = "replicaset-controller"
RS_API_VERSION = "apps/v1"
RS_KIND = "ReplicaSet"

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}

# ---- detect ---------------------------------------------------------------------------------


def rs_replicas(rs: Mapping[str, Any]) -> int:
    r = (rs.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def min_ready_seconds(o: Mapping[str, Any]) -> int:
    return int((o.get("spec") or {}).get("minReadySeconds") or 0)


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> list[int]:
    """slowStartBatch's batch sizes: 1, 2, 4, ... summing to count."""
    out = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        out.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return out


def _deletion_cost(p: Mapping[str, Any]) -> int:
    v = u.annotations_of(p).get(POD_DELETION_COST)
    try:
        c = int(str(v)) if v is not None else 0
    except ValueError:
        return 0
    return c if -(2 ** 31) <= c < 2 ** 31 else 0


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _time_less(t1: float | None, t2: float | None, uid1: str, uid2: str, now: float) -> bool:
    """The LogarithmicScaleDown comparison of two different timestamps."""
    if t1 is None or t2 is None:
        return _after_or_zero(t1, t2)
    diff = u.log2_rank(now - t1) - u.log2_rank(now - t2)
    if diff == 0:
        return uid1 < uid2
    return diff < 0


def pod_less(a: Mapping[str, Any], b: Mapping[str, Any], rank_a: int, rank_b: int,
             now: float) -> bool:
    """controller.ActivePodsWithRanks.Less: True when `a` should be deleted before `b`."""
    na = str((a.get("spec") or {}).get("nodeName") or "")
    nb = str((b.get("spec") or {}).get("nodeName") or "")
    if na != nb and (not na or not nb):  # 1. unassigned < assigned
        return not na
    pa = _PHASE_ORDINAL.get(u.pod_phase(a), 0)
    pb = _PHASE_ORDINAL.get(u.pod_phase(b), 0)
    if pa != pb:  # 2. Pending < Unknown < Running
        return pa < pb
    ra, rb = u.is_pod_ready(a), u.is_pod_ready(b)
    if ra != rb:  # 3. not ready < ready
        return not ra
    ca, cb = _deletion_cost(a), _deletion_cost(b)
    if ca != cb:  # 4. lower pod-deletion-cost < higher
        return ca < cb
    if rank_a != rank_b:  # 5. doubled up (more related pods on the node) < not
        return rank_a > rank_b
    if ra and rb:  # 6. more recently ready < ready for longer
        ta, tb = u.pod_ready_time(a), u.pod_ready_time(b)
        if ta != tb:
            return _time_less(ta, tb, u.uid(a), u.uid(b), now)
    (rega, sida), (regb, sidb) = u.max_container_restarts(a), u.max_container_restarts(b)
    if rega != regb:  # 7. more restarts < fewer
        return rega > regb
    if sida != sidb:
        return sida > sidb
    ta, tb = u.creation_time(a), u.creation_time(b)
    if ta != tb:  # 8. newer < older
        return _time_less(ta, tb, u.uid(a), u.uid(b), now)
    return False


def pods_to_delete(filtered: list[dict[str, Any]], related: list[dict[str, Any]], diff: int,
                   now: float) -> list[dict[str, Any]]:
    """getPodsToDelete: the first `diff` pods by ActivePodsWithRanks, where a pod's rank
    is the number of active related pods (same owner's ReplicaSets) on its node."""
    if diff < len(filtered):
        on_node: dict[str, int] = {}
        for p in related:
            if u.is_pod_active(p):
                n = str((p.get("spec") or {}).get("nodeName") or "")
                on_node[n] = on_node.get(n, 0) + 1
        ranked = [(p, on_node.get(str((p.get("spec") or {}).get("nodeName") or ""), 0))
                  for p in filtered]

        def cmp(x: tuple[dict[str, Any], int], y: tuple[dict[str, Any], int]) -> int:
            if pod_less(x[0], y[0], x[1], y[1], now):
                return -1
            if pod_less(y[0], x[0], y[1], x[1], now):
                return 1
            return 0
        ranked.sort(key=functools.cmp_to_key(cmp))
        filtered = [p for p, _ in ranked]
    return filtered[:diff]


def pod_from_template(rs: Mapping[str, Any], pod_name: str) -> dict[str, Any]:
    """controller.GetPodFromTemplate with the controller ref of `rs`."""
    tmpl = (rs.get("spec") or {}).get("template") or {}
    tmeta = tmpl.get("metadata") or {}
    md: dict[str, Any] = {"name": pod_name, "generateName": f"{u.name(rs)}-",
                          "namespace": u.namespace(rs)}
    if tmeta.get("labels"):
        md["labels"] = dict(tmeta["labels"])
    if tmeta.get("annotations"):
        md["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        md["finalizers"] = list(tmeta["finalizers"])
    md["ownerReferences"] = [u.new_controller_ref(rs, RS_API_VERSION, RS_KIND)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": u.deepcopy(tmpl.get("spec") or {})}


def claim(rs: Mapping[str, Any], pods: list[dict[str, Any]]
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """ClaimPods: (claimed pods incl. adopted ones, pods to adopt, pods to release)."""
    selector = (rs.get("spec") or {}).get("selector")

    def match(p: Mapping[str, Any]) -> bool:
        return u.selector_matches(selector, u.labels(p))
    claimed, adopt, release = [], [], []
    for p in pods:
        d = u.claim_decision(rs, p, match)
        if d == "claimed":
            claimed.append(p)
        elif d == "adopt":
            adopt.append(p)
            claimed.append(u.with_owner(p, u.new_controller_ref(rs, RS_API_VERSION, RS_KIND)))
        elif d == "release":
            release.append(p)
    return claimed, adopt, release


def calculate_status(rs: Mapping[str, Any], filtered: list[dict[str, Any]],
                     manage_error: tuple[str, str] | None, now: float) -> dict[str, Any]:
    """calculateStatus: counts over the claimed active pods, plus ReplicaFailure."""
    status = u.deepcopy(dict(rs.get("status") or {}))
    tmpl_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}) \
        .get("labels") or {}
    mrs = min_ready_seconds(rs)
    fully = ready = available = 0
    for p in filtered:
        pl = u.labels(p)
        if all(pl.get(k) == v for k, v in tmpl_labels.items()):
            fully += 1
        if u.is_pod_ready(p):
            ready += 1
            if u.is_pod_available(p, mrs, now):
                available += 1
    failure = u.get_condition(status, "ReplicaFailure")
    if manage_error is not None and failure is None:
        reason, msg = manage_error
        u.set_condition(status, {"type": "ReplicaFailure", "status": "True",
                                 "lastTransitionTime": u.now_str(now), "reason": reason,
                                 "message": msg})
    elif manage_error is None and failure is not None:
        u.remove_condition(status, "ReplicaFailure")
    status["replicas"] = len(filtered)  # the one count without omitempty
    for f, v in (("fullyLabeledReplicas", fully), ("readyReplicas", ready),
                 ("availableReplicas", available)):
        if v:
            status[f] = v
        else:
            status.pop(f, None)
    return status


def status_needs_update(rs: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old = rs.get("status") or {}
    for f in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if int(old.get(f) or 0) != int(new.get(f) or 0):
            return True
    if u.generation(rs) != int(old.get("observedGeneration") or 0):
        return True
    return (old.get("conditions") or []) != (new.get("conditions") or [])


# ---- act ------------------------------------------------------------------------------------


class ReplicaSetController(BaseController):
    name = "replicaset"
    watches: tuple[str, ...] = ("replicasets", "pods")
    component = COMPONENT

    def __init__(self, burst_replicas: int = BURST_REPLICAS) -> None:
        self.burst_replicas = burst_replicas
        self.expectations = u.Expectations()
        self._manage_errors: dict[str, tuple[str, str]] = {}

    # -- event handlers --
    def _resolve(self, view: View, ns: str, ref: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if ref is None or ref.get("kind") != RS_KIND:
            return None
        rs = view.get("replicasets", ns, str(ref.get("name") or ""))
        if rs is None or u.uid(rs) != ref.get("uid"):
            return None
        return rs

    def _matching_rss(self, view: View, pod: Mapping[str, Any]) -> list[dict[str, Any]]:
        """GetPodReplicaSets: ReplicaSets of the pod's namespace selecting it."""
        out = []
        for rs in view.list("replicasets", u.namespace(pod)):
            sel = (rs.get("spec") or {}).get("selector")
            if sel is None or u.selector_is_empty(sel):
                continue
            if u.selector_matches(sel, u.labels(pod)):
                out.append(rs)
        return out

    def _pod_deleted(self, view: View, pod: Mapping[str, Any]) -> list[tuple[str, float]]:
        rs = self._resolve(view, u.namespace(pod), u.controller_ref(pod))
        if rs is None:
            return []
        key = u.obj_key(rs)
        self.expectations.deletion_observed(key, u.obj_key(pod))
        return [(key, 0.0)]

    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        if ev.resource == "replicasets":
            key = u.obj_key(ev.obj)
            if ev.type == "DELETED":
                self.expectations.delete(key)
            return [(key, 0.0)]
        pod = ev.obj
        if ev.type == "DELETED":
            return self._pod_deleted(view, pod)
        if ev.type == "ADDED":
            if u.deletion_timestamp(pod) is not None:
                return self._pod_deleted(view, pod)
            ref = u.controller_ref(pod)
            if ref is not None:
                rs = self._resolve(view, u.namespace(pod), ref)
                if rs is None:
                    return []
                self.expectations.creation_observed(u.obj_key(rs))
                return [(u.obj_key(rs), 0.0)]
            return [(u.obj_key(rs), 0.0) for rs in self._matching_rss(view, pod)]
        # MODIFIED
        old = ev.old or {}
        if u.resource_version(old) and u.resource_version(old) == u.resource_version(pod):
            return []  # a resync
        label_changed = u.labels(old) != u.labels(pod)
        if u.deletion_timestamp(pod) is not None:
            keys = self._pod_deleted(view, pod)
            if label_changed:
                keys += self._pod_deleted(view, old)
            return keys
        cur_ref, old_ref = u.controller_ref(pod), u.controller_ref(old)
        keys = []
        ref_changed = cur_ref != old_ref
        if ref_changed and old_ref is not None:
            rs = self._resolve(view, u.namespace(old), old_ref)
            if rs is not None:
                keys.append((u.obj_key(rs), 0.0))
        if cur_ref is not None:
            rs = self._resolve(view, u.namespace(pod), cur_ref)
            if rs is None:
                return keys
            keys.append((u.obj_key(rs), 0.0))
            mrs = min_ready_seconds(rs)
            if mrs > 0 and not u.is_pod_ready(old) and u.is_pod_ready(pod):
                # check availability once minReadySeconds have passed
                keys.append((u.obj_key(rs), mrs + 1.0))
            return keys
        if label_changed or ref_changed:
            keys += [(u.obj_key(rs), 0.0) for rs in self._matching_rss(view, pod)]
        return keys

    # -- reconcile --
    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        ns, n = u.split_key(key)
        rs = view.get("replicasets", ns, n)
        if rs is None:
            self.expectations.delete(key)
            self._manage_errors.pop(key, None)
            return [], Result()
        needs_sync = self.expectations.satisfied(key, now)
        active = [p for p in view.list("pods", ns) if u.is_pod_active(p)]
        filtered, adopt, release = claim(rs, active)
        actions: list[Action] = []
        ref = u.new_controller_ref(rs, RS_API_VERSION, RS_KIND)
        for p in adopt:
            actions.append(Action("patch", "pods", ns, u.name(p), options={
                "patch": u.adopt_patch(p, ref), "patch_type": "json"}, batch=-1,
                tolerate=(404,)))
        for p in release:
            actions.append(Action("patch", "pods", ns, u.name(p), options={
                "patch": u.remove_owner_patch(p, [u.uid(rs)]), "patch_type": "json"},
                batch=-1, tolerate=(404,)))
        manage_error = self._manage_errors.pop(key, None)
        if needs_sync and u.deletion_timestamp(rs) is None:
            actions += self._manage(key, rs, filtered, view, now, rng)
        status = calculate_status(rs, filtered, manage_error, now)
        result = Result()
        if status_needs_update(rs, status):
            status["observedGeneration"] = u.generation(rs)
            body = u.deepcopy(rs)
            body["status"] = status
            actions.append(Action("update_status", "replicasets", ns, n, body, always=True))
        replicas = rs_replicas(rs)
        if manage_error is None and min_ready_seconds(rs) > 0 and \
                status.get("readyReplicas", 0) == replicas and \
                status.get("availableReplicas", 0) != replicas:
            result.requeue_after = float(min_ready_seconds(rs))
        return actions, result

    def _manage(self, key: str, rs: dict[str, Any], filtered: list[dict[str, Any]], view: View,
                now: float, rng: random.Random) -> list[Action]:
        ns = u.namespace(rs)
        diff = len(filtered) - rs_replicas(rs)
        ref = u.object_ref(rs)
        actions: list[Action] = []
        if diff < 0:
            count = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, count, now)
            prefix = f"{u.name(rs)}-"
            for b, size in enumerate(slow_start_batches(count)):
                for _ in range(size):
                    pod_name = u.generate_name(prefix, rng)
                    actions.append(Action(
                        "create", "pods", ns, pod_name, pod_from_template(rs, pod_name),
                        batch=b,
                        event=EventSpec("Normal", "SuccessfulCreate", f"Created pod: {pod_name}", ref),
                        failure_event=EventSpec("Warning", "FailedCreate", "Error creating: {error}",
                                                ref)))
        elif diff > 0:
            count = min(diff, self.burst_replicas)
            related = self._indirectly_related_pods(view, rs)
            victims = pods_to_delete(filtered, related, count, now)
            self.expectations.expect_deletions(key, [u.obj_key(p) for p in victims], now)
            for p in victims:
                actions.append(Action(
                    "delete", "pods", ns, u.name(p), batch=1_000_000, tolerate=(404,),
                    event=EventSpec("Normal", "SuccessfulDelete", f"Deleted pod: {u.name(p)}", ref),
                    failure_event=EventSpec("Warning", "FailedDelete", "Error deleting: {error}",
                                            ref)))
        return actions

    def _indirectly_related_pods(self, view: View, rs: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Pods selected by any ReplicaSet with the same controller as `rs`."""
        cref = u.controller_ref(rs)
        if cref is None:
            return []
        ns = u.namespace(rs)
        seen: set[str] = set()
        out = []
        pods = view.list("pods", ns)
        for other in view.list("replicasets", ns):
            oref = u.controller_ref(other)
            if oref is None or oref.get("uid") != cref.get("uid"):
                continue
            sel = (other.get("spec") or {}).get("selector")
            for p in pods:
                if u.uid(p) in seen or not u.selector_matches(sel, u.labels(p)):
                    continue
                seen.add(u.uid(p))
                out.append(p)
        return out

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None:
        if action.resource != "pods" or error is None:
            return
        if action.verb == "create":
            self.expectations.creation_observed(key)
            causes = getattr(error, "causes", None) or []
            terminating = any(c.get("reason") == "NamespaceTerminating" for c in causes
                              if isinstance(c, dict))
            if not isinstance(error, Skipped) and not terminating:
                self._manage_errors.setdefault(key, ("FailedCreate", error_message(error)))
        elif action.verb == "delete":
            self.expectations.deletion_observed(key, f"{action.namespace}/{action.name}")
            if not isinstance(error, Skipped) and error_code(error) != 404:
                self._manage_errors.setdefault(
                    key, ("FailedDelete", f"unable to delete pods: {error_message(error)}"))


@register("replicaset")
def _new(config: dict[str, Any]) -> ReplicaSetController:
    return ReplicaSetController(int(config.get("burstReplicas", BURST_REPLICAS)))
