"""Which cluster events move unschedulable pods, and which pods (pure).

Upstream's eventhandlers.go without queueing hints:

- a node update is only worth a move when it changes something a plugin looks at:
  `spec.unschedulable` turned off, allocatable, labels, taints, the set of condition
  statuses, annotations (`node_scheduling_properties_changed`); heartbeats are not;
- on a node add/update only the pods that would pass the cheap checks on that node
  move (`pre_check_for_node`: NodeResourcesFit, NodeAffinity, NodeName and NodePorts,
  plus no untolerated NoSchedule taint);
- an assigned pod deleted (or a bind that failed, which frees what the assumption took)
  moves every unschedulable pod.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from . import helpers
from .framework import NodeInfo
from .plugins import node_affinity, node_name, node_ports, node_resources_fit

Obj = Mapping[str, Any]


def _conditions(node: Obj) -> dict[str, Any]:
    return {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}


def node_scheduling_properties_changed(old: Obj, new: Obj) -> list[str]:
    """The kinds of change (upstream ActionTypes) between two versions of a node."""
    out: list[str] = []
    old_spec, new_spec = helpers.spec(old), helpers.spec(new)
    if bool(old_spec.get("unschedulable")) != bool(new_spec.get("unschedulable")) \
            and not new_spec.get("unschedulable"):
        out.append("UpdateNodeTaint")  # upstream reports the uncordon as a taint change
    if (old.get("status") or {}).get("allocatable") != (new.get("status") or {}).get("allocatable"):
        out.append("UpdateNodeAllocatable")
    if (helpers.meta(old).get("labels") or {}) != (helpers.meta(new).get("labels") or {}):
        out.append("UpdateNodeLabel")
    if (old_spec.get("taints") or []) != (new_spec.get("taints") or []):
        out.append("UpdateNodeTaint")
    if _conditions(old) != _conditions(new):
        out.append("UpdateNodeCondition")
    if (helpers.meta(old).get("annotations") or {}) != (helpers.meta(new).get("annotations") or {}):
        out.append("UpdateNodeAnnotation")
    return out


def admission_check(pod: Obj, node_info: NodeInfo) -> list[str]:
    """AdmissionCheck: the reasons the pod could never run on this node as it is."""
    node = node_info.node
    if node is None:
        return ["node not found"]
    reasons = [r.reason for r in node_resources_fit.fits(pod, node_info)]
    if not node_affinity.fits(pod, node):
        reasons.append(node_affinity.ERR_REASON_POD)
    if not node_name.fits(pod, node):
        reasons.append(node_name.ERR_REASON)
    if not node_ports.fits(pod, node_info):
        reasons.append(node_ports.ERR_REASON)
    return reasons


def pre_check_for_node(node_info: NodeInfo) -> Callable[[Obj], bool]:
    def check(pod: Obj) -> bool:
        if admission_check(pod, node_info):
            return False
        assert node_info.node is not None
        taint = helpers.find_matching_untolerated_taint(
            helpers.node_taints(node_info.node), helpers.pod_tolerations(pod),
            lambda t: t.get("effect") == helpers.NO_SCHEDULE)
        return taint is None
    return check
