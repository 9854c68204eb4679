"""PodTopologySpread: upstream's filtering_test.go / scoring_test.go scenarios, reduced,
plus whole scheduling cycles through schedule_one."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from actors.scheduler.cache import Cache
from actors.scheduler.framework import Code, CycleState, PodInfo, Snapshot
from actors.scheduler.plugins import pod_topology_spread
from actors.scheduler.registry import default_profile
from actors.scheduler.schedule import FitError, schedule_one

from . import plugin_harness as harness
from .plugin_harness import OK, place, post_filter, rejected
from .builders import expr, make_node, make_pod, sel

UU = Code.UNSCHEDULABLE_AND_UNRESOLVABLE
U = Code.UNSCHEDULABLE
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
SKEW = "node(s) didn't match pod topology spread constraints"
LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
FOO = sel(expr("foo", "Exists"))

# upstream's layout: node-a, node-b in zone1; node-x, node-y in zone2
NODES = [make_node().name(n).label("zone", z).obj()
         for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"), ("node-y", "zone2"))]


def foo(name: str, node: str, **kw: str) -> dict[str, Any]:
    b = make_pod().name(name).node(node).label("foo", "")
    for k, v in kw.items():
        b.label(k, v)
    return b.obj()


# zone1: 3 matching pods (2 on node-a, 1 on node-b); zone2: 1 (node-x)
PODS = [foo("a1", "node-a"), foo("a2", "node-a"), foo("b1", "node-b"), foo("x1", "node-x")]


HARNESS = harness.For(pod_topology_spread.new, NODES)
run_filters, run_scores = HARNESS.filters, HARNESS.scores


# ---- Filter ------------------------------------------------------------------------------

def pod() -> Any:
    return make_pod().name("p").label("foo", "")


@pytest.mark.parametrize("incoming,pods,nodes,want", [
    pytest.param(pod().obj(), PODS, NODES, {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK},
                 id="no-constraints"),
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").obj(), PODS, NODES,
                 {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}, id="schedule-anyway-is-not-a-filter"),
    pytest.param(pod().spread(1, "zone", FOO).obj(), PODS, NODES,
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": OK, "node-y": OK},
                 id="zone-max-skew-1"),
    pytest.param(pod().spread(1, "zone", FOO).obj(), [], NODES,
                 {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}, id="no-pods-yet"),
    pytest.param(pod().spread(2, "zone", FOO).obj(), PODS, NODES,
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": OK, "node-y": OK},
                 id="zone-max-skew-2-counts-the-pod-itself"),
    pytest.param(make_pod().name("p").spread(2, "zone", FOO).obj(), PODS, NODES,
                 {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK},
                 id="zone-max-skew-2-pod-not-matching-its-selector"),
    pytest.param(pod().spread(1, HOST, FOO).obj(), PODS, NODES,
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": rejected(U, SKEW),
                  "node-y": OK}, id="hostname-max-skew-1"),
    pytest.param(pod().spread(1, "zone", FOO).spread(1, HOST, FOO).obj(), PODS, NODES,
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": rejected(U, SKEW),
                  "node-y": OK}, id="two-constraints-both-must-hold"),
    pytest.param(pod().spread(3, "zone", FOO).obj(), PODS, NODES,
                 {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}, id="zone-max-skew-3"),
    pytest.param(pod().spread(3, "zone", FOO, min_domains=3).obj(), PODS, NODES,
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": OK, "node-y": OK},
                 id="fewer-domains-than-min-domains-global-minimum-is-0"),
    pytest.param(pod().spread(3, "zone", FOO, min_domains=2).obj(), PODS, NODES,
                 {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}, id="min-domains-reached"),
    pytest.param(pod().spread(1, "zone", FOO).obj(), PODS,
                 NODES + [make_node().name("node-z").obj()],
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": OK, "node-y": OK,
                  "node-z": rejected(UU, LABEL)}, id="node-without-the-topology-key"),
    pytest.param(pod().spread(1, "zone", FOO).obj(), PODS + [foo("z1", "node-z"), foo("z2", "node-z")],
                 NODES + [make_node().name("node-z").obj()],
                 {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": OK, "node-y": OK,
                  "node-z": rejected(UU, LABEL)}, id="pods-on-nodes-without-the-key-do-not-count"),
    pytest.param(pod().spread(1, "zone", sel(foo="")).obj(),
                 PODS + [make_pod().name(f"o{i}").namespace("other").node("node-x").label("foo", "").obj()
                         for i in range(3)]
                 + [make_pod().name(f"t{i}").node("node-y").label("foo", "").terminating().obj()
                    for i in range(3)],
                 NODES, {"node-a": rejected(U, SKEW), "node-b": rejected(U, SKEW), "node-x": OK, "node-y": OK},
                 id="other-namespaces-and-terminating-pods-do-not-count"),
    pytest.param(pod().label("rev", "2").spread(1, "zone", FOO, match_label_keys=["rev"]).obj(),
                 PODS + [foo("y2", "node-y", rev="2")], NODES,
                 {"node-a": OK, "node-b": OK, "node-x": rejected(U, SKEW), "node-y": rejected(U, SKEW)},
                 id="match-label-keys-count-only-the-same-revision"),
])
def test_filter(incoming: dict[str, Any], pods: list[dict[str, Any]], nodes: list[dict[str, Any]],
                want: dict[str, tuple[Code, tuple[str, ...]]]) -> None:
    assert run_filters(incoming, pods, nodes) == want


# zone1: 1 pod (node-a); zone2: 2 pods on node-x, which the policies below may leave out
POLICY_PODS = [foo("a1", "node-a"), foo("x1", "node-x"), foo("x2", "node-x")]
SSD = [make_node().name(n).label("zone", z).label("disk", "ssd").obj()
       for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-y", "zone2"))]
TAINTED_X = make_node().name("node-x").label("zone", "zone2").taint("dedicated", "db").obj()


@pytest.mark.parametrize("incoming,nodes,want", [
    pytest.param(pod().node_selector(disk="ssd").spread(1, "zone", FOO).obj(),
                 SSD + [make_node().name("node-x").label("zone", "zone2").obj()],
                 {"node-a": rejected(U, SKEW), "node-y": OK}, id="node-affinity-policy-honor-by-default"),
    pytest.param(pod().node_selector(disk="ssd").spread(1, "zone", FOO, node_affinity_policy="Ignore").obj(),
                 SSD + [make_node().name("node-x").label("zone", "zone2").obj()],
                 {"node-a": OK, "node-y": rejected(U, SKEW)}, id="node-affinity-policy-ignore"),
    pytest.param(pod().spread(1, "zone", FOO).obj(), SSD + [TAINTED_X],
                 {"node-a": OK, "node-y": rejected(U, SKEW)}, id="node-taints-policy-ignore-by-default"),
    pytest.param(pod().spread(1, "zone", FOO, node_taints_policy="Honor").obj(), SSD + [TAINTED_X],
                 {"node-a": rejected(U, SKEW), "node-y": OK}, id="node-taints-policy-honor"),
    pytest.param(pod().tolerate("dedicated", operator="Exists").spread(1, "zone", FOO, node_taints_policy="Honor")
                 .obj(), SSD + [TAINTED_X],
                 {"node-a": OK, "node-y": rejected(U, SKEW)}, id="node-taints-policy-honor-tolerated"),
])
def test_node_inclusion_policies(incoming: dict[str, Any], nodes: list[dict[str, Any]],
                                 want: dict[str, tuple[Code, tuple[str, ...]]]) -> None:
    got = run_filters(incoming, POLICY_PODS, nodes)
    assert {n: got[n] for n in want} == want


def test_invalid_selector_fails_the_cycle() -> None:
    p = pod().spread(1, "zone", sel(expr("foo", "Foo"))).obj()
    _, s = pod_topology_spread.new().pre_filter(CycleState(), p, Snapshot.of(NODES).node_info_list)
    assert s.code == Code.ERROR
    assert s.message() == ("get constraints from pod: obtaining pod's hard topology spread constraints: "
                           '"Foo" is not a valid label selector operator')


@pytest.mark.parametrize("args,error", [
    pytest.param({"defaultingType": "System", "defaultConstraints": [{"maxSkew": 1}]}, "must be empty",
                 id="system-with-constraints"),
    pytest.param({"defaultingType": "Sometimes"}, "Unsupported value", id="unknown-defaulting-type"),
])
def test_args_are_validated(args: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        pod_topology_spread.new(args)


# ---- Score -------------------------------------------------------------------------------
# a node scores round(sum(count * log(domains + 2) + maxSkew - 1)); normalized 100 * (max + min - s) / max

THREE = NODES[:3]  # node-a, node-b in zone1; node-x in zone2


@pytest.mark.parametrize("incoming,pods,nodes,scored,want", [
    # zone1: 3 pods, zone2: 0; log(4) = 1.386: a, b = round(4.159) = 4, x = 0
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").obj(), PODS[:3], THREE, None,
                 {"node-a": 0, "node-b": 0, "node-x": 100}, id="zone"),
    # hostname, 3 nodes: log(5) = 1.609: a = round(3.219) = 3, b = round(1.609) = 2, x = 0
    pytest.param(pod().spread(1, HOST, FOO, when="ScheduleAnyway").obj(), PODS[:3], THREE, None,
                 {"node-a": 0, "node-b": 33, "node-x": 100}, id="hostname"),
    # a = round(4.159 + 3.219) = 7, b = round(4.159 + 1.609) = 6, x = 0
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").spread(1, HOST, FOO, when="ScheduleAnyway")
                 .obj(), PODS[:3], THREE, None, {"node-a": 0, "node-b": 14, "node-x": 100},
                 id="zone-and-hostname"),
    # maxSkew 3 adds 2 everywhere: a, b = round(6.159) = 6, x = 2
    pytest.param(pod().spread(3, "zone", FOO, when="ScheduleAnyway").obj(), PODS[:3], THREE, None,
                 {"node-a": 33, "node-b": 33, "node-x": 100}, id="max-skew-waters-down-differences"),
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").obj(), [], THREE, None,
                 {"node-a": 100, "node-b": 100, "node-x": 100}, id="all-zero"),
    # node-z lacks the key: ignored (0); the others as in "zone"
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").obj(), PODS[:3],
                 THREE + [make_node().name("node-z").obj()], None,
                 {"node-a": 0, "node-b": 0, "node-x": 100, "node-z": 0}, id="node-without-the-key-scores-0"),
    # only node-b and node-x are scored, but node-a's 2 pods count for zone1 (log(4): b = 4, x = 0)
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").obj(), PODS[:3], THREE,
                 ["node-b", "node-x"], {"node-b": 0, "node-x": 100}, id="pods-on-unscored-nodes-count"),
    # the domains weighing the counts are the scored nodes' (zone1, zone2: log(4) = 1.386; b = round(2.773) = 3,
    # x = round(1.386) = 1), not every node's (with zone3: log(5) would make them 3 and 2, b 66)
    pytest.param(pod().spread(1, "zone", FOO, when="ScheduleAnyway").obj(),
                 [foo("a1", "node-a"), foo("b1", "node-b"), foo("x1", "node-x")],
                 THREE + [make_node().name("node-q").label("zone", "zone3").obj()],
                 ["node-b", "node-x"], {"node-b": 33, "node-x": 100}, id="domains-of-the-scored-nodes"),
    pytest.param(pod().spread(1, "zone", FOO).obj(), PODS, NODES, None, None, id="do-not-schedule-only-skips"),
])
def test_score(incoming: dict[str, Any], pods: list[dict[str, Any]], nodes: list[dict[str, Any]],
               scored: list[str] | None, want: dict[str, int] | None) -> None:
    assert run_scores(incoming, pods, nodes, scored) == want


def rs_pod(name: str, node: str = "", template_hash: str = "abc") -> Any:
    b = make_pod().name(name).label("app", "web").label("pod-template-hash", template_hash)
    b.owner("ReplicaSet", f"web-{template_hash}")
    return b.node(node) if node else b


ZONED = [make_node().name("node-a").zone("zone1").obj(), make_node().name("node-b").zone("zone1").obj(),
         make_node().name("node-x").zone("zone2").obj()]


@pytest.mark.parametrize("incoming,pods,nodes,want", [
    # hostname maxSkew 3 (log(5) = 1.609) + zone maxSkew 5 (log(4) = 1.386); 2 sibling pods on node-a:
    # a = round(3.219 + 2 + 2.773 + 4) = 12, b = round(2 + 2.773 + 4) = 9, x = 6
    pytest.param(rs_pod("p").obj(), [rs_pod("s1", "node-a").obj(), rs_pod("s2", "node-a").obj(),
                                     rs_pod("old", "node-b", template_hash="xyz").obj()], ZONED,
                 {"node-a": 50, "node-b": 75, "node-x": 100}, id="replicaset-pod-siblings-by-its-labels"),
    pytest.param(make_pod().name("p").label("app", "web").label("pod-template-hash", "abc").obj(),
                 [rs_pod("s1", "node-a").obj()], ZONED, None, id="no-controller-no-defaults"),
    pytest.param(rs_pod("p").spread(1, ZONE, sel(app="db"), when="DoNotSchedule").obj(),
                 [rs_pod("s1", "node-a").obj()], ZONED, None, id="own-constraints-replace-the-defaults"),
    pytest.param(make_pod().name("p").owner("ReplicaSet", "web").obj(), [rs_pod("s1", "node-a").obj()], ZONED,
                 None, id="no-labels-no-selector"),
    pytest.param(make_pod().name("db-1").label("app", "db").label("statefulset.kubernetes.io/pod-name", "db-1")
                 .owner("StatefulSet", "db").obj(),
                 [make_pod().name("db-0").node("node-x").label("app", "db")
                  .label("statefulset.kubernetes.io/pod-name", "db-0").owner("StatefulSet", "db").obj()], ZONED,
                 {"node-a": 100, "node-b": 100, "node-x": 66}, id="statefulset-per-pod-labels-left-out"),
    # nodes without a zone still spread by hostname under the system defaults (not ignored)
    pytest.param(rs_pod("p").obj(), [rs_pod("s1", "bare-1").obj()],
                 [make_node().name("bare-1").obj(), make_node().name("bare-2").obj()],
                 {"bare-1": 66, "bare-2": 100}, id="system-defaults-do-not-require-every-key"),
])
def test_system_default_constraints(incoming: dict[str, Any], pods: list[dict[str, Any]],
                                    nodes: list[dict[str, Any]], want: dict[str, int] | None) -> None:
    assert run_scores(incoming, pods, nodes) == want


def test_list_default_constraints() -> None:
    args = {"defaultingType": "List",
            "defaultConstraints": [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}]}
    plugin = pod_topology_spread.new(args)
    snap = Snapshot.of(ZONED, [rs_pod("s1", "node-a").obj(), rs_pod("s2", "node-b").obj()])
    state = CycleState()
    p = rs_pod("p").obj()
    assert plugin.pre_filter(state, p, snap.node_info_list)[1].is_success()
    assert [plugin.filter(state, p, ni).reasons for ni in snap.node_info_list] == [(SKEW,), (SKEW,), ()]


# ---- whole cycles ----------------------------------------------------------------------------

def zone_nodes(zones: str, per_zone: int) -> list[dict[str, Any]]:
    return [make_node().name(f"{z}{i}").zone(z).cap(cpu="8", memory="16Gi", pods=110).obj()
            for z in zones for i in range(per_zone)]


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(4)])
def test_six_replicas_spread_two_per_zone(seed: int) -> None:
    template = make_pod().label("app", "web").req(cpu="100m").spread(1, ZONE, sel(app="web"))
    results = place([], template, 6, zone_nodes("abc", 2), seed)
    assert all(r.error is None for r in results)
    assert Counter(r.suggested_host[0] for r in results) == {"a": 2, "b": 2, "c": 2}


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(4)])
def test_soft_spreading_by_the_system_defaults(seed: int) -> None:
    # a ReplicaSet's 6 pods, no constraints of their own, over 3 zones of 2 nodes
    results = place([], rs_pod("p").req(cpu="100m"), 6, zone_nodes("abc", 2), seed)
    assert Counter(r.suggested_host[0] for r in results) == {"a": 2, "b": 2, "c": 2}
    assert len({r.suggested_host for r in results}) == 6


def test_fit_error_when_the_only_other_domain_is_tainted() -> None:
    # zone b's node is tainted but still a domain (nodeTaintsPolicy Ignore): skew 2 + 1 - 0 > 1
    nodes = [make_node().name("a0").zone("a").cap(cpu="8", memory="16Gi", pods=110).obj(),
             make_node().name("b0").zone("b").cap(cpu="8", memory="16Gi", pods=110).taint("dedicated", "db").obj()]
    pods = [make_pod().name(f"w{i}").label("app", "web").node("a0").obj() for i in range(2)]
    template = make_pod().label("app", "web").spread(1, ZONE, sel(app="web"))
    r = schedule_one(template.obj(), Snapshot.of(nodes, pods), default_profile(), random.Random(0))
    assert isinstance(r.error, FitError)
    assert str(r.error) == ("0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
                            "1 node(s) had untolerated taint(s).")
    assert r.error.diagnosis.unschedulable_plugins == {"PodTopologySpread", "TaintToleration"}
    honor = make_pod().label("app", "web").spread(1, ZONE, sel(app="web"), node_taints_policy="Honor")
    r = schedule_one(honor.obj(), Snapshot.of(nodes, pods), default_profile(), random.Random(0))
    assert r.suggested_host == "a0"


def test_missing_label_fit_error() -> None:
    nodes = [make_node().name("n1").cap(cpu="8", memory="16Gi", pods=110).obj()]
    r = schedule_one(make_pod().label("app", "web").spread(1, ZONE, sel(app="web")).obj(), Snapshot.of(nodes),
                     default_profile(), random.Random(0))
    assert str(r.error) == ("0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints "
                            "(missing required label).")


def test_plain_pods_skip_the_plugin() -> None:
    state = CycleState()
    r = schedule_one(make_pod().label("app", "web").obj(), Snapshot.of(zone_nodes("ab", 2)), default_profile(),
                     random.Random(0), state)
    assert r.error is None
    assert "PodTopologySpread" in state.skip_filter_plugins and "PodTopologySpread" in state.skip_score_plugins


def test_counts_follow_the_cache_across_cycles() -> None:
    # one plugin instance (its per-node counts memoised) over cycles of a changing cache
    plugin, cache = pod_topology_spread.new(), Cache()
    for n in NODES:
        cache.add_node(n)
    incoming = pod().spread(1, "zone", FOO).obj()

    def feasible() -> list[str]:
        return harness.feasible(plugin, cache.snapshot(), incoming)

    assert feasible() == ["node-a", "node-b", "node-x", "node-y"]
    a1 = foo("a1", "node-a")
    for p in (a1, foo("a2", "node-a")):
        cache.add_pod(p)
    assert feasible() == ["node-x", "node-y"]
    for p in (foo("x1", "node-x"), foo("x2", "node-y")):
        cache.add_pod(p)
    assert feasible() == ["node-a", "node-b", "node-x", "node-y"]
    cache.remove_pod(a1)
    assert feasible() == ["node-a", "node-b"]


@pytest.mark.parametrize("removed,added,want", [
    pytest.param(["a1"], [], {"node-a": True, "node-x": True}, id="one-victim-enough"),
    pytest.param(["a1", "a2"], [], {"node-a": True, "node-x": False}, id="two-victims-empty-zone1"),
    pytest.param([], [foo("x2", "node-x"), foo("x3", "node-x")], {"node-a": True, "node-x": False},
                 id="nominated-pods-move-the-minimum"),
    pytest.param([], [make_pod().name("o").namespace("other").node("node-x").label("foo", "").obj()],
                 {"node-a": False, "node-x": True}, id="pods-of-other-namespaces-ignored"),
])
def test_pre_filter_extensions(removed: list[str], added: list[dict[str, Any]], want: dict[str, bool]) -> None:
    """AddPod/RemovePod on a cloned state (preemption's dry runs, nominated pods); the cycle's own unchanged."""
    # zone1: node-a with 2 pods; zone2: node-x with 1; maxSkew 1 -> node-a rejected (2 + 1 - 1 = 2)
    plugin = pod_topology_spread.new()
    snap = Snapshot.of([NODES[0], NODES[2]], [foo("a1", "node-a"), foo("a2", "node-a"), foo("x1", "node-x")])
    incoming = pod().spread(1, "zone", FOO).obj()
    state = CycleState()
    assert plugin.pre_filter(state, incoming, snap.node_info_list)[1].is_success()
    dry = state.clone()
    a, x = snap.get("node-a"), snap.get("node-x")
    assert a is not None and x is not None
    for name in removed:
        pi = next(p for p in a.pods if p.pod["metadata"]["name"] == name)
        assert plugin.remove_pod(dry, incoming, pi, a).is_success()
    for p in added:
        assert plugin.add_pod(dry, incoming, PodInfo.of(p), x).is_success()
    assert {n.name: plugin.filter(dry, incoming, n).is_success() for n in (a, x)} == want
    assert {n.name: plugin.filter(state, incoming, n).is_success() for n in (a, x)} == {"node-a": False,
                                                                                       "node-x": True}


@pytest.mark.parametrize("updates,want_min", [
    pytest.param([], 1, id="built"),
    pytest.param([("z2", 0)], 0, id="a-domain-drops-below"),
    pytest.param([("z1", 5)], 3, id="the-minimum-grows-second-takes-over"),
    pytest.param([("z4", 0)], 0, id="new-domain"),
])
def test_critical_paths(updates: list[tuple[str, int]], want_min: int) -> None:
    paths = pod_topology_spread.CriticalPaths.of({"z1": 1, "z2": 3, "z3": 4})
    for value, n in updates:
        paths.update(value, n)
    assert paths.min == want_min


def test_preemption_frees_the_crowded_domain() -> None:
    # zone a holds 2 low-priority matching pods, zone b's only node is tainted but still a domain:
    # the pod fits zone a once both are gone (with one back, the skew is 1 + 1 - 0 > 1)
    nodes = [make_node().name("a0").zone("a").cap(cpu="8", memory="16Gi", pods=110).obj(),
             make_node().name("b0").zone("b").cap(cpu="8", memory="16Gi", pods=110).taint("dedicated", "db").obj()]
    pods = [make_pod().name(f"w{i}").label("app", "web").priority(0).node("a0").obj() for i in range(2)]
    pods.append(make_pod().name("other").label("app", "db").priority(0).node("a0").obj())
    hi = make_pod().name("hi").label("app", "web").priority(100).spread(1, ZONE, sel(app="web")).obj()
    pf, status, _ = post_filter(hi, nodes, pods)
    assert status.is_success(), status
    assert pf is not None and pf.nominated_node_name == "a0"
    assert sorted(v["metadata"]["name"] for v in pf.victims) == ["w0", "w1"]
