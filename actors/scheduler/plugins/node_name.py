"""NodeName: a pod that names its node (`spec.nodeName`) fits only that node.

The scheduler never queues such pods (they are already assigned), but the filter is
part of every profile, and preemption and tools run it on hypothetical pods.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import helpers
from ..framework import SUCCESS, Code, CycleState, NodeInfo, Pod, Status, as_status, new_status
from ..framework import NODE, ActionType, ClusterEvent

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"


def fits(pod: Pod, node: Mapping[str, Any]) -> bool:
    want = helpers.pod_node_name(pod)
    return want == "" or want == helpers.name_of(node)


class NodeName:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(NODE, ActionType.ADD)]

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.node is None:
            return as_status("node not found")
        if not fits(pod, node_info.node):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON)
        return SUCCESS


def new(args: Mapping[str, Any] | None = None) -> NodeName:
    return NodeName()
