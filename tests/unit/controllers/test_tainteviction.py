"""Taint eviction (the NoExecute taint manager): who is evicted when, cancellation,
events and the graceful delete — on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from actors.common.clock import rfc3339
from actors.controllers import tainteviction as te

from .fakes import T0, KubeletSim, Sim, make_lease, make_node, make_pod, run_for

Obj = dict[str, Any]
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def tol(key: str | None = UNREACHABLE, seconds: int | None = 300, effect: str = "NoExecute",
        operator: str = "Exists") -> Obj:
    t: Obj = {"operator": operator, "effect": effect}
    if key is not None:
        t["key"] = key
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


DEFAULTS = [tol(NOT_READY, 300), tol(UNREACHABLE, 300)]  # DefaultTolerationSeconds


def taint(key: str = UNREACHABLE, at: float = T0, effect: str = "NoExecute",
          value: str | None = None) -> Obj:
    t: Obj = {"key": key, "effect": effect, "timeAdded": rfc3339(at)}
    if value is not None:
        t["value"] = value
    return t


def world(tolerations: list[Obj] | None, time_scale: float = 1.0,
          node: str = "node-1") -> Sim:
    sim = Sim(("tainteviction",), config={"time_scale": time_scale})
    sim.cluster.graceful_pods = True  # deletes only start the graceful termination
    sim.cluster.add("nodes", make_node("node-1"))
    p = make_pod("web-abc", node=node, phase="Running", ready=True)
    if tolerations is not None:
        p["spec"]["tolerations"] = tolerations
    sim.cluster.add("pods", p)
    sim.settle()
    return sim


def set_taints(sim: Sim, taints: list[Obj]) -> None:
    n = sim.get("nodes", "node-1", "") or {}
    n["spec"]["taints"] = taints
    sim.cluster.update("nodes", n)


def deleting(sim: Sim, name: str = "web-abc") -> bool:
    p = sim.get("pods", name)
    return p is None or bool(p["metadata"].get("deletionTimestamp"))


def advance(sim: Sim, until: float) -> None:
    sim.settle(advance=True, until=T0 + until)


@pytest.mark.parametrize("tolerations,taints,time_scale,evicted_at", [
    pytest.param([], [taint()], 1.0, 0.0, id="no-toleration-at-once"),
    pytest.param(DEFAULTS, [taint()], 1.0, 300.0, id="default-300s"),
    pytest.param(DEFAULTS, [taint()], 0.1, 30.0, id="default-300s-time-scale-0.1"),
    pytest.param([tol(UNREACHABLE, None)], [taint()], 1.0, None, id="tolerates-forever"),
    pytest.param([tol(UNREACHABLE, 0)], [taint()], 1.0, 0.0, id="zero-seconds-at-once"),
    pytest.param([tol(UNREACHABLE, -5)], [taint()], 1.0, 0.0, id="negative-seconds-at-once"),
    pytest.param([tol(None, 60)], [taint(), taint("custom")], 1.0, 60.0,
                 id="wildcard-toleration-60s"),
    pytest.param([tol(NOT_READY, 100), tol(UNREACHABLE, 300)],
                 [taint(NOT_READY), taint(UNREACHABLE)], 1.0, 100.0, id="least-of-the-used"),
    pytest.param([tol(UNREACHABLE, None), tol(NOT_READY, 50)],
                 [taint(UNREACHABLE)], 1.0, None, id="unused-toleration-does-not-count"),
    pytest.param(DEFAULTS, [taint(), taint("dedicated", value="infra")], 1.0, 0.0,
                 id="one-untolerated-taint-at-once"),
    pytest.param([], [taint(effect="NoSchedule")], 1.0, None, id="noschedule-never-evicts"),
    # the eviction clock starts at the taint's timeAdded (here 100 s before we look)
    pytest.param(DEFAULTS, [taint(at=T0 - 100)], 1.0, 200.0, id="counted-from-time-added"),
])
def test_eviction_time(tolerations: list[Obj], taints: list[Obj], time_scale: float,
                       evicted_at: float | None) -> None:
    sim = world(tolerations, time_scale)
    set_taints(sim, taints)
    sim.settle()
    if evicted_at is None:
        advance(sim, 10_000.0)
        assert not deleting(sim)
        assert sim.cluster.event_messages("TaintManagerEviction") == []
        return
    if evicted_at > 0:
        advance(sim, evicted_at - 0.01)
        assert not deleting(sim), "not before"
    advance(sim, evicted_at)
    assert deleting(sim)
    p = sim.get("pods", "web-abc") or {}
    # a normal graceful delete, with the DisruptionTarget condition set first
    assert p["metadata"]["deletionTimestamp"] == rfc3339(T0 + evicted_at)
    dt = [c for c in p["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert dt and (dt[0]["status"], dt[0]["reason"], dt[0]["message"]) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    assert sim.cluster.event_messages("TaintManagerEviction") == [
        "Marking for deletion Pod default/web-abc"]
    deletes = [a for a in sim.cluster.log if a.verb == "delete"]
    assert len(deletes) == 1 and "grace_period_seconds" not in deletes[0].options
    advance(sim, evicted_at + 1000.0)
    assert len([a for a in sim.cluster.log if a.verb == "delete"]) == 1  # once


def test_taint_removed_before_the_deadline_cancels_the_eviction() -> None:
    sim = world(DEFAULTS)
    set_taints(sim, [taint()])
    advance(sim, 200.0)
    set_taints(sim, [])
    advance(sim, 1000.0)
    assert not deleting(sim)
    assert sim.cluster.event_messages("TaintManagerEviction") == [
        "Cancelling deletion of Pod default/web-abc"]
    # tainted again later: a fresh 300 s from the new taint
    set_taints(sim, [taint(at=T0 + 1000.0)])
    advance(sim, 1299.0)
    assert not deleting(sim)
    advance(sim, 1300.0)
    assert deleting(sim)


def test_swapping_not_ready_for_unreachable_keeps_the_clock() -> None:
    sim = world(DEFAULTS)
    set_taints(sim, [taint(NOT_READY)])
    advance(sim, 100.0)
    set_taints(sim, [taint(UNREACHABLE, at=T0 + 100.0)])
    advance(sim, 299.0)
    assert not deleting(sim)
    advance(sim, 300.0)
    assert deleting(sim)


def test_pod_deleted_while_scheduled_cancels_with_an_event() -> None:
    sim = world(DEFAULTS)
    set_taints(sim, [taint()])
    advance(sim, 10.0)
    sim.cluster.graceful_pods = False
    sim.cluster.delete("pods", "default", "web-abc")
    advance(sim, 400.0)
    assert sim.cluster.event_messages("TaintManagerEviction") == [
        "Cancelling deletion of Pod default/web-abc"]
    assert [a for a in sim.cluster.log if a.verb == "delete"] == []


def test_unbound_pods_and_terminating_pods_are_left_alone() -> None:
    sim = world([], node="")
    set_taints(sim, [taint()])
    sim.cluster.add("pods", make_pod("going", node="node-1", deleting=True))
    advance(sim, 100.0)
    assert not deleting(sim) and sim.cluster.log == []


def test_a_pod_landing_on_a_tainted_node_is_evicted() -> None:
    sim = world(DEFAULTS)
    set_taints(sim, [taint()])
    p = make_pod("late", node="node-1", phase="Running")
    p["spec"]["tolerations"] = DEFAULTS
    sim.cluster.add("pods", p)
    advance(sim, 299.0)
    assert not deleting(sim, "late")
    advance(sim, 300.0)
    assert deleting(sim, "late") and deleting(sim, "web-abc")


def test_pod_decision_table() -> None:
    pod = make_pod("p", node="n")
    pod["spec"]["tolerations"] = [tol(UNREACHABLE, 30)]
    assert te.pod_decision(pod, []) == ("cancel", None)
    assert te.pod_decision(pod, [taint()]) == ("after", 30.0)
    assert te.pod_decision(pod, [taint(NOT_READY)]) == ("now", 0.0)
    assert te.eviction_start([taint(at=T0 + 5), taint(at=T0 + 2)], T0 + 10) == T0 + 2
    assert te.eviction_start([{"key": "x", "effect": "NoExecute"}], T0 + 10) == T0 + 10
    assert te.eviction_start([taint(at=T0 + 10)], T0 + 10.7) == T0 + 10.7  # truncated


def test_dead_node_end_to_end_replacement_after_toleration() -> None:
    """Node lifecycle + taint eviction + ReplicaSet: a kubelet dies; its node goes
    Unknown after the grace period, gets the unreachable taint, its pod is evicted 300 s
    later (scaled) and the ReplicaSet makes a replacement."""
    from .fakes import make_rs
    sim = Sim(("nodelifecycle", "tainteviction", "replicaset"), config={"time_scale": 0.1})
    sim.cluster.graceful_pods = True
    ks = []
    for n in ("node-1", "node-2"):
        sim.cluster.add("nodes", make_node(n, zone="a"))
        sim.cluster.add("leases", make_lease(n))
        k = KubeletSim(sim, n)
        k.lease_every = k.update_every = 1.0
        ks.append(k)
    rs = make_rs(replicas=1)
    rs["spec"]["template"]["spec"]["tolerations"] = DEFAULTS
    sim.cluster.add("replicasets", rs)
    sim.settle()
    (pod,) = sim.objs("pods")
    bound = sim.get("pods", pod["metadata"]["name"]) or {}
    bound["spec"]["nodeName"] = "node-1"  # the scheduler's binding
    sim.cluster.set_pod_status(sim.cluster.update("pods", bound), node=None)
    run_for(sim, ks, T0 + 5.0)
    ks[0].alive = False
    run_for(sim, ks, T0 + 60.0)
    n1 = sim.get("nodes", "node-1", "") or {}
    ut = [t for t in n1["spec"]["taints"] if t["effect"] == "NoExecute"]
    assert ut and ut[0]["key"] == UNREACHABLE
    from actors.common.clock import parse_time
    tainted_at = parse_time(ut[0]["timeAdded"])
    evicted = sim.get("pods", pod["metadata"]["name"]) or {}
    assert evicted["metadata"]["deletionTimestamp"] == rfc3339(tainted_at + 30.0)
    pods = sim.objs("pods")
    assert len(pods) == 2  # the evicted one stays Terminating (its kubelet is gone)
    assert sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")) == 1
