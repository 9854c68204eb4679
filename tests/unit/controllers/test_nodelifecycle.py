"""Node lifecycle controller: health from Lease + status, Unknown after the grace period,
condition taints (NoSchedule at once, NoExecute rate limited per zone), zone disruption
states, pods marked NotReady, events — on a fake clock with simulated kubelets."""

from __future__ import annotations

from typing import Any

import pytest

from actors.common.clock import parse_time, rfc3339
from actors.controllers import nodelifecycle as nlc
from actors.controllers.loop import Action, Execution, Result

from .fakes import T0, KubeletSim, Sim, make_lease, make_node, make_pod, run_for

Obj = dict[str, Any]
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def cluster(names: list[str], *, zone: str | None = "zone-a", ready: str = "True",
            lease: bool = True, config: Obj | None = None,
            zones: dict[str, str] | None = None) -> tuple[Sim, dict[str, KubeletSim]]:
    sim = Sim(("nodelifecycle",), config=config)
    kubelets = {}
    for n in names:
        sim.cluster.add("nodes", make_node(n, ready=ready, zone=(zones or {}).get(n, zone)))
        if lease:
            sim.cluster.add("leases", make_lease(n))
        kubelets[n] = KubeletSim(sim, n, ready=ready, lease=lease)
    return sim, kubelets


def node(sim: Sim, name: str = "node-1") -> Obj:
    n = sim.cluster.get("nodes", "", name)
    assert n is not None
    return n


def cond(sim: Sim, name: str = "node-1", ctype: str = "Ready") -> Obj:
    return next(c for c in node(sim, name)["status"]["conditions"] if c["type"] == ctype)


def taints(sim: Sim, name: str = "node-1") -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in node(sim, name)["spec"].get("taints") or []}


def taint_added(sim: Sim, name: str, key: str, effect: str = "NoExecute") -> float | None:
    for t in node(sim, name)["spec"].get("taints") or []:
        if t["key"] == key and t["effect"] == effect:
            return parse_time(t["timeAdded"])
    return None


def run(sim: Sim, kubelets: dict[str, KubeletSim], until: float) -> None:
    run_for(sim, list(kubelets.values()), T0 + until)


# ---- health: when a node becomes Unknown -------------------------------------------------------

