"""TaintToleration: taints repel pods that do not tolerate them.

Filter: the first NoSchedule/NoExecute taint of the node (in node order) that none of
the pod's tolerations tolerates makes the node infeasible (UnschedulableAndUnresolvable,
"node(s) had untolerated taint(s)"; the taint itself is not in the message, as
upstream since v1.33).

Score: the number of PreferNoSchedule taints not tolerated by the pod's tolerations
whose effect is PreferNoSchedule or empty, normalized in reverse (the node with the
most such taints scores 0, a node with none 100). Default weight 3.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import helpers
from ..framework import (MAX_NODE_SCORE, SUCCESS, Code, CycleState, NodeInfo, NodeScore, Pod, Status,
                         as_status, default_normalize_score, new_status)
from ..framework import NODE, ActionType, ClusterEvent

NAME = "TaintToleration"
ERR_REASON_NOT_MATCH = "node(s) had untolerated taint(s)"
_PRESCORE_KEY = "PreScore" + NAME


def untolerated_taint(pod: Pod, node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return helpers.find_matching_untolerated_taint(
        helpers.node_taints(node), helpers.pod_tolerations(pod), helpers.do_not_schedule_taint)


def fits(pod: Pod, node: Mapping[str, Any]) -> bool:
    return untolerated_taint(pod, node) is None


def prefer_no_schedule_tolerations(tolerations: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Tolerations with effect PreferNoSchedule or empty (an empty effect matches all effects)."""
    return [t for t in tolerations if not t.get("effect") or t.get("effect") == helpers.PREFER_NO_SCHEDULE]


def count_intolerable_prefer_no_schedule(taints: Sequence[Mapping[str, Any]],
                                         tolerations: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for t in taints if t.get("effect") == helpers.PREFER_NO_SCHEDULE
               and not helpers.tolerations_tolerate_taint(tolerations, t))


class TaintToleration:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT)]

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.node is None:
            return as_status("invalid nodeInfo")
        if untolerated_taint(pod, node_info.node) is not None:
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_NOT_MATCH)
        return SUCCESS

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        if nodes:
            state.write(_PRESCORE_KEY, prefer_no_schedule_tolerations(helpers.pod_tolerations(pod)))
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        if node_info.node is None:
            return 0, as_status("node not found")
        tolerations = state.get(_PRESCORE_KEY)
        if tolerations is None:
            tolerations = prefer_no_schedule_tolerations(helpers.pod_tolerations(pod))
        return count_intolerable_prefer_no_schedule(helpers.node_taints(node_info.node), tolerations), SUCCESS

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[NodeScore]) -> Status:
        return default_normalize_score(MAX_NODE_SCORE, True, scores)


def new(args: Mapping[str, Any] | None = None) -> TaintToleration:
    return TaintToleration()
