"""The pure scheduler loop: informer events in, binds / events / status patches out."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.common.clock import FakeClock, rfc3339
from actors.scheduler.events import (ApiCall, pod_scheduled_false_patch, truncate_message,
                                     update_pod_condition, EventRecorder)
from actors.scheduler.queue import ACTIVE_Q, BACKOFF_Q, UNSCHEDULABLE_Q
from actors.scheduler.scheduler import Scheduler

from .builders import make_node, make_pod


def node(name: str, cpu: str = "2") -> dict[str, Any]:
    return make_node().name(name).cap(cpu=cpu, memory="4Gi", pods=110).obj()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def sched(clock: FakeClock) -> Scheduler:
    return Scheduler(clock, random.Random(1))


def bound(pod: dict[str, Any], node_name: str) -> dict[str, Any]:
    new = make_pod().name(pod["metadata"]["name"]).obj()
    new["spec"] = dict(pod["spec"], nodeName=node_name)
    new["metadata"]["resourceVersion"] = "2"
    return new


def test_schedule_bind_confirm(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("node-1"))
    pod = make_pod().name("web-abc").req(cpu="500m").obj()
    sched.on_pod_add(pod)
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None and cycle.calls == []
    b = cycle.bind
    assert (b.namespace, b.name, b.node) == ("default", "web-abc", "node-1")
    assert sched.cache.is_assumed_pod(pod)
    calls = sched.bind_succeeded(b)
    assert len(calls) == 1 and calls[0].verb == "create"
    ev = calls[0].body
    assert (ev["type"], ev["reason"], ev["message"]) == \
        ("Normal", "Scheduled", "Successfully assigned default/web-abc to node-1")
    assert ev["source"] == {"component": "default-scheduler"} and ev["count"] == 1
    assert ev["involvedObject"]["name"] == "web-abc" and ev["involvedObject"]["kind"] == "Pod"
    assert ev["firstTimestamp"] == ev["lastTimestamp"] == rfc3339(clock.now())
    assert ev["metadata"]["name"].startswith("web-abc.")
    # the informer then reports the pod bound: confirmed, out of the queue
    sched.on_pod_update(pod, bound(pod, "node-1"))
    assert not sched.cache.is_assumed_pod(pod) and sched.cache.pod_count() == 1
    assert sched.pending == {} and len(sched.queue) == 0
    assert sched.status()["scheduled"] == 1
    assert sched.schedule_next() is None


def test_assumed_resources_count_for_the_next_cycle(sched: Scheduler) -> None:
    sched.on_node_add(node("n1", cpu="1"))
    sched.on_node_add(node("n2", cpu="1"))
    for n in ("a", "b"):
        sched.on_pod_add(make_pod().name(n).req(cpu="700m").obj())
    first, second = sched.schedule_next(), sched.schedule_next()
    assert first is not None and first.bind is not None and second is not None and second.bind is not None
    assert {first.bind.node, second.bind.node} == {"n1", "n2"}


def test_unschedulable_pod(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("n1", cpu="1"))
    pod = make_pod().name("big").req(cpu="2").obj()
    sched.on_pod_add(pod)
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is None
    msg = ("0/1 nodes are available: 1 Insufficient cpu. "
           "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
    assert cycle.message == msg
    event, patch = cycle.calls
    assert (event.verb, event.resource, event.body["type"], event.body["reason"], event.body["message"]) == \
        ("create", "events", "Warning", "FailedScheduling", msg)
    assert (patch.verb, patch.resource, patch.name, patch.subresource) == ("patch", "pods", "big", "status")
    assert patch.body == {"status": {"conditions": [
        {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "reason": "Unschedulable",
         "message": msg, "lastTransitionTime": rfc3339(clock.now())}]}}
    got = sched.queue.get(pod)
    assert got is not None and got[0] == UNSCHEDULABLE_Q
    assert got[1].unschedulable_plugins == {"NodeResourcesFit"}


def test_repeated_failure_counts_the_event_and_keeps_the_condition(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("n1", cpu="1"))
    pod = make_pod().name("big").req(cpu="2").obj()
    sched.on_pod_add(pod)
    first = sched.schedule_next()
    assert first is not None
    # the apiserver applied the status patch; the informer reports it
    with_cond = make_pod().name("big").req(cpu="2").obj()
    with_cond["status"]["conditions"] = first.calls[1].body["status"]["conditions"]
    sched.on_pod_update(pod, with_cond)
    clock.advance(301)
    sched.tick()  # the 5-minute flush
    second = sched.schedule_next()
    assert second is not None and len(second.calls) == 1
    ev = second.calls[0]
    assert ev.verb == "patch" and ev.name == first.calls[0].name
    assert ev.body == {"count": 2, "lastTimestamp": rfc3339(clock.now()), "message": second.message}


def test_node_add_moves_the_pod(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("small", cpu="1"))
    pod = make_pod().name("p").req(cpu="2").obj()
    sched.on_pod_add(pod)
    assert sched.schedule_next() is not None
    sched.on_node_add(make_node().name("tiny").cap(cpu="100m", memory="1Gi", pods=10).obj())
    got = sched.queue.get(pod)
    assert got is not None and got[0] == UNSCHEDULABLE_Q  # pre-check: it cannot fit there
    sched.on_node_add(node("big", cpu="4"))
    got = sched.queue.get(pod)
    assert got is not None and got[0] == BACKOFF_Q
    clock.advance(1)
    sched.tick()
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None and cycle.bind.node == "big"


def test_node_heartbeat_does_not_move_but_relabel_does(sched: Scheduler, clock: FakeClock) -> None:
    old = make_node().name("n1").cap(cpu="4", memory="4Gi", pods=10).condition("Ready", "True", "t1").obj()
    sched.on_node_add(old)
    pod = make_pod().name("p").node_selector(disk="ssd").obj()
    sched.on_pod_add(pod)
    assert sched.schedule_next() is not None
    clock.advance(5)
    beat = make_node().name("n1").cap(cpu="4", memory="4Gi", pods=10).condition("Ready", "True", "t2").obj()
    sched.on_node_update(old, beat)
    assert sched.queue.get(pod) is not None and sched.queue.get(pod)[0] == UNSCHEDULABLE_Q  # type: ignore[index]
    labeled = make_node().name("n1").cap(cpu="4", memory="4Gi", pods=10).label("disk", "ssd").obj()
    sched.on_node_update(beat, labeled)
    assert sched.queue.get(pod)[0] == ACTIVE_Q  # type: ignore[index]


def test_assigned_pod_delete_moves_pods(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("n1", cpu="1"))
    running = make_pod().name("running").req(cpu="1").node("n1").obj()
    sched.on_pod_add(running)
    pod = make_pod().name("p").req(cpu="1").obj()
    sched.on_pod_add(pod)
    assert sched.schedule_next() is not None
    clock.advance(2)
    sched.on_pod_delete(running)
    assert sched.queue.get(pod)[0] == ACTIVE_Q  # type: ignore[index]
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None


def test_terminal_pod_frees_its_node(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("n1", cpu="1"))
    job = make_pod().name("job").req(cpu="1").node("n1").obj()
    sched.on_pod_add(job)
    sched.on_pod_update(job, make_pod().name("job").req(cpu="1").node("n1").phase("Succeeded").obj())
    assert sched.cache.pod_count() == 0
    sched.on_pod_add(make_pod().name("p").req(cpu="1").obj())
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None


def test_bind_failure(sched: Scheduler, clock: FakeClock) -> None:
    sched.on_node_add(node("n1"))
    pod = make_pod().name("p").req(cpu="1").obj()
    sched.on_pod_add(pod)
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None
    calls = sched.bind_failed(cycle.bind, 'pods "p" not found')
    assert not sched.cache.is_assumed_pod(pod) and sched.cache.pod_count() == 0
    msg = 'running Bind plugin "DefaultBinder": pods "p" not found'
    assert calls[0].body["message"] == msg
    assert calls[1].body["status"]["conditions"][0]["reason"] == "SchedulerError"
    assert sched.queue.get(pod)[0] == BACKOFF_Q  # type: ignore[index]
    clock.advance(1)
    sched.tick()
    again = sched.schedule_next()
    assert again is not None and again.bind is not None and again.bind.node == "n1"


def test_failure_of_a_deleted_pod_is_not_requeued(sched: Scheduler) -> None:
    sched.on_node_add(node("n1", cpu="1"))
    pod = make_pod().name("p").req(cpu="2").obj()
    sched.on_pod_add(pod)
    info = sched.queue.pop()
    assert info is not None
    sched.on_pod_delete(pod)
    calls = sched._handle_failure(info, sched.queue.scheduling_cycle, True, "x")
    assert len(sched.queue) == 0 and [c.resource for c in calls] == ["events"]


@pytest.mark.parametrize("pod,queued,cached", [
    pytest.param(make_pod().name("p").obj(), True, False, id="pending-ours"),
    pytest.param(make_pod().name("p").scheduler("other").obj(), False, False, id="other-scheduler"),
    pytest.param(make_pod().name("p").scheduler("other").node("n1").obj(), False, True,
                 id="assigned-by-anyone-is-cached"),
    pytest.param(make_pod().name("p").node("n1").phase("Failed").obj(), False, False, id="terminal"),
])
def test_informer_routing(sched: Scheduler, pod: dict[str, Any], queued: bool, cached: bool) -> None:
    sched.on_node_add(node("n1"))
    sched.on_pod_add(pod)
    assert (len(sched.queue) == 1, sched.cache.pod_count() == 1) == (queued, cached)


def test_terminating_pod_is_skipped(sched: Scheduler) -> None:
    sched.on_node_add(node("n1"))
    sched.on_pod_add(make_pod().name("p").terminating().obj())
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is None
    assert cycle.calls[0].body["message"] == "skip schedule deleting pod: default/p"
    assert len(sched.queue) == 0


def test_no_nodes(sched: Scheduler) -> None:
    sched.on_pod_add(make_pod().name("p").obj())
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.message == "no nodes available to schedule pods"
    assert cycle.calls[1].body["status"]["conditions"][0]["reason"] == "Unschedulable"


# ---- events.py --------------------------------------------------------------------------------

def test_update_pod_condition() -> None:
    base = {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "reason": "Unschedulable",
            "message": "m1"}
    conds, changed = update_pod_condition([], base, 100.0)
    assert changed and conds[0]["lastTransitionTime"] == rfc3339(100.0)
    same, changed = update_pod_condition(conds, base, 200.0)
    assert not changed and same == conds
    other, changed = update_pod_condition(conds, dict(base, message="m2"), 200.0)
    assert changed and other[0]["message"] == "m2"
    assert other[0]["lastTransitionTime"] == rfc3339(100.0)  # status did not flip
    flipped, changed = update_pod_condition(conds, dict(base, status="True"), 300.0)
    assert changed and flipped[0]["lastTransitionTime"] == rfc3339(300.0)
    pod = make_pod().obj()
    pod["status"]["conditions"] = conds
    assert pod_scheduled_false_patch(pod, "Unschedulable", "m1", 400.0) is None


def test_truncate_message() -> None:
    assert truncate_message("x" * 1024) == "x" * 1024
    t = truncate_message("x" * 2000)
    assert len(t) == 1024 and t.endswith(" ...")


def test_event_recorder_distinguishes_messages() -> None:
    r = EventRecorder("default-scheduler")
    pod = make_pod().name("p").obj()
    a = r.event(pod, "Warning", "FailedScheduling", "m1", 1.0)
    b = r.event(pod, "Warning", "FailedScheduling", "m2", 2.0)
    c = r.event(pod, "Warning", "FailedScheduling", "m1", 3.0)
    assert [x.verb for x in (a, b, c)] == ["create", "create", "patch"]
    assert c.name == a.name and c.body["count"] == 2
    r.forget(a)
    assert r.event(pod, "Warning", "FailedScheduling", "m1", 4.0).verb == "create"
    assert isinstance(a, ApiCall) and a.body["metadata"]["name"] == f"p.{int(1e9):x}"
