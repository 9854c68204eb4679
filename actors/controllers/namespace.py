"""The namespace controller (upstream pkg/controller/namespace, NamespaceDeletion), pure.

Deleting a Namespace is two-phase. The apiserver's first DELETE only marks it
(deletionTimestamp, ``status.phase: Terminating``) and keeps it while
``spec.finalizers`` holds ``kubernetes``; NamespaceLifecycle admission refuses creates
in it from then on. This controller empties it and then releases it:

1. **wait** — a namespace event is handled ``namespaceDeletionGracePeriod`` (5 s) after
   it arrives, so every apiserver refuses creates and late creations are seen;
2. **delete the content** — every namespaced resource served (`actors.api.resources`)
   is emptied with propagationPolicy Background (the garbage collector must not orphan
   anything). kubemu's apiserver has no DeleteCollection, so this is upstream's
   ``deleteEachItem`` path: one delete per object, 100 at a time. Watched resources
   (default: all but events) are read from the informer caches, and an object already
   carrying a deletionTimestamp is not deleted again. Unwatched resources get one
   ``deletecollection`` action each: the executor lists them live, deletes each item
   and lists again, failing if anything is left;
3. **look at what remains** — the objects still there with a deletionTimestamp. Pods
   get ``estimateGracefulTermination`` (the largest terminationGracePeriodSeconds of
   the non-terminal pods, 0 once that long has passed since the namespace's
   deletionTimestamp). Objects held by finalizers get the 15 s finalizerEstimateSeconds.
   Objects remaining with no estimate are an error ("unexpected items still remain");
4. **report** — the five conditions upstream keeps on ``status.conditions`` through
   the status subresource, with upstream's reasons and messages:
   NamespaceDeletionDiscoveryFailure (ResourcesDiscovered / DiscoveryFailed),
   NamespaceDeletionGroupVersionParsingFailure (ParsedGroupVersions /
   GroupVersionParsingFailed), NamespaceDeletionContentFailure (ContentDeleted /
   ContentDeletionFailed), NamespaceContentRemaining (ContentRemoved /
   SomeResourcesRemain), NamespaceFinalizersRemaining (ContentRemoved /
   SomeFinalizersRemain). A condition's lastTransitionTime moves only when its status
   changes. Discovery is the static resource table, so the first two always report success;
5. **finalize** — once nothing remains, ``kubernetes`` is removed from spec.finalizers
   through the ``namespaces/finalize`` subresource (an ``update`` action with
   ``options["subresource"] = "finalize"``). The apiserver removes the namespace when
   spec.finalizers is empty.

Upstream deletes and then lists in one sync. Here a reconcile only plans, so a pass that
issues deletes does not report on them yet. It requeues after a short settle delay
(1 s). The content's informer events wake the namespace too, coalesced by that same
delay. The next pass sees what really remains. Requeues follow upstream's worker:
content remaining with an estimate waits ``estimate/2 + 1`` s; an error is a
rate-limited requeue through the shared loop. Failed deletes come back through
``action_done`` and show up as NamespaceDeletionContentFailure on the next pass.
Durations are upstream seconds multiplied by ``time_scale``. The controller posts no
events, as upstream.

Registered as ``namespace`` (component ``namespace-controller``); config
``namespaceResources`` (the watched ones) and ``time_scale``.

Left out: a live list of the watched resources before finalizing. Upstream lists every
resource right after deleting it; here a watched resource's emptiness is read from the
cache, and the 5 s wait makes a lagging cache unlikely. Content of unwatched resources
that is slow to go is reported as a content failure, not as NamespaceContentRemaining.
The namespace controller's own rate limiter is also left out: upstream caps its backoff
at 60 s, the shared loop at 1000 s, though content events wake the key anyway. No
--namespace-sync-period resyncs either.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from actors.api import resources as _res

from . import util as u
from .loop import (Action, BaseController, Result, Skipped, View, WatchEvent, error_code,
                   error_message, register)

Obj = dict[str, Any]

FINALIZER = "kubernetes"  # v1.FinalizerKubernetes
DELETION_GRACE_PERIOD = 5.0  # namespaceDeletionGracePeriod
FINALIZER_ESTIMATE_SECONDS = 15  # finalizerEstimateSeconds
CONTENT_SETTLE = 1.0  # kubemu: wait for in-flight deletes / coalesce content events
DELETE_CHUNK = 100  # kubemu: deletes in flight at once (a failure skips the later chunks)
DEFAULT_UNWATCHED = ("events",)  # deleted live: an events informer is costly at scale

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
CONDITION_TYPES = (DISCOVERY_FAILURE, GV_PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING,
                   FINALIZERS_REMAINING)
OK_CONDITIONS: dict[str, tuple[str, str]] = {  # okReasons, okMessages
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    GV_PARSING_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted",
                      "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentRemoved", "All content successfully removed"),
}


# ---- detect --------------------------------------------------------------------------------


def content_resources() -> tuple[str, ...]:
    """Every namespaced resource served (discovery), in the table's order."""
    return tuple(r.plural for r in _res.RESOURCES.values() if r.namespaced)


