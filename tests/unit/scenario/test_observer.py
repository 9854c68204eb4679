"""The observer's transition extraction from sequences of object versions."""

from __future__ import annotations

from typing import Any

import pytest

from actors.scenario.observer import Entry, LocalObserver, Observer, Transitions
from tests.unit.scenario.fakes import T0, event, node, pod

UNREACH = "node.kubernetes.io/unreachable"


def feed(tr: Transitions, seq: list[tuple[float, str, Any, str]]) -> list[Entry]:
    """seq: (seconds after T0, resource, object, "seed" | "update" | "delete")."""
    out: list[Entry] = []
    for dt, res, obj, how in seq:
        out.extend(tr.observe(res, obj, T0 + dt, deleted=how == "delete", seed=how == "seed"))
    return out


def kinds(entries: list[Entry], level: str | None = "info") -> list[tuple[str, str]]:
    return [(e.kind, e.subject) for e in entries if level is None or e.level == level]


NODE_DIES = [
    (0, "nodes", node("node-2", rv=1), "seed"),
    (1, "nodes", node("node-2", rv=2), "update"),                                  # heartbeat
    (55, "nodes", node("node-2", "Unknown", reason="NodeStatusUnknown", rv=3), "update"),
    (55.5, "nodes", node("node-2", "Unknown", taints=[(UNREACH, "NoExecute")], rv=4), "update"),
    (120, "nodes", node("node-2", "True", taints=[(UNREACH, "NoExecute")], rv=5), "update"),
    (125, "nodes", node("node-2", "True", rv=6), "update"),
]


@pytest.mark.parametrize("seq,expected", [
    pytest.param(NODE_DIES, [("node-notready", "node/node-2"), ("taint-added", "node/node-2"),
                             ("node-ready", "node/node-2"), ("taint-removed", "node/node-2")],
                 id="node-dies-and-returns"),
    pytest.param([(0, "nodes", node("node-1", rv=1), "seed"),
                  (5, "nodes", node("node-1", "False", rv=2), "update"),
                  (9, "nodes", node("node-1", "Unknown", rv=3), "update")],
                 [("node-notready", "node/node-1"), ("node-condition", "node/node-1")],
                 id="false-then-unknown"),
    pytest.param([(0, "nodes", node("node-1", rv=1), "seed"),
                  (5, "nodes", node("node-1", rv=2, unschedulable=True), "update"),
                  (9, "nodes", node("node-1", rv=3), "update")],
                 [("node-cordoned", "node/node-1"), ("node-uncordoned", "node/node-1")],
                 id="cordon"),
    pytest.param([(3, "nodes", node("node-4", rv=1), "update"),
                  (9, "nodes", node("node-4", rv=2), "delete")],
                 [("node-added", "node/node-4"), ("node-deleted", "node/node-4")],
                 id="node-added-after-start"),
    pytest.param([(0, "pods", pod("web-a", "node-2", rv=1), "seed"),
                  (60, "pods", pod("web-a", "node-2", rv=2, deleting=True, conditions=[
                      {"type": "DisruptionTarget", "status": "True",
                       "reason": "DeletionByTaintManager"}]), "update"),
                  (80, "pods", pod("web-a", "node-2", rv=3, deleting=True), "delete")],
                 [("pod-evicted", "pod/web-a"), ("pod-gone", "pod/web-a")],
                 id="pod-evicted-by-condition"),
    pytest.param([(0, "pods", pod("web-a", "node-2", rv=1), "seed"),
                  (60, "pods", pod("web-a", "node-2", rv=2, deleting=True), "update")],
                 [("pod-deleting", "pod/web-a")], id="pod-deleted-by-someone"),
    pytest.param([(10, "pods", pod("web-d", "", "Pending", rv=1), "update"),
                  (11, "pods", pod("web-d", "node-1", "Pending", rv=2), "update"),
                  (12, "pods", pod("web-d", "node-1", "Running", rv=3), "update"),
                  (13, "pods", pod("web-d", "node-1", "Running", rv=4, ready=True), "update")],
                 [("pod-running", "pod/web-d")], id="replacement-runs"),
    pytest.param([(0, "pods", pod("job", "node-1", rv=1), "seed"),
                  (10, "pods", pod("job", "node-1", "Succeeded", rv=2), "update")],
                 [("pod-finished", "pod/job")], id="pod-finished"),
    pytest.param([(0, "pods", pod("sys", "node-1", rv=1, ns="kube-system"), "seed"),
                  (9, "pods", pod("sys", "node-1", rv=2, ns="kube-system", deleting=True),
                   "update")],
                 [("pod-deleting", "pod/kube-system/sys")], id="namespaced-subject"),
])
def test_transitions(seq: list[Any], expected: list[tuple[str, str]]) -> None:
    tr = Transitions(T0, time_scale=0.1)
    assert kinds(feed(tr, seq)) == expected


