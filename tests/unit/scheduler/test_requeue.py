"""Requeueing by plugin events (EnqueueExtensions): an unschedulable pod moves only on
a cluster event one of the plugins that rejected it registered."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.common.clock import FakeClock
from actors.scheduler.framework import (NODE, POD, ActionType, ClusterEvent, CycleState, Framework, NodeInfo,
                                        Pod, Status, plugin_events)
from actors.scheduler.queue import (ASSIGNED_POD_DELETE, NODE_ADD, UNSCHEDULABLE_Q, SchedulingQueue,
                                    node_update_event)
from actors.scheduler.registry import default_profile
from actors.scheduler.scheduler import Scheduler

from .builders import make_node, make_pod, sel


def queue_with_default_profile(clock: FakeClock) -> SchedulingQueue:
    q = SchedulingQueue(clock)
    fwk = default_profile()
    q.register_profile_events("default-scheduler", {p.name: plugin_events(p) for p in fwk.plugins})
    return q


def unschedulable(q: SchedulingQueue, name: str, plugins: set[str], scheduler: str = "default-scheduler") -> Any:
    pod = make_pod().name(name).scheduler(scheduler).obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    pi.unschedulable_plugins = set(plugins)
    assert q.add_unschedulable_if_not_present(pi, q.scheduling_cycle) is None
    return pod


LABEL = node_update_event(["UpdateNodeLabel"])
TAINT = node_update_event(["UpdateNodeTaint"])
ALLOCATABLE = node_update_event(["UpdateNodeAllocatable"])
CONDITION = node_update_event(["UpdateNodeCondition"])


@pytest.mark.parametrize("plugins,event,moves", [
    pytest.param({"NodeResourcesFit"}, NODE_ADD, True, id="fit-node-add"),
    pytest.param({"NodeResourcesFit"}, ALLOCATABLE, True, id="fit-allocatable"),
    pytest.param({"NodeResourcesFit"}, ASSIGNED_POD_DELETE, True, id="fit-pod-delete"),
    pytest.param({"NodeResourcesFit"}, LABEL, False, id="fit-not-label"),
    pytest.param({"NodeResourcesFit"}, TAINT, False, id="fit-not-taint"),
    pytest.param({"TaintToleration"}, TAINT, True, id="taint-taint"),
    pytest.param({"TaintToleration"}, ASSIGNED_POD_DELETE, False, id="taint-not-pod-delete"),
    pytest.param({"NodeAffinity"}, LABEL, True, id="affinity-label"),
    pytest.param({"NodeAffinity"}, TAINT, False, id="affinity-not-taint"),
    pytest.param({"NodePorts"}, ASSIGNED_POD_DELETE, True, id="ports-pod-delete"),
    pytest.param({"NodePorts"}, ALLOCATABLE, False, id="ports-not-allocatable"),
    pytest.param({"NodeUnschedulable"}, TAINT, True, id="uncordon-is-a-taint-change"),
    pytest.param({"NodeUnschedulable"}, CONDITION, False, id="unschedulable-not-condition"),
    pytest.param({"NodeAffinity", "NodeResourcesFit"}, ALLOCATABLE, True, id="either-rejector"),
    pytest.param({"NodeAffinity", "NodeResourcesFit"}, node_update_event(["UpdateNodeLabel", "UpdateNodeTaint"]),
                 True, id="several-changes-at-once"),
    pytest.param({"NodeResourcesFit"}, "UnschedulableTimeout", True, id="timeout-is-a-wildcard"),
    pytest.param({"NodeResourcesFit"}, "SomeLabelNobodyKnows", True, id="unknown-label-is-a-wildcard"),
])
def test_move_by_registered_events(plugins: set[str], event: Any, moves: bool) -> None:
    q = queue_with_default_profile(FakeClock())
    pod = unschedulable(q, "p", plugins)
    assert q.move_all_to_active_or_backoff_queue(event) == int(moves)
    assert (q.get(pod)[0] != UNSCHEDULABLE_Q) is moves  # type: ignore[index]


def test_pods_of_an_unknown_profile_move_on_anything() -> None:
    q = queue_with_default_profile(FakeClock())
    unschedulable(q, "p", {"NodeResourcesFit"}, scheduler="other")
    assert q.move_all_to_active_or_backoff_queue(LABEL) == 1


class _NoEvents:
    """A filter plugin without events_to_register."""

    name = "NoEvents"

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        return Status()


class _OnlyPodAdd:
    name = "OnlyPodAdd"

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        return Status()

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(POD, ActionType.ADD)]


def test_plugin_without_enqueue_extensions_gets_every_event() -> None:
    fwk = Framework("p", [(_NoEvents(), 0), (_OnlyPodAdd(), 0)])
    q = SchedulingQueue(FakeClock())
    q.register_profile_events("default-scheduler", {p.name: plugin_events(p) for p in fwk.plugins})
    unschedulable(q, "a", {"NoEvents"})
    unschedulable(q, "b", {"OnlyPodAdd"})
    assert q.move_all_to_active_or_backoff_queue(CONDITION) == 1  # a
    assert q.lengths()["unschedulable"] == 1
    assert q.move_all_to_active_or_backoff_queue(ClusterEvent(POD, ActionType.ADD, "AssignedPodAdd")) == 1


def test_cluster_event_match() -> None:
    registered = ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT)
    assert registered.match(ClusterEvent(NODE, ActionType.UPDATE_NODE_TAINT | ActionType.UPDATE_NODE_LABEL))
    assert not registered.match(ClusterEvent(NODE, ActionType.UPDATE_NODE_LABEL))
    assert not registered.match(ClusterEvent(POD, ActionType.ADD))
    assert ClusterEvent("*", ActionType.ALL).match(ClusterEvent(POD, ActionType.DELETE))


# ---- through the scheduler's informer handlers ----------------------------------------------


def node(cpu: str = "1", **labels: str) -> dict[str, Any]:
    b = make_node().name("n1").cap(cpu=cpu, memory="4Gi", pods=110)
    for k, v in labels.items():
        b.label(k, v)
    return b.obj()


def test_node_changes_move_only_the_pods_they_can_help() -> None:
    clock = FakeClock()
    sched = Scheduler(clock, random.Random(0))
    n = node()
    sched.on_node_add(n)
    cpu_pod = make_pod().name("cpu").req(cpu="2").obj()
    ssd_pod = make_pod().name("ssd").node_selector(disk="ssd").obj()
    for p in (cpu_pod, ssd_pod):
        sched.on_pod_add(p)
        cycle = sched.schedule_next()
        assert cycle is not None and cycle.bind is None
    assert sched.queue.get(cpu_pod)[1].unschedulable_plugins == {"NodeResourcesFit"}  # type: ignore[index]
    clock.advance(60)  # past any backoff

    def where(p: dict[str, Any]) -> str:
        return sched.queue.get(p)[0]  # type: ignore[index]
    relabeled = node(disk="ssd")
    sched.on_node_update(n, relabeled)
    assert (where(cpu_pod), where(ssd_pod)) == ("Unschedulable", "Active")
    bigger = node(cpu="4", disk="ssd")
    sched.on_node_update(relabeled, bigger)
    assert where(cpu_pod) == "Active"


def test_an_assigned_pod_arriving_moves_a_pod_waiting_for_its_affinity_partner() -> None:
    """AssignedPodAdded: a pod whose required pod affinity had no partner waits in
    unschedulablePods until a matching pod lands on a node, then is retried (not after
    the 5-minute flush); a pod waiting for resources does not move on it."""
    clock = FakeClock()
    sched = Scheduler(clock, random.Random(0))
    sched.on_node_add(make_node().name("n1").label("kubernetes.io/hostname", "n1")
                      .cap(cpu="1", memory="4Gi", pods=110).obj())
    web = make_pod().name("web").uid("u-web").pod_affinity(
        "kubernetes.io/hostname", sel(app="db")).obj()
    big = make_pod().name("big").uid("u-big").req(cpu="2").obj()
    for p in (web, big):
        sched.on_pod_add(p)
        cycle = sched.schedule_next()
        assert cycle is not None and cycle.bind is None
    assert sched.queue.get(web)[0] == UNSCHEDULABLE_Q  # type: ignore[index]
    clock.advance(60)  # past any backoff
    db = make_pod().name("db").uid("u-db").label("app", "db").node("n1").obj()
    sched.on_pod_add(db)
    assert sched.queue.get(web)[0] == "Active"  # type: ignore[index]
    assert sched.queue.get(big)[0] == UNSCHEDULABLE_Q  # type: ignore[index]
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None and cycle.bind.node == "n1"
