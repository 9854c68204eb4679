"""NodeResourcesFit's LeastAllocated scoring strategy (the default): favour the node
with the most free capacity left after placing the pod.

    score(resource) = (allocatable - requested) * 100 / allocatable   (0 if over-committed)
    score(node)     = sum(score(resource) * weight) / sum(weight)      (integer division)

over the configured resources (cpu and memory, weight 1 each, by default), where
`requested` counts pods without requests as 100m cpu / 200Mi memory (see
resource_allocation.py). Resources the node does not offer are left out.
"""

from __future__ import annotations

from typing import Sequence

from ..framework import MAX_NODE_SCORE
from .resource_allocation import ResourceSpec, Scorer

STRATEGY = "LeastAllocated"


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_resource_scorer(resources: Sequence[ResourceSpec]) -> Scorer:
    weights = [r.weight for r in resources]

    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        node_score = weight_sum = 0
        for req, alloc, w in zip(requested, allocatable, weights):
            if alloc == 0:
                continue
            node_score += least_requested_score(req, alloc) * w
            weight_sum += w
        return node_score // weight_sum if weight_sum else 0

    return scorer
