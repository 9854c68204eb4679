"""NodeResourcesFit: the pod's requests must fit the node's free allocatable.

Filter (`fits_request`, upstream fitsRequest), reasons in this order:

    "Too many pods"                 pods on the node + 1 > allocatable pods
    "Insufficient cpu"              request > allocatable - requested (only when requested > 0)
    "Insufficient memory"
    "Insufficient ephemeral-storage"
    "Insufficient <name>"           each requested scalar resource, by name

Unschedulable, or UnschedulableAndUnresolvable when some request exceeds the node's
whole allocatable (no preemption can help). A pod requesting nothing is only checked
against the pod count.

Score: the scoring strategy (`scoringStrategy.type`, LeastAllocated by default with cpu
and memory at weight 1; see least_allocated.py). Default weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..framework import (SUCCESS, Code, CycleState, NodeInfo, Pod, PreFilterResult, Status,
                         new_status)
from ..framework import NODE, POD, ActionType, ClusterEvent
from ..resources import CPU, EPHEMERAL_STORAGE, MEMORY, PODS, Resource, pod_resource
from .least_allocated import STRATEGY as LEAST_ALLOCATED
from .least_allocated import least_resource_scorer
from .resource_allocation import ResourceAllocationScorer, ResourceSpec, Scorer, parse_resources

NAME = "NodeResourcesFit"
_PREFILTER_KEY = "PreFilter" + NAME
_PRESCORE_KEY = "PreScore" + NAME

STRATEGIES: dict[str, Callable[[Sequence[ResourceSpec]], Scorer]] = {LEAST_ALLOCATED: least_resource_scorer}


@dataclass(frozen=True)
class InsufficientResource:
    resource_name: str
    reason: str
    requested: int
    used: int
    capacity: int
    unresolvable: bool = False


def fits_request(pod_request: Resource, node_info: NodeInfo,
                 ignored_extended: frozenset[str] = frozenset(),
                 ignored_groups: frozenset[str] = frozenset()) -> list[InsufficientResource]:
    out: list[InsufficientResource] = []
    alloc, used = node_info.allocatable, node_info.requested
    allowed = alloc.allowed_pod_number
    if len(node_info.pods) + 1 > allowed:
        out.append(InsufficientResource(PODS, "Too many pods", 1, len(node_info.pods), allowed))
    if pod_request.is_zero():
        return out
    if pod_request.milli_cpu > 0 and pod_request.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        out.append(InsufficientResource(CPU, "Insufficient cpu", pod_request.milli_cpu, used.milli_cpu,
                                        alloc.milli_cpu, pod_request.milli_cpu > alloc.milli_cpu))
    if pod_request.memory > 0 and pod_request.memory > alloc.memory - used.memory:
        out.append(InsufficientResource(MEMORY, "Insufficient memory", pod_request.memory, used.memory,
                                        alloc.memory, pod_request.memory > alloc.memory))
    if pod_request.ephemeral_storage > 0 and \
            pod_request.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        out.append(InsufficientResource(EPHEMERAL_STORAGE, "Insufficient ephemeral-storage",
                                        pod_request.ephemeral_storage, used.ephemeral_storage,
                                        alloc.ephemeral_storage,
                                        pod_request.ephemeral_storage > alloc.ephemeral_storage))
    for name in sorted(pod_request.scalar):
        q = pod_request.scalar[name]
        if q == 0:
            continue
        if name in ignored_extended or ("/" in name and name.split("/", 1)[0] in ignored_groups):
            continue
        free = alloc.scalar.get(name, 0) - used.scalar.get(name, 0)
        if q > free:
            out.append(InsufficientResource(name, f"Insufficient {name}", q, used.scalar.get(name, 0),
                                            alloc.scalar.get(name, 0), q > alloc.scalar.get(name, 0)))
    return out


def fits(pod: Pod, node_info: NodeInfo) -> list[InsufficientResource]:
    """noderesources.Fits: what is missing for `pod` on this node (empty when it fits)."""
    return fits_request(pod_resource(pod), node_info)


class Fit:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        """An assigned pod going away frees resources; a new or bigger node offers some."""
        return [ClusterEvent(POD, ActionType.DELETE),
                ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_ALLOCATABLE)]

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        args = args or {}
        strategy = args.get("scoringStrategy") or {}
        stype = str(strategy.get("type") or LEAST_ALLOCATED)
        if stype not in STRATEGIES:
            raise ValueError(f"scoring strategy {stype} is not supported")
        resources: tuple[ResourceSpec, ...] = parse_resources(strategy.get("resources"))
        self.scorer = ResourceAllocationScorer(stype, STRATEGIES[stype](resources), resources,
                                               use_requested=False)
        self.ignored_resources = frozenset(str(x) for x in args.get("ignoredResources") or [])
        self.ignored_groups = frozenset(str(x) for x in args.get("ignoredResourceGroups") or [])

    def pre_filter(self, state: CycleState, pod: Pod,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status]:
        state.write(_PREFILTER_KEY, pod_resource(pod))
        return None, SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        request = state.get(_PREFILTER_KEY)
        if not isinstance(request, Resource):
            request = pod_resource(pod)
        missing = fits_request(request, node_info, self.ignored_resources, self.ignored_groups)
        if not missing:
            return SUCCESS
        code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if any(m.unresolvable for m in missing) \
            else Code.UNSCHEDULABLE
        return new_status(code, *(m.reason for m in missing))

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        state.write(_PRESCORE_KEY, self.scorer.pod_requests(pod))
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        requests = state.get(_PRESCORE_KEY)
        if requests is None:
            requests = self.scorer.pod_requests(pod)
        return self.scorer.score(node_info, requests)


def new(args: Mapping[str, Any] | None = None) -> Fit:
    return Fit(args)
