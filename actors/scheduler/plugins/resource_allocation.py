"""The resource-allocation scorer shared by NodeResourcesFit's scoring strategies and
NodeResourcesBalancedAllocation (upstream noderesources/resource_allocation.go).

For every configured resource it pairs the node's allocatable with what the node
would have requested once the pod lands there:

- cpu/memory: the node's *non-zero* requested (pods without a request counted as
  100m / 200Mi) plus the pod's non-zero request, unless `use_requested` (balanced
  allocation) asks for the real requests on both sides;
- ephemeral-storage and scalar resources: the real requested; a scalar resource the
  pod does not request, or the node does not offer, is left out (0, 0);

and hands the two vectors to the strategy's `scorer(requested, allocatable) -> 0..100`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..framework import SUCCESS, NodeInfo, Pod, Status, as_status
from ..resources import CPU, EPHEMERAL_STORAGE, MEMORY, is_scalar_resource_name, request_for


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    weight: int = 1


DEFAULT_RESOURCES: tuple[ResourceSpec, ...] = (ResourceSpec(CPU, 1), ResourceSpec(MEMORY, 1))

Scorer = Callable[[Sequence[int], Sequence[int]], int]


def parse_resources(specs: Sequence[Mapping[str, Any]] | None) -> tuple[ResourceSpec, ...]:
    if not specs:
        return DEFAULT_RESOURCES
    return tuple(ResourceSpec(str(s["name"]), int(s.get("weight", 1) or 1)) for s in specs)


class ResourceAllocationScorer:
    def __init__(self, name: str, scorer: Scorer, resources: Sequence[ResourceSpec],
                 use_requested: bool) -> None:
        self.name = name
        self.scorer = scorer
        self.resources = tuple(resources)
        self.use_requested = use_requested

    def pod_requests(self, pod: Pod) -> list[int]:
        return [request_for(pod, r.name, use_requested=self.use_requested) for r in self.resources]

    def allocatable_requested(self, node_info: NodeInfo, resource: str, pod_request: int) -> tuple[int, int]:
        requested = node_info.requested if self.use_requested else node_info.non_zero_requested
        if pod_request == 0 and is_scalar_resource_name(resource):
            return 0, 0
        if resource == CPU:
            return node_info.allocatable.milli_cpu, requested.milli_cpu + pod_request
        if resource == MEMORY:
            return node_info.allocatable.memory, requested.memory + pod_request
        if resource == EPHEMERAL_STORAGE:
            return node_info.allocatable.ephemeral_storage, node_info.requested.ephemeral_storage + pod_request
        if resource in node_info.allocatable.scalar:
            return (node_info.allocatable.scalar[resource],
                    node_info.requested.scalar.get(resource, 0) + pod_request)
        return 0, 0

    def score(self, node_info: NodeInfo, pod_requests: Sequence[int]) -> tuple[int, Status]:
        if not self.resources:
            return 0, as_status("resources not found")
        requested = [0] * len(self.resources)
        allocatable = [0] * len(self.resources)
        for i, r in enumerate(self.resources):
            alloc, req = self.allocatable_requested(node_info, r.name, pod_requests[i])
            if alloc == 0:
                continue
            allocatable[i] = alloc
            requested[i] = req
        return self.scorer(requested, allocatable), SUCCESS
