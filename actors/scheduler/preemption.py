"""Preemption, pure: kube-scheduler's pkg/scheduler/framework/preemption (the Evaluator)
with DefaultPreemption's victim selection, and the API writes that carry it out.

When no node fits a pod, `preempt` looks for a node where evicting pods of lower
priority would make room, as upstream:

1. the pod must be eligible (`pod_eligible_to_preempt_others`): not
   `preemptionPolicy: Never` ("not eligible due to preemptionPolicy=Never."), and not
   already nominated to a node where a lower-priority pod is still terminating because
   of an earlier preemption ("not eligible due to a terminating pod on the nominated
   node.") -- unless that node is now UnschedulableAndUnresolvable for it;
2. the potential nodes are those the Filter pass found Unschedulable (not
   UnschedulableAndUnresolvable: no eviction can help there), in snapshot order; the dry
   run starts at a random offset (the injected rng) and stops once it has
   `max(nodes * minCandidateNodesPercentage / 100, minCandidateNodesAbsolute)`
   candidates (10 % and 100 by default, capped at the number of potential nodes);
3. on each (a copy of the node, a clone of the cycle state) `select_victims_on_node`
   removes every pod of lower priority and runs the Filter plugins (with the nominated
   pods, PreFilter extensions told of each removal): if the pod still does not fit, the
   node's status is that failure; with no lower-priority pod at all it is
   "No preemption victims found for incoming pod" (UnschedulableAndUnresolvable).
   Otherwise the removed pods are put back one by one, most important first (higher
   priority, then earlier start), each kept if the pod still fits (reprieved), else a
   victim. PodDisruptionBudgets are not modelled: no victim ever violates one;
4. no candidate at all -> Unschedulable with a FitError message over the dry run's
   statuses, the nodes it did not try counting as "Preemption is not helpful for
   scheduling", and the pod's nomination is cleared::

       0/3 nodes are available: 1 Insufficient cpu, 2 Preemption is not helpful for scheduling.

   (DefaultPreemption prefixes "preemption: " and the scheduler appends it to the
   cycle's own FitError message);
5. otherwise the candidate is chosen by `pick_one_node_for_preemption`: fewest PDB
   violations (always 0 here), then the lowest highest-victim priority, the smallest
   sum of victim priorities (each shifted by 2^31 to be positive), the fewest victims,
   the latest start time of the highest-priority victims, then the first in order;
6. the result nominates the pod to that node and lists the victims and the pods of
   lower priority nominated to that node, which `preemption_calls` turns into the API
   writes of upstream's prepareCandidate: per victim a DisruptionTarget=True condition
   (reason PreemptionByScheduler), a graceful delete (the pod's own grace period) and a
   Normal "Preempted" event ("Preempted by pod <uid> on node <node>"); and a status
   patch clearing `nominatedNodeName` of each of those nominated pods that has one.

A pod without `status.startTime` has not started: it counts as starting now (later than
any started pod).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from actors.common.clock import parse_time

from . import helpers
from .events import EVENT_TYPE_NORMAL, ApiCall, EventRecorder, object_reference, update_pod_condition
from .framework import (SUCCESS, Code, CycleState, Framework, NodeInfo, NodeToStatus, Pod, PodInfo,
                        PostFilterResult, Snapshot, Status, as_status, new_status)
from .queue import nominated_node_name
from .schedule import Diagnosis, FitError

DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE = 10
DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE = 100

PREEMPT_NEVER = "Never"
NOT_ELIGIBLE_POLICY_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
NO_VICTIMS_FOUND = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_CANDIDATE = "no candidate node for preemption"

DISRUPTION_TARGET = "DisruptionTarget"
REASON_PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"

_PRIORITY_SHIFT = 2 ** 31  # math.MaxInt32 + 1


@dataclass
class Candidate:
    """A node where evicting `victims` (most important first) lets the pod fit."""

    name: str
    victims: list[Pod] = field(default_factory=list)
    num_pdb_violations: int = 0


# ---- pod helpers ------------------------------------------------------------------------


def pod_start_time(pod: Pod) -> float:
    """GetPodStartTime: status.startTime, or "now" (+inf) for a pod that has not started."""
    st = (pod.get("status") or {}).get("startTime")
    if not st:
        return math.inf
    try:
        return parse_time(str(st))
    except ValueError:
        return math.inf


def importance_key(pod: Pod) -> tuple[int, float]:
    """Sorts most important first (MoreImportantPod): higher priority, then earlier start."""
    return -helpers.pod_priority(pod), pod_start_time(pod)


def pod_terminating_by_preemption(pod: Pod) -> bool:
    """Being deleted, with DisruptionTarget=True for PreemptionByScheduler (upstream, since
    PodDisruptionConditions went GA)."""
    if not helpers.is_terminating(pod):
        return False
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == DISRUPTION_TARGET:
            return c.get("status") == "True" and c.get("reason") == REASON_PREEMPTION_BY_SCHEDULER
    return False


def pod_eligible_to_preempt_others(pod: Pod, snapshot: Snapshot, nominated_node_status: Status) -> tuple[bool, str]:
    """DefaultPreemption.PodEligibleToPreemptOthers: (eligible, why not)."""
    if helpers.spec(pod).get("preemptionPolicy") == PREEMPT_NEVER:
        return False, NOT_ELIGIBLE_POLICY_NEVER
    nnn = nominated_node_name(pod)
    if nnn:
        if nominated_node_status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return True, ""
        ni = snapshot.get(nnn)
        if ni is not None:
            priority = helpers.pod_priority(pod)
            for pi in ni.pods:
                if helpers.pod_priority(pi.pod) < priority and pod_terminating_by_preemption(pi.pod):
                    return False, NOT_ELIGIBLE_TERMINATING
    return True, ""


# ---- candidates -----------------------------------------------------------------------------


def calculate_num_candidates(num_nodes: int, min_percentage: int, min_absolute: int) -> int:
    n = num_nodes * min_percentage // 100
    return min(max(n, min_absolute), num_nodes)


def select_victims_on_node(fw: Framework, state: CycleState, pod: Pod, node_info: NodeInfo
                           ) -> tuple[list[Pod], int, Status]:
    """DefaultPreemption.SelectVictimsOnNode on `node_info` (changed in place: pass a copy).

    Returns (victims most important first, PDB violations, status)."""
    priority = helpers.pod_priority(pod)
    potential: list[PodInfo] = []

    def remove(pi: PodInfo) -> Status:
        node_info.remove_pod(pi.pod)
        return fw.run_pre_filter_extension_remove_pod(state, pod, pi, node_info)

    def add(pi: PodInfo) -> Status:
        node_info.add_pod(pi)
        return fw.run_pre_filter_extension_add_pod(state, pod, pi, node_info)

    for pi in list(node_info.pods):
        if helpers.pod_priority(pi.pod) < priority:
            potential.append(pi)
            s = remove(pi)
            if not s.is_success():
                return [], 0, s
    if not potential:
        return [], 0, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, NO_VICTIMS_FOUND)
    s = fw.run_filter_plugins(state, pod, node_info)
    if not s.is_success():
        return [], 0, s
    potential.sort(key=lambda pi: importance_key(pi.pod))
    victims: list[Pod] = []
    for pi in potential:  # no PDBs: every potential victim is a non-violating one
        s = add(pi)
        if not s.is_success():
            return [], 0, s
        if not fw.run_filter_plugins(state, pod, node_info).is_success():
            s = remove(pi)
            if not s.is_success():
                return [], 0, s
            victims.append(pi.pod)
    return victims, 0, SUCCESS


def dry_run_preemption(fw: Framework, state: CycleState, pod: Pod, potential_nodes: Sequence[NodeInfo],
                       offset: int, candidates_num: int) -> tuple[list[Candidate], NodeToStatus, list[str]]:
    """DryRunPreemption, sequentially from `offset` (wrapping): (candidates, the statuses of
    the nodes that are not, internal errors)."""
    non_violating: list[Candidate] = []
    violating: list[Candidate] = []
    statuses = NodeToStatus()
    errors: list[str] = []
    n = len(potential_nodes)
    for i in range(n):
        ni = potential_nodes[(offset + i) % n].clone()
        victims, violations, s = select_victims_on_node(fw, state.clone(), pod, ni)
        if s.is_success() and victims:
            (non_violating if violations == 0 else violating).append(Candidate(ni.name, victims, violations))
            if non_violating and len(non_violating) + len(violating) >= candidates_num:
                break
            continue
        if s.is_success():
            s = as_status(f'expected at least one victim pod on node "{ni.name}"')
        if s.code == Code.ERROR:
            errors.append(s.message())
        statuses.statuses[ni.name] = s
    return non_violating + violating, statuses, errors


def _earliest_start_of_highest_priority(victims: Sequence[Pod]) -> float:
    """GetEarliestPodStartTime: among the victims of the highest priority."""
    top = max(helpers.pod_priority(p) for p in victims)
    return min(pod_start_time(p) for p in victims if helpers.pod_priority(p) == top)


def pick_one_node_for_preemption(candidates: Sequence[Candidate]) -> Candidate | None:
    """pickOneNodeForPreemption: each criterion keeps the best-scoring candidates and the next
    one breaks their tie; the first left wins."""
    if not candidates:
        return None
    criteria = (
        lambda c: -c.num_pdb_violations,
        lambda c: -helpers.pod_priority(c.victims[0]),
        lambda c: -sum(helpers.pod_priority(p) + _PRIORITY_SHIFT for p in c.victims),
        lambda c: -len(c.victims),
        lambda c: _earliest_start_of_highest_priority(c.victims),
    )
    left = list(candidates)
    for score in criteria:
        scores = [score(c) for c in left]
        best = max(scores)
        left = [c for c, s in zip(left, scores) if s == best]
        if len(left) == 1:
            break
    return left[0]


def lower_priority_nominated_pods(fw: Framework, pod: Pod, node_name: str) -> list[Pod]:
    """getLowerPriorityNominatedPods: the pods nominated to the node with a lower priority."""
    if fw.nominator is None:
        return []
    priority = helpers.pod_priority(pod)
    return [pi.pod for pi in fw.nominator.nominated_pods_for_node(node_name)
            if helpers.pod_priority(pi.pod) < priority]


def preempt(fw: Framework, state: CycleState, pod: Pod, m: NodeToStatus, *,
            min_candidate_nodes_percentage: int = DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE,
            min_candidate_nodes_absolute: int = DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE
            ) -> tuple[PostFilterResult | None, Status]:
    """Evaluator.Preempt. `pod` is its latest version; the snapshot is the cycle's."""
    snapshot = state.snapshot
    if snapshot is None:
        return None, as_status("preemption: the cycle has no snapshot")
    ok, why = pod_eligible_to_preempt_others(pod, snapshot, m.get(nominated_node_name(pod)))
    if not ok:
        return None, new_status(Code.UNSCHEDULABLE, why)
    all_nodes = snapshot.node_info_list
    if not all_nodes:
        return None, as_status("no nodes available")
    potential = m.nodes_for_status_code(snapshot, Code.UNSCHEDULABLE)
    candidates: list[Candidate] = []
    statuses = NodeToStatus()
    errors: list[str] = []
    if potential:
        offset = fw.rng.randrange(len(potential))
        num = calculate_num_candidates(len(potential), min_candidate_nodes_percentage, min_candidate_nodes_absolute)
        candidates, statuses, errors = dry_run_preemption(fw, state, pod, potential, offset, num)
    if errors and not candidates:
        return None, as_status(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    if not candidates:
        diagnosis = Diagnosis(node_to_status=dict(statuses.statuses),
                              absent_nodes_status=new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, NOT_HELPFUL))
        return PostFilterResult(""), new_status(Code.UNSCHEDULABLE, str(FitError(pod, len(all_nodes), diagnosis)))
    best = pick_one_node_for_preemption(candidates)
    if best is None or not best.name:
        return None, new_status(Code.UNSCHEDULABLE, NO_CANDIDATE)
    return PostFilterResult(best.name, tuple(best.victims),
                            tuple(lower_priority_nominated_pods(fw, pod, best.name))), SUCCESS


