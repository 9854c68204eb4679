"""One scheduling decision, pure: `schedule_one(pod, snapshot, profile, rng)`.

kube-scheduler's schedulePod:

1. no nodes at all -> "no nodes available to schedule pods" (rejected, not a FitError);
2. PreFilter; a rejection there fails every node with the same status and its message
   becomes the FitError's (`0/3 nodes are available: pod affinity terms conflict.`);
   a PreFilterResult narrows the candidate nodes, the others counting as
   "node(s) didn't satisfy plugin(s) [NodeAffinity]";
3. Filter the candidate nodes, starting where the previous cycle stopped
   (`NodeSearch.next_start_node_index`, upstream's nextStartNodeIndex, advanced by the
   number of nodes processed, modulo the candidates) and wrapping around, until
   `num_feasible_nodes_to_find` feasible nodes are found (percentageOfNodesToScore):
   every node below 100 nodes; otherwise the profile's percentage, else the global
   one, else the adaptive 50 - nodes/125 percent (at least 5 %), and never fewer than
   100 nodes. A node's status is the first failing plugin's. When nothing fits every
   candidate has been evaluated, so the FitError counts them all;
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

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """numFeasibleNodesToFind: how many feasible nodes end the filter pass.

    `percentage` is percentageOfNodesToScore (the profile's, else the global one);
    0 means adaptive: 50 % at 0 nodes, one point less per 125 nodes, at least 5 %."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    num_nodes = num_all_nodes * percentage // 100
    return max(num_nodes, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class NodeSearch:
    """What the filter pass keeps across cycles (one per Scheduler, shared by its
    profiles): where the next pass starts, and the global percentageOfNodesToScore
    (0 = adaptive)."""

    next_start_node_index: int = 0
    percentage_of_nodes_to_score: int = 0

    def nodes_to_find(self, profile: Framework, num_all_nodes: int) -> int:
        pct = profile.percentage_of_nodes_to_score
        return num_feasible_nodes_to_find(self.percentage_of_nodes_to_score if pct is None else pct,
                                          num_all_nodes)


@dataclass
class Diagnosis:
    """Why the nodes were rejected: explicit per-node statuses plus one for the rest."""

    node_to_status: dict[str, Status] = field(default_factory=dict)
    absent_nodes_status: Status = field(default_factory=lambda: Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE))
    unschedulable_plugins: set[str] = field(default_factory=set)
    pending_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""
    absent_nodes: int = 0  # nodes a PreFilter rejected or left out (not filtered one by one)

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
    diagnosis: Diagnosis | None = None  # the rejected nodes, also when a node was found
    num_all_nodes: int = 0
    duration: float = 0.0  # seconds, on the profile's timer

    @property
    def result_label(self) -> str:
        """scheduling_attempt_duration_seconds' result label."""
        if self.error is None:
            return "scheduled"
        return "unschedulable" if self.status.is_rejected() else "error"

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


def find_nodes_that_fit_pod(profile: Framework, state: CycleState, pod: Pod, snapshot: Snapshot,
                            search: NodeSearch | None = None) -> tuple[list[NodeInfo], Diagnosis, Status]:
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
        diagnosis.absent_nodes = len(all_nodes)
        diagnosis.add_plugin_status(s)
        return [], diagnosis, SUCCESS
    nodes: Sequence[NodeInfo] = all_nodes
    if pre_res is not None and pre_res.node_names is not None:
        names = pre_res.node_names
        nodes = [n for n in all_nodes if n.name in names]
        plugins = "[" + " ".join(sorted(plugins_with_nodes)) + "]"
        diagnosis.absent_nodes_status = new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                                   f"node(s) didn't satisfy plugin(s) {plugins}")
        diagnosis.absent_nodes = len(all_nodes) - len(nodes)
    if not nodes:
        return [], diagnosis, SUCCESS
    search = search if search is not None else NodeSearch()
    start = profile.timer()
    feasible, s = find_nodes_that_pass_filters(profile, state, pod, diagnosis, nodes, search)
    profile.observe_extension_point(
        "Filter", s if not s.is_success() or feasible else new_status(Code.UNSCHEDULABLE),
        profile.timer() - start)
    if not s.is_success():
        return [], diagnosis, s
    processed = len(feasible) + len(diagnosis.node_to_status)
    search.next_start_node_index = (search.next_start_node_index + processed) % len(all_nodes)
    return feasible, diagnosis, SUCCESS


def find_nodes_that_pass_filters(profile: Framework, state: CycleState, pod: Pod, diagnosis: Diagnosis,
                                 nodes: Sequence[NodeInfo], search: NodeSearch) -> tuple[list[NodeInfo], Status]:
    """findNodesThatPassFilters, sequentially: from `next_start_node_index`, wrapping
    around, until enough feasible nodes are found or every node was tried."""
    num_all = len(nodes)
    to_find = search.nodes_to_find(profile, num_all)
    first = search.next_start_node_index % num_all
    ordered = list(nodes[first:]) + list(nodes[:first]) if first else nodes
    if not profile.filter_plugins:
        return list(ordered[:to_find]), SUCCESS
    feasible: list[NodeInfo] = []
    statuses = diagnosis.node_to_status
    run = profile.run_filter_plugins
    success, error = Code.SUCCESS, Code.ERROR
    for ni in ordered:
        st = run(state, pod, ni)
        code = st.code
        if code == success:
            feasible.append(ni)
            if len(feasible) >= to_find:
                break
        elif code == error:
            return [], st
        else:
            statuses[ni.name] = st
            diagnosis.add_plugin_status(st)
    return feasible, SUCCESS


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
                 state: CycleState | None = None, *, search: NodeSearch | None = None) -> ScheduleResult:
    """Pick a node for `pod` (or say why none fits); never raises for plugin failures.

    `search` carries nextStartNodeIndex and the global percentageOfNodesToScore from one
    cycle to the next (a fresh one: start at the first node, adaptive percentage)."""
    start = profile.timer()
    state = state if state is not None else CycleState()
    if state.snapshot is None:
        state.snapshot = snapshot
    state.record_plugin_metrics = profile.should_record_plugin_metrics()
    result = _schedule(pod, snapshot, profile, rng, state, search)
    profile.record_plugin_durations(state)
    result.num_all_nodes = snapshot.num_nodes()
    result.duration = profile.timer() - start
    profile.observe_attempt(result.result_label, result.duration)
    return result


def _schedule(pod: Pod, snapshot: Snapshot, profile: Framework, rng: random.Random, state: CycleState,
              search: NodeSearch | None) -> ScheduleResult:
    if snapshot.num_nodes() == 0:
        return ScheduleResult(error=NoNodesAvailableError())
    feasible, diagnosis, s = find_nodes_that_fit_pod(profile, state, pod, snapshot, search)
    evaluated = len(feasible) + len(diagnosis.node_to_status)
    if not s.is_success():
        return ScheduleResult(evaluated_nodes=evaluated, error=SchedulingError(s.message()),
                              diagnosis=diagnosis)
    if not feasible:
        return ScheduleResult(evaluated_nodes=evaluated,
                              error=FitError(pod, snapshot.num_nodes(), diagnosis), diagnosis=diagnosis)
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name, evaluated, 1, diagnosis=diagnosis)
    scores, s = prioritize_nodes(profile, state, pod, feasible)
    if not s.is_success():
        return ScheduleResult(evaluated_nodes=evaluated, feasible_nodes=len(feasible),
                              error=SchedulingError(s.message()), diagnosis=diagnosis)
    return ScheduleResult(select_host(scores, rng), evaluated, len(feasible), None, scores, diagnosis)

