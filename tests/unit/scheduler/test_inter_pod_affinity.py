"""InterPodAffinity: upstream's filtering_test.go / scoring_test.go scenarios, reduced,
plus whole scheduling cycles through schedule_one."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.scheduler.cache import Cache
from actors.scheduler.framework import Code, CycleState, PodInfo, Snapshot
from actors.scheduler.plugins import inter_pod_affinity
from actors.scheduler.registry import default_profile
from actors.scheduler.schedule import FitError, schedule_one

from . import plugin_harness as harness
from .plugin_harness import OK, place, post_filter, rejected
from .builders import expr, make_node, make_pod, sel

UU = Code.UNSCHEDULABLE_AND_UNRESOLVABLE
U = Code.UNSCHEDULABLE
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
AFF = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"

# n1, n2 in zone a; n3 in zone b; bare has no zone label
NODES = [make_node().name("n1").zone("a").obj(), make_node().name("n2").zone("a").obj(),
         make_node().name("n3").zone("b").obj(), make_node().name("bare").obj()]


def web(name: str, node: str, ns: str = "default", **labels: str) -> dict[str, Any]:
    b = make_pod().name(name).namespace(ns).node(node).label("app", "web")
    for k, v in labels.items():
        b.label(k, v)
    return b.obj()


def repels_web(name: str, node: str, key: str = HOST, ns: str = "default") -> dict[str, Any]:
    """An app=db pod with required anti-affinity to app=web pods."""
    b = make_pod().name(name).namespace(ns).node(node).label("app", "db")
    return b.pod_anti_affinity(key, sel(app="web")).obj()


def db(name: str, node: str, ns: str = "default") -> dict[str, Any]:
    return make_pod().name(name).namespace(ns).node(node).label("app", "db").obj()


HARNESS = harness.For(inter_pod_affinity.new, NODES)
run_filters, run_scores = HARNESS.filters, HARNESS.scores




# ---- Filter ------------------------------------------------------------------------------

@pytest.mark.parametrize("pod,pods,want", [
    pytest.param(make_pod().label("app", "web").obj(), [db("d", "n1")],
                 {"n1": OK, "n2": OK, "n3": OK, "bare": OK}, id="no-affinity-anywhere"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db")).obj(), [db("d", "n1")],
                 {"n1": OK, "n2": OK, "n3": rejected(UU, AFF), "bare": rejected(UU, AFF)},
                 id="affinity-zone-of-the-matching-pod"),
    pytest.param(make_pod().pod_affinity(HOST, sel(expr("app", "In", "db", "cache"))).obj(), [db("d", "n3")],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": OK, "bare": rejected(UU, AFF)},
                 id="affinity-hostname-in-operator"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(expr("app", "NotIn", "web"))).label("app", "web").obj(),
                 [web("w", "n1")],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": rejected(UU, AFF),
                  "bare": rejected(UU, AFF)}, id="affinity-nothing-matches-and-pod-not-self-affine"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="web")).label("app", "web").obj(), [db("d", "n1")],
                 {"n1": OK, "n2": OK, "n3": OK, "bare": rejected(UU, AFF)},
                 id="first-pod-of-a-self-affine-group-anywhere-with-the-key"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="web")).label("app", "web").obj(), [web("w", "n3")],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": OK, "bare": rejected(UU, AFF)},
                 id="second-pod-of-a-self-affine-group-follows-the-first"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db")).obj(), [db("d", "n1", ns="other")],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": rejected(UU, AFF),
                  "bare": rejected(UU, AFF)}, id="affinity-default-namespace-is-the-pods-own"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db"), namespaces=["other"]).obj(),
                 [db("d", "n1", ns="other")],
                 {"n1": OK, "n2": OK, "n3": rejected(UU, AFF), "bare": rejected(UU, AFF)},
                 id="affinity-namespaces-list"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db"), namespace_selector={}).obj(),
                 [db("d", "n3", ns="other")],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": OK, "bare": rejected(UU, AFF)},
                 id="affinity-empty-namespace-selector-is-every-namespace"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db"), namespace_selector=sel(
        **{"kubernetes.io/metadata.name": "other"})).obj(), [db("d", "n1", ns="other"), db("e", "n3", ns="third")],
                 {"n1": OK, "n2": OK, "n3": rejected(UU, AFF), "bare": rejected(UU, AFF)},
                 id="affinity-namespace-selector-on-the-name-label"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db")).pod_affinity(HOST, sel(tier="cache")).obj(),
                 [db("d", "n1"), make_pod().name("c").node("n1").label("tier", "cache").obj()],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": rejected(UU, AFF),
                  "bare": rejected(UU, AFF)}, id="affinity-one-pod-must-match-every-term"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db")).pod_affinity(HOST, sel(tier="cache")).obj(),
                 [make_pod().name("c").node("n1").label("tier", "cache").label("app", "db").obj()],
                 {"n1": OK, "n2": rejected(UU, AFF), "n3": rejected(UU, AFF), "bare": rejected(UU, AFF)},
                 id="affinity-terms-each-in-their-own-topology"),
    pytest.param(make_pod().pod_affinity(ZONE, None).obj(), [db("d", "n1")],
                 {"n1": rejected(UU, AFF), "n2": rejected(UU, AFF), "n3": rejected(UU, AFF),
                  "bare": rejected(UU, AFF)}, id="affinity-nil-selector-matches-nothing"),
    pytest.param(make_pod().label("app", "web").pod_anti_affinity(HOST, sel(app="web")).obj(), [web("w", "n1")],
                 {"n1": rejected(U, ANTI), "n2": OK, "n3": OK, "bare": OK}, id="anti-affinity-hostname"),
    pytest.param(make_pod().label("app", "web").pod_anti_affinity(ZONE, sel(app="web")).obj(), [web("w", "n1")],
                 {"n1": rejected(U, ANTI), "n2": rejected(U, ANTI), "n3": OK, "bare": OK},
                 id="anti-affinity-zone-node-without-the-key-passes"),
    pytest.param(make_pod().pod_anti_affinity(ZONE, sel(app="web")).obj(), [web("w", "n1", ns="other")],
                 {"n1": OK, "n2": OK, "n3": OK, "bare": OK}, id="anti-affinity-other-namespace"),
    pytest.param(make_pod().pod_affinity(ZONE, sel(app="db")).pod_anti_affinity(HOST, sel(app="web")).obj(),
                 [db("d", "n1"), web("w", "n2"), web("x", "n3")],
                 {"n1": OK, "n2": rejected(U, ANTI), "n3": rejected(UU, AFF), "bare": rejected(UU, AFF)},
                 id="affinity-is-checked-before-anti-affinity"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [repels_web("e", "n1")],
                 {"n1": rejected(U, EXISTING), "n2": OK, "n3": OK, "bare": OK},
                 id="existing-pods-anti-affinity-is-symmetric"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [repels_web("e", "n3", ZONE)],
                 {"n1": OK, "n2": OK, "n3": rejected(U, EXISTING), "bare": OK},
                 id="existing-pods-anti-affinity-zone"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [repels_web("e", "n1", ns="other")], {"n1": OK, "n2": OK, "n3": OK, "bare": OK},
                 id="existing-anti-affinity-term-in-its-own-namespace"),
    pytest.param(make_pod().label("app", "api").obj(),
                 [make_pod().name("e").node("n1").pod_anti_affinity(HOST, sel(app="web")).obj()],
                 {"n1": OK, "n2": OK, "n3": OK, "bare": OK}, id="existing-anti-affinity-not-matching"),
    pytest.param(make_pod().label("app", "web").pod_anti_affinity(HOST, sel(app="db")).obj(),
                 [repels_web("e", "n1")],
                 {"n1": rejected(U, ANTI), "n2": OK, "n3": OK, "bare": OK},
                 id="own-anti-affinity-reported-before-existing"),
    pytest.param(make_pod().label("app", "web").label("version", "v2")
                 .pod_anti_affinity(HOST, sel(app="web"), match_label_keys=["version"]).obj(),
                 [web("old", "n1", version="v1"), web("new", "n2", version="v2")],
                 {"n1": OK, "n2": rejected(U, ANTI), "n3": OK, "bare": OK}, id="match-label-keys"),
    pytest.param(make_pod().label("tenant", "a")
                 .pod_anti_affinity(HOST, sel(expr("tenant", "Exists")), mismatch_label_keys=["tenant"]).obj(),
                 [make_pod().name("b").node("n1").label("tenant", "b").obj(),
                  make_pod().name("a").node("n2").label("tenant", "a").obj()],
                 {"n1": rejected(U, ANTI), "n2": OK, "n3": OK, "bare": OK}, id="mismatch-label-keys"),
])
def test_filter(pod: dict[str, Any], pods: list[dict[str, Any]],
                want: dict[str, tuple[Code, tuple[str, ...]]]) -> None:
    assert run_filters(pod, pods) == want


@pytest.mark.parametrize("pod,pods,skip", [
    pytest.param(make_pod().label("app", "web").obj(), [web("w", "n1")], True, id="plain-pod-plain-cluster"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [make_pod().name("e").node("n1").pod_anti_affinity(HOST, sel(app="db")).obj()], True,
                 id="existing-anti-affinity-not-about-this-pod"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [make_pod().name("e").node("n1").pod_anti_affinity(HOST, sel(app="web")).obj()], False,
                 id="existing-anti-affinity-about-this-pod"),
    pytest.param(make_pod().preferred_pod_affinity(5, ZONE, sel(app="db")).obj(), [db("d", "n1")], True,
                 id="preferred-terms-only"),
    pytest.param(make_pod().pod_anti_affinity(HOST, sel(app="db")).obj(), [], False, id="own-required-terms"),
])
def test_pre_filter_skips_unless_something_applies(pod: dict[str, Any], pods: list[dict[str, Any]],
                                                   skip: bool) -> None:
    snap = Snapshot.of(NODES, pods)
    _, s = inter_pod_affinity.new().pre_filter(CycleState(), pod, snap.node_info_list)
    assert s.is_skip() == skip


def test_unparsable_terms_make_the_pod_unresolvable() -> None:
    pod = make_pod().pod_affinity(ZONE, sel(expr("app", "Foo", "x"))).obj()
    _, s = inter_pod_affinity.new().pre_filter(CycleState(), pod, Snapshot.of(NODES).node_info_list)
    assert s.code == UU
    assert s.message() == 'parsing pod: requiredAffinityTerms: "Foo" is not a valid label selector operator'


def test_hard_pod_affinity_weight_is_validated() -> None:
    with pytest.raises(ValueError, match=r"not in valid range \[0-100\]"):
        inter_pod_affinity.new({"hardPodAffinityWeight": 101})


# ---- Score -------------------------------------------------------------------------------

def existing(name: str, node: str) -> Any:
    return make_pod().name(name).node(node).label("app", "other")


@pytest.mark.parametrize("pod,pods,scored,args,want", [
    pytest.param(make_pod().preferred_pod_affinity(5, ZONE, sel(app="db")).obj(), [db("d", "n1")], None, None,
                 {"n1": 100, "n2": 100, "n3": 0, "bare": 0}, id="preferred-affinity-zone"),
    pytest.param(make_pod().preferred_pod_anti_affinity(5, ZONE, sel(app="db")).obj(), [db("d", "n1")], None, None,
                 {"n1": 0, "n2": 0, "n3": 100, "bare": 100}, id="preferred-anti-affinity-zone"),
    pytest.param(make_pod().preferred_pod_affinity(8, HOST, sel(app="db"))
                 .preferred_pod_anti_affinity(2, ZONE, sel(app="web")).obj(),
                 [db("d", "n1"), web("w", "n3")], None, None,
                 {"n1": 100, "n2": 20, "n3": 0, "bare": 20}, id="weights-summed-min-max-normalized"),
    pytest.param(make_pod().preferred_pod_affinity(5, ZONE, sel(app="db")).obj(),
                 [db("d", "n1"), db("e", "n3")], ["n1", "n2", "n3"], None,
                 {"n1": 0, "n2": 0, "n3": 0}, id="equal-non-zero-scores-normalize-to-zero"),
    pytest.param(make_pod().preferred_pod_affinity(5, ZONE, sel(app="db")).obj(), [db("d", "bare")], None, None,
                 None, id="matching-pod-on-a-node-without-the-key-skips"),
    pytest.param(make_pod().preferred_pod_affinity(5, ZONE, sel(app="db")).obj(), [db("d", "n3")],
                 ["n1", "n2"], None, {"n1": 0, "n2": 0}, id="only-an-unscored-domain-matches"),
    pytest.param(make_pod().preferred_pod_affinity(5, ZONE, sel(app="db")).obj(), [db("d", "n2")],
                 ["n1", "n3"], None, {"n1": 100, "n3": 0}, id="pods-on-unscored-nodes-count"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [existing("e", "n3").pod_affinity(ZONE, sel(app="web")).obj()], None, None,
                 {"n1": 0, "n2": 0, "n3": 100, "bare": 0}, id="existing-pods-required-affinity-hard-weight"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [existing("e", "n3").pod_affinity(ZONE, sel(app="web")).obj()], None,
                 {"hardPodAffinityWeight": 0}, None, id="hard-weight-zero"),
    pytest.param(make_pod().label("app", "web").preferred_pod_affinity(3, HOST, sel(app="db")).obj(),
                 [existing("e", "n3").pod_affinity(ZONE, sel(app="web")).obj(), db("d", "n1")], None,
                 {"hardPodAffinityWeight": 10}, {"n1": 30, "n2": 0, "n3": 100, "bare": 0},
                 id="hard-weight-argument"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [existing("e", "n2").preferred_pod_anti_affinity(10, HOST, sel(app="web"))
                  .preferred_pod_affinity(4, ZONE, sel(app="web")).obj()], None, None,
                 {"n1": 100, "n2": 0, "n3": 60, "bare": 60}, id="existing-pods-preferred-terms"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [existing("e", "n2").preferred_pod_anti_affinity(10, HOST, sel(app="web")).obj()], None,
                 {"ignorePreferredTermsOfExistingPods": True}, None, id="ignore-preferred-terms-of-existing-pods"),
    pytest.param(make_pod().label("app", "web").obj(), [web("w", "n1")], None, None, None,
                 id="plain-pod-plain-cluster-skips"),
])
def test_score(pod: dict[str, Any], pods: list[dict[str, Any]], scored: list[str] | None,
               args: dict[str, Any] | None, want: dict[str, int] | None) -> None:
    assert run_scores(pod, pods, scored=scored, args=args) == want


# ---- whole cycles ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(3)])
def test_required_anti_affinity_spreads_one_per_node(seed: int) -> None:
    nodes = [make_node().name(f"n{i}").cap(cpu="4", memory="8Gi", pods=110).obj() for i in range(3)]
    template = make_pod().label("app", "web").req(cpu="100m").pod_anti_affinity(HOST, sel(app="web"))
    results = place([], template, 4, nodes, seed)
    assert sorted(r.suggested_host for r in results[:3]) == ["n0", "n1", "n2"]
    err = results[3].error
    assert isinstance(err, FitError)
    assert str(err) == "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
    assert err.diagnosis.unschedulable_plugins == {"InterPodAffinity"}
    assert results[3].status.code == U


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(3)])
def test_self_affine_group_gathers_in_the_first_pods_zone(seed: int) -> None:
    nodes = [make_node().name(f"{z}{i}").zone(z).cap(cpu="4", memory="8Gi", pods=110).obj()
             for z in ("a", "b") for i in range(2)]
    template = make_pod().label("app", "cache").pod_affinity(ZONE, sel(app="cache"))
    results = place([], template, 4, nodes, seed)
    zones = {r.suggested_host[0] for r in results}
    assert all(r.error is None for r in results) and len(zones) == 1


def test_existing_anti_affinity_keeps_plain_pods_away() -> None:
    nodes = [make_node().name(f"n{i}").cap(cpu="4", memory="8Gi", pods=110).obj() for i in range(2)]
    loner = make_pod().name("loner").node("n0").pod_anti_affinity(HOST, sel(app="web")).obj()
    results = place([loner], make_pod().label("app", "web"), 3, nodes, 0)
    assert [r.suggested_host for r in results] == ["n1", "n1", "n1"]


def test_plain_pods_skip_the_plugin() -> None:
    nodes = [make_node().name(f"n{i}").zone("a").cap(cpu="4", memory="8Gi", pods=110).obj() for i in range(3)]
    state = CycleState()
    r = schedule_one(make_pod().label("app", "web").obj(), Snapshot.of(nodes, [web("w", "n0")]), default_profile(),
                     random.Random(0), state)
    assert r.error is None
    assert "InterPodAffinity" in state.skip_filter_plugins and "InterPodAffinity" in state.skip_score_plugins


def test_counts_follow_the_cache_across_cycles() -> None:
    # one plugin instance (its per-node counts memoised) over cycles of a changing cache
    plugin, cache = inter_pod_affinity.new(), Cache()
    for n in NODES:
        cache.add_node(n)
    incoming = make_pod().label("app", "web").pod_anti_affinity(ZONE, sel(app="web")).obj()

    def feasible() -> list[str]:
        return harness.feasible(plugin, cache.snapshot(), incoming)

    assert feasible() == ["bare", "n1", "n2", "n3"]
    w = web("w", "n3")
    cache.add_pod(w)
    assert feasible() == ["bare", "n1", "n2"]
    cache.add_pod(web("v", "n2"))
    assert feasible() == ["bare"]
    cache.remove_pod(w)
    assert feasible() == ["bare", "n3"]


@pytest.mark.parametrize("incoming,pods,change,want_before,want_after", [
    pytest.param(make_pod().label("app", "web").pod_anti_affinity(HOST, sel(app="web")).obj(), [web("w", "n1")],
                 ("remove", "w", "n1"), rejected(U, ANTI), OK, id="remove-a-pod-the-anti-affinity-matches"),
    pytest.param(make_pod().label("app", "web").obj(),
                 [make_pod().name("e").node("n1").pod_anti_affinity(HOST, sel(app="web")).obj()],
                 ("remove", "e", "n1"), rejected(U, EXISTING), OK, id="remove-a-pod-whose-anti-affinity-matches"),
    pytest.param(make_pod().pod_affinity(HOST, sel(app="db")).obj(), [db("d", "n2")],
                 ("add", "d2", "n1"), rejected(UU, AFF), OK, id="add-a-pod-the-affinity-needs"),
    pytest.param(make_pod().label("app", "web").pod_affinity(HOST, sel(app="web")).obj(), [web("w", "n2")],
                 ("remove", "w", "n2"), rejected(UU, AFF), OK, id="remove-the-last-match-first-pod-rule-again"),
])
def test_pre_filter_extensions(incoming: dict[str, Any], pods: list[dict[str, Any]], change: tuple[str, str, str],
                               want_before: tuple[Code, tuple[str, ...]],
                               want_after: tuple[Code, tuple[str, ...]]) -> None:
    """Preemption's dry run: a cloned state and node updated by AddPod/RemovePod; the cycle's own unchanged."""
    plugin = inter_pod_affinity.new()
    snap = Snapshot.of(NODES, pods)
    state = CycleState()
    assert plugin.pre_filter(state, incoming, snap.node_info_list)[1].is_success()
    op, name, node = change
    ni = snap.get("n1")
    assert ni is not None
    dry_state, dry_ni = state.clone(), ni.clone()
    if op == "remove":
        target = snap.get(node)
        assert target is not None
        pi = next(p for p in target.pods if p.pod["metadata"]["name"] == name)
        if node == "n1":
            dry_ni.remove_pod(pi.pod)
        assert plugin.remove_pod(dry_state, incoming, pi, target).is_success()
    else:
        pi = PodInfo.of(db(name, node))
        dry_ni.add_pod(pi)
        assert plugin.add_pod(dry_state, incoming, pi, dry_ni).is_success()
    st = plugin.filter(dry_state, incoming, dry_ni)
    assert (st.code, st.reasons) == want_after
    st = plugin.filter(state, incoming, ni)
    assert (st.code, st.reasons) == want_before


def test_preemption_evicts_the_pod_the_anti_affinity_matches() -> None:
    # anti-affinity is Unschedulable (not ...AndUnresolvable): removing the matching pod helps
    nodes = [make_node().name("n1").cap(cpu="4", memory="8Gi", pods=110).obj()]
    pods = [make_pod().name("low").label("app", "web").priority(0).node("n1").obj(),
            make_pod().name("bystander").label("app", "db").priority(0).node("n1").obj()]
    hi = make_pod().name("hi").priority(100).pod_anti_affinity(HOST, sel(app="web")).obj()
    pf, status, _ = post_filter(hi, nodes, pods)
    assert status.is_success(), status
    assert pf is not None and pf.nominated_node_name == "n1"
    assert [v["metadata"]["name"] for v in pf.victims] == ["low"]
