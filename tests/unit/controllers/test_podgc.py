"""Pod garbage collector: orphans of a deleted node (after the quarantine, confirmed
live), terminating pods on out-of-service nodes, unscheduled terminating pods and the
terminated-pod threshold."""

from __future__ import annotations

from typing import Any

import pytest

from actors.controllers import podgc

from .fakes import T0, Sim, make_node, make_pod

Obj = dict[str, Any]


def world(config: Obj | None = None, nodes: tuple[str, ...] = ("node-1", "node-2")) -> Sim:
    sim = Sim(("podgc",), config=config)
    for n in nodes:
        sim.cluster.add("nodes", make_node(n))
    return sim


def advance(sim: Sim, until: float) -> None:
    sim.settle(advance=True, until=T0 + until)


def test_deleting_a_node_garbage_collects_its_pods() -> None:
    sim = world()
    for i, n in enumerate(("node-1", "node-1", "node-2")):
        sim.cluster.add("pods", make_pod(f"p{i}", node=n, phase="Running", ready=True))
    sim.settle()  # the first pass at T0
    sim.clock.advance(1.0)
    sim.cluster.delete("nodes", "", "node-1")
    # passes every 20 s: at T0+20 node-1 enters quarantine (40 s); at T0+60 it is out
    advance(sim, 59.0)
    assert sim.names("pods") == ["p0", "p1", "p2"]
    advance(sim, 60.0)
    assert sim.names("pods") == ["p2"]
    statuses = [a for a in sim.cluster.log if a.verb == "update_status"]
    assert {a.name for a in statuses} == {"p0", "p1"}
    st = statuses[0].body["status"] if statuses[0].body else {}
    assert st["phase"] == "Failed"
    dt = [c for c in st["conditions"] if c["type"] == "DisruptionTarget"]
    assert (dt[0]["reason"], dt[0]["message"]) == ("DeletionByPodGC",
                                                   "PodGC: node no longer exists")
    deletes = [a for a in sim.cluster.log if a.verb == "delete"]
    assert {a.name for a in deletes} == {"p0", "p1"}
    assert all(a.options["grace_period_seconds"] == 0 for a in deletes)  # forced


def test_quarantine_and_periods_are_scaled() -> None:
    sim = world({"time_scale": 0.1})
    sim.cluster.add("pods", make_pod("p0", node="node-1", phase="Running"))
    sim.settle()
    sim.cluster.delete("nodes", "", "node-1")
    advance(sim, 5.9)  # quarantine from the pass at T0+2, 4 s
    assert sim.names("pods") == ["p0"]
    advance(sim, 6.0)
    assert sim.names("pods") == []


def test_a_node_registered_again_during_quarantine_keeps_its_pods() -> None:
    sim = world()
    sim.cluster.add("pods", make_pod("p0", node="node-1", phase="Running"))
    sim.settle()
    sim.cluster.delete("nodes", "", "node-1")
    advance(sim, 30.0)
    sim.cluster.add("nodes", make_node("node-1"))
    advance(sim, 200.0)
    assert sim.names("pods") == ["p0"]


def test_the_live_check_saves_pods_of_a_node_the_cache_misses() -> None:
    sim = world()
    sim.cluster.add("pods", make_pod("p0", node="node-1", phase="Running"))
    ctrl = sim.controllers["podgc"]
    assert isinstance(ctrl, podgc.PodGCController)

    class StaleView:
        """The node informer lost node-1; the apiserver still has it."""
        def get(self, resource: str, ns: str, name: str) -> Any:
            return None if resource == "nodes" and name == "node-1" else \
                sim.cluster.get(resource, ns, name)

        def list(self, resource: str, ns: str | None = None, selector: Any = None) -> Any:
            return [o for o in sim.cluster.list(resource, ns)
                    if not (resource == "nodes" and o["metadata"]["name"] == "node-1")]
    import random
    view, rng = StaleView(), random.Random(0)
    for t in (0.0, 40.0):
        _, res = ctrl.reconcile("gc", view, T0 + t, rng)
    assert res.enqueue == ["pod/default/p0"]
    actions, _ = ctrl.reconcile("pod/default/p0", view, T0 + 40.0, rng)
    outcomes: list[int | None] = []
    for a in actions:
        try:
            sim.cluster.execute(a)
            outcomes.append(None)
        except Exception as e:  # the if_absent check: the node exists
            outcomes.append(getattr(e, "code", None))
    assert outcomes == [412, 412]
    assert sim.names("pods") == ["p0"]


@pytest.mark.parametrize("ready,out_of_service,collected", [
    pytest.param("Unknown", True, True, id="not-ready-out-of-service"),
    pytest.param("Unknown", False, False, id="not-ready-stays-terminating"),
    pytest.param("True", True, False, id="ready-out-of-service"),
])
def test_terminating_pods_on_out_of_service_nodes(ready: str, out_of_service: bool,
                                                  collected: bool) -> None:
    taints = [{"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown",
               "effect": "NoExecute"}] if out_of_service else []
    sim = Sim(("podgc",))
    sim.cluster.add("nodes", make_node("node-1", ready=ready, taints=taints))
    sim.cluster.add("pods", make_pod("going", node="node-1", phase="Running", deleting=True))
    sim.cluster.add("pods", make_pod("staying", node="node-1", phase="Running"))
    advance(sim, 100.0)
    assert sim.names("pods") == (["staying"] if collected else ["going", "staying"])


def test_unscheduled_terminating_pods_are_deleted() -> None:
    sim = world()
    sim.cluster.add("pods", make_pod("nowhere", deleting=True))
    sim.settle()
    assert sim.names("pods") == []


def test_terminated_pods_beyond_the_threshold() -> None:
    sim = world({"terminated_pod_gc_threshold": 2})
    for i, created in enumerate((30.0, 10.0, 20.0, 40.0)):
        p = make_pod(f"done-{i}", node="node-1", phase="Succeeded", created=T0 - created)
        sim.cluster.add("pods", p)
    evicted = make_pod("evicted", node="node-1", phase="Failed", created=T0)
    evicted["status"]["reason"] = "Evicted"
    sim.cluster.add("pods", evicted)
    sim.cluster.add("pods", make_pod("running", node="node-1", phase="Running"))
    sim.settle()
    # 5 terminated, threshold 2: the evicted one first, then the two oldest
    assert sim.names("pods") == ["done-1", "done-2", "running"]
    assert not [a for a in sim.cluster.log if a.verb == "update_status"]  # already terminal
