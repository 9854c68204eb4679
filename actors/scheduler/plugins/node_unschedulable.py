"""NodeUnschedulable: filters out nodes with `spec.unschedulable: true` (cordoned), unless
the pod tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint (DaemonSet
pods do). UnschedulableAndUnresolvable: preemption cannot uncordon a node.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import helpers
from ..framework import SUCCESS, Code, CycleState, NodeInfo, Pod, Status, as_status, new_status
from ..framework import NODE, ActionType, ClusterEvent

NAME = "NodeUnschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"

_UNSCHEDULABLE_TAINT = {"key": helpers.TAINT_NODE_UNSCHEDULABLE, "effect": helpers.NO_SCHEDULE}


def fits(pod: Pod, node: Mapping[str, Any]) -> bool:
    if not helpers.spec(node).get("unschedulable"):
        return True
    return helpers.tolerations_tolerate_taint(helpers.pod_tolerations(pod), _UNSCHEDULABLE_TAINT)


class NodeUnschedulable:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        """Uncordoning is reported as a taint change (NodeSpecUnschedulableChange)."""
        return [ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT)]

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.node is None:
            return as_status("node not found")
        if not fits(pod, node_info.node):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_UNSCHEDULABLE)
        return SUCCESS


def new(args: Mapping[str, Any] | None = None) -> NodeUnschedulable:
    return NodeUnschedulable()
