"""The scheduling queue on a fake clock: ordering, backoff, moves, the 5-minute flush."""

from __future__ import annotations

from typing import Any

import pytest

from actors.common.clock import FakeClock
from actors.scheduler.queue import (ACTIVE_Q, BACKOFF_Q, NODE_ADD, UNSCHEDULABLE_Q, QueuedPodInfo,
                                    SchedulingQueue)

from .builders import make_pod


def names(pods: list[Any]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def where(q: SchedulingQueue, pod: dict[str, Any]) -> str | None:
    got = q.get(pod)
    return got[0] if got else None


def fail(q: SchedulingQueue, pi: QueuedPodInfo, plugins: tuple[str, ...] = ("NodeResourcesFit",),
         cycle: int | None = None) -> None:
    pi.unschedulable_plugins = set(plugins)
    assert q.add_unschedulable_if_not_present(pi, q.scheduling_cycle if cycle is None else cycle) is None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_active_order_priority_then_time_then_fifo(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    q.add(make_pod().name("old-low").obj())
    clock.advance(1)
    q.add(make_pod().name("new-high").priority(100).obj())
    q.add(make_pod().name("new-low-1").obj())
    q.add(make_pod().name("new-low-2").obj())
    q.add(make_pod().name("negative").priority(-5).obj())
    assert names(q.active_pods()) == ["new-high", "old-low", "new-low-1", "new-low-2", "negative"]
    popped = []
    while (pi := q.pop()) is not None:
        popped.append(pi.pod["metadata"]["name"])
        assert pi.attempts == 1
    assert popped == ["new-high", "old-low", "new-low-1", "new-low-2", "negative"]
    assert q.scheduling_cycle == 5
    assert q.pop() is None


def test_failed_pod_orders_by_its_failure_time(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    q.add(make_pod().name("a").obj())
    pi = q.pop()
    assert pi is not None
    clock.advance(5)
    q.add(make_pod().name("b").obj())
    clock.advance(5)
    fail(q, pi, plugins=())  # an error: to backoffQ, timestamp = now
    clock.advance(1)
    q.flush_backoff_completed()
    assert names(q.active_pods()) == ["b", "a"]


@pytest.mark.parametrize("attempts,backoff", [
    pytest.param(0, 0.0, id="never-tried"),
    pytest.param(1, 1.0, id="first"),
    pytest.param(2, 2.0, id="second"),
    pytest.param(3, 4.0, id="third"),
    pytest.param(4, 8.0, id="fourth"),
    pytest.param(5, 10.0, id="capped"),
    pytest.param(50, 10.0, id="still-capped"),
])
def test_backoff_duration(clock: FakeClock, attempts: int, backoff: float) -> None:
    q = SchedulingQueue(clock)
    pi = QueuedPodInfo(pod=make_pod().obj(), key="default/p", timestamp=clock.now(), attempts=attempts)
    assert q.calculate_backoff_duration(pi) == backoff


def test_unschedulable_pod_waits_for_an_event_then_backs_off(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    fail(q, pi)
    assert where(q, pod) == UNSCHEDULABLE_Q
    q.flush_backoff_completed()
    assert where(q, pod) == UNSCHEDULABLE_Q  # no event: stays, whatever the backoff
    clock.advance(0.5)
    assert q.move_all_to_active_or_backoff_queue(NODE_ADD) == 1
    assert where(q, pod) == BACKOFF_Q  # failed 0.5 s ago, backoff 1 s
    clock.advance(0.49)
    assert q.flush_backoff_completed() == 0
    clock.advance(0.01)
    assert q.flush_backoff_completed() == 1
    assert where(q, pod) == ACTIVE_Q


def test_event_after_backoff_expired_goes_straight_to_active(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    fail(q, pi)
    clock.advance(2)
    q.move_all_to_active_or_backoff_queue(NODE_ADD)
    assert where(q, pod) == ACTIVE_Q


def test_backoff_doubles_with_attempts(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").obj()
    q.add(pod)
    waits = []
    for _ in range(6):
        pi = q.pop()
        assert pi is not None
        fail(q, pi, plugins=())  # errors go straight to backoffQ
        start = clock.now()
        while where(q, pod) != ACTIVE_Q:
            clock.advance(0.25)
            q.flush_backoff_completed()
        waits.append(clock.now() - start)
    assert waits == [1, 2, 4, 8, 10, 10]


def test_move_request_during_the_cycle_sends_pod_to_backoff(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    cycle = q.scheduling_cycle
    q.move_all_to_active_or_backoff_queue(NODE_ADD)  # a node arrived while p was being scheduled
    fail(q, pi, cycle=cycle)
    assert where(q, pod) == BACKOFF_Q


def test_five_minute_flush(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    fail(q, pi)
    clock.advance(300)
    assert q.flush_unschedulable_pods_leftover() == 0  # strictly longer than 5 minutes
    assert where(q, pod) == UNSCHEDULABLE_Q
    clock.advance(0.001)
    assert q.flush_unschedulable_pods_leftover() == 1
    assert where(q, pod) == ACTIVE_Q


def test_pre_check_selects_pods_to_move(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    for n in ("big", "small"):
        q.add(make_pod().name(n).obj())
    for _ in range(2):
        pi = q.pop()
        assert pi is not None
        fail(q, pi)
    clock.advance(5)
    moved = q.move_all_to_active_or_backoff_queue(NODE_ADD, lambda p: p["metadata"]["name"] == "small")
    assert moved == 1
    assert names(q.active_pods()) == ["small"] and names(q.unschedulable_pods()) == ["big"]


def test_already_present(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    fail(q, pi)
    assert q.add_unschedulable_if_not_present(pi, q.scheduling_cycle) == \
        "Pod default/p is already present in unschedulable queue"


@pytest.mark.parametrize("change,moves", [
    pytest.param(lambda p: p["metadata"].__setitem__("labels", {"a": "b"}), True, id="labels"),
    pytest.param(lambda p: p["spec"].__setitem__("nodeSelector", {}), True, id="spec"),
    pytest.param(lambda p: p["status"].__setitem__("conditions", [{"type": "PodScheduled"}]), False,
                 id="status-only"),
    pytest.param(lambda p: p["metadata"].__setitem__("resourceVersion", "99"), False, id="resource-version"),
])
def test_update_of_unschedulable_pod(clock: FakeClock, change: Any, moves: bool) -> None:
    q = SchedulingQueue(clock)
    pod = make_pod().name("p").node_selector(disk="ssd").obj()
    q.add(pod)
    pi = q.pop()
    assert pi is not None
    fail(q, pi)
    clock.advance(3)
    new = make_pod().name("p").node_selector(disk="ssd").obj()
    change(new)
    q.update(pod, new)
    assert where(q, new) == (ACTIVE_Q if moves else UNSCHEDULABLE_Q)
    got = q.get(new)
    assert got is not None and got[1].pod is new


def test_update_in_active_keeps_position_and_unknown_pod_is_added(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    a, b = make_pod().name("a").obj(), make_pod().name("b").obj()
    q.add(a)
    q.add(b)
    a2 = make_pod().name("a").label("x", "y").obj()
    q.update(a, a2)
    assert names(q.active_pods()) == ["a", "b"]
    got = q.get(a)
    assert got is not None and got[1].pod is a2
    q.update(None, make_pod().name("c").obj())
    assert names(q.active_pods()) == ["a", "b", "c"]


def test_delete_from_every_queue(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    pods = [make_pod().name(n).obj() for n in ("a", "b", "c")]
    for p in pods:
        q.add(p)
    first, second = q.pop(), q.pop()
    assert first is not None and second is not None
    fail(q, first)
    fail(q, second, plugins=())
    assert [where(q, p) for p in pods] == [UNSCHEDULABLE_Q, BACKOFF_Q, ACTIVE_Q]
    for p in pods:
        q.delete(p)
    assert len(q) == 0 and q.lengths() == {"active": 0, "backoff": 0, "unschedulable": 0}
    clock.advance(20)
    q.flush_backoff_completed()
    assert q.pop() is None


def test_scheduling_gates(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    gated = make_pod().name("g").gates("example.com/wait").obj()
    assert q.add(gated) is False
    assert where(q, gated) == UNSCHEDULABLE_Q
    q.move_all_to_active_or_backoff_queue(NODE_ADD)
    clock.advance(600)
    q.flush_unschedulable_pods_leftover()
    assert where(q, gated) == UNSCHEDULABLE_Q
    ungated = make_pod().name("g").obj()
    q.update(gated, ungated)
    assert where(q, ungated) == ACTIVE_Q


def test_summary(clock: FakeClock) -> None:
    q = SchedulingQueue(clock)
    q.add(make_pod().name("a").obj())
    assert q.pending_pods_summary() == "activeQ:1; backoffQ:0; unschedulablePods:0"
    assert q.next_backoff_expiry() is None
