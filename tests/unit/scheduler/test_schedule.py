"""schedule_one: the FitError message, scoring choices, tie-breaking, errors."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, Sequence

import pytest

from actors.scheduler.framework import (Code, CycleState, Framework, NodeInfo, Pod, Snapshot, Status,
                                        new_status)
from actors.scheduler.registry import default_profile, new_framework
from actors.scheduler.schedule import FitError, NoNodesAvailableError, SchedulingError, schedule_one

from .builders import expr, make_node, make_pod, name_in, term


def node(name: str, cpu: str = "2", memory: str = "4Gi", pods: int = 110) -> Any:
    return make_node().name(name).cap(cpu=cpu, memory=memory, pods=pods)


def run(pod: dict[str, Any], nodes: Sequence[dict[str, Any]], pods: Sequence[dict[str, Any]] = (),
        profile: Framework | None = None, seed: int = 0) -> Any:
    return schedule_one(pod, Snapshot.of(nodes, pods), profile or default_profile(), random.Random(seed))


@pytest.mark.parametrize("pod,nodes,pods,message", [
    pytest.param(
        make_pod().req(cpu="1").node_selector(disk="ssd").obj(),
        [node("n1", cpu="500m").label("disk", "ssd").obj(), node("n2").obj(), node("n3").obj()], [],
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.",
        id="the-brief-example"),
    pytest.param(
        make_pod().req(cpu="3", memory="8Gi").obj(), [node("n1").obj(), node("n2").obj()], [],
        "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.",
        id="two-reasons-per-node"),
    pytest.param(
        make_pod().obj(),
        [node("n1", pods=1).obj(), node("n2").taint("dedicated", "db").obj(), node("n3").unschedulable().obj()],
        [make_pod().name("x").node("n1").obj()],
        "0/3 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint(s), "
        "1 node(s) were unschedulable.",
        id="capital-letters-sort-first"),
    pytest.param(
        make_pod().req(cpu="1").node_selector(disk="ssd").obj(),
        [node(f"a{i}").obj() for i in range(10)] + [node(f"b{i}", cpu="500m").label("disk", "ssd").obj()
                                                    for i in range(2)], [],
        "0/12 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.",
        id="sorted-as-strings-10-before-2"),
    pytest.param(
        make_pod().host_port(80).obj(), [node("n1").obj()], [make_pod().name("x").node("n1").host_port(80).obj()],
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
        id="host-port"),
    pytest.param(
        make_pod().node("elsewhere").obj(), [node("n1").obj(), node("n2").obj()], [],
        "0/2 nodes are available: 2 node(s) didn't match the requested node name.",
        id="node-name"),
    pytest.param(
        make_pod().required_terms(term(fields=[name_in("n1"), name_in("n2")])).obj(),
        [node("n1").obj(), node("n2").obj(), node("n3").obj()], [],
        "0/3 nodes are available: pod affinity terms conflict.",
        id="prefilter-rejection"),
    pytest.param(
        make_pod().req(cpu="4").required_terms(term(fields=[name_in("n1")])).obj(),
        [node("n1").obj(), node("n2").obj(), node("n3").obj()], [],
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
        id="prefilter-narrowed-nodes"),
    pytest.param(
        make_pod().required_terms(term(fields=[name_in("gone")])).obj(),
        [node("n1").obj(), node("n2").obj()], [],
        "0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
        id="prefilter-names-a-missing-node"),
    pytest.param(
        make_pod().tolerate("dedicated", operator="Exists").req(memory="5Gi").obj(),
        [node("n1").taint("dedicated", "db").obj(), node("n2").taint("other").obj(),
         node("n3").unschedulable().obj()], [],
        "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint(s), "
        "1 node(s) were unschedulable.",
        id="first-failing-filter-per-node"),
])
def test_fit_error_message(pod: dict[str, Any], nodes: list[dict[str, Any]], pods: list[dict[str, Any]],
                           message: str) -> None:
    r = run(pod, nodes, pods)
    assert isinstance(r.error, FitError)
    assert str(r.error) == message
    assert r.status.code == Code.UNSCHEDULABLE and r.suggested_host == ""


def test_fit_error_records_unschedulable_plugins() -> None:
    r = run(make_pod().req(cpu="3").obj(), [node("n1").obj(), node("n2").taint("k").obj()])
    assert isinstance(r.error, FitError)
    assert r.error.diagnosis.unschedulable_plugins == {"NodeResourcesFit", "TaintToleration"}
    assert r.evaluated_nodes == 2


def test_no_nodes() -> None:
    r = run(make_pod().obj(), [])
    assert isinstance(r.error, NoNodesAvailableError)
    assert r.message == "no nodes available to schedule pods"
    assert r.status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_single_feasible_node_is_not_scored() -> None:
    r = run(make_pod().req(cpu="1").obj(), [node("n1").obj(), node("n2", cpu="500m").obj()])
    assert (r.suggested_host, r.feasible_nodes, r.evaluated_nodes, r.scores) == ("n1", 1, 2, [])


@pytest.mark.parametrize("pods,want", [
    pytest.param([make_pod().name("x").node("n1").req(cpu="1", memory="1Gi").obj()], "n2", id="n1-busier"),
    pytest.param([make_pod().name("x").node("n2").req(cpu="1", memory="1Gi").obj()], "n1", id="n2-busier"),
    pytest.param([make_pod().name(f"x{i}").node("n1").obj() for i in range(3)], "n2",
                 id="zero-request-pods-count-for-least-allocated"),
])
def test_picks_least_allocated(pods: list[dict[str, Any]], want: str) -> None:
    profile = new_framework(plugins=[("NodeResourcesFit", 1)])
    r = run(make_pod().req(cpu="500m", memory="512Mi").obj(), [node("n1").obj(), node("n2").obj()], pods,
            profile)
    assert r.suggested_host == want


def test_picks_most_balanced() -> None:
    # both nodes end equally allocated in sum, but n1 ends cpu-heavy (0.75/0.25) and n2 balanced (0.5/0.5)
    profile = new_framework(plugins=[("NodeResourcesBalancedAllocation", 1)])
    nodes = [node("n1", cpu="4", memory="4Gi").obj(), node("n2", cpu="4", memory="4Gi").obj()]
    pods = [make_pod().name("x").node("n1").req(cpu="2").obj(),
            make_pod().name("y").node("n2").req(memory="1Gi").obj(), make_pod().name("z").node("n2").req(cpu="1").obj()]
    r = run(make_pod().req(cpu="1", memory="1Gi").obj(), nodes, pods, profile)
    assert r.suggested_host == "n2"
    totals = {s.name: s.total_score for s in r.scores}
    assert totals == {"n1": 75, "n2": 100}


def test_default_profile_weights() -> None:
    # TaintToleration weight 3, NodeAffinity 2, NodeResourcesFit 1, BalancedAllocation 1
    nodes = [node("tainted").taint("a", effect="PreferNoSchedule").obj(),
             node("preferred").label("disk", "ssd").obj(), node("plain").obj()]
    pod = make_pod().req(cpu="1", memory="2Gi").preferred(10, expr("disk", "In", "ssd")).obj()
    r = run(pod, nodes)
    per_plugin = {s.name: dict(s.scores) for s in r.scores}
    assert per_plugin["tainted"]["TaintToleration"] == 0
    assert per_plugin["plain"]["TaintToleration"] == 300
    assert per_plugin["preferred"]["NodeAffinity"] == 200 and per_plugin["plain"]["NodeAffinity"] == 0
    assert per_plugin["plain"]["NodeResourcesFit"] == 50
    assert per_plugin["plain"]["NodeResourcesBalancedAllocation"] == 100
    assert r.suggested_host == "preferred"


def test_ties_are_broken_by_the_rng_uniformly() -> None:
    nodes = [node(f"n{i}").obj() for i in range(3)]
    snap = Snapshot.of(nodes)
    profile = default_profile()
    rng = random.Random(42)
    picks = Counter(schedule_one(make_pod().obj(), snap, profile, rng).suggested_host for _ in range(3000))
    assert set(picks) == {"n0", "n1", "n2"}
    assert all(850 < c < 1150 for c in picks.values()), picks
    # deterministic for a given seed
    a = [schedule_one(make_pod().obj(), snap, profile, random.Random(7)).suggested_host for _ in range(5)]
    b = [schedule_one(make_pod().obj(), snap, profile, random.Random(7)).suggested_host for _ in range(5)]
    assert a == b


class _ScriptedRng(random.Random):
    def __init__(self, draws: list[int]) -> None:
        super().__init__(0)
        self.draws = draws
        self.calls: list[int] = []

    def randrange(self, n: int, *args: Any, **kw: Any) -> int:  # type: ignore[override]
        self.calls.append(n)
        return self.draws.pop(0)


def test_reservoir_sampling_replaces_with_probability_one_over_k() -> None:
    snap = Snapshot.of([node(f"n{i}").obj() for i in range(4)])
    # the 2nd tie replaces (draw 0), the 3rd does not (draw 1), the 4th does not (draw 3)
    rng = _ScriptedRng([0, 1, 3])
    r = schedule_one(make_pod().obj(), snap, default_profile(), rng)
    assert rng.calls == [2, 3, 4]
    assert r.suggested_host == "n1"
    # a higher score resets the count: no draw for a strictly better node
    pods = [make_pod().name("x").node("n0").req(cpu="1").obj()]
    rng = _ScriptedRng([1, 1])
    r = schedule_one(make_pod().obj(), Snapshot.of([node(f"n{i}").obj() for i in range(3)], pods),
                     default_profile(), rng)
    assert rng.calls == [2] and r.suggested_host == "n1"


class _Broken:
    name = "Broken"

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        return new_status(Code.ERROR, "boom")


class _BadScore:
    name = "BadScore"

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        return 101, Status()


def test_plugin_errors_fail_the_cycle() -> None:
    r = run(make_pod().obj(), [node("n1").obj()], profile=Framework("p", [(_Broken(), 0)]))
    assert isinstance(r.error, SchedulingError)
    assert r.message == 'running "Broken" filter plugin: boom'
    assert r.status.code == Code.ERROR
    r = run(make_pod().obj(), [node("n1").obj(), node("n2").obj()], profile=Framework("p", [(_BadScore(), 1)]))
    assert r.message == ('plugin "BadScore" returns an invalid score 101, it should in the range of [0, 100] '
                         "after normalizing")


def test_profile_without_score_plugins_scores_one() -> None:
    profile = new_framework(plugins=[("NodeName", 0)])
    r = run(make_pod().obj(), [node("n1").obj(), node("n2").obj()], profile=profile)
    assert {s.total_score for s in r.scores} == {1}


def test_unknown_plugin() -> None:
    with pytest.raises(KeyError):
        new_framework(plugins=[("VolumeBinding", 0)])