def test_debug_entries_for_creation_and_scheduling() -> None:
    tr = Transitions(T0)
    out = feed(tr, [(10, "pods", pod("web-d", "", "Pending", rv=1), "update"),
                    (11, "pods", pod("web-d", "node-1", "Pending", rv=2), "update")])
    assert kinds(out, None) == [("pod-created", "pod/web-d"), ("pod-scheduled", "pod/web-d")]
    assert {e.level for e in out} == {"debug"}


def test_stamps_in_real_and_scenario_time() -> None:
    tr = Transitions(T0, time_scale=0.1)
    out = feed(tr, NODE_DIES)
    e = out[0]
    assert e.kind == "node-notready" and e.t == T0 + 55
    assert e.t_real == pytest.approx(55) and e.t_scenario == pytest.approx(550)
    assert e.text == "node node-2 NotReady: Ready=Unknown (NodeStatusUnknown)"
    d = e.to_dict()
    assert set(d) >= {"t", "t_real", "t_scenario", "kind", "subject", "text", "source", "level"}


def test_seeded_objects_make_no_entries() -> None:
    tr = Transitions(T0)
    out = feed(tr, [(0, "nodes", node("node-1", rv=1), "seed"),
                    (0, "pods", pod("web-a", "node-1", rv=1), "seed"),
                    (0, "events", event("TaintManagerEviction"), "seed")])
    assert out == []
    assert tr.pod_history["uid-web-a"].first_seen <= T0


def test_older_and_repeated_versions_are_ignored() -> None:
    """A watch and a list may deliver versions out of order."""
    tr = Transitions(T0)
    feed(tr, [(0, "nodes", node("node-2", rv=5), "seed")])
    out = feed(tr, [(1, "nodes", node("node-2", "Unknown", rv=7), "update"),
                    (2, "nodes", node("node-2", "True", rv=6), "update"),     # stale
                    (3, "nodes", node("node-2", "Unknown", rv=7), "update")])  # repeated
    assert kinds(out) == [("node-notready", "node/node-2")]


def test_nothing_after_deletion() -> None:
    tr = Transitions(T0)
    out = feed(tr, [(0, "pods", pod("a", "n", rv=1), "seed"),
                    (1, "pods", pod("a", "n", rv=2), "delete"),
                    (2, "pods", pod("a", "n", rv=1), "update")])   # a late list
    assert kinds(out) == [("pod-gone", "pod/a")]
    assert tr.pod_history["uid-a"].gone_at == T0 + 1


def test_eviction_event_after_the_deletion_upgrades_the_entry() -> None:
    tr = Transitions(T0)
    out = feed(tr, [(0, "pods", pod("web-b", "node-2", rv=1), "seed"),
                    (60, "pods", pod("web-b", "node-2", rv=2, deleting=True), "update"),
                    (60.1, "events", event("TaintManagerEviction", name="web-b",
                                           message="Marking for deletion Pod default/web-b"),
                     "update")])
    assert kinds(out) == [("pod-evicted", "pod/web-b"), ("event", "pod/web-b")]
    assert out[0].text == "pod web-b evicted on node-2 (taint manager)"
    assert out[1].text == ("event TaintManagerEviction pod/web-b: Marking for deletion Pod "
                           "default/web-b")


def test_eviction_event_before_the_deletion() -> None:
    tr = Transitions(T0)
    out = feed(tr, [(0, "pods", pod("web-b", "node-2", rv=1), "seed"),
                    (60, "events", event("TaintManagerEviction", name="web-b",
                                         obj_uid="uid-web-b"), "update"),
                    (60.1, "pods", pod("web-b", "node-2", rv=2, deleting=True), "update")])
    assert kinds(out) == [("event", "pod/web-b"), ("pod-evicted", "pod/web-b")]