# ---- carrying it out (prepareCandidate's writes, as data) --------------------------------------


def disruption_target_patch(victim: Pod, preemptor: Pod, now: float) -> ApiCall | None:
    """The status patch adding DisruptionTarget=True (PreemptionByScheduler), None if present."""
    cond = {"type": DISRUPTION_TARGET, "status": "True", "reason": REASON_PREEMPTION_BY_SCHEDULER,
            "message": f"{helpers.scheduler_name(preemptor)}: preempting to accommodate a higher priority pod"}
    conditions, changed = update_pod_condition(list((victim.get("status") or {}).get("conditions") or []),
                                               cond, now)
    if not changed:
        return None
    return ApiCall("patch", "pods", helpers.namespace_of(victim), helpers.name_of(victim),
                   {"status": {"conditions": conditions}}, "status")


def clear_nomination_patch(pod: Pod) -> ApiCall | None:
    """ClearNominatedNodeName: only for a pod whose status has one."""
    if not nominated_node_name(pod):
        return None
    return ApiCall("patch", "pods", helpers.namespace_of(pod), helpers.name_of(pod),
                   {"status": {"nominatedNodeName": None}}, "status")


def preemption_calls(result: PostFilterResult, preemptor: Pod, recorder: EventRecorder, now: float
                     ) -> list[ApiCall]:
    """The writes that evict `result.victims` and clear the displaced nominations, in order."""
    calls: list[ApiCall] = []
    uid = helpers.meta(preemptor).get("uid") or ""
    for victim in result.victims:
        patch = disruption_target_patch(victim, preemptor, now)
        if patch is not None:
            calls.append(patch)
        calls.append(ApiCall("delete", "pods", helpers.namespace_of(victim), helpers.name_of(victim)))
        event = recorder.event(victim, EVENT_TYPE_NORMAL, "Preempted",
                               f"Preempted by pod {uid} on node {result.nominated_node_name}", now, "Preempting")
        if event.verb == "create":
            event.body["related"] = object_reference(preemptor)
        calls.append(event)
    for pod in result.clear_nominations:
        patch = clear_nomination_patch(pod)
        if patch is not None:
            calls.append(patch)
    return calls

