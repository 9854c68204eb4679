"""The Deployment controller (upstream pkg/controller/deployment), pure.

One reconcile of ``namespace/name`` follows syncDeployment:

- claim the ReplicaSets the selector matches (adopt orphans, release non-matching),
  group their pods by ReplicaSet;
- being deleted → status only; paused → Progressing=Unknown DeploymentPaused and only
  (proportional) scaling; a scaling event (an active ReplicaSet's desired-replicas
  annotation differs from spec.replicas) → proportional scaling; otherwise roll out
  with the strategy:

  * RollingUpdate: scale the new ReplicaSet up to at most replicas + maxSurge pods in
    total (surge rounds up), then scale old ones down while at least replicas -
    maxUnavailable pods stay available (unavailable rounds down; both 0 → 1
    unavailable), unhealthy old replicas first;
  * Recreate: scale every old ReplicaSet to 0, wait until no old pod runs, then
    create/scale up the new one;

- the new ReplicaSet is ``<deployment>-<pod-template-hash>``, the hash being
  `util.compute_hash` (FNV-32a over the template + collisionCount, safe-encoded),
  the label added to its selector, template and labels; annotations
  ``deployment.kubernetes.io/revision`` (max old revision + 1, history kept in
  ``revision-history`` when an old ReplicaSet becomes new again, for rollbacks),
  ``desired-replicas`` and ``max-replicas`` (replicas + maxSurge);
- old ReplicaSets beyond revisionHistoryLimit (fully scaled down, oldest revision
  first) are deleted once the rollout is complete;
- status: replicas, updatedReplicas, readyReplicas, availableReplicas,
  unavailableReplicas, observedGeneration, collisionCount, conditions Available
  (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing
  (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
  ProgressDeadlineExceeded, ReplicaSetCreateError), ReplicaFailure copied from the
  ReplicaSets; a stuck rollout is requeued for its progress deadline.

Upstream's API calls become `Action`\\ s in the same order on local copies (each write
is applied to the copy the way the API would, so later steps see it); a failing action
stops the rest and the key is retried with backoff. Rollback (the deprecated
``rollbackTo``) is not done here yet; the revision history it needs is kept.
"""

from __future__ import annotations

import functools
import math
import random
from typing import Any, Mapping

from . import util as u
from .loop import (Action, BaseController, EventSpec, Result, Skipped, View, WatchEvent,
                   error_code, error_message, register)

HASH_LABEL = "pod-template-hash"  # apps.DefaultDeploymentUniqueLabelKey
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                                 MAX_REPLICAS, ROLLBACK_TO})
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000
MAX_INT32 = 2 ** 31 - 1
COMPONENT = "deployment-controller"

# condition reasons (deploymentutil)
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

Obj = dict[str, Any]

# ---- detect: pure functions over deployments and replica sets --------------------------------