def test_events_once_and_only_notable_ones() -> None:
    tr = Transitions(T0)
    ev = event("FailedScheduling", name="p")
    bumped = dict(ev, count=2, metadata=dict(ev["metadata"], resourceVersion="9"))
    out = feed(tr, [(1, "events", ev, "update"), (2, "events", bumped, "update"),
                    (3, "events", event("Pulled", name="p"), "update")])
    assert kinds(out, None) == [("event", "pod/p")]
    assert out[0].level == "debug"


def test_history_records_every_pod() -> None:
    tr = Transitions(T0)
    feed(tr, [(0, "pods", pod("a", "node-1", rv=1), "seed"),
              (5, "pods", pod("b", "node-2", rv=1), "update"),
              (6, "pods", pod("b", "node-2", rv=2, deleting=True), "update")])
    h = tr.pod_history
    assert set(h) == {"uid-a", "uid-b"}
    assert h["uid-b"].first_seen == T0 + 5
    assert h["uid-b"].obj["metadata"].get("deletionTimestamp")


def test_local_observer_drains_new_entries_once() -> None:
    t = [T0]
    obs = LocalObserver(Transitions(T0), clock=lambda: t[0])
    assert obs.start() is True
    obs.seed("nodes", [node("node-1", rv=1)])
    t[0] = T0 + 3
    obs.sync("nodes", [node("node-1", "Unknown", rv=2)])
    obs.add("mark", "step 1", "hello", source="mark")
    got = obs.drain()
    assert [e.kind for e in got] == ["node-notready", "mark"]
    assert obs.drain() == []
    assert len(obs.entries()) == 2
    assert "uid-node-1" not in obs.history()  # nodes have no history, pods do


# ---- the informer shell ----------------------------------------------------------------------


class AsyncFakeClient:
    """list() returns the seeded objects; watch() yields the queued events, then waits."""

    def __init__(self, seed: dict[str, list[Any]]) -> None:
        import asyncio

        self.seed = seed
        self.queues: dict[str, asyncio.Queue[tuple[str, Any]]] = {}

    def queue(self, resource: str) -> Any:
        import asyncio

        return self.queues.setdefault(resource, asyncio.Queue())

    async def list(self, resource: str, **kw: Any) -> dict[str, Any]:
        return {"items": list(self.seed.get(resource, [])), "metadata": {"resourceVersion": "1"}}

    async def watch(self, resource: str, **kw: Any) -> Any:
        q = self.queue(resource)
        while True:
            yield await q.get()

    async def close(self) -> None:
        pass


def test_observer_seeds_from_the_first_list_then_follows_the_watch() -> None:
    import time as _time

    client = AsyncFakeClient({"nodes": [node("node-1", rv=1)],
                              "pods": [pod("web-a", "node-1", rv=1)]})
    obs = Observer("unused", Transitions(_time.time()), client_factory=lambda: client)
    assert obs.start(timeout=5)
    assert obs.drain() == []                      # what existed is seeded, not reported
    assert "uid-web-a" in obs.history()

    def push(resource: str, typ: str, obj: Any) -> None:
        obs._lt.loop.call_soon_threadsafe(client.queue(resource).put_nowait, (typ, obj))

    push("nodes", "MODIFIED", node("node-1", "Unknown", rv=2))
    push("pods", "MODIFIED", pod("web-a", "node-1", rv=2, deleting=True))
    push("pods", "DELETED", pod("web-a", "node-1", rv=3, deleting=True))
    push("pods", "ADDED", pod("web-b", "node-2", "Pending", rv=4))
    deadline = _time.monotonic() + 5
    got: list[Entry] = []
    while _time.monotonic() < deadline and len(got) < 4:
        got += obs.drain()
        _time.sleep(0.02)
    obs.stop()
    assert [(e.kind, e.subject) for e in got] == [
        ("node-notready", "node/node-1"), ("pod-deleting", "pod/web-a"),
        ("pod-gone", "pod/web-a"), ("pod-created", "pod/web-b")]
