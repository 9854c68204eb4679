"""schedule_one: the FitError message, scoring choices, tie-breaking, errors."""

from __future__ import annotations

import functools
import random
from collections import Counter
from typing import Any, Sequence

import pytest

from actors.scheduler.framework import (Code, CycleState, Framework, NodeInfo, Pod, Snapshot, Status,
                                        new_status)
from actors.scheduler.registry import default_profile, new_framework
from actors.scheduler.schedule import (FitError, NodeSearch, NoNodesAvailableError, SchedulingError,
                                       num_feasible_nodes_to_find, schedule_one)

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


# ---- percentageOfNodesToScore -------------------------------------------------------------


@pytest.mark.parametrize("percentage,num_nodes,want", [
    pytest.param(0, 50, 50, id="below-100-nodes-all"),
    pytest.param(30, 99, 99, id="below-100-nodes-all-whatever-the-percentage"),
    pytest.param(0, 100, 100, id="adaptive-50pct-but-at-least-100"),
    pytest.param(0, 1000, 420, id="adaptive-1000-nodes-42pct"),
    pytest.param(0, 2000, 680, id="adaptive-2000-nodes-34pct"),
    pytest.param(0, 5000, 500, id="adaptive-5000-nodes-10pct"),
    pytest.param(0, 6000, 300, id="adaptive-floor-5pct"),
    pytest.param(30, 1000, 300, id="configured"),
    pytest.param(1, 1000, 100, id="configured-but-at-least-100"),
    pytest.param(100, 5000, 5000, id="everything"),
])
def test_num_feasible_nodes_to_find(percentage: int, num_nodes: int, want: int) -> None:
    assert num_feasible_nodes_to_find(percentage, num_nodes) == want


@functools.lru_cache(maxsize=None)
def many(n: int, prefix: str = "n", cpu: str = "2") -> list[dict[str, Any]]:
    """n nodes (shared between tests: never modified)."""
    return [node(f"{prefix}{i:04d}", cpu=cpu).obj() for i in range(n)]


def scored_names(r: Any) -> list[str]:
    return [s.name for s in r.scores]


def test_filter_pass_stops_early_and_rotates() -> None:
    snap = Snapshot.of(many(1000))
    search = NodeSearch()
    profile = default_profile()
    r = schedule_one(make_pod().obj(), snap, profile, random.Random(0), search=search)
    assert (r.evaluated_nodes, r.feasible_nodes, r.num_all_nodes) == (420, 420, 1000)
    assert scored_names(r)[0] == "n0000" and scored_names(r)[-1] == "n0419"
    assert search.next_start_node_index == 420
    r = schedule_one(make_pod().obj(), snap, profile, random.Random(0), search=search)
    assert scored_names(r)[0] == "n0420" and scored_names(r)[-1] == "n0839"
    r = schedule_one(make_pod().obj(), snap, profile, random.Random(0), search=search)
    # wraps around: 840..999 then 0..259
    assert scored_names(r)[:1] == ["n0840"] and scored_names(r)[-1] == "n0259"
    assert search.next_start_node_index == 260


def test_rejected_nodes_count_as_processed() -> None:
    # every other node is too small: finding 100 feasible nodes takes 200 (n000 .. n199)
    nodes = [node(f"n{i:03d}", cpu="2" if i % 2 else "500m").obj() for i in range(400)]
    search = NodeSearch(percentage_of_nodes_to_score=10)
    r = schedule_one(make_pod().req(cpu="1").obj(), Snapshot.of(nodes), default_profile(), random.Random(0),
                     search=search)
    assert (r.evaluated_nodes, r.feasible_nodes) == (200, 100)
    assert r.diagnosis is not None and len(r.diagnosis.node_to_status) == 100
    assert scored_names(r)[-1] == "n199" and search.next_start_node_index == 200


def test_no_fit_evaluates_every_node() -> None:
    snap = Snapshot.of(many(300, cpu="500m"))
    search = NodeSearch(next_start_node_index=123, percentage_of_nodes_to_score=5)
    r = schedule_one(make_pod().req(cpu="1").obj(), snap, default_profile(), random.Random(0), search=search)
    assert str(r.error) == "0/300 nodes are available: 300 Insufficient cpu."
    assert r.evaluated_nodes == 300
    assert search.next_start_node_index == 123  # all 300 processed: back where it started


