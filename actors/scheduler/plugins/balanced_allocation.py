"""NodeResourcesBalancedAllocation: favour the node whose resource usage stays balanced
across resources once the pod is placed.

With f_i = min(requested_i / allocatable_i, 1) over the resources the node offers
(cpu and memory by default; real requests, not the 100m/200Mi defaults):

    std = |f_1 - f_2| / 2                          for two resources
    std = sqrt(sum((f_i - mean)^2) / n)            for more than two
    score = int((1 - std) * 100)

Best-effort pods (no request for any of the resources) skip the plugin (PreScore
returns Skip), so they do not pile up on one node (kubernetes#129138). Default weight 1.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..framework import MAX_NODE_SCORE, SKIP, SUCCESS, CycleState, NodeInfo, Pod, Status
from ..framework import NODE, POD, ActionType, ClusterEvent
from .resource_allocation import ResourceAllocationScorer, parse_resources

NAME = "NodeResourcesBalancedAllocation"
_PRESCORE_KEY = "PreScore" + NAME


def balanced_resource_scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    fractions: list[float] = []
    for req, alloc in zip(requested, allocatable):
        if alloc == 0:
            continue
        fractions.append(min(req / alloc, 1.0))
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(POD, ActionType.DELETE),
                ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_ALLOCATABLE)]

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        self.scorer = ResourceAllocationScorer(NAME, balanced_resource_scorer,
                                               parse_resources((args or {}).get("resources")),
                                               use_requested=True)

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        requests = self.scorer.pod_requests(pod)
        if not any(requests):
            return SKIP
        state.write(_PRESCORE_KEY, requests)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        requests = state.get(_PRESCORE_KEY)
        if requests is None:
            requests = self.scorer.pod_requests(pod)
            if not any(requests):
                return 0, SUCCESS
        return self.scorer.score(node_info, requests)


def new(args: Mapping[str, Any] | None = None) -> BalancedAllocation:
    return BalancedAllocation(args)
