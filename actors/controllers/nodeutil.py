"""Nodes, taints and tolerations for the node controllers (pure).

Upstream's pkg/util/taints, pkg/controller/util/node and the toleration helpers of
pkg/apis/core/v1/helper, over plain dicts:

- taints: `taint_matches` (same key and effect, ``Taint.MatchTaint``), `taint_exists`,
  `add_or_update_taint` / `remove_taint` (``taints.AddOrUpdateTaint`` /
  ``RemoveTaint``: return the new list and whether it changed), `taint_set_diff`,
  `taints_patch` (a merge patch of ``spec.taints`` carrying the node's
  resourceVersion, as ``PatchNodeTaints`` does: a concurrent writer makes it 409);
- tolerations: `matching_tolerations` (``GetMatchingTolerations``: the first toleration
  tolerating each taint) and `min_toleration_seconds` (``getMinTolerationTime``);
- nodes: `zone_key` (``topology.GetZoneKey``), `is_node_ready`, `pods_by_node`;
- pods: `update_pod_condition` (``podutil.UpdatePodCondition``).

Every duration a controller is configured with is an upstream duration in seconds;
`actors.controllers.util.scaled` turns it into real seconds with the cluster's
``time_scale``.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from actors.api.meta import toleration_tolerates_taint

from . import util as u
from .loop import View

Obj = dict[str, Any]

# well-known taint keys (k8s.io/api/core/v1 well_known_taints.go)
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"

LEASE_NAMESPACE = "kube-node-lease"

# topology labels (GA first, then the deprecated beta ones GetZoneKey prefers)
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_ZONE_BETA = "failure-domain.beta.kubernetes.io/zone"
LABEL_REGION_BETA = "failure-domain.beta.kubernetes.io/region"


# ---- taints -----------------------------------------------------------------------------------


def node_taints(node: Mapping[str, Any]) -> list[Obj]:
    t = (node.get("spec") or {}).get("taints")
    return [dict(x) for x in t if isinstance(x, dict)] if isinstance(t, list) else []


def noexecute_taints(node: Mapping[str, Any] | None) -> list[Obj]:
    """getNoExecuteTaints."""
    if node is None:
        return []
    return [t for t in node_taints(node) if t.get("effect") == NO_EXECUTE]


def taint_matches(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Taint.MatchTaint: same key and effect (values and timeAdded do not matter)."""
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


