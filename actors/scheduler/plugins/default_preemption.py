"""DefaultPreemption: the PostFilter plugin that preempts lower-priority pods.

When no node fits a pod, it runs the preemption Evaluator (actors/scheduler/
preemption.py) on the cycle's snapshot and statuses. On success it nominates the pod
to the chosen node and returns the victims (the scheduler evicts them and retries the
pod once they are gone); otherwise its message, prefixed "preemption: ", is appended
to the FitError, as upstream::

    0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.

Args (DefaultPreemptionArgs): `minCandidateNodesPercentage` (default 10, in [0, 100])
and `minCandidateNodesAbsolute` (default 100, >= 0), not both 0: the dry run stops after
max(potential nodes * percentage / 100, absolute) candidates.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import preemption
from ..framework import CycleState, Framework, NodeToStatus, Pod, PostFilterResult, Status, as_status, new_status

NAME = "DefaultPreemption"


def validate_args(percentage: Any, absolute: Any) -> list[str]:
    """ValidateDefaultPreemptionArgs: the field errors, upstream's messages."""
    errs: list[str] = []
    if not isinstance(percentage, int) or not 0 <= percentage <= 100:
        errs.append(f"minCandidateNodesPercentage: Invalid value: {percentage}: not in valid range [0, 100]")
    if not isinstance(absolute, int) or absolute < 0:
        errs.append(f"minCandidateNodesAbsolute: Invalid value: {absolute}: not in valid range [0, inf)")
    if percentage == 0 and absolute == 0:
        errs.append("minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
                    "minCandidateNodesAbsolute")
        errs.append("minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as "
                    "minCandidateNodesPercentage")
    return errs


class DefaultPreemption:
    name = NAME

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        args = args or {}
        self.min_candidate_nodes_percentage = args.get("minCandidateNodesPercentage",
                                                       preemption.DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE)
        self.min_candidate_nodes_absolute = args.get("minCandidateNodesAbsolute",
                                                     preemption.DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE)
        errs = validate_args(self.min_candidate_nodes_percentage, self.min_candidate_nodes_absolute)
        if errs:
            raise ValueError(errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]")
        self.framework: Framework | None = None

    def set_framework(self, framework: Framework) -> None:
        self.framework = framework

    def post_filter(self, state: CycleState, pod: Pod, filtered_node_status_map: NodeToStatus
                    ) -> tuple[PostFilterResult | None, Status]:
        if self.framework is None:
            return None, as_status("DefaultPreemption has no framework")
        result, status = preemption.preempt(
            self.framework, state, pod, filtered_node_status_map,
            min_candidate_nodes_percentage=self.min_candidate_nodes_percentage,
            min_candidate_nodes_absolute=self.min_candidate_nodes_absolute)
        msg = status.message()
        if msg:
            return result, new_status(status.code, "preemption: " + msg)
        return result, status


def new(args: Mapping[str, Any] | None = None) -> DefaultPreemption:
    return DefaultPreemption(args)
