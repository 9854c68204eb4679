"""Garbage collector: background, foreground and orphan propagation."""

from __future__ import annotations

from typing import Any

import pytest

from actors.controllers import garbagecollector as gcm

from .fakes import Sim, make_deploy, make_pod, make_rs


def _owned_world(sim: Sim) -> None:
    sim.cluster.add("deployments", make_deploy(replicas=3))
    sim.settle()
    sim.cluster.run_pods()
    sim.settle()
    assert len(sim.objs("replicasets")) == 1 and len(sim.objs("pods")) == 3


def test_background_deletes_dependents_whose_owners_are_gone() -> None:
    sim = Sim()
    _owned_world(sim)
    sim.cluster.delete("deployments", "default", "web")  # propagationPolicy Background
    assert sim.get("deployments", "web") is None
    sim.settle()
    assert sim.objs("replicasets") == [] and sim.objs("pods") == []
    deletes = [(a.resource, a.options.get("propagation_policy")) for a in sim.cluster.log
               if a.verb == "delete"]
    assert ("replicasets", "Background") in deletes and ("pods", "Background") in deletes
    # each delete was guarded by a live check that the owner is really gone
    rs_delete = next(a for a in sim.cluster.log if a.verb == "delete" and a.resource == "replicasets")
    assert [c["resource"] for c in rs_delete.options["if_absent"]] == ["deployments"]


def test_foreground_deletes_blocking_dependents_first_then_the_owner() -> None:
    sim = Sim()
    _owned_world(sim)
    sim.cluster.graceful_pods = True
    sim.cluster.delete("deployments", "default", "web", propagation_policy="Foreground")
    d = sim.get("deployments", "web") or {}
    assert d["metadata"]["finalizers"] == ["foregroundDeletion"]
    sim.settle()
    # the ReplicaSet is deleted in foreground too and waits for its terminating pods
    rs = sim.objs("replicasets")
    assert len(rs) == 1 and rs[0]["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert sim.get("deployments", "web") is not None
    assert all(p["metadata"].get("deletionTimestamp") for p in sim.objs("pods"))
    sim.cluster.finish_terminating()
    sim.settle()
    assert sim.objs("pods") == [] and sim.objs("replicasets") == []
    assert sim.get("deployments", "web") is None


def test_orphan_removes_owner_references_then_the_finalizer() -> None:
    sim = Sim(("replicaset", "garbagecollector"))
    rs = sim.cluster.add("replicasets", make_rs(replicas=2))
    sim.settle()
    sim.cluster.delete("replicasets", "default", "web", propagation_policy="Orphan")
    sim.settle()
    assert sim.get("replicasets", "web") is None
    pods = sim.objs("pods")
    assert len(pods) == 2
    assert all(not p["metadata"].get("ownerReferences") for p in pods)
    assert rs["metadata"]["uid"]


def test_owner_present_live_but_missing_from_the_cache_is_left_alone() -> None:
    sim = Sim(("garbagecollector",))
    rs = sim.cluster.add("replicasets", make_rs(replicas=1))
    ctrl = sim.controllers["garbagecollector"]

    class StaleView:
        """The informer has the pod but not (yet) its owner."""
        def get(self, resource: str, ns: str, name: str) -> Any:
            return None if resource == "replicasets" else sim.cluster.get(resource, ns, name)

        def list(self, resource: str, ns: str | None = None, selector: Any = None) -> Any:
            return [] if resource == "replicasets" else sim.cluster.list(resource, ns)
    sim.cluster.add("pods", make_pod("p", owner=rs))
    actions, _ = ctrl.reconcile("pods/default/p", StaleView(), sim.clock.now(), None)  # type: ignore[arg-type]
    assert [a.verb for a in actions] == ["delete"]
    with pytest.raises(Exception) as e:
        sim.cluster.execute(actions[0])
    assert getattr(e.value, "code", None) == 412 and 412 in actions[0].tolerate
    assert sim.get("pods", "p") is not None


def test_dangling_reference_is_removed_when_another_owner_is_solid() -> None:
    sim = Sim(("garbagecollector",))
    alive = sim.cluster.add("replicasets", make_rs("alive", replicas=1))
    pod = make_pod("p", owner=alive)
    pod["metadata"]["ownerReferences"].append(
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "gone", "uid": "gone-uid"})
    sim.cluster.add("pods", pod)
    sim.settle()
    p = sim.get("pods", "p") or {}
    assert [r["name"] for r in p["metadata"]["ownerReferences"]] == ["alive"]


@pytest.mark.parametrize("finalizers,policy", [
    pytest.param([], "Background", id="none"),
    pytest.param(["orphan"], "Orphan", id="orphan"),
    pytest.param(["foregroundDeletion"], "Foreground", id="foreground"),
])
def test_delete_policy_honors_existing_finalizers(finalizers: list[str], policy: str) -> None:
    assert gcm.GarbageCollector._policy({"metadata": {"finalizers": finalizers}}) == policy


def test_keys_wake_dependents_when_owner_disappears() -> None:
    g = gcm.GarbageCollector()
    from actors.controllers.loop import WatchEvent
    rs = make_rs()
    pod = make_pod("p", owner=rs)
    view: Any = None
    assert g.keys_for(WatchEvent("ADDED", "replicasets", rs), view, 0) == []
    assert g.keys_for(WatchEvent("ADDED", "pods", pod), view, 0) == [("pods/default/p", 0.0)]
    assert g.keys_for(WatchEvent("DELETED", "replicasets", rs), view, 0) == [("pods/default/p", 0.0)]


def test_cluster_scoped_owner_node_lease() -> None:
    """A node's Lease (kube-node-lease) is owned by the Node: deleting the node collects it."""
    sim = Sim(("garbagecollector",))
    node = sim.cluster.add("nodes", {"apiVersion": "v1", "kind": "Node",
                                     "metadata": {"name": "n1"}})
    sim.cluster.add("leases", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "n1", "namespace": "kube-node-lease", "ownerReferences": [
            {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": node["metadata"]["uid"]}]},
        "spec": {"holderIdentity": "n1"}})
    sim.settle()
    assert sim.get("leases", "n1", ns="kube-node-lease") is not None
    sim.cluster.delete("nodes", "", "n1")
    sim.settle()
    assert sim.get("leases", "n1", ns="kube-node-lease") is None