def gvr_string(resource: str) -> str:
    """Go's GroupVersionResource.String(): ``/v1, Resource=pods``."""
    info = _res.RESOURCES[resource]
    return f"{info.group}/{info.version}, Resource={info.plural}"


def remaining_error(namespace: str, resource: str) -> str:
    return (f"unexpected items still remain in namespace: {namespace} for gvr: "
            f"{gvr_string(resource)}")


def is_terminating(ns: Mapping[str, Any] | None) -> bool:
    return ns is not None and u.deletion_timestamp(ns) is not None


def spec_finalizers(ns: Mapping[str, Any]) -> list[str]:
    return list((ns.get("spec") or {}).get("finalizers") or [])


def pod_grace_estimate(pods: Iterable[Mapping[str, Any]], deleted_at: float | None,
                       now: float, time_scale: float = 1.0) -> int:
    """estimateGracefulTerminationForPods + the deletion-time cut-off of
    estimateGracefulTermination: upstream seconds, 0 once that long (scaled) has passed
    since the namespace's deletionTimestamp."""
    estimate = 0
    for p in pods:
        if u.pod_phase(p) in ("Succeeded", "Failed"):
            continue
        grace = (p.get("spec") or {}).get("terminationGracePeriodSeconds")
        if isinstance(grace, (int, float)) and not isinstance(grace, bool) and grace > estimate:
            estimate = int(grace)
    if deleted_at is not None and now - deleted_at >= u.scaled(estimate, time_scale):
        return 0
    return estimate


@dataclass
class Remaining:
    """gvrDeletionMetadata: what is left of one resource after its deletion."""
    estimate: int = 0
    count: int = 0
    finalizers: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def resource_remaining(namespace: str, resource: str, items: list[Obj],
                       estimate: int) -> Remaining:
    """The tail of deleteAllContentForGroupVersionResource, over the items listed after
    the deletes: none → done; an estimate → wait that long; finalizers → wait 15 s;
    else an error."""
    if not items:
        return Remaining()
    fins: dict[str, int] = {}
    for o in items:
        for f in u.finalizers(o):
            fins[f] = fins.get(f, 0) + 1
    if estimate:
        return Remaining(estimate, len(items), fins)
    if fins:
        return Remaining(FINALIZER_ESTIMATE_SECONDS, len(items), fins)
    return Remaining(0, len(items), {}, remaining_error(namespace, resource))


def _condition(ctype: str, reason: str, message: str, now: float) -> Obj:
    return {"type": ctype, "status": "True", "lastTransitionTime": u.now_str(now),
            "reason": reason, "message": message}


