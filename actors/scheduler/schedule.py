"""One scheduling decision, pure: `schedule_one(pod, snapshot, profile, rng)`.

kube-scheduler's schedulePod:

1. no nodes at all -> "no nodes available to schedule pods" (rejected, not a FitError);
2. PreFilter; a rejection there fails every node with the same status and its message
   becomes the FitError's (`0/3 nodes are available: pod affinity terms conflict.`);
   a PreFilterResult narrows the candidate nodes, the others counting as
   "node(s) didn't satisfy plugin(s) [NodeAffinity]";
3. Filter every candidate node (in snapshot order; percentageOfNodesToScore is not
   modelled yet, so all nodes are evaluated, as upstream does below 100 nodes); a node's
   status is the first failing plugin's;
4. no feasible node -> FitError, whose message is upstream's exactly::

       0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.

   every reason of every node's status counted, "<count> <reason>" strings sorted as
   strings (so "10 x" sorts before "2 y", as Go's sort.Strings does), joined by ", ";
   (the " preemption: ..." suffix comes with preemption);
5. one feasible node -> it, without scoring;
6. otherwise PreScore, Score, NormalizeScore, x weight, summed per node, and the
   highest total wins; ties are broken by reservoir sampling with the injected rng
   (the k-th tied node replaces the pick with probability 1/k), as selectHost.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Sequence

from .framework import (SUCCESS, Code, CycleState, Framework, NodeInfo, NodePluginScores, Pod,
                        Snapshot, Status, new_status)

NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"
ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods"


@dataclass
class Diagnosis:
    """Why the nodes were rejected: explicit per-node statuses plus one for the rest."""

    node_to_status: dict[str, Status] = field(default_factory=dict)
    absent_nodes_status: Status = field(default_factory=lambda: Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE))
    unschedulable_plugins: set[str] = field(default_factory=set)
    pending_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""

    def add_plugin_status(self, s: Status) -> None:
        if not s.plugin:
            return
        if s.is_rejected():
            self.unschedulable_plugins.add(s.plugin)
        if s.code == Code.PENDING:
            self.pending_plugins.add(s.plugin)


class FitError(Exception):
    """No node fits the pod; str() is upstream's FitError message."""

    def __init__(self, pod: Pod, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis

    def reasons_histogram(self) -> dict[str, int]:
        d = self.diagnosis
        reasons: dict[str, int] = {}
        for s in d.node_to_status.values():
            for r in s.reasons:
                reasons[r] = reasons.get(r, 0) + 1
        absent = self.num_all_nodes - len(d.node_to_status)
        if absent > 0:
            for r in d.absent_nodes_status.reasons:
                reasons[r] = reasons.get(r, 0) + absent
        return reasons

    def __str__(self) -> str:
        msg = NO_NODE_AVAILABLE_MSG.format(self.num_all_nodes) + ":"
        d = self.diagnosis
        if d.pre_filter_msg:
            msg += f" {d.pre_filter_msg}."
        else:
            parts = sorted(f"{v} {k}" for k, v in self.reasons_histogram().items())
            if parts:
                msg += f" {', '.join(parts)}."
        if d.post_filter_msg:
            msg += f" {d.post_filter_msg}"
        return msg


class NoNodesAvailableError(Exception):
    def __init__(self) -> None:
        super().__init__(ERR_NO_NODES_AVAILABLE)


class SchedulingError(Exception):
    """A plugin failed with Error: the cycle could not decide (retried after backoff)."""


@dataclass
class ScheduleResult:
    suggested_host: str = ""
    evaluated_nodes: int = 0
    feasible_nodes: int = 0
    error: Exception | None = None
    scores: list[NodePluginScores] = field(default_factory=list)

    @property
    def status(self) -> Status:
        """Success; Unschedulable(AndUnresolvable) for no fit / no nodes; Error otherwise."""
        if self.error is None:
            return SUCCESS
        if isinstance(self.error, FitError):
            return new_status(Code.UNSCHEDULABLE, str(self.error))
        if isinstance(self.error, NoNodesAvailableError):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, str(self.error))
        return new_status(Code.ERROR, str(self.error))

    @property
    def message(self) -> str:
        return str(self.error) if self.error is not None else ""