def taint_exists(taints: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    return any(taint_matches(t, taint) for t in taints)


def taint_key_exists(taints: Iterable[Mapping[str, Any]], key: str) -> bool:
    return any(t.get("key") == key for t in taints)


def add_or_update_taint(taints: list[Obj], taint: Mapping[str, Any]) -> tuple[list[Obj], bool]:
    """taints.AddOrUpdateTaint: replace the taint with the same key and effect (unless
    identical — a different timeAdded counts as different), else append it."""
    out: list[Obj] = []
    updated = False
    for t in taints:
        if taint_matches(taint, t):
            if u.semantic_equal(dict(taint), t):
                return [dict(x) for x in taints], False
            out.append(dict(taint))
            updated = True
            continue
        out.append(dict(t))
    if not updated:
        out.append(dict(taint))
    return out, True


def remove_taint(taints: list[Obj], taint: Mapping[str, Any]) -> tuple[list[Obj], bool]:
    """taints.RemoveTaint: drop every taint with the taint's key and effect."""
    out = [dict(t) for t in taints if not taint_matches(t, taint)]
    return out, len(out) != len(taints)


def taint_set_diff(desired: list[Obj], current: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """taints.TaintSetDiff: (in desired but not current, in current but not desired)."""
    to_add = [t for t in desired if not taint_exists(current, t)]
    to_remove = [t for t in current if not taint_exists(desired, t)]
    return to_add, to_remove


def taints_patch(node: Mapping[str, Any], taints: list[Obj]) -> Obj:
    """The merge patch PatchNodeTaints sends: the new taints, guarded by the
    resourceVersion of the node they were computed from."""
    md: Obj = {}
    if u.resource_version(node):
        md["resourceVersion"] = u.resource_version(node)
    return {"metadata": md, "spec": {"taints": taints or None}}


# ---- tolerations ------------------------------------------------------------------------------


def pod_tolerations(pod: Mapping[str, Any]) -> list[Obj]:
    t = (pod.get("spec") or {}).get("tolerations")
    return [x for x in t if isinstance(x, dict)] if isinstance(t, list) else []


def matching_tolerations(taints: list[Obj], tolerations: list[Obj]) -> tuple[bool, list[Obj]]:
    """v1helper.GetMatchingTolerations: whether every taint is tolerated, and for each
    taint the first toleration tolerating it."""
    if not taints:
        return True, []
    if not tolerations:
        return False, []
    used: list[Obj] = []
    for taint in taints:
        for tol in tolerations:
            if toleration_tolerates_taint(tol, taint):
                used.append(tol)
                break
        else:
            return False, []
    return True, used


def min_toleration_seconds(tolerations: list[Obj]) -> float | None:
    """getMinTolerationTime in upstream seconds: 0 for no tolerations or any
    tolerationSeconds <= 0, the smallest tolerationSeconds, or None (forever) when none
    of them sets one."""
    if not tolerations:
        return 0.0
    least: float | None = None
    for t in tolerations:
        s = t.get("tolerationSeconds")
        if s is None or isinstance(s, bool):
            continue
        v = float(s)
        if v <= 0:
            return 0.0
        if least is None or v < least:
            least = v
    return least


# ---- nodes ------------------------------------------------------------------------------------


def zone_key(node: Mapping[str, Any]) -> str:
    """topology.GetZoneKey: "" when the node has neither region nor zone labels."""
    labels = u.labels(node)
    zone = labels[LABEL_ZONE_BETA] if LABEL_ZONE_BETA in labels else labels.get(LABEL_ZONE, "")
    region = labels[LABEL_REGION_BETA] if LABEL_REGION_BETA in labels \
        else labels.get(LABEL_REGION, "")
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


def ready_condition(status: Mapping[str, Any] | None) -> Obj | None:
    return u.get_condition(status, "Ready")


def is_node_ready(node: Mapping[str, Any]) -> bool:
    """nodeutil.IsNodeReady."""
    c = ready_condition(node.get("status"))
    return c is not None and c.get("status") == "True"


def node_ref(node: Mapping[str, Any]) -> dict[str, str]:
    """The ObjectReference node events are about (namespace empty: the event lands in
    "default", as upstream's recorder does)."""
    return {"kind": "Node", "apiVersion": "v1", "name": u.name(node), "uid": u.uid(node)}


def pod_ref(pod: Mapping[str, Any]) -> dict[str, str]:
    return {"kind": "Pod", "apiVersion": "v1", "name": u.name(pod),
            "namespace": u.namespace(pod), "uid": u.uid(pod)}


def node_name_of(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def pods_by_node(view: View) -> dict[str, list[Obj]]:
    """The pod informer's spec.nodeName index (bound pods only)."""
    out: dict[str, list[Obj]] = {}
    for p in view.list("pods"):
        n = node_name_of(p)
        if n:
            out.setdefault(n, []).append(p)
    for pods in out.values():
        pods.sort(key=u.obj_key)
    return out


def pods_on_node(view: View, node: str) -> list[Obj]:
    return sorted((p for p in view.list("pods") if node_name_of(p) == node), key=u.obj_key)


# ---- pods ---------------------------------------------------------------------------------------


def update_pod_condition(status: Obj, cond: Mapping[str, Any], now: float) -> bool:
    """podutil.UpdatePodCondition: set `cond` (lastTransitionTime now, kept when the status
    does not change); whether anything changed."""
    new = dict(cond)
    new["lastTransitionTime"] = u.now_str(now)
    conds = status.get("conditions")
    if not isinstance(conds, list):
        conds = []
    for i, old in enumerate(conds):
        if isinstance(old, dict) and old.get("type") == new.get("type"):
            if old.get("status") == new.get("status"):
                new["lastTransitionTime"] = old.get("lastTransitionTime")
            equal = all(old.get(k) == new.get(k) for k in
                        ("status", "reason", "message", "lastProbeTime", "lastTransitionTime"))
            conds = list(conds)
            conds[i] = {k: v for k, v in new.items() if v is not None}
            status["conditions"] = conds
            return not equal
    status["conditions"] = [*conds, {k: v for k, v in new.items() if v is not None}]
    return True


def with_status(o: Mapping[str, Any], status: Obj) -> Obj:
    out = copy.deepcopy(dict(o))
    out["status"] = status
    return out