def failure_conditions(remaining: Mapping[str, int], finalizers: Mapping[str, int],
                       content_errors: Iterable[str], now: float, *,
                       discovery_error: str | None = None,
                       gv_error: str | None = None) -> list[Obj]:
    """namespaceConditionUpdater: the True conditions of one pass (the rest are "ok").

    `remaining` counts by resource plural, `finalizers` by finalizer name."""
    out: list[Obj] = []
    if discovery_error is not None:  # ProcessDiscoverResourcesErr
        out.append(_condition(DISCOVERY_FAILURE, "DiscoveryFailed", discovery_error, now))
    if gv_error is not None:  # ProcessGroupVersionErr
        out.append(_condition(GV_PARSING_FAILURE, "GroupVersionParsingFailed", gv_error, now))
    errs = sorted(content_errors)
    if errs:  # makeDeleteContentCondition
        out.append(_condition(CONTENT_FAILURE, "ContentDeletionFailed",
                              f"Failed to delete all resource types, {len(errs)} remaining: "
                              + ", ".join(errs), now))
    res = sorted(f"{r}.{_res.RESOURCES[r].group} has {n} resource instances"
                 for r, n in remaining.items() if n)
    if remaining:  # ProcessContentTotals
        out.append(_condition(CONTENT_REMAINING, "SomeResourcesRemain",
                              "Some resources are remaining: " + ", ".join(res), now))
    fins = sorted(f"{f} in {n} resource instances" for f, n in finalizers.items() if n)
    if finalizers:
        out.append(_condition(FINALIZERS_REMAINING, "SomeFinalizersRemain",
                              "Some content in the namespace has finalizers remaining: "
                              + ", ".join(fins), now))
    return out


def update_conditions(status: dict[str, Any], new: list[Obj], now: float) -> bool:
    """updateConditions: each of the five types set to its new (failing) value or its ok
    variant; lastTransitionTime moves only with the status. True when anything changed."""
    changed = False
    conds: list[Obj] = [dict(c) for c in status.get("conditions") or []]
    by_type = {str(c.get("type")): c for c in new}
    for ctype in CONDITION_TYPES:
        want = by_type.get(ctype)
        if want is None:
            reason, message = OK_CONDITIONS[ctype]
            want = {"type": ctype, "status": "False", "lastTransitionTime": u.now_str(now),
                    "reason": reason, "message": message}
        old = next((c for c in conds if c.get("type") == ctype), None)
        if old is None:
            conds.append(dict(want))
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != \
                (want["status"], want["reason"], want["message"]):
            if old.get("status") != want["status"]:
                old["lastTransitionTime"] = u.now_str(now)
            old["status"], old["reason"], old["message"] = \
                want["status"], want["reason"], want["message"]
            changed = True
    if changed:
        status["conditions"] = conds
    return changed


def finalize_body(ns: Mapping[str, Any]) -> Obj:
    """finalizeNamespace: the namespace with our token gone from spec.finalizers (the
    others sorted, as upstream's string set)."""
    body = u.deepcopy(dict(ns))
    body.setdefault("spec", {})["finalizers"] = sorted(
        {f for f in spec_finalizers(ns) if f != FINALIZER})
    return body


@dataclass
class Plan:
    """One pass over a terminating namespace."""
    deletes: list[tuple[str, Obj]] = field(default_factory=list)  # (resource, object)
    remaining: dict[str, int] = field(default_factory=dict)
    finalizers: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    estimate: int = 0


def plan(ns: Mapping[str, Any], view: View, watched: Iterable[str], now: float,
         time_scale: float = 1.0) -> Plan:
    """deleteAllContent over the caches: what to delete now, and what remains from
    earlier passes (objects already carrying a deletionTimestamp)."""
    name = u.name(ns)
    deleted_at = u.ts(u.deletion_timestamp(ns))
    out = Plan()
    for resource in watched:
        objs = sorted(view.list(resource, name), key=u.name)
        left = []
        for o in objs:
            if u.deletion_timestamp(o) is None:
                out.deletes.append((resource, o))
            else:
                left.append(o)
        estimate = pod_grace_estimate(objs, deleted_at, now, time_scale) \
            if resource == "pods" else 0
        r = resource_remaining(name, resource, left, estimate)
        out.estimate = max(out.estimate, r.estimate)
        if r.count:
            out.remaining[resource] = r.count
            for f, n in r.finalizers.items():
                out.finalizers[f] = out.finalizers.get(f, 0) + n
        if r.error is not None:
            out.errors.append(r.error)
    return out


