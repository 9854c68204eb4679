"""Every filter/score plugin, table-driven (upstream's *_test.go cases, reduced)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.scheduler.framework import Code, CycleState, NodeInfo, NodeScore, PodInfo, Snapshot, Status, read_state
from actors.scheduler.plugins import (balanced_allocation, inter_pod_affinity, least_allocated, node_affinity,
                                      node_name, node_ports, node_resources_fit, node_unschedulable,
                                      pod_topology_spread, taint_toleration)
from actors.scheduler.plugins.resource_allocation import ResourceSpec

from .builders import expr, make_node, make_pod, name_in, term

UU = Code.UNSCHEDULABLE_AND_UNRESOLVABLE
U = Code.UNSCHEDULABLE
OK = Code.SUCCESS


def run_filter(plugin: Any, pod: dict[str, Any], node: dict[str, Any],
               pods: tuple[dict[str, Any], ...] = ()) -> Status:
    state = CycleState()
    ni = NodeInfo(node, pods)
    if hasattr(plugin, "pre_filter"):
        _, s = plugin.pre_filter(state, pod, [ni])
        if s.is_skip():
            return Status()
        assert s.is_success(), s
    return plugin.filter(state, pod, ni)  # type: ignore[no-any-return]


def check(status: Status, code: Code, reasons: tuple[str, ...]) -> None:
    assert (status.code, status.reasons) == (code, reasons)


# ---- NodeUnschedulable -----------------------------------------------------------------

NODE = make_node().name("n1").cap(cpu="4", memory="8Gi", pods=110)


@pytest.mark.parametrize("pod,node,code,reasons", [
    pytest.param(make_pod().obj(), NODE.obj(), OK, (), id="schedulable-node"),
    pytest.param(make_pod().obj(), make_node().name("n1").unschedulable().obj(), UU,
                 ("node(s) were unschedulable",), id="cordoned"),
    pytest.param(make_pod().tolerate("node.kubernetes.io/unschedulable", effect="NoSchedule",
                                     operator="Exists").obj(),
                 make_node().name("n1").unschedulable().obj(), OK, (), id="tolerates-unschedulable-taint"),
    pytest.param(make_pod().tolerate(operator="Exists").obj(),
                 make_node().name("n1").unschedulable().obj(), OK, (), id="tolerates-everything"),
    pytest.param(make_pod().tolerate("node.kubernetes.io/unschedulable", effect="NoExecute",
                                     operator="Exists").obj(),
                 make_node().name("n1").unschedulable().obj(), UU, ("node(s) were unschedulable",),
                 id="wrong-effect"),
])
def test_node_unschedulable(pod: dict[str, Any], node: dict[str, Any], code: Code, reasons: tuple[str, ...]) -> None:
    check(run_filter(node_unschedulable.new(), pod, node), code, reasons)


# ---- NodeName ------------------------------------------------------------------------------

@pytest.mark.parametrize("pod,code,reasons", [
    pytest.param(make_pod().obj(), OK, (), id="no-node-name"),
    pytest.param(make_pod().node("n1").obj(), OK, (), id="same-node"),
    pytest.param(make_pod().node("n2").obj(), UU, ("node(s) didn't match the requested node name",),
                 id="other-node"),
])
def test_node_name(pod: dict[str, Any], code: Code, reasons: tuple[str, ...]) -> None:
    check(run_filter(node_name.new(), pod, NODE.obj()), code, reasons)


# ---- NodeAffinity --------------------------------------------------------------------------

AFF = ("node(s) didn't match Pod's node affinity/selector",)
LABELED = make_node().name("n1").label("zone", "a").label("disk", "ssd").label("gen", "5").obj()


@pytest.mark.parametrize("pod,code,reasons", [
    pytest.param(make_pod().obj(), OK, (), id="no-constraints"),
    pytest.param(make_pod().node_selector(zone="a").obj(), OK, (), id="selector-match"),
    pytest.param(make_pod().node_selector(zone="a", disk="hdd").obj(), UU, AFF, id="selector-partial"),
    pytest.param(make_pod().node_selector(foo="bar").obj(), UU, AFF, id="selector-missing-label"),
    pytest.param(make_pod().node_affinity_in("zone", "a", "b").obj(), OK, (), id="in"),
    pytest.param(make_pod().node_affinity_in("zone", "b").obj(), UU, AFF, id="in-miss"),
    pytest.param(make_pod().required_terms(term(expr("zone", "NotIn", "b"))).obj(), OK, (), id="notin"),
    pytest.param(make_pod().required_terms(term(expr("zone", "NotIn", "a"))).obj(), UU, AFF, id="notin-miss"),
    pytest.param(make_pod().required_terms(term(expr("disk", "Exists"))).obj(), OK, (), id="exists"),
    pytest.param(make_pod().required_terms(term(expr("gpu", "DoesNotExist"))).obj(), OK, (),
                 id="does-not-exist"),
    pytest.param(make_pod().required_terms(term(expr("gen", "Gt", "4"))).obj(), OK, (), id="gt"),
    pytest.param(make_pod().required_terms(term(expr("gen", "Lt", "5"))).obj(), UU, AFF, id="lt-miss"),
    pytest.param(make_pod().required_terms(term(expr("zone", "Gt", "4"))).obj(), UU, AFF,
                 id="gt-non-integer-label"),
    pytest.param(make_pod().required_terms(term(expr("zone", "In", "b")), term(expr("disk", "In", "ssd"))).obj(),
                 OK, (), id="terms-are-ored"),
    pytest.param(make_pod().required_terms(term(expr("zone", "In", "a"), expr("disk", "In", "hdd"))).obj(),
                 UU, AFF, id="expressions-are-anded"),
    pytest.param(make_pod().required_terms().obj(), UU, AFF, id="no-terms-match-nothing"),
    pytest.param(make_pod().required_terms({}).obj(), UU, AFF, id="empty-term-matches-nothing"),
    pytest.param(make_pod().required_terms(term(expr("zone", "Near", "a"))).obj(), UU, AFF,
                 id="bad-operator-matches-nothing"),
    pytest.param(make_pod().required_terms(term(fields=[name_in("n1")])).obj(), OK, (), id="match-fields"),
    pytest.param(make_pod().node_selector(zone="a").node_affinity_in("disk", "hdd").obj(), UU, AFF,
                 id="selector-and-affinity-both-needed"),
])
def test_node_affinity_filter(pod: dict[str, Any], code: Code, reasons: tuple[str, ...]) -> None:
    check(run_filter(node_affinity.new(), pod, LABELED), code, reasons)


@pytest.mark.parametrize("pod,names,code", [
    pytest.param(make_pod().obj(), None, Code.SKIP, id="skip-without-affinity"),
    pytest.param(make_pod().node_selector(zone="a").obj(), None, OK, id="selector-all-nodes"),
    pytest.param(make_pod().required_terms(term(fields=[name_in("n1")]), term(fields=[name_in("n2")])).obj(),
                 frozenset({"n1", "n2"}), OK, id="union-of-terms"),
    pytest.param(make_pod().required_terms(term(fields=[name_in("n1")]), term(expr("zone", "In", "a"))).obj(),
                 None, OK, id="a-term-without-names-allows-all"),
    pytest.param(make_pod().required_terms(term(fields=[name_in("n1"), name_in("n2")])).obj(),
                 None, UU, id="conflicting-names"),
])
def test_node_affinity_pre_filter(pod: dict[str, Any], names: frozenset[str] | None, code: Code) -> None:
    res, s = node_affinity.new().pre_filter(CycleState(), pod, [])
    assert s.code == code
    if code == UU:
        assert s.reasons == ("pod affinity terms conflict",)
    assert (res.node_names if res is not None else None) == names


def test_node_affinity_preferred_score() -> None:
    pl = node_affinity.new()
    pod = make_pod().preferred(5, expr("disk", "In", "ssd")).preferred(3, expr("zone", "In", "a")).obj()
    nodes = [NodeInfo(make_node().name("both").label("disk", "ssd").label("zone", "a").obj()),
             NodeInfo(make_node().name("ssd").label("disk", "ssd").obj()),
             NodeInfo(make_node().name("none").obj())]
    state = CycleState()
    assert pl.pre_score(state, pod, nodes).is_success()
    scores = [NodeScore(n.name, pl.score(state, pod, n)[0]) for n in nodes]
    assert [s.score for s in scores] == [8, 5, 0]
    pl.normalize_score(state, pod, scores)
    assert [s.score for s in scores] == [100, 62, 0]
    assert pl.pre_score(CycleState(), make_pod().obj(), nodes).is_skip()


# ---- TaintToleration -----------------------------------------------------------------------

TAINT = ("node(s) had untolerated taint(s)",)


@pytest.mark.parametrize("pod,node,code,reasons", [
    pytest.param(make_pod().obj(), make_node().name("n").obj(), OK, (), id="no-taints"),
    pytest.param(make_pod().obj(), make_node().name("n").taint("dedicated", "gpu").obj(), UU, TAINT,
                 id="noschedule-untolerated"),
    pytest.param(make_pod().obj(), make_node().name("n").taint("dedicated", "gpu", "NoExecute").obj(), UU,
                 TAINT, id="noexecute-untolerated"),
    pytest.param(make_pod().obj(), make_node().name("n").taint("dedicated", "gpu", "PreferNoSchedule").obj(),
                 OK, (), id="prefer-no-schedule-is-not-filtered"),
    pytest.param(make_pod().tolerate("dedicated", "gpu", "NoSchedule").obj(),
                 make_node().name("n").taint("dedicated", "gpu").obj(), OK, (), id="equal"),
    pytest.param(make_pod().tolerate("dedicated", "cpu", "NoSchedule").obj(),
                 make_node().name("n").taint("dedicated", "gpu").obj(), UU, TAINT, id="equal-wrong-value"),
    pytest.param(make_pod().tolerate("dedicated", operator="Exists").obj(),
                 make_node().name("n").taint("dedicated", "gpu").obj(), OK, (), id="exists-any-effect"),
    pytest.param(make_pod().tolerate("dedicated", "gpu", "NoExecute").obj(),
                 make_node().name("n").taint("dedicated", "gpu").obj(), UU, TAINT, id="effect-mismatch"),
    pytest.param(make_pod().tolerate("a", operator="Exists").obj(),
                 make_node().name("n").taint("a").taint("b").obj(), UU, TAINT, id="one-of-two-untolerated"),
])
def test_taint_toleration_filter(pod: dict[str, Any], node: dict[str, Any], code: Code,
                                 reasons: tuple[str, ...]) -> None:
    check(run_filter(taint_toleration.new(), pod, node), code, reasons)


def test_taint_toleration_score_prefers_fewer_intolerable_prefer_no_schedule_taints() -> None:
    pl = taint_toleration.new()
    pod = make_pod().tolerate("tolerated", effect="PreferNoSchedule", operator="Exists").obj()
    nodes = [NodeInfo(make_node().name("clean").obj()),
             NodeInfo(make_node().name("one").taint("a", effect="PreferNoSchedule").obj()),
             NodeInfo(make_node().name("two").taint("a", effect="PreferNoSchedule")
                      .taint("b", effect="PreferNoSchedule").taint("tolerated", effect="PreferNoSchedule").obj()),
             NodeInfo(make_node().name("noschedule-only").taint("c").obj())]
    state = CycleState()
    pl.pre_score(state, pod, nodes)
    scores = [NodeScore(n.name, pl.score(state, pod, n)[0]) for n in nodes]
    assert [s.score for s in scores] == [0, 1, 2, 0]
    pl.normalize_score(state, pod, scores)
    assert [s.score for s in scores] == [100, 50, 0, 100]


# ---- NodeResourcesFit ----------------------------------------------------------------------

SMALL = make_node().name("n").cap(cpu="1", memory="1Gi", pods=2)
BUSY = (make_pod().name("a").req(cpu="600m", memory="512Mi").obj(),)


@pytest.mark.parametrize("pod,existing,code,reasons", [
    pytest.param(make_pod().req(cpu="400m", memory="512Mi").obj(), BUSY, OK, (), id="fits-exactly"),
    pytest.param(make_pod().req(cpu="500m").obj(), BUSY, U, ("Insufficient cpu",), id="insufficient-cpu"),
    pytest.param(make_pod().req(memory="600Mi").obj(), BUSY, U, ("Insufficient memory",),
                 id="insufficient-memory"),
    pytest.param(make_pod().req(cpu="1", memory="1Gi").obj(), BUSY, U,
                 ("Insufficient cpu", "Insufficient memory"), id="both-in-order"),
    pytest.param(make_pod().req(cpu="2").obj(), (), UU, ("Insufficient cpu",),
                 id="bigger-than-the-node-is-unresolvable"),
    pytest.param(make_pod().obj(), BUSY + (make_pod().name("b").obj(),), U, ("Too many pods",),
                 id="too-many-pods"),
    pytest.param(make_pod().req(cpu="500m").obj(), BUSY + (make_pod().name("b").obj(),), U,
                 ("Too many pods", "Insufficient cpu"), id="too-many-pods-first"),
    pytest.param(make_pod().obj(), BUSY, OK, (), id="zero-request-only-counts-pods"),
    pytest.param(make_pod().req(cpu="100m").init_container(cpu="500m").obj(), BUSY, U, ("Insufficient cpu",),
                 id="init-container-max"),
    pytest.param(make_pod().req(cpu="100m").init_container(cpu="300m").obj(), BUSY, OK, (),
                 id="init-container-within"),
    pytest.param(make_pod().req(cpu="200m").init_container(sidecar=True, cpu="250m").obj(), BUSY, U,
                 ("Insufficient cpu",), id="sidecar-adds-up"),
    pytest.param(make_pod().req(cpu="300m").overhead(cpu="200m").obj(), BUSY, U, ("Insufficient cpu",),
                 id="overhead"),
    pytest.param(make_pod().req(**{"example.com/gpu": "1"}).obj(), (), UU, ("Insufficient example.com/gpu",),
                 id="extended-resource-absent"),
    pytest.param(make_pod().req(ephemeral_storage="1Gi").obj(), (), UU,
                 ("Insufficient ephemeral-storage",), id="ephemeral-storage"),
])
def test_node_resources_fit_filter(pod: dict[str, Any], existing: tuple[dict[str, Any], ...], code: Code,
                                   reasons: tuple[str, ...]) -> None:
    check(run_filter(node_resources_fit.new(), pod, SMALL.obj(), existing), code, reasons)


def test_node_resources_fit_extended_resource_offered() -> None:
    node = make_node().name("g").cap(cpu="1", memory="1Gi", pods=10, **{"example.com/gpu": "2"}).obj()
    pod = make_pod().req(**{"example.com/gpu": "2"}).obj()
    check(run_filter(node_resources_fit.new(), pod, node), OK, ())
    check(run_filter(node_resources_fit.new(), pod, node, (make_pod().name("x").req(**{"example.com/gpu": "1"}).obj(),)),
          U, ("Insufficient example.com/gpu",))
    ignored = node_resources_fit.new({"ignoredResources": ["example.com/gpu"]})
    check(run_filter(ignored, make_pod().req(**{"example.com/gpu": "9"}).obj(), node), OK, ())


def test_allocatable_defaults_to_capacity() -> None:
    node = make_node().name("n").obj()
    node["status"]["capacity"] = {"cpu": "1", "pods": "1"}
    node["status"].pop("allocatable")
    check(run_filter(node_resources_fit.new(), make_pod().req(cpu="1").obj(), node), OK, ())


# ---- NodePorts -------------------------------------------------------------------------------

PORTS = ("node(s) didn't have free ports for the requested pod ports",)


@pytest.mark.parametrize("pod,existing,code,reasons", [
    pytest.param(make_pod().obj(), (make_pod().name("a").host_port(80).obj(),), OK, (), id="no-ports-skips"),
    pytest.param(make_pod().host_port(80).obj(), (), OK, (), id="free"),
    pytest.param(make_pod().host_port(80).obj(), (make_pod().name("a").host_port(80).obj(),), U, PORTS,
                 id="same-port"),
    pytest.param(make_pod().host_port(80, "UDP").obj(), (make_pod().name("a").host_port(80).obj(),), OK, (),
                 id="other-protocol"),
    pytest.param(make_pod().host_port(80, ip="10.0.0.1").obj(),
                 (make_pod().name("a").host_port(80, ip="10.0.0.2").obj(),), OK, (), id="other-ips"),
    pytest.param(make_pod().host_port(80, ip="10.0.0.1").obj(),
                 (make_pod().name("a").host_port(80).obj(),), U, PORTS, id="specific-vs-any"),
    pytest.param(make_pod().host_port(80).obj(),
                 (make_pod().name("a").host_port(80, ip="10.0.0.2").obj(),), U, PORTS, id="any-vs-specific"),
    pytest.param(make_pod().host_port(8080).host_port(80).obj(),
                 (make_pod().name("a").host_port(80, "TCP").obj(),), U, PORTS, id="one-of-several"),
])
def test_node_ports(pod: dict[str, Any], existing: tuple[dict[str, Any], ...], code: Code,
                    reasons: tuple[str, ...]) -> None:
    check(run_filter(node_ports.new(), pod, NODE.obj(), existing), code, reasons)


def test_node_ports_released_when_pod_removed() -> None:
    holder = make_pod().name("a").host_port(80).obj()
    ni = NodeInfo(NODE.obj(), [holder])
    assert not node_ports.fits(make_pod().host_port(80).obj(), ni)
    ni.remove_pod(holder)
    assert node_ports.fits(make_pod().host_port(80).obj(), ni)


# ---- scoring: LeastAllocated and BalancedAllocation ----------------------------------------------

@pytest.mark.parametrize("requested,capacity,score", [
    pytest.param(0, 4000, 100, id="empty"),
    pytest.param(1000, 4000, 75, id="quarter"),
    pytest.param(3000, 4000, 25, id="three-quarters"),
    pytest.param(1, 3, 66, id="integer-division"),
    pytest.param(5000, 4000, 0, id="overcommitted"),
    pytest.param(10, 0, 0, id="no-capacity"),
])
def test_least_requested_score(requested: int, capacity: int, score: int) -> None:
    assert least_allocated.least_requested_score(requested, capacity) == score


def _fit_score(pod: dict[str, Any], node: dict[str, Any], pods: tuple[dict[str, Any], ...] = ()) -> int:
    pl = node_resources_fit.new()
    state = CycleState()
    ni = NodeInfo(node, pods)
    pl.pre_score(state, pod, [ni])
    return pl.score(state, pod, ni)[0]


@pytest.mark.parametrize("pod,existing,score", [
    # cpu (4000-1000)/4000=75, memory (8Gi-2Gi)/8Gi=75 -> 75
    pytest.param(make_pod().req(cpu="1", memory="2Gi").obj(), (), 75, id="pod-alone"),
    # cpu: 2000+1000 of 4000 -> 25; memory 4Gi+2Gi of 8Gi -> 25
    pytest.param(make_pod().req(cpu="1", memory="2Gi").obj(),
                 (make_pod().name("x").req(cpu="2", memory="4Gi").obj(),), 25, id="with-existing"),
    # zero-request pod counts as 100m / 200Mi: cpu 97, memory 97 -> 97
    pytest.param(make_pod().obj(), (), 97, id="zero-request-defaults"),
    # an existing zero-request pod also counts as 100m/200Mi: cpu (4000-1100)/4000=72, mem 6Gi-200Mi.. = 72
    pytest.param(make_pod().req(cpu="1", memory="2Gi").obj(), (make_pod().name("x").obj(),), 72,
                 id="existing-zero-request-defaults"),
    # explicit zero is not missing: cpu 100, memory (8Gi-200Mi)/8Gi=97 -> (100+97)/2=98
    pytest.param(make_pod().req(cpu="0").obj(), (), 98, id="explicit-zero-cpu"),
])
def test_least_allocated_score(pod: dict[str, Any], existing: tuple[dict[str, Any], ...], score: int) -> None:
    node = make_node().name("n").cap(cpu="4", memory="8Gi", pods=110).obj()
    assert _fit_score(pod, node, existing) == score


def test_least_allocated_weights() -> None:
    scorer = least_allocated.least_resource_scorer([ResourceSpec("cpu", 3), ResourceSpec("memory", 1)])
    assert scorer([1000, 0], [4000, 100]) == (75 * 3 + 100) // 4
    assert scorer([1000, 0], [4000, 0]) == 75  # a resource the node lacks is left out


@pytest.mark.parametrize("requested,allocatable,score", [
    pytest.param([1000, 1 << 30], [4000, 4 << 30], 100, id="equal-fractions"),
    pytest.param([1000, 3 << 30], [4000, 4 << 30], 75, id="quarter-vs-three-quarters"),
    pytest.param([3000, 0], [4000, 4 << 30], 62, id="std-0.375"),
    pytest.param([8000, 0], [4000, 4 << 30], 50, id="fraction-capped-at-1"),
    pytest.param([1000, 5], [4000, 0], 100, id="single-resource"),
    pytest.param([1, 2, 3], [10, 10, 10], 91, id="three-resources-stddev"),
])
def test_balanced_resource_scorer(requested: list[int], allocatable: list[int], score: int) -> None:
    assert balanced_allocation.balanced_resource_scorer(requested, allocatable) == score


def test_balanced_allocation_uses_real_requests_and_skips_best_effort() -> None:
    pl = balanced_allocation.new()
    node = NodeInfo(make_node().name("n").cap(cpu="4", memory="4Gi", pods=110).obj(),
                    [make_pod().name("be").obj()])  # a best-effort pod counts 0, not 100m/200Mi
    pod = make_pod().req(cpu="1", memory="1Gi").obj()
    state = CycleState()
    assert pl.pre_score(state, pod, [node]).is_success()
    assert pl.score(state, pod, node) == (100, Status())
    assert pl.pre_score(CycleState(), make_pod().obj(), [node]).is_skip()


def test_snapshot_of_objects() -> None:
    snap = Snapshot.of([NODE.obj(), make_node().name("n2").obj()],
                       [make_pod().name("a").node("n1").req(cpu="1").obj(), make_pod().name("b").obj()])
    n1 = snap.get("n1")
    assert n1 is not None and n1.requested.milli_cpu == 1000 and len(n1.pods) == 1
    assert snap.num_nodes() == 2


# ---- the state a PreFilter / PreScore writes, read without it (upstream's getPreFilterState...) ----

def test_read_state() -> None:
    state = CycleState()
    state.write("k", {"a": 1})
    assert read_state(state, "k", dict) == ({"a": 1}, Status())
    assert read_state(state, "k", list) == (None, Status(Code.ERROR, ('error reading "k" from cycleState: not found',)))
    assert read_state(state, "other", dict, reading="reading")[1].reasons == \
        ('reading "other" from cycleState: not found',)


@pytest.mark.parametrize("plugin,reading", [
    pytest.param(inter_pod_affinity, "error reading", id="inter-pod-affinity"),
    pytest.param(pod_topology_spread, "reading", id="pod-topology-spread"),  # upstream's own wording
])
def test_missing_cycle_state_is_an_error(plugin: Any, reading: str) -> None:
    """Filter, AddPod, RemovePod without PreFilter's state, Score without PreScore's."""
    pl, pod, ni, other = plugin.new(), make_pod().obj(), NodeInfo(NODE.obj(), ()), PodInfo.of(make_pod().obj())
    pre_filter = f'{reading} "PreFilter{plugin.NAME}" from cycleState: not found'
    statuses = [pl.filter(CycleState(), pod, ni), pl.add_pod(CycleState(), pod, other, ni),
                pl.remove_pod(CycleState(), pod, other, ni)]
    assert [(s.code, s.reasons) for s in statuses] == [(Code.ERROR, (pre_filter,))] * 3
    score, s = pl.score(CycleState(), pod, ni)
    assert (score, s.code, s.reasons) == \
        (0, Code.ERROR, (f'error reading "PreScore{plugin.NAME}" from cycleState: not found',))
