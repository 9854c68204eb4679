"""Resource arithmetic of the scheduler (pure): what a pod requests, what a node offers.

Mirrors kube-scheduler's `framework.Resource` and component-helpers' `PodRequests`:

- a pod's requests are the sum over its containers, then the max with every init
  container (a restartable "sidecar" init container, `restartPolicy: Always`, adds to
  the sum and to what later init containers see), plus `spec.overhead`;
- cpu is counted in millicores and everything else in whole units, both rounded up
  as resource.Quantity's MilliValue()/Value() do;
- `non_missing` fills a container's *missing* cpu/memory request (not an explicit 0)
  with a default: scoring uses 100m cpu / 200Mi memory (`DEFAULT_MILLI_CPU_REQUEST`,
  `DEFAULT_MEMORY_REQUEST`) so that best-effort pods still count on a node;
- "scalar" resources are extended resources (`example.com/gpu`), hugepages-* and
  attachable-volumes-*; anything else a node or pod lists is ignored, as upstream.

Quantities are parsed by actors.api.quantity (exact Fractions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from actors.api.quantity import parse_quantity

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

DEFAULT_MILLI_CPU_REQUEST = 100  # 0.1 core (schedutil.DefaultMilliCPURequest)
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # 200 MB (schedutil.DefaultMemoryRequest)

# the defaults that NonMissingContainerRequests applies for scoring
NON_ZERO_DEFAULTS: dict[str, Fraction] = {
    CPU: Fraction(DEFAULT_MILLI_CPU_REQUEST, 1000),
    MEMORY: Fraction(DEFAULT_MEMORY_REQUEST),
}

def milli_value(q: Fraction) -> int:
    """resource.Quantity.MilliValue(): millis, rounded up."""
    return math.ceil(q * 1000)


def value(q: Fraction) -> int:
    """resource.Quantity.Value(): whole units, rounded up."""
    return math.ceil(q)


def is_scalar_resource_name(name: str) -> bool:
    """Extended (domain-prefixed, not kubernetes.io), hugepages-*, attachable-volumes-*."""
    if name.startswith("hugepages-") or name.startswith("attachable-volumes-"):
        return True
    if "/" in name:
        domain = name.split("/", 1)[0]
        # native resources live in kubernetes.io; "requests." is a quota prefix, not a resource
        return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))
    return False


ResourceList = dict[str, Fraction]


def parse_resource_list(rl: Mapping[str, Any] | None) -> ResourceList:
    out: ResourceList = {}
    for k, v in (rl or {}).items():
        try:
            out[k] = parse_quantity(v)
        except (ValueError, TypeError, ZeroDivisionError):
            continue  # invalid quantities never pass validation; ignore them here
    return out


def _add(into: ResourceList, rl: Mapping[str, Fraction]) -> None:
    for k, v in rl.items():
        into[k] = into.get(k, Fraction(0)) + v


def _max(into: ResourceList, rl: Mapping[str, Fraction]) -> None:
    for k, v in rl.items():
        if k not in into or v > into[k]:
            into[k] = v


def _container_requests(c: Mapping[str, Any], non_missing: Mapping[str, Fraction] | None) -> ResourceList:
    reqs = parse_resource_list((c.get("resources") or {}).get("requests"))
    if non_missing:
        for k, v in non_missing.items():
            if k not in reqs:
                reqs[k] = v
    return reqs


def pod_requests(pod: Mapping[str, Any], non_missing: Mapping[str, Fraction] | None = None) -> ResourceList:
    """component-helpers resource.PodRequests (container-level requests, no pod-level resources)."""
    spec = pod.get("spec") or {}
    reqs: ResourceList = {}
    for c in spec.get("containers") or []:
        _add(reqs, _container_requests(c, non_missing))
    restartable: ResourceList = {}
    init_reqs: ResourceList = {}
    for c in spec.get("initContainers") or []:
        creqs = _container_requests(c, non_missing)
        if c.get("restartPolicy") == "Always":
            _add(reqs, creqs)
            _add(restartable, creqs)
            creqs = dict(restartable)
        else:
            tmp: ResourceList = {}
            _add(tmp, creqs)
            _add(tmp, restartable)
            creqs = tmp
        _max(init_reqs, creqs)
    _max(reqs, init_reqs)
    overhead = spec.get("overhead")
    if overhead:
        _add(reqs, parse_resource_list(overhead))
    return reqs


@dataclass
class Resource:
    """framework.Resource: cpu in millicores, the rest in units; scalar by name."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pod_number: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_list(cls, rl: Mapping[str, Fraction]) -> "Resource":
        r = cls()
        for name, q in rl.items():
            if name == CPU:
                r.milli_cpu += milli_value(q)
            elif name == MEMORY:
                r.memory += value(q)
            elif name == PODS:
                r.allowed_pod_number += value(q)
            elif name == EPHEMERAL_STORAGE:
                r.ephemeral_storage += value(q)
            elif is_scalar_resource_name(name):
                r.scalar[name] = r.scalar.get(name, 0) + value(q)
        return r

    def add(self, other: "Resource", sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        self.allowed_pod_number += sign * other.allowed_pod_number
        for k, v in other.scalar.items():
            self.scalar[k] = self.scalar.get(k, 0) + sign * v

    def clone(self) -> "Resource":
        return Resource(self.milli_cpu, self.memory, self.ephemeral_storage,
                        self.allowed_pod_number, dict(self.scalar))

    def is_zero(self) -> bool:
        return (self.milli_cpu == 0 and self.memory == 0 and self.ephemeral_storage == 0
                and not any(self.scalar.values()))


def pod_resource(pod: Mapping[str, Any]) -> Resource:
    """What the NodeResourcesFit filter compares against free allocatable (computePodResourceRequest)."""
    return Resource.from_list(pod_requests(pod))


def non_zero_requests(pod: Mapping[str, Any]) -> tuple[int, int]:
    """(milli cpu, memory bytes) with missing container requests defaulted, as NodeInfo.NonZeroRequested."""
    r = pod_requests(pod, NON_ZERO_DEFAULTS)
    return milli_value(r.get(CPU, Fraction(0))), value(r.get(MEMORY, Fraction(0)))


def request_for(pod: Mapping[str, Any], resource: str, *, use_requested: bool) -> int:
    """resourceAllocationScorer.calculatePodResourceRequest for one resource name."""
    r = pod_requests(pod, None if use_requested else NON_ZERO_DEFAULTS)
    q = r.get(resource, Fraction(0))
    return milli_value(q) if resource == CPU else value(q)


def node_allocatable(node: Mapping[str, Any]) -> Resource:
    """status.allocatable (the apiserver defaults it to capacity when a node omits it)."""
    status = node.get("status") or {}
    alloc = status.get("allocatable")
    if not alloc:
        alloc = status.get("capacity")
    return Resource.from_list(parse_resource_list(alloc))