# ---- act ------------------------------------------------------------------------------------


class NamespaceController(BaseController):
    name = "namespace"
    component = "namespace-controller"

    def __init__(self, *, watched: Iterable[str] | None = None, time_scale: float = 1.0) -> None:
        content = content_resources()
        if watched is None:
            watched = [r for r in content if r not in DEFAULT_UNWATCHED]
        self.content_watched = tuple(watched)
        for r in self.content_watched:
            if r not in content:
                raise ValueError(f"namespace controller: {r!r} is not a namespaced resource "
                                 f"(namespaced: {', '.join(content)})")
        self.content_live = tuple(r for r in content if r not in self.content_watched)
        self.watches = ("namespaces", *self.content_watched)
        self.time_scale = time_scale
        # namespace -> {resource: error message} of the deletes that failed last pass
        self._errors: dict[str, dict[str, str]] = {}

    def scaled(self, seconds: float) -> float:
        return u.scaled(seconds, self.time_scale)

    # -- event handlers --
    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        if ev.resource == "namespaces":
            if ev.type == "DELETED":
                self._errors.pop(u.name(ev.obj), None)
                return []
            if u.deletion_timestamp(ev.obj) is None:
                return []
            return [(u.name(ev.obj), self.scaled(DELETION_GRACE_PERIOD))]
        ns = u.namespace(ev.obj)
        if ns and is_terminating(view.get("namespaces", "", ns)):
            return [(ns, self.scaled(CONTENT_SETTLE))]
        return []

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None:
        if error is None or isinstance(error, Skipped) or error_code(error) in action.tolerate:
            return
        if action.verb in ("delete", "deletecollection"):
            self._errors.setdefault(key, {})[action.resource] = error_message(error)

    # -- reconcile --
    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        ns = view.get("namespaces", "", key)
        failed = self._errors.pop(key, {})
        if ns is None or u.deletion_timestamp(ns) is None:
            return [], Result()
        if not spec_finalizers(ns):
            return [], Result()  # finalized: the apiserver removes it
        p = plan(ns, view, self.content_watched, now, self.time_scale)
        errors = [*failed.values(), *p.errors]
        actions: list[Action] = []
        for resource, o in p.deletes:
            actions.append(Action("delete", resource, key, u.name(o), options={
                "propagation_policy": "Background", "preconditions_uid": u.uid(o)},
                batch=len(actions) // DELETE_CHUNK, tolerate=(404, 405, 409)))
        for resource in self.content_live:
            actions.append(Action("deletecollection", resource, key, "", options={
                "propagation_policy": "Background"}, batch=len(actions) // DELETE_CHUNK,
                tolerate=(404, 405)))
        status = u.deepcopy(dict(ns.get("status") or {}))
        changed = status.get("phase") != "Terminating"
        status["phase"] = "Terminating"  # updateNamespaceStatusFunc
        if not p.deletes or errors:  # deletes in flight: report on them next pass
            conds = failure_conditions(p.remaining, p.finalizers, errors, now)
            changed = update_conditions(status, conds, now) or changed
        if changed:
            body = u.deepcopy(dict(ns))
            body["status"] = status
            actions.append(Action("update_status", "namespaces", "", key, body, always=True,
                                  tolerate=(404,)))
        if p.deletes:  # (any estimate is longer: at least 1 s)
            return actions, Result(requeue_after=self.scaled(CONTENT_SETTLE))
        if p.estimate:  # ResourcesRemainingError
            return actions, Result(requeue_after=self.scaled(p.estimate // 2 + 1))
        if errors:
            return actions, Result(requeue=True)
        if FINALIZER in spec_finalizers(ns):
            actions.append(Action("update", "namespaces", "", key, finalize_body(ns),
                                  options={"subresource": "finalize"}, tolerate=(404,)))
        return actions, Result()


@register("namespace")
def _new(config: dict[str, Any]) -> NamespaceController:
    res = config.get("namespaceResources")
    ts = config.get("time_scale")
    return NamespaceController(watched=tuple(res) if res else None,
                               time_scale=1.0 if ts is None else float(ts))