def replicas_of(o: Mapping[str, Any]) -> int:
    r = (o.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def _set_replicas(o: Obj, n: int) -> None:
    o.setdefault("spec", {})["replicas"] = n


def status_int(o: Mapping[str, Any], f: str) -> int:
    return int((o.get("status") or {}).get(f) or 0)


def strategy_type(d: Mapping[str, Any]) -> str:
    return str(((d.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate")


def is_rolling_update(d: Mapping[str, Any]) -> bool:
    return strategy_type(d) == "RollingUpdate"


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """ResolveFenceposts: surge rounds up, unavailable down; both 0 → unavailable 1."""
    surge = u.int_or_percent(0 if max_surge is None else max_surge, desired, True)
    unavailable = u.int_or_percent(0 if max_unavailable is None else max_unavailable, desired,
                                   False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: Mapping[str, Any]) -> tuple[Any, Any]:
    ru = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return ru.get("maxSurge"), ru.get("maxUnavailable")


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d):
        return 0
    s, un = _rolling_params(d)
    return resolve_fenceposts(s, un, replicas_of(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d) or replicas_of(d) == 0:
        return 0
    s, un = _rolling_params(d)
    mu = resolve_fenceposts(s, un, replicas_of(d))[1]
    return min(mu, replicas_of(d))


def has_progress_deadline(d: Mapping[str, Any]) -> bool:
    p = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return p is not None and int(p) != MAX_INT32


def has_revision_history_limit(d: Mapping[str, Any]) -> bool:
    p = (d.get("spec") or {}).get("revisionHistoryLimit")
    return p is not None and int(p) != MAX_INT32


def revision(rs: Mapping[str, Any]) -> int:
    """Revision(): 0 when unset; raises ValueError when not an integer."""
    v = u.annotations_of(rs).get(REVISION)
    return 0 if v is None else int(v)


def max_revision(rss: list[Obj]) -> int:
    m = 0
    for rs in rss:
        try:
            m = max(m, revision(rs))
        except ValueError:
            continue
    return m


def _creation_key(rs: Mapping[str, Any]) -> tuple[float, str]:
    t = u.creation_time(rs)
    return (float("-inf") if t is None else t, u.name(rs))


def by_creation(rss: list[Obj]) -> list[Obj]:
    """ReplicaSetsByCreationTimestamp (name breaks ties)."""
    return sorted(rss, key=_creation_key)


def by_size_newer(rss: list[Obj]) -> list[Obj]:
    def cmp(a: Obj, b: Obj) -> int:
        if replicas_of(a) != replicas_of(b):
            return -1 if replicas_of(a) > replicas_of(b) else 1
        ka, kb = _creation_key(a), _creation_key(b)
        return -1 if ka > kb else (1 if ka < kb else 0)
    return sorted(rss, key=functools.cmp_to_key(cmp))


def by_size_older(rss: list[Obj]) -> list[Obj]:
    def cmp(a: Obj, b: Obj) -> int:
        if replicas_of(a) != replicas_of(b):
            return -1 if replicas_of(a) > replicas_of(b) else 1
        ka, kb = _creation_key(a), _creation_key(b)
        return -1 if ka < kb else (1 if ka > kb else 0)
    return sorted(rss, key=functools.cmp_to_key(cmp))


def by_revision(rss: list[Obj]) -> list[Obj]:
    def cmp(a: Obj, b: Obj) -> int:
        try:
            ra, rb = revision(a), revision(b)
        except ValueError:
            ra = rb = 0
        if ra == rb:
            ka, kb = _creation_key(a), _creation_key(b)
            return -1 if ka < kb else (1 if ka > kb else 0)
        return -1 if ra < rb else 1
    return sorted(rss, key=functools.cmp_to_key(cmp))


def active(rss: list[Obj | None]) -> list[Obj]:
    """FilterActiveReplicaSets: spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def _without_hash(template: Mapping[str, Any]) -> Obj:
    t = u.deepcopy(dict(template))
    lbls = (t.get("metadata") or {}).get("labels")
    if isinstance(lbls, dict):
        lbls.pop(HASH_LABEL, None)
    return t


def equal_ignore_hash(t1: Mapping[str, Any], t2: Mapping[str, Any]) -> bool:
    return u.semantic_equal(_without_hash(t1), _without_hash(t2))


def template_of(o: Mapping[str, Any]) -> Obj:
    t = (o.get("spec") or {}).get("template")
    return t if isinstance(t, dict) else {}


def find_new_rs(d: Mapping[str, Any], rs_list: list[Obj]) -> Obj | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template equals the deployment's."""
    for rs in by_creation(rs_list):
        if equal_ignore_hash(template_of(rs), template_of(d)):
            return rs
    return None


def find_old_rss(d: Mapping[str, Any], rs_list: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """FindOldReplicaSets: (old ones with replicas, all old ones)."""
    new = find_new_rs(d, rs_list)
    all_old = [rs for rs in rs_list if new is None or u.uid(rs) != u.uid(new)]
    return [rs for rs in all_old if replicas_of(rs) != 0], all_old


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    if new_rs is None and not old_rss:
        return None
    olds = sorted(old_rss, key=_creation_key, reverse=True)
    act = active([*olds, new_rs])
    if not act:
        return new_rs if new_rs is not None else olds[0]
    if len(act) == 1:
        return act[0]
    return None


def _int_annotation(rs: Mapping[str, Any], key: str) -> int | None:
    v = u.annotations_of(rs).get(key)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    if ann.get(DESIRED_REPLICAS) != str(desired):
        ann[DESIRED_REPLICAS] = str(desired)
        changed = True
    if ann.get(MAX_REPLICAS) != str(maximum):
        ann[MAX_REPLICAS] = str(maximum)
        changed = True
    return changed


def replicas_annotations_need_update(rs: Mapping[str, Any], desired: int, maximum: int) -> bool:
    ann = u.annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def set_new_rs_annotations(d: Mapping[str, Any], rs: Obj, new_revision: str, exists: bool,
                           limit: int = MAX_REV_HISTORY_LENGTH_IN_CHARS) -> bool:
    """SetNewReplicaSetAnnotations: copy the deployment's annotations (but the skipped
    ones), raise the revision (remembering the old one in revision-history), and on
    creation set desired/max replicas."""
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in u.annotations_of(d).items():
        if k in ANNOTATIONS_TO_SKIP or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    had = REVISION in ann
    old_revision = str(ann.get(REVISION, ""))
    try:
        old_int = int(old_revision) if old_revision else 0
    except ValueError:
        return False
    new_int = int(new_revision)
    if old_int < new_int:
        ann[REVISION] = new_revision
        changed = True
    if had and old_int < new_int:
        hist = str(ann.get(REVISION_HISTORY, ""))
        olds = hist.split(",")
        if not olds[0]:
            ann[REVISION_HISTORY] = old_revision
        else:
            total = len(hist) + len(old_revision) + 1
            start = 0
            while total > limit and start < len(olds):
                total -= len(olds[start]) + 1
                start += 1
            if total <= limit:
                ann[REVISION_HISTORY] = ",".join([*olds[start:], old_revision])
    if not exists and set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)):
        changed = True
    return changed


def set_deployment_revision(d: Obj, rev: str) -> bool:
    ann = d.setdefault("metadata", {}).setdefault("annotations", {})
    if ann.get(REVISION) != rev:
        ann[REVISION] = rev
        return True
    return False


def new_rs_new_replicas(d: Mapping[str, Any], all_rss: list[Obj], new_rs: Mapping[str, Any]) -> int:
    """NewRSNewReplicas: how big the new ReplicaSet may be now."""
    st = strategy_type(d)
    if st == "RollingUpdate":
        surge = u.int_or_percent(_rolling_params(d)[0], replicas_of(d), True)
        current = sum(replicas_of(rs) for rs in all_rss)
        max_total = replicas_of(d) + surge
        if current >= max_total:
            return replicas_of(new_rs)
        scale_up = min(max_total - current, replicas_of(d) - replicas_of(new_rs))
        return replicas_of(new_rs) + scale_up
    if st == "Recreate":
        return replicas_of(d)
    raise ValueError(f"deployment type {st} isn't supported")


def is_saturated(d: Mapping[str, Any], rs: Mapping[str, Any] | None) -> bool:
    if rs is None:
        return False
    desired = _int_annotation(rs, DESIRED_REPLICAS)
    if desired is None:
        return False
    return replicas_of(rs) == replicas_of(d) and desired == replicas_of(d) and \
        status_int(rs, "availableReplicas") == replicas_of(d)


def rs_fraction(rs: Mapping[str, Any], d: Mapping[str, Any]) -> int:
    """getReplicaSetFraction."""
    if replicas_of(d) == 0:
        return -replicas_of(rs)
    deployment_replicas = replicas_of(d) + max_surge(d)
    annotated = _int_annotation(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_int(d, "replicas")
    if annotated == 0:
        return 0
    new_size = replicas_of(rs) * deployment_replicas / annotated
    return int(math.floor(new_size + 0.5)) - replicas_of(rs)  # integer.RoundToInt32


def get_proportion(rs: Mapping[str, Any] | None, d: Mapping[str, Any], to_add: int,
                   added: int) -> int:
    if rs is None or replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    frac = rs_fraction(rs, d)
    allowed = to_add - added
    return min(frac, allowed) if to_add > 0 else max(frac, allowed)


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    r = replicas_of(d)
    return int(status.get("updatedReplicas") or 0) == r and \
        int(status.get("replicas") or 0) == r and \
        int(status.get("availableReplicas") or 0) == r and \
        int(status.get("observedGeneration") or 0) >= u.generation(d)


def deployment_progressing(d: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old = d.get("status") or {}

    def g(s: Mapping[str, Any], f: str) -> int:
        return int(s.get(f) or 0)
    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(new, "replicas") - g(new, "updatedReplicas")
    return g(new, "updatedReplicas") > g(old, "updatedReplicas") or new_old < old_old or \
        g(new, "readyReplicas") > g(old, "readyReplicas") or \
        g(new, "availableReplicas") > g(old, "availableReplicas")


def deployment_timed_out(d: Mapping[str, Any], new: Mapping[str, Any], now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = u.get_condition(new, "Progressing")
    if cond is None:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    frm = u.ts(cond.get("lastUpdateTime"))
    if frm is None:
        return False
    return frm + int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0) < now


def new_condition(ctype: str, status: str, reason: str, message: str, now: float) -> Obj:
    t = u.now_str(now)
    return {"type": ctype, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


_STATUS_OMITEMPTY = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                     "availableReplicas", "unavailableReplicas")


def _compact(status: Obj) -> Obj:
    """Drop zero counts and empty conditions, as the Go JSON encoding (omitempty) does."""
    for f in _STATUS_OMITEMPTY:
        if not status.get(f):
            status.pop(f, None)
    if not status.get("conditions"):
        status.pop("conditions", None)
    if status.get("collisionCount") is None:
        status.pop("collisionCount", None)
    return status


def status_equal(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return _compact(u.deepcopy(dict(a or {}))) == _compact(u.deepcopy(dict(b or {})))


def calculate_status(all_rss: list[Obj | None], new_rs: Obj | None, d: Mapping[str, Any],
                     now: float) -> Obj:
    """calculateStatus: sums over the ReplicaSets' statuses plus the Available condition."""
    rss = [rs for rs in all_rss if rs is not None]
    available = sum(status_int(rs, "availableReplicas") for rs in rss)
    total = sum(replicas_of(rs) for rs in rss)
    unavailable = max(total - available, 0)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": u.generation(d),
        "replicas": sum(status_int(rs, "replicas") for rs in rss),
        "updatedReplicas": status_int(new_rs, "replicas") if new_rs is not None else 0,
        "readyReplicas": sum(status_int(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    status["conditions"] = [dict(c) for c in old.get("conditions") or []]
    if available >= replicas_of(d) - max_unavailable(d):
        u.set_condition(status, new_condition("Available", "True", MIN_AVAILABLE,
                                              "Deployment has minimum availability.", now))
    else:
        u.set_condition(status, new_condition("Available", "False", MIN_UNAVAILABLE,
                                              "Deployment does not have minimum availability.",
                                              now))
    return _compact(status)


def replica_failures(all_rss: list[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """getReplicaFailures: the new ReplicaSet's ReplicaFailure first, else the old ones'."""
    def conv(c: Mapping[str, Any]) -> Obj:
        return {"type": c.get("type"), "status": c.get("status"),
                "lastUpdateTime": c.get("lastTransitionTime"),
                "lastTransitionTime": c.get("lastTransitionTime"),
                "reason": c.get("reason"), "message": c.get("message")}
    if new_rs is not None:
        out = [conv(c) for c in (new_rs.get("status") or {}).get("conditions") or []
               if c.get("type") == "ReplicaFailure"]
        if out:
            return out
    return [conv(c) for rs in all_rss if rs is not None
            for c in (rs.get("status") or {}).get("conditions") or []
            if c.get("type") == "ReplicaFailure"]


# ---- act: one reconcile as a sequence of writes on local copies -------------------------------


class _Stop(Exception):
    """Upstream returns an error here: stop, requeue with backoff."""


class _Sync:
    def __init__(self, d: Obj, now: float) -> None:
        self.d = u.deepcopy(d)
        self.now = now
        self.actions: list[Action] = []
        self.result = Result()
        self.ref = u.object_ref(d)
        self._written_revision = u.annotations_of(d).get(REVISION)

    @property
    def ns(self) -> str:
        return u.namespace(self.d)

    def event(self, etype: str, reason: str, msg: str) -> EventSpec:
        return EventSpec(etype, reason, msg, self.ref)

    def update_status(self) -> None:
        """UpdateStatus(d). Upstream's status strategy also stores the body's annotations
        (how the revision annotation reaches the deployment); an apiserver keeping only
        status would drop it, so a changed revision is first merge-patched on its own."""
        rev = u.annotations_of(self.d).get(REVISION)
        if rev is not None and rev != self._written_revision:
            self.actions.append(Action("patch", "deployments", self.ns, u.name(self.d), options={
                "patch": {"metadata": {"annotations": {REVISION: rev}}}, "patch_type": "merge"}))
            self._written_revision = rev
        self.actions.append(Action("update_status", "deployments", self.ns, u.name(self.d),
                                   u.deepcopy(self.d)))

    def update_rs(self, rs: Obj, event: EventSpec | None = None) -> None:
        self.actions.append(Action("update", "replicasets", self.ns, u.name(rs), u.deepcopy(rs),
                                   event=event))


class DeploymentController(BaseController):
    name = "deployment"
    watches: tuple[str, ...] = ("deployments", "replicasets", "pods")
    component = COMPONENT

    def __init__(self) -> None:
        self._create_failures: dict[str, str] = {}

    # -- event handlers --
    def _resolve(self, view: View, ns: str, ref: Mapping[str, Any] | None) -> Obj | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = view.get("deployments", ns, str(ref.get("name") or ""))
        if d is None or u.uid(d) != ref.get("uid"):
            return None
        return d

    def _deployments_for_rs(self, view: View, rs: Mapping[str, Any]) -> list[Obj]:
        out = []
        for d in view.list("deployments", u.namespace(rs)):
            sel = (d.get("spec") or {}).get("selector")
            if sel is None or u.selector_is_empty(sel):
                continue
            if u.selector_matches(sel, u.labels(rs)):
                out.append(d)
        return out

    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        if ev.resource == "deployments":
            return [(u.obj_key(ev.obj), 0.0)]
        if ev.resource == "replicasets":
            return self._rs_keys(ev, view)
        if ev.resource == "pods" and ev.type == "DELETED":
            return self._pod_deleted(ev.obj, view)
        return []

    def _rs_keys(self, ev: WatchEvent, view: View) -> list[tuple[str, float]]:
        rs = ev.obj
        ns = u.namespace(rs)
        if ev.type == "DELETED" or (ev.type == "ADDED" and u.deletion_timestamp(rs)):
            d = self._resolve(view, ns, u.controller_ref(rs))
            return [(u.obj_key(d), 0.0)] if d is not None else []
        if ev.type == "ADDED":
            ref = u.controller_ref(rs)
            if ref is not None:
                d = self._resolve(view, ns, ref)
                return [(u.obj_key(d), 0.0)] if d is not None else []
            return [(u.obj_key(d), 0.0) for d in self._deployments_for_rs(view, rs)]
        old = ev.old or {}
        if u.resource_version(old) and u.resource_version(old) == u.resource_version(rs):
            return []
        keys: list[tuple[str, float]] = []
        cur_ref, old_ref = u.controller_ref(rs), u.controller_ref(old)
        changed = cur_ref != old_ref
        if changed and old_ref is not None:
            d = self._resolve(view, ns, old_ref)
            if d is not None:
                keys.append((u.obj_key(d), 0.0))
        if cur_ref is not None:
            d = self._resolve(view, ns, cur_ref)
            if d is not None:
                keys.append((u.obj_key(d), 0.0))
            return keys
        if changed or u.labels(old) != u.labels(rs):
            keys += [(u.obj_key(d), 0.0) for d in self._deployments_for_rs(view, rs)]
        return keys

    def _pod_deleted(self, pod: Mapping[str, Any], view: View) -> list[tuple[str, float]]:
        """Wake a Recreate deployment once its last pod is gone."""
        ns = u.namespace(pod)
        ref = u.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return []
        rs = view.get("replicasets", ns, str(ref.get("name") or ""))
        if rs is None or u.uid(rs) != ref.get("uid"):
            return []
        d = self._resolve(view, ns, u.controller_ref(rs))
        if d is None or strategy_type(d) != "Recreate":
            return []
        rs_uids = {u.uid(r) for r in view.list("replicasets", ns) if u.is_controlled_by(r, d)}
        for p in view.list("pods", ns):
            cref = u.controller_ref(p)
            if cref is not None and cref.get("uid") in rs_uids and \
                    u.selector_matches((d.get("spec") or {}).get("selector"), u.labels(p)):
                return []
        return [(u.obj_key(d), 0.0)]

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None:
        if action.verb == "create" and action.resource == "replicasets" and error is not None \
                and not isinstance(error, Skipped) and error_code(error) != 409:
            self._create_failures[key] = \
                f'Failed to create new replica set "{action.name}": {error_message(error)}'

    # -- reconcile --
    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        ns, n = u.split_key(key)
        d0 = view.get("deployments", ns, n)
        if d0 is None:
            self._create_failures.pop(key, None)
            return [], Result()
        s = _Sync(d0, now)
        try:
            self._sync_deployment(s, key, view)
        except _Stop:
            s.result = Result(requeue=True)
        return s.actions, s.result

    def _sync_deployment(self, s: _Sync, key: str, view: View) -> None:
        d = s.d
        sel = (d.get("spec") or {}).get("selector")
        if sel is not None and u.selector_is_empty(sel):
            s.actions.append(Action("event", "deployments", s.ns, u.name(d), event=s.event(
                "Warning", "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.")))
            if status_int(d, "observedGeneration") < u.generation(d):
                d.setdefault("status", {})["observedGeneration"] = u.generation(d)
                s.update_status()
            return
        rs_list = self._claim_replica_sets(s, view)
        pod_map = self._pod_map(d, rs_list, view)
        failure = self._create_failures.pop(key, None)
        if failure is not None and has_progress_deadline(d):
            u.set_condition(d.setdefault("status", {}), new_condition(
                "Progressing", "False", FAILED_RS_CREATE, failure, s.now))
            s.update_status()
        if u.deletion_timestamp(d) is not None:
            new_rs, old_rss = self._get_all(s, rs_list, view, False)
            self._sync_deployment_status(s, [*old_rss, new_rs], new_rs)
            return
        self._check_paused_conditions(s)
        if (d.get("spec") or {}).get("paused"):
            self._sync(s, rs_list, view)
            return
        if self._is_scaling_event(s, rs_list, view):
            self._sync(s, rs_list, view)
            return
        st = strategy_type(d)
        if st == "Recreate":
            self._rollout_recreate(s, rs_list, pod_map, view)
        elif st == "RollingUpdate":
            self._rollout_rolling(s, rs_list, view)
        else:
            raise _Stop(f"unexpected deployment strategy type: {st}")

    def _claim_replica_sets(self, s: _Sync, view: View) -> list[Obj]:
        d = s.d
        sel = (d.get("spec") or {}).get("selector")
        ref = u.new_controller_ref(d, "apps/v1", "Deployment")

        def match(o: Mapping[str, Any]) -> bool:
            return u.selector_matches(sel, u.labels(o))
        claimed = []
        for rs in view.list("replicasets", s.ns):
            dec = u.claim_decision(d, rs, match)
            if dec == "claimed":
                claimed.append(u.deepcopy(rs))
            elif dec == "adopt":
                s.actions.append(Action("patch", "replicasets", s.ns, u.name(rs), options={
                    "patch": u.adopt_patch(rs, ref), "patch_type": "json"}, tolerate=(404,)))
                claimed.append(u.with_owner(rs, ref))
            elif dec == "release":
                s.actions.append(Action("patch", "replicasets", s.ns, u.name(rs), options={
                    "patch": u.remove_owner_patch(rs, [u.uid(d)]), "patch_type": "json"},
                    tolerate=(404,)))
        return claimed

    def _pod_map(self, d: Obj, rs_list: list[Obj], view: View) -> dict[str, list[Obj]]:
        sel = (d.get("spec") or {}).get("selector")
        pm: dict[str, list[Obj]] = {u.uid(rs): [] for rs in rs_list}
        for p in view.list("pods", u.namespace(d)):
            if not u.selector_matches(sel, u.labels(p)):
                continue
            cref = u.controller_ref(p)
            if cref is not None and cref.get("uid") in pm:
                pm[str(cref["uid"])].append(p)
        return pm

    # getAllReplicaSetsAndSyncRevision / getNewReplicaSet
    def _get_all(self, s: _Sync, rs_list: list[Obj], view: View,
                 create: bool) -> tuple[Obj | None, list[Obj]]:
        _, all_old = find_old_rss(s.d, rs_list)
        new_rs = self._get_new_rs(s, rs_list, all_old, view, create)
        return new_rs, all_old

    def _get_new_rs(self, s: _Sync, rs_list: list[Obj], old_rss: list[Obj], view: View,
                    create: bool) -> Obj | None:
        d = s.d
        existing = find_new_rs(d, rs_list)
        new_revision = str(max_revision(old_rss) + 1)
        if existing is not None:
            ann_updated = set_new_rs_annotations(d, existing, new_revision, True)
            mrs = int((d.get("spec") or {}).get("minReadySeconds") or 0)
            mrs_needs = int((existing.get("spec") or {}).get("minReadySeconds") or 0) != mrs
            if ann_updated or mrs_needs:
                existing.setdefault("spec", {})["minReadySeconds"] = mrs
                if mrs_needs:
                    existing.setdefault("metadata", {})["generation"] = u.generation(existing) + 1
                s.update_rs(existing)
                return existing
            needs = set_deployment_revision(d, u.annotations_of(existing).get(REVISION, ""))
            cond = u.get_condition(d.get("status"), "Progressing")
            if has_progress_deadline(d) and cond is None:
                u.set_condition(d.setdefault("status", {}), new_condition(
                    "Progressing", "True", FOUND_NEW_RS,
                    f'Found new replica set "{u.name(existing)}"', s.now))
                needs = True
            if needs:
                s.update_status()
            return existing
        if not create:
            return None
        template = u.deepcopy(template_of(d))
        status = d.get("status") or {}
        cc = status.get("collisionCount")
        h = u.compute_hash(template, None if cc is None else int(cc))
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: h}
        selector = u.deepcopy((d.get("spec") or {}).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: h}
        rs_name = f"{u.name(d)}-{h}"
        new_rs: Obj = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": s.ns,
                         "ownerReferences": [u.new_controller_ref(d, "apps/v1", "Deployment")],
                         "labels": dict(tmeta["labels"])},
            "spec": {"replicas": 0,
                     "minReadySeconds": int((d.get("spec") or {}).get("minReadySeconds") or 0),
                     "selector": selector, "template": template},
        }
        n_new = new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
        _set_replicas(new_rs, n_new)
        set_new_rs_annotations(d, new_rs, new_revision, False)
        already_exists = False
        cached = view.get("replicasets", s.ns, rs_name)
        if cached is not None:
            cref = u.controller_ref(cached)
            if cref is not None and cref.get("uid") == u.uid(d) and \
                    equal_ignore_hash(template_of(d), template_of(cached)):
                already_exists = True
                created = u.deepcopy(cached)
            else:
                # a hash collision: bump collisionCount and retry with the new hash
                d.setdefault("status", {})["collisionCount"] = int(cc or 0) + 1
                s.update_status()
                raise _Stop(f'replicasets.apps "{rs_name}" already exists')
        else:
            ev = None
            if n_new > 0:
                ev = s.event("Normal", "ScalingReplicaSet",
                             f"Scaled up replica set {rs_name} to {n_new}")
            s.actions.append(Action(
                "create", "replicasets", s.ns, rs_name, u.deepcopy(new_rs), event=ev,
                failure_event=s.event("Warning", FAILED_RS_CREATE,
                                      f'Failed to create new replica set "{rs_name}": {{error}}')))
            created = new_rs
            created["metadata"]["creationTimestamp"] = u.now_str(s.now)
            created["metadata"]["uid"] = f"pending:{rs_name}"
            created["metadata"]["generation"] = 1
        needs = set_deployment_revision(d, new_revision)
        if not already_exists and has_progress_deadline(d):
            u.set_condition(d.setdefault("status", {}), new_condition(
                "Progressing", "True", NEW_REPLICA_SET, f'Created new replica set "{rs_name}"',
                s.now))
            needs = True
        if needs:
            s.update_status()
        return created

    def _scale_rs(self, s: _Sync, rs: Obj, new_scale: int, op: str) -> bool:
        """scaleReplicaSet: set replicas and the replicas annotations; event when resized."""
        d = s.d
        size_needs = replicas_of(rs) != new_scale
        desired, maximum = replicas_of(d), replicas_of(d) + max_surge(d)
        ann_needs = replicas_annotations_need_update(rs, desired, maximum)
        if not (size_needs or ann_needs):
            return False
        old_scale = replicas_of(rs)
        _set_replicas(rs, new_scale)
        set_replicas_annotations(rs, desired, maximum)
        ev = None
        if size_needs:
            rs.setdefault("metadata", {})["generation"] = u.generation(rs) + 1
            ev = s.event("Normal", "ScalingReplicaSet",
                         f"Scaled {op} replica set {u.name(rs)} to {new_scale} from {old_scale}")
        s.update_rs(rs, ev)
        return size_needs

    def _scale_and_record(self, s: _Sync, rs: Obj, new_scale: int) -> bool:
        if replicas_of(rs) == new_scale:
            return False
        op = "up" if replicas_of(rs) < new_scale else "down"
        return self._scale_rs(s, rs, new_scale, op)

    # -- sync / scale --
    def _sync(self, s: _Sync, rs_list: list[Obj], view: View) -> None:
        new_rs, old_rss = self._get_all(s, rs_list, view, False)
        self._scale(s, new_rs, old_rss)
        if (s.d.get("spec") or {}).get("paused") and ROLLBACK_TO not in u.annotations_of(s.d):
            self._cleanup(s, old_rss)
        self._sync_deployment_status(s, [*old_rss, new_rs], new_rs)

    def _scale(self, s: _Sync, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        d = s.d
        aol = find_active_or_latest(new_rs, old_rss)
        if aol is not None:
            if replicas_of(aol) == replicas_of(d):
                return
            self._scale_and_record(s, aol, replicas_of(d))
            return
        if is_saturated(d, new_rs):
            for old in active(list(old_rss)):
                self._scale_and_record(s, old, 0)
            return
        if not is_rolling_update(d):
            return
        all_rss = active([*old_rss, new_rs])
        all_replicas = sum(replicas_of(rs) for rs in all_rss)
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - all_replicas
        op = ""
        if to_add > 0:
            all_rss = by_size_newer(all_rss)
            op = "up"
        elif to_add < 0:
            all_rss = by_size_older(all_rss)
            op = "down"
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                prop = get_proportion(rs, d, to_add, added)
                sizes[u.name(rs)] = replicas_of(rs) + prop
                added += prop
            else:
                sizes[u.name(rs)] = replicas_of(rs)
        for i, rs in enumerate(all_rss):
            if i == 0 and to_add != 0:
                sizes[u.name(rs)] = max(sizes[u.name(rs)] + to_add - added, 0)
            self._scale_rs(s, rs, sizes[u.name(rs)], op)

    def _is_scaling_event(self, s: _Sync, rs_list: list[Obj], view: View) -> bool:
        new_rs, old_rss = self._get_all(s, rs_list, view, False)
        for rs in active([*old_rss, new_rs]):
            desired = _int_annotation(rs, DESIRED_REPLICAS)
            if desired is not None and desired != replicas_of(s.d):
                return True
        return False

    def _check_paused_conditions(self, s: _Sync) -> None:
        d = s.d
        if not has_progress_deadline(d):
            return
        cond = u.get_condition(d.get("status"), "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_exists = cond is not None and cond.get("reason") == PAUSED
        paused = bool((d.get("spec") or {}).get("paused"))
        if paused and not paused_exists:
            u.set_condition(d.setdefault("status", {}), new_condition(
                "Progressing", "Unknown", PAUSED, "Deployment is paused", s.now))
        elif not paused and paused_exists:
            u.set_condition(d.setdefault("status", {}), new_condition(
                "Progressing", "Unknown", RESUMED, "Deployment is resumed", s.now))
        else:
            return
        s.update_status()

    def _cleanup(self, s: _Sync, old_rss: list[Obj]) -> None:
        """cleanupDeployment: delete the oldest fully scaled-down ReplicaSets beyond
        revisionHistoryLimit."""
        d = s.d
        if not has_revision_history_limit(d):
            return
        cleanable = [rs for rs in old_rss if u.deletion_timestamp(rs) is None]
        diff = len(cleanable) - int((d.get("spec") or {}).get("revisionHistoryLimit") or 0)
        if diff <= 0:
            return
        for rs in by_revision(cleanable)[:diff]:
            if status_int(rs, "replicas") != 0 or replicas_of(rs) != 0 or \
                    u.generation(rs) > status_int(rs, "observedGeneration") or \
                    u.deletion_timestamp(rs) is not None:
                continue
            s.actions.append(Action("delete", "replicasets", s.ns, u.name(rs), tolerate=(404,)))

    def _sync_deployment_status(self, s: _Sync, all_rss: list[Obj | None],
                                new_rs: Obj | None) -> None:
        new_status = calculate_status(all_rss, new_rs, s.d, s.now)
        if status_equal(s.d.get("status"), new_status):
            return
        s.d["status"] = new_status
        s.update_status()

    # -- rollouts --
    def _rollout_rolling(self, s: _Sync, rs_list: list[Obj], view: View) -> None:
        new_rs, old_rss = self._get_all(s, rs_list, view, True)
        assert new_rs is not None
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        if self._reconcile_new_rs(s, all_rss, new_rs):
            self._sync_rollout_status(s, all_rss, new_rs)
            return
        if self._reconcile_old_rss(s, all_rss, active(list(old_rss)), new_rs):
            self._sync_rollout_status(s, all_rss, new_rs)
            return
        if deployment_complete(s.d, s.d.get("status") or {}):
            self._cleanup(s, old_rss)
        self._sync_rollout_status(s, all_rss, new_rs)

    def _reconcile_new_rs(self, s: _Sync, all_rss: list[Obj | None], new_rs: Obj) -> bool:
        d = s.d
        if replicas_of(new_rs) == replicas_of(d):
            return False
        if replicas_of(new_rs) > replicas_of(d):
            return self._scale_and_record(s, new_rs, replicas_of(d))
        n = new_rs_new_replicas(d, [rs for rs in all_rss if rs is not None], new_rs)
        return self._scale_and_record(s, new_rs, n)

    def _reconcile_old_rss(self, s: _Sync, all_rss: list[Obj | None], old_rss: list[Obj],
                           new_rs: Obj) -> bool:
        d = s.d
        if sum(replicas_of(rs) for rs in old_rss) == 0:
            return False
        all_pods = sum(replicas_of(rs) for rs in all_rss if rs is not None)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - status_int(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        # unhealthy old replicas first (they cannot reduce availability)
        old_sorted = by_creation(old_rss)
        cleaned = 0
        for rs in old_sorted:
            if cleaned >= max_scaled_down:
                break
            if replicas_of(rs) == 0:
                continue
            if replicas_of(rs) == status_int(rs, "availableReplicas"):
                continue
            count = min(max_scaled_down - cleaned, replicas_of(rs) - status_int(rs,
                                                                                 "availableReplicas"))
            self._scale_and_record(s, rs, replicas_of(rs) - count)
            cleaned += count
        scaled = self._scale_down_old_for_rolling(s, [*old_sorted, new_rs], old_sorted)
        return cleaned + scaled > 0

    def _scale_down_old_for_rolling(self, s: _Sync, all_rss: list[Obj], old_rss: list[Obj]) -> int:
        d = s.d
        min_available = replicas_of(d) - max_unavailable(d)
        available = sum(status_int(rs, "availableReplicas") for rs in all_rss)
        if available <= min_available:
            return 0
        total = available - min_available
        done = 0
        for rs in by_creation(old_rss):
            if done >= total:
                break
            if replicas_of(rs) == 0:
                continue
            count = min(replicas_of(rs), total - done)
            self._scale_and_record(s, rs, replicas_of(rs) - count)
            done += count
        return done

    def _rollout_recreate(self, s: _Sync, rs_list: list[Obj], pod_map: dict[str, list[Obj]],
                          view: View) -> None:
        new_rs, old_rss = self._get_all(s, rs_list, view, False)
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        scaled = False
        for rs in active(list(old_rss)):
            if self._scale_and_record(s, rs, 0):
                scaled = True
        if scaled:
            self._sync_rollout_status(s, all_rss, new_rs)
            return
        if self._old_pods_running(new_rs, old_rss, pod_map):
            self._sync_rollout_status(s, all_rss, new_rs)
            return
        if new_rs is None:
            new_rs, old_rss = self._get_all(s, rs_list, view, True)
            all_rss = [*old_rss, new_rs]
        assert new_rs is not None
        self._scale_and_record(s, new_rs, replicas_of(s.d))
        if deployment_complete(s.d, s.d.get("status") or {}):
            self._cleanup(s, old_rss)
        self._sync_rollout_status(s, all_rss, new_rs)

    @staticmethod
    def _old_pods_running(new_rs: Obj | None, old_rss: list[Obj],
                          pod_map: dict[str, list[Obj]]) -> bool:
        if sum(status_int(rs, "replicas") for rs in old_rss) > 0:
            return True
        for rs_uid, pods in pod_map.items():
            if new_rs is not None and u.uid(new_rs) == rs_uid:
                continue
            for p in pods:
                if u.pod_phase(p) in ("Failed", "Succeeded"):
                    continue
                return True
        return False

    def _sync_rollout_status(self, s: _Sync, all_rss: list[Obj | None], new_rs: Obj | None) -> None:
        """syncRolloutStatus: status + the Progressing condition; requeue a stuck rollout
        for its deadline."""
        d = s.d
        now = s.now
        new_status = calculate_status(all_rss, new_rs, d, now)
        if not has_progress_deadline(d):
            u.remove_condition(new_status, "Progressing")
        cur = u.get_condition(d.get("status"), "Progressing")
        complete_already = int(new_status.get("replicas") or 0) == \
            int(new_status.get("updatedReplicas") or 0) and cur is not None and \
            cur.get("reason") == NEW_RS_AVAILABLE
        if has_progress_deadline(d) and not complete_already:
            who = f'ReplicaSet "{u.name(new_rs)}"' if new_rs is not None else \
                f'Deployment "{u.name(d)}"'
            if deployment_complete(d, new_status):
                u.set_condition(new_status, new_condition(
                    "Progressing", "True", NEW_RS_AVAILABLE, f"{who} has successfully progressed.",
                    now))
            elif deployment_progressing(d, new_status):
                cond = new_condition("Progressing", "True", REPLICA_SET_UPDATED,
                                     f"{who} is progressing.", now)
                if cur is not None:
                    if cur.get("status") == "True":
                        cond["lastTransitionTime"] = cur.get("lastTransitionTime")
                    u.remove_condition(new_status, "Progressing")
                u.set_condition(new_status, cond)
            elif deployment_timed_out(d, new_status, now):
                u.set_condition(new_status, new_condition(
                    "Progressing", "False", TIMED_OUT, f"{who} has timed out progressing.", now))
        failures = replica_failures(all_rss, new_rs)
        if failures:
            u.set_condition(new_status, failures[0])
        else:
            u.remove_condition(new_status, "ReplicaFailure")
        _compact(new_status)
        if status_equal(d.get("status"), new_status):
            self._requeue_stuck(s, new_status)
            return
        d["status"] = new_status
        s.update_status()

    def _requeue_stuck(self, s: _Sync, new_status: Obj) -> None:
        d = s.d
        cur = u.get_condition(d.get("status"), "Progressing")
        if not has_progress_deadline(d) or cur is None:
            return
        if deployment_complete(d, new_status) or cur.get("reason") == TIMED_OUT:
            return
        last = u.ts(cur.get("lastUpdateTime"))
        if last is None:
            return
        after = last + int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0) - s.now
        if after < 1.0:
            s.result = Result(requeue=True)
        else:
            s.result = Result(requeue_after=after + 1.0)


@register("deployment")
def _new(config: dict[str, Any]) -> DeploymentController:
    return DeploymentController()