@pytest.mark.parametrize("lease,stop,ready_at,unknown_at", [
    # the kubelet renews its Lease at T0+1, 11, ... 91; the pass at T0+95 sees the last
    # renewal; Unknown at the first pass more than 50 s later
    pytest.param(True, 100.0, 145.0, 150.0, id="lease-and-status-stop"),
    # no Lease at all: the status heartbeat (posted every 10 s here) is the only signal
    pytest.param(False, 100.0, 145.0, 150.0, id="status-only-stops"),
])
def test_unknown_exactly_after_the_grace_period(lease: bool, stop: float, ready_at: float,
                                                unknown_at: float) -> None:
    sim, ks = cluster(["node-1", "node-2"], lease=lease)
    if not lease:
        ks["node-1"].report_every = ks["node-2"].report_every = 10.0
    run(sim, ks, stop)
    ks["node-1"].alive = False
    heartbeat = cond(sim)["lastHeartbeatTime"]
    run(sim, ks, ready_at)
    assert cond(sim)["status"] == "True", "not before the grace period"
    run(sim, ks, unknown_at)
    for ctype in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        c = cond(sim, ctype=ctype)
        assert (c["status"], c["reason"], c["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."), ctype
        assert c["lastTransitionTime"] == rfc3339(T0 + unknown_at)
        assert c["lastHeartbeatTime"] == heartbeat  # kept
    assert cond(sim, "node-2")["status"] == "True"
    assert sim.cluster.event_messages("NodeNotReady") == [
        "Node node-1 status is now: NodeNotReady"]


def test_lease_renewals_alone_keep_the_node_healthy() -> None:
    # the real kubelet: status every 5 min (unless it changes), lease every 10 s
    sim, ks = cluster(["node-1"])
    run(sim, ks, 1200.0)
    assert ks["node-1"].posts <= 4  # status posts were rare...
    assert cond(sim)["status"] == "True"  # ...yet the node never went Unknown
    assert taints(sim) == set()
    assert sim.cluster.event_messages("NodeNotReady") == []


def test_a_node_that_never_posted_gets_the_startup_grace_period() -> None:
    sim = Sim(("nodelifecycle",))
    sim.cluster.add("nodes", make_node("node-1", ready=None))
    run_for(sim, [], T0 + 60.0)
    assert not node(sim)["status"].get("conditions")
    run_for(sim, [], T0 + 65.0)  # nodeStartupGracePeriod (60 s) from its creation
    for ctype in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        c = cond(sim, ctype=ctype)
        assert (c["status"], c["reason"], c["message"]) == (
            "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")
        assert c["lastHeartbeatTime"] == rfc3339(T0)  # the creation time


def test_grace_periods_are_scaled_by_time_scale() -> None:
    sim, ks = cluster(["node-1", "node-2"], config={"time_scale": 0.1})
    for k in ks.values():
        k.lease_every = k.update_every = 1.0
    run(sim, ks, 10.0)
    ks["node-1"].alive = False  # last renewal at T0+10, seen by the pass at T0+10.5
    run(sim, ks, 15.5)  # passes every 5 s x 0.1; grace 50 s x 0.1
    assert cond(sim)["status"] == "True"
    run(sim, ks, 16.0)
    assert cond(sim)["status"] == "Unknown"


# ---- taints ---------------------------------------------------------------------------------------

def test_unknown_node_is_tainted_unreachable_and_its_pods_marked_not_ready() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    for i, n in enumerate(("node-1", "node-1", "node-2")):
        sim.cluster.add("pods", make_pod(f"web-{i}", node=n, phase="Running", ready=True))
    run(sim, ks, 100.0)
    ks["node-1"].alive = False
    run(sim, ks, 150.0)
    # NoSchedule follows the condition at once; NoExecute waits for the next pass, which
    # sees the Unknown it wrote, and the zone's rate limiter
    assert taints(sim) == {(UNREACHABLE, "NoSchedule")}
    run(sim, ks, 155.0)
    assert taints(sim) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert taint_added(sim, "node-1", UNREACHABLE) == T0 + 155.0
    assert taints(sim, "node-2") == set()
    pods = {p["metadata"]["name"]: p for p in sim.objs("pods")}
    ready = {n: next(c for c in p["status"]["conditions"] if c["type"] == "Ready")
             for n, p in pods.items()}
    assert {n: c["status"] for n, c in ready.items()} == {
        "web-0": "False", "web-1": "False", "web-2": "True"}
    assert ready["web-0"]["lastTransitionTime"] == rfc3339(T0 + 150.0)
    assert sim.cluster.event_messages("NodeNotReady") == [
        "Node node-1 status is now: NodeNotReady", "Node is not ready", "Node is not ready"]


def test_ready_false_gets_the_not_ready_taints_and_recovery_removes_them() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    run(sim, ks, 30.0)
    ks["node-1"].ready = "False"  # the kubelet reports NotReady (e.g. runtime down)
    run(sim, ks, 45.0)
    assert cond(sim)["status"] == "False"
    assert taints(sim) == {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}
    assert taint_added(sim, "node-1", NOT_READY) is not None
    # the kubelet's own NotReady is not the controller's transition: no NodeNotReady event
    assert sim.cluster.event_messages("NodeNotReady") == []
    ks["node-1"].ready = "True"
    run(sim, ks, 60.0)
    assert cond(sim)["status"] == "True"
    assert taints(sim) == set()


def test_recovery_from_unknown_removes_every_taint() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    run(sim, ks, 10.0)
    ks["node-1"].alive = False
    run(sim, ks, 120.0)
    assert taints(sim) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    ks["node-1"].alive = True  # the kubelet is back: lease, then status (Unknown → post)
    run(sim, ks, 140.0)
    assert cond(sim)["status"] == "True"
    assert taints(sim) == set()


def test_not_ready_then_unreachable_swaps_the_taint_at_once() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    ks["node-1"].ready = "False"
    run(sim, ks, 30.0)
    t_not_ready = taint_added(sim, "node-1", NOT_READY)
    assert t_not_ready is not None
    ks["node-1"].alive = False
    run(sim, ks, 100.0)
    assert cond(sim)["status"] == "Unknown"
    assert taints(sim) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    unknown_at = parse_time(cond(sim)["lastTransitionTime"])
    # swapped by the pass after the controller observed Unknown, not via the queue
    assert taint_added(sim, "node-1", UNREACHABLE) == unknown_at + 5.0


def test_cordon_adds_the_unschedulable_taint() -> None:
    sim, ks = cluster(["node-1"])
    run(sim, ks, 5.0)
    n = sim.get("nodes", "node-1", "") or {}
    n["spec"]["unschedulable"] = True
    sim.cluster.update("nodes", n)
    sim.settle()
    assert taints(sim) == {("node.kubernetes.io/unschedulable", "NoSchedule")}
    n = sim.get("nodes", "node-1", "") or {}
    n["spec"].pop("unschedulable")
    sim.cluster.update("nodes", n)
    sim.settle()
    assert taints(sim) == set()


def test_a_pod_bound_to_a_not_ready_node_is_marked_not_ready() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    run(sim, ks, 10.0)
    ks["node-1"].alive = False
    run(sim, ks, 100.0)
    sim.cluster.add("pods", make_pod("late", node="node-1", phase="Running", ready=True))
    sim.settle()
    p = sim.get("pods", "late") or {}
    assert [c["status"] for c in p["status"]["conditions"] if c["type"] == "Ready"] == ["False"]


# ---- rate limiting and zones -----------------------------------------------------------------

def _noexecute_times(sim: Sim, names: list[str]) -> list[float]:
    return sorted(t for n in names
                  if (t := taint_added(sim, n, UNREACHABLE)) is not None)


@pytest.mark.parametrize("healthy,dead,until,expect_gap,expect_count", [
    # Normal zone (3/13 not ready): node-eviction-rate 0.1 → one node every 10 s
    pytest.param(10, 3, 200.0, 10.0, 3, id="normal-zone-0.1-per-s"),
    # PartialDisruption (6/10 >= 0.55) in a small zone (<= 50 nodes): tainting stops
    pytest.param(4, 6, 300.0, None, 0, id="partial-small-zone-stops"),
    # PartialDisruption in a large zone (40/70 > 50 nodes): secondary rate 0.01 → 100 s
    pytest.param(30, 40, 400.0, 100.0, 4, id="partial-large-zone-0.01-per-s"),
])
def test_noexecute_tainting_is_rate_limited_per_zone(
        healthy: int, dead: int, until: float, expect_gap: float | None,
        expect_count: int) -> None:
    names = [f"node-{i:02d}" for i in range(healthy + dead)]
    sim, ks = cluster(names)
    run(sim, ks, 10.0)
    for n in names[healthy:]:
        ks[n].alive = False
    run(sim, ks, until)
    dead_names = names[healthy:]
    assert all(cond(sim, n)["status"] == "Unknown" for n in dead_names)
    assert all((UNREACHABLE, "NoSchedule") in taints(sim, n) for n in dead_names)
    times = _noexecute_times(sim, dead_names)
    assert len(times) == expect_count
    if expect_gap is not None:
        assert [b - a for a, b in zip(times, times[1:])] == [expect_gap] * (expect_count - 1)


def test_zones_have_their_own_rate_limiters() -> None:
    names = [f"a-{i}" for i in range(4)] + [f"b-{i}" for i in range(4)]
    sim, ks = cluster(names, zones={n: f"zone-{n[0]}" for n in names})
    run(sim, ks, 10.0)
    for n in ("a-0", "a-1", "b-0", "b-1"):
        ks[n].alive = False
    run(sim, ks, 75.0)
    a = _noexecute_times(sim, ["a-0", "a-1"])
    b = _noexecute_times(sim, ["b-0", "b-1"])
    assert a == b and len(a) == 2 and a[1] - a[0] == 10.0


def test_every_zone_fully_disrupted_stops_tainting_and_untaints() -> None:
    names = ["a-1", "a-2", "b-1", "b-2"]
    sim, ks = cluster(names, zones={n: f"zone-{n[0]}" for n in names})
    run(sim, ks, 10.0)
    ks["a-1"].alive = ks["a-2"].alive = False
    run(sim, ks, 120.0)
    # zone-a fully disrupted but zone-b is fine: tainting goes on (at the normal rate)
    assert _noexecute_times(sim, ["a-1", "a-2"]) and \
        len(_noexecute_times(sim, ["a-1", "a-2"])) == 2
    ks["b-1"].alive = ks["b-2"].alive = False
    run(sim, ks, 400.0)
    # every zone fully disrupted: "master disruption mode" — no NoExecute taint anywhere
    assert all(cond(sim, n)["status"] == "Unknown" for n in names)
    assert _noexecute_times(sim, names) == []
    assert all(taints(sim, n) == {(UNREACHABLE, "NoSchedule")} for n in names)
    ctrl = sim.controllers["nodelifecycle"]
    assert isinstance(ctrl, nlc.NodeLifecycleController)
    assert set(ctrl.zone_states.values()) == {nlc.FULL_DISRUPTION}
    # one kubelet returns: the mode ends and the others are tainted again
    ks["b-1"].alive = True
    run(sim, ks, 520.0)
    assert cond(sim, "b-1")["status"] == "True"
    assert len(_noexecute_times(sim, ["a-1", "a-2", "b-2"])) == 3


@pytest.mark.parametrize("conds,expect", [
    pytest.param(["True", "True"], (0, nlc.NORMAL), id="all-ready"),
    pytest.param(["False", "Unknown"], (2, nlc.FULL_DISRUPTION), id="none-ready"),
    pytest.param([None], (1, nlc.FULL_DISRUPTION), id="no-condition-counts-not-ready"),
    pytest.param(["Unknown"] * 2 + ["True"], (2, nlc.NORMAL), id="two-not-ready-is-normal"),
    pytest.param(["Unknown"] * 3 + ["True"] * 2, (3, nlc.PARTIAL_DISRUPTION), id="partial"),
    pytest.param(["Unknown"] * 3 + ["True"] * 3, (3, nlc.NORMAL), id="below-0.55"),
])
def test_compute_zone_state(conds: list[str | None], expect: tuple[int, str]) -> None:
    cs = [None if c is None else {"type": "Ready", "status": c} for c in conds]
    assert nlc.compute_zone_state(cs, 0.55) == expect


def test_token_bucket_and_swap_limiter() -> None:
    q = nlc.RateLimitedTimedQueue(nlc.TokenBucket(0.1, 1, 1.0, T0))
    assert q.limiter.try_accept(T0) and not q.limiter.try_accept(T0 + 9.9)
    assert q.limiter.try_accept(T0 + 10.0)
    q.swap_limiter(0.01, 1.0, T0 + 10.0)  # the old one was empty: the new one is drained
    assert not q.limiter.try_accept(T0 + 10.0)
    assert q.limiter.next_token(T0 + 10.0) == pytest.approx(T0 + 110.0)
    q.swap_limiter(0.0, 1.0, T0 + 10.0)
    assert isinstance(q.limiter, nlc.NeverLimiter) and q.limiter.next_token(T0) is None
    scaled = nlc.TokenBucket(0.1, 1, 0.1, T0)  # time_scale 0.1: a token every real second
    assert scaled.try_accept(T0) and not scaled.try_accept(T0 + 0.9) and \
        scaled.try_accept(T0 + 1.0)


def test_unique_queue_keeps_processed_values_until_removed() -> None:
    q = nlc.RateLimitedTimedQueue(nlc.NeverLimiter())
    assert q.add("n1", "u1", T0) and not q.add("n1", "u1", T0)
    assert q.remove_from_queue("n1") and len(q) == 0
    assert not q.add("n1", "u1", T0)  # processed values stay in the set...
    assert q.remove("n1") and q.add("n1", "u1", T0)  # ...until Remove


# ---- events, controller restart, node removal ------------------------------------------------

def test_registered_and_removing_node_events() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    run(sim, ks, 10.0)
    sim.cluster.delete("nodes", "", "node-2")
    ks["node-2"].alive = False
    run(sim, ks, 20.0)
    assert sim.cluster.event_messages("RegisteredNode") == [
        "Node node-1 event: Registered Node node-1 in Controller",
        "Node node-2 event: Registered Node node-2 in Controller"]
    assert sim.cluster.event_messages("RemovingNode") == [
        "Node node-2 event: Removing Node node-2 from Controller"]


def test_status_write_conflict_is_left_to_the_next_pass() -> None:
    sim, ks = cluster(["node-1", "node-2"])
    run(sim, ks, 10.0)
    ks["node-1"].alive = False
    from actors.api import errors
    from actors.api.resources import RESOURCES
    failed: list[Action] = []

    def fail(a: Action) -> BaseException | None:
        if a.verb == "update_status" and a.resource == "nodes" and not failed:
            failed.append(a)
            return errors.conflict(RESOURCES["nodes"], a.name)
        return None
    sim.cluster.fail = fail
    run(sim, ks, 70.0)
    assert failed and cond(sim)["status"] == "Unknown"
    # the event rides on the write that succeeded; pods would be marked after it
    assert sim.cluster.event_messages("NodeNotReady") == [
        "Node node-1 status is now: NodeNotReady"]


def test_chained_resource_version_guards_a_later_taint_patch() -> None:
    ex = Execution("x", "k", [
        Action("update_status", "nodes", "", "n", {"metadata": {"resourceVersion": "5"}}),
        Action("patch", "nodes", "", "n", options={
            "patch": {"metadata": {"resourceVersion": "5"}, "spec": {"taints": None}},
            "patch_type": "merge"})], Result())
    step = ex.next_step()
    assert step is not None
    ex.record(step[0], {"metadata": {"resourceVersion": "9"}}, None)
    step = ex.next_step()
    assert step is not None
    assert step[0].options["patch"]["metadata"]["resourceVersion"] == "9"


def test_kubemu_get_nodes_shows_not_ready() -> None:
    from actors.api.printers import node_status
    sim, ks = cluster(["node-1", "node-2"])
    run(sim, ks, 10.0)
    ks["node-1"].alive = False
    run(sim, ks, 70.0)
    assert node_status(node(sim)) == "NotReady"
    assert node_status(node(sim, "node-2")) == "Ready"