def test_profile_percentage_overrides_the_global_one() -> None:
    snap = Snapshot.of(many(1000))
    profile = default_profile()
    profile.percentage_of_nodes_to_score = 20
    r = schedule_one(make_pod().obj(), snap, profile, random.Random(0),
                     search=NodeSearch(percentage_of_nodes_to_score=50))
    assert r.feasible_nodes == 200
    profile.percentage_of_nodes_to_score = None
    r = schedule_one(make_pod().obj(), snap, profile, random.Random(0),
                     search=NodeSearch(percentage_of_nodes_to_score=50))
    assert r.feasible_nodes == 500


def test_prefilter_narrowed_nodes_are_the_ones_counted() -> None:
    names = [f"n{i:04d}" for i in range(0, 1000, 5)]  # 200 candidates of 1000: 100 wanted (49 %, min 100)
    pod = make_pod().required_terms(*[term(fields=[name_in(n)]) for n in names]).obj()
    r = schedule_one(pod, Snapshot.of(many(1000)), default_profile(), random.Random(0), search=NodeSearch())
    assert (r.evaluated_nodes, r.feasible_nodes) == (100, 100)
    assert r.diagnosis is not None and r.diagnosis.absent_nodes == 800


def test_without_filter_plugins_takes_the_next_nodes() -> None:
    profile = new_framework(plugins=[("NodeResourcesFit", 0)])
    profile.filter_plugins = []
    search = NodeSearch(next_start_node_index=950, percentage_of_nodes_to_score=10)
    r = schedule_one(make_pod().obj(), Snapshot.of(many(1000)), profile, random.Random(0), search=search)
    assert r.feasible_nodes == 100 and scored_names(r)[0] == "n0950" and scored_names(r)[-1] == "n0049"


# ---- latency metrics ------------------------------------------------------------------------


class FakeTimer:
    """Every read advances 1 ms."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def test_plugin_metrics_are_sampled_one_cycle_in_ten() -> None:
    profile = default_profile()
    assert [profile.should_record_plugin_metrics() for _ in range(21)] == \
        [True] + [False] * 9 + [True] + [False] * 9 + [True]


def test_extension_point_and_plugin_durations() -> None:
    profile = new_framework(plugins=[("NodeName", 0), ("NodeResourcesFit", 1)])
    profile.timer = FakeTimer()
    profile.plugin_metrics_sample_percent = 100
    snap = Snapshot.of([node("n1").obj(), node("n2").obj(), node("n3").obj()])
    for _ in range(2):
        assert schedule_one(make_pod().obj(), snap, profile, random.Random(0)).error is None
    r = schedule_one(make_pod().req(cpu="8").obj(), snap, profile, random.Random(0))
    assert isinstance(r.error, FitError)
    m = profile.metrics()
    ext = m["extension_point_duration_seconds"]
    assert {p: {s: h["count"] for s, h in v.items()} for p, v in ext.items()} == {
        "PreFilter": {"Success": 3}, "Filter": {"Success": 2, "Unschedulable": 1},
        "PreScore": {"Success": 2}, "Score": {"Success": 2}}
    plugins = m["plugin_execution_duration_seconds"]
    # one observation per cycle: the sum over the 3 nodes, 1 ms per call
    assert plugins["NodeName"]["Filter"]["count"] == 3
    assert plugins["NodeName"]["Filter"]["sum"] == pytest.approx(0.009)
    assert plugins["NodeResourcesFit"]["Score"]["count"] == 2
    assert plugins["NodeResourcesFit"]["PreFilter"]["sum"] == pytest.approx(0.003)
    h = plugins["NodeName"]["Filter"]
    assert (h["buckets"]["0.00291929"], h["buckets"]["0.00437894"], h["buckets"]["+Inf"]) == (0, 3, 3)
    assert {k: v["count"] for k, v in m["scheduling_attempt_duration_seconds"].items()} == \
        {"scheduled": 2, "unschedulable": 1}
    assert r.duration > 0


def test_unsampled_cycles_time_no_plugin() -> None:
    profile = new_framework(plugins=[("NodeName", 0)])
    profile.plugin_metrics_sample_percent = 0
    schedule_one(make_pod().obj(), Snapshot.of([node("n1").obj(), node("n2").obj()]), profile, random.Random(0))
    m = profile.metrics()
    assert m["plugin_execution_duration_seconds"] == {}
    assert m["extension_point_duration_seconds"]["Filter"]["Success"]["count"] == 1