def find_nodes_that_fit_pod(profile: Framework, state: CycleState, pod: Pod, snapshot: Snapshot
                            ) -> tuple[list[NodeInfo], Diagnosis, Status]:
    """(feasible nodes, diagnosis, status); status is an Error only for internal failures."""
    diagnosis = Diagnosis()
    all_nodes = snapshot.node_info_list
    pre_res, s, plugins_with_nodes = profile.run_pre_filter_plugins(state, pod, all_nodes)
    diagnosis.unschedulable_plugins |= plugins_with_nodes
    if not s.is_success():
        if not s.is_rejected():
            return [], diagnosis, s
        diagnosis.absent_nodes_status = s  # every node gets the PreFilter's status
        diagnosis.pre_filter_msg = s.message()
        diagnosis.add_plugin_status(s)
        return [], diagnosis, SUCCESS
    nodes: Sequence[NodeInfo] = all_nodes
    if pre_res is not None and pre_res.node_names is not None:
        names = pre_res.node_names
        nodes = [n for n in all_nodes if n.name in names]
        plugins = "[" + " ".join(sorted(plugins_with_nodes)) + "]"
        diagnosis.absent_nodes_status = new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                                   f"node(s) didn't satisfy plugin(s) {plugins}")
    feasible: list[NodeInfo] = []
    for ni in nodes:
        st = profile.run_filter_plugins(state, pod, ni)
        if st.code == Code.ERROR:
            return [], diagnosis, st
        if st.is_success():
            feasible.append(ni)
        else:
            diagnosis.node_to_status[ni.name] = st
            diagnosis.add_plugin_status(st)
    return feasible, diagnosis, SUCCESS


def prioritize_nodes(profile: Framework, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                     ) -> tuple[list[NodePluginScores], Status]:
    if not profile.has_score_plugins():
        return [NodePluginScores(n.name, [], 1) for n in nodes], SUCCESS
    s = profile.run_pre_score_plugins(state, pod, nodes)
    if not s.is_success():
        return [], s
    return profile.run_score_plugins(state, pod, nodes)


def select_host(scores: Sequence[NodePluginScores], rng: random.Random) -> str:
    """The highest total; among ties, uniformly by reservoir sampling (selectHost)."""
    if not scores:
        raise ValueError("empty priorityList")
    selected = scores[0].name
    max_score = scores[0].total_score
    cnt = 1
    for ns in scores[1:]:
        if ns.total_score > max_score:
            max_score, selected, cnt = ns.total_score, ns.name, 1
        elif ns.total_score == max_score:
            cnt += 1
            if rng.randrange(cnt) == 0:
                selected = ns.name  # replace the candidate with probability 1/cnt
    return selected


def schedule_one(pod: Pod, snapshot: Snapshot, profile: Framework, rng: random.Random,
                 state: CycleState | None = None) -> ScheduleResult:
    """Pick a node for `pod` (or say why none fits); never raises for plugin failures."""
    if snapshot.num_nodes() == 0:
        return ScheduleResult(error=NoNodesAvailableError())
    state = state if state is not None else CycleState()
    feasible, diagnosis, s = find_nodes_that_fit_pod(profile, state, pod, snapshot)
    evaluated = len(feasible) + len(diagnosis.node_to_status)
    if not s.is_success():
        return ScheduleResult(evaluated_nodes=evaluated, error=SchedulingError(s.message()))
    if not feasible:
        return ScheduleResult(evaluated_nodes=evaluated,
                              error=FitError(pod, snapshot.num_nodes(), diagnosis))
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name, evaluated, 1)
    scores, s = prioritize_nodes(profile, state, pod, feasible)
    if not s.is_success():
        return ScheduleResult(evaluated_nodes=evaluated, feasible_nodes=len(feasible),
                              error=SchedulingError(s.message()))
    return ScheduleResult(select_host(scores, rng), evaluated, len(feasible), None, scores)

