"""One plugin's extension points called the way schedule_one calls them, over a Snapshot
of `nodes` and `pods` and without a Framework: PreFilter then Filter on every node, or
(PreFilter,) PreScore, Score and (NormalizeScore) on the scored nodes. And whole cycles
of the default profile: pods placed one after the other, PostFilter after a FitError."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from actors.scheduler.framework import Code, CycleState, Framework, NodeScore, NodeToStatus, Snapshot, Status
from actors.scheduler.registry import default_profile
from actors.scheduler.schedule import FitError, ScheduleResult, schedule_one

Obj = dict[str, Any]
Verdict = tuple[Code, tuple[str, ...]]
Verdicts = dict[str, Verdict]
OK: Verdict = (Code.SUCCESS, ())


def rejected(code: Code, reason: str) -> Verdict:
    return code, (reason,)


def cycle(nodes: Sequence[Obj], pods: Sequence[Obj] = ()) -> tuple[Snapshot, CycleState]:
    """A snapshot and a fresh CycleState holding it (as schedule_one sets it)."""
    snap = Snapshot.of(nodes, pods)
    state = CycleState()
    state.snapshot = snap
    return snap, state


def run_filters(plugin: Any, pod: Obj, pods: Sequence[Obj], nodes: Sequence[Obj]) -> Verdicts:
    """Each node's (code, reasons); every node passes when PreFilter skips."""
    snap, state = cycle(nodes, pods)
    _, s = plugin.pre_filter(state, pod, snap.node_info_list)
    assert s.is_success() or s.is_skip(), s
    out: Verdicts = {}
    for ni in snap.node_info_list:
        st = Status() if s.is_skip() else plugin.filter(state, pod, ni)
        out[ni.name] = (st.code, st.reasons)
    return out


def feasible(plugin: Any, snap: Snapshot, pod: Obj) -> list[str]:
    """The names of the nodes `plugin` lets `pod` on after its PreFilter, sorted."""
    state = CycleState()
    plugin.pre_filter(state, pod, snap.node_info_list)
    return sorted(ni.name for ni in snap.node_info_list if plugin.filter(state, pod, ni).is_success())


def run_scores(plugin: Any, pod: Obj, pods: Sequence[Obj], nodes: Sequence[Obj],
               scored: Sequence[str] | None = None) -> dict[str, int] | None:
    """The `scored` nodes' (default all) scores, normalized when the plugin has NormalizeScore;
    None when PreScore skips. PreFilter runs first when the plugin has one."""
    snap, state = cycle(nodes, pods)
    if hasattr(plugin, "pre_filter"):
        plugin.pre_filter(state, pod, snap.node_info_list)
    feasible = [ni for ni in snap.node_info_list if scored is None or ni.name in scored]
    s = plugin.pre_score(state, pod, feasible)
    if s.is_skip():
        return None
    assert s.is_success(), s
    scores = []
    for ni in feasible:
        v, s = plugin.score(state, pod, ni)
        assert s.is_success(), s
        scores.append(NodeScore(ni.name, v))
    if hasattr(plugin, "normalize_score"):
        assert plugin.normalize_score(state, pod, scores).is_success()
    return {x.name: x.score for x in scores}


@dataclass(frozen=True)
class For:
    """run_filters / run_scores for a plugin's `new(args)` (a fresh plugin each run) and a
    test module's default nodes."""
    new: Callable[..., Any]
    nodes: Sequence[Obj]

    def filters(self, pod: Obj, pods: Sequence[Obj], nodes: Sequence[Obj] | None = None) -> Verdicts:
        return run_filters(self.new(), pod, pods, self.nodes if nodes is None else nodes)

    def scores(self, pod: Obj, pods: Sequence[Obj], nodes: Sequence[Obj] | None = None,
               scored: Sequence[str] | None = None, args: dict[str, Any] | None = None) -> dict[str, int] | None:
        return run_scores(self.new(args), pod, pods, self.nodes if nodes is None else nodes, scored)


# ---- whole cycles of the default profile -------------------------------------------------------

def place(pods: list[Obj], template: Any, n: int, nodes: Sequence[Obj], seed: int) -> list[ScheduleResult]:
    """Schedule n pods from `template` (a pod builder) one by one, each seeing the ones placed
    before (appended to `pods`)."""
    profile, rng, results = default_profile(), random.Random(seed), []
    for i in range(n):
        pod = template.name(f"p{i}").obj()
        r = schedule_one(pod, Snapshot.of(nodes, pods), profile, rng)
        results.append(r)
        if r.error is None:
            pods.append({**pod, "spec": {**pod["spec"], "nodeName": r.suggested_host}})
    return results


def post_filter(pod: Obj, nodes: Sequence[Obj], pods: Sequence[Obj], fw: Framework | None = None,
                ) -> tuple[Any, Status, FitError]:
    """Schedule `pod` (it must not fit), then run the PostFilter plugins as the scheduler does."""
    fw = fw or default_profile()
    state = CycleState()
    result = schedule_one(pod, Snapshot.of(nodes, pods), fw, random.Random(0), state)
    assert isinstance(result.error, FitError), result
    d = result.error.diagnosis
    pf, status = fw.run_post_filter_plugins(state, pod, NodeToStatus(d.node_to_status, d.absent_nodes_status))
    d.post_filter_msg = status.message()
    return pf, status, result.error
