"""The shared controller loop: rate limiters, workqueue, action execution, runner."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.api import errors
from actors.common.clock import FakeClock
from actors.controllers.loop import (Action, BaseController, BucketRateLimiter, EventSpec,
                                     Execution, ItemExponentialFailureRateLimiter, Result, Runner,
                                     Skipped, View, WatchEvent, WorkQueue, build_controllers)

T0 = 1_700_000_000.0


def test_exponential_backoff_5ms_doubling_capped_at_1000s() -> None:
    rl = ItemExponentialFailureRateLimiter()
    delays = [rl.when("k", T0) for _ in range(20)]
    assert delays[:5] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert delays[17] == pytest.approx(655.36)
    assert delays[18] == 1000.0 and delays[19] == 1000.0
    assert rl.num_requeues("k") == 20
    rl.forget("k")
    assert rl.when("k", T0) == 0.005
    assert rl.when("other", T0) == 0.005  # per item


def test_bucket_allows_a_burst_of_100_then_10_per_second() -> None:
    b = BucketRateLimiter()
    assert [b.when(i, T0) for i in range(100)] == [0.0] * 100
    assert b.when("x", T0) == pytest.approx(0.1)
    assert b.when("y", T0) == pytest.approx(0.2)
    assert b.when("z", T0 + 10) == 0.0  # refilled


def test_workqueue_dedups_and_never_hands_out_a_key_twice() -> None:
    q = WorkQueue()
    q.add("a"); q.add("b"); q.add("a")
    assert len(q) == 2
    assert q.get(T0) == "a"
    q.add("a")  # while processing: remembered, not queued
    assert q.get(T0) == "b"
    assert q.get(T0) is None
    q.done("a")
    assert q.get(T0) == "a"


@pytest.mark.parametrize("adds,expect_at", [
    pytest.param([5.0], 5.0, id="single-delay"),
    pytest.param([5.0, 2.0], 2.0, id="earlier-deadline-wins"),
    pytest.param([2.0, 5.0], 2.0, id="later-deadline-ignored"),
])
def test_workqueue_add_after(adds: list[float], expect_at: float) -> None:
    q = WorkQueue()
    for d in adds:
        q.add_after("k", d, T0)
    assert q.get(T0) is None
    assert q.next_deadline(T0) == T0 + expect_at
    assert q.get(T0 + expect_at) == "k"
    q.done("k")
    assert q.get(T0 + 100) is None  # fired once


def _err(code: int) -> errors.APIError:
    return errors.APIError({"code": code, "message": f"boom {code}"})


def test_execution_batches_stop_on_error_and_always() -> None:
    acts = [Action("create", "pods", "ns", "a", {}, batch=0),
            Action("create", "pods", "ns", "b", {}, batch=1),
            Action("create", "pods", "ns", "c", {}, batch=1),
            Action("create", "pods", "ns", "d", {}, batch=2),
            Action("update_status", "replicasets", "ns", "rs", {"metadata": {}}, always=True)]
    ex = Execution("c", "k", acts, Result())
    steps = []
    while (step := ex.next_step()) is not None:
        steps.append([a.name for a in step])
        for a in step:
            ex.record(a, None, _err(500) if a.name == "c" else None)
    assert steps == [["a"], ["b", "c"], ["rs"]]
    outcome = {a.name: e for a, e, _ in ex.outcomes}
    assert isinstance(outcome["d"], Skipped)
    assert outcome["rs"] is None and ex.failed


def test_execution_tolerates_codes_and_chains_resource_versions() -> None:
    body = {"metadata": {"name": "d", "resourceVersion": "5"}}
    acts = [Action("delete", "pods", "ns", "gone", tolerate=(404,)),
            Action("update_status", "deployments", "ns", "d", body),
            Action("update_status", "deployments", "ns", "d", body)]
    ex = Execution("c", "k", acts, Result())
    seen_rv = []
    while (step := ex.next_step()) is not None:
        for a in step:
            if a.verb == "delete":
                ex.record(a, None, _err(404))
            else:
                seen_rv.append(a.body["metadata"]["resourceVersion"])  # type: ignore[index]
                ex.record(a, {"metadata": {"resourceVersion": str(6 + len(seen_rv))}}, None)
    assert not ex.failed
    assert seen_rv == ["5", "7"]  # the second write carries the RV the first returned


class _Counter(BaseController):
    """Fails its first `fails` reconciles, then asks to be requeued after `after`."""
    name = "counter"
    watches: tuple[str, ...] = ("pods",)

    def __init__(self, fails: int, after: float | None = None) -> None:
        self.fails = fails
        self.after = after
        self.calls: list[float] = []

    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        return [(ev.obj["metadata"]["name"], 0.0)]

    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        self.calls.append(now)
        ev = EventSpec("Normal", "Tick", f"tick {key}", {"name": key})
        if len(self.calls) <= self.fails:
            return [Action("create", "pods", "ns", "x", {}, event=ev,
                           failure_event=EventSpec("Warning", "Fail", "failed: {error}",
                                                   {"name": key}))], Result()
        return [Action("event", "pods", "ns", key, event=ev)], Result(requeue_after=self.after)


class _NoView:
    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def list(self, resource: str, namespace: str | None = None,
             selector: Any = None) -> list[dict[str, Any]]:
        return []


def test_runner_retries_failures_with_backoff_then_requeues_after() -> None:
    clock = FakeClock(T0)
    c = _Counter(fails=3, after=30.0)
    recorded: list[tuple[str, str]] = []
    r = Runner([c], _NoView(), random.Random(0),
               recorder=lambda ctrl, spec, now: recorded.append((spec.reason, spec.message)))
    r.handle(WatchEvent("ADDED", "pods", {"metadata": {"name": "p"}}), clock.now())

    def execute(a: Action) -> dict[str, Any] | None:
        raise _err(500)
    r.run_until_idle(execute, clock, advance=True, until=T0 + 100)
    gaps = [round(b - a, 3) for a, b in zip(c.calls, c.calls[1:])]
    assert gaps[:4] == [0.005, 0.01, 0.02, 30.0]  # backoff, then forget + requeue_after
    assert recorded[:2] == [("Fail", "failed: boom 500"), ("Fail", "failed: boom 500")]
    assert ("Tick", "tick p") in recorded
    assert r.stats["counter"].errors == 3


def test_registry_builds_controllers_by_name() -> None:
    cs = build_controllers(["replicaset", "deployment", "garbagecollector"])
    assert [c.name for c in cs] == ["replicaset", "deployment", "garbagecollector"]
    with pytest.raises(KeyError):
        build_controllers(["nope"])
