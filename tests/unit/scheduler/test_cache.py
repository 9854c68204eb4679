"""The scheduler cache: assume / confirm / forget, updates, node removal, snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from actors.scheduler.cache import Cache, CacheError

from .builders import make_node, make_pod


def node(name: str, **kw: Any) -> dict[str, Any]:
    return make_node().name(name).cap(cpu="4", memory="8Gi", pods=110).obj()


def requested(c: Cache, name: str) -> int:
    ni = c.snapshot().get(name)
    assert ni is not None
    return ni.requested.milli_cpu


def test_assume_then_forget() -> None:
    c = Cache()
    c.add_node(node("n1"))
    pod = make_pod().name("p").req(cpu="1").node("n1").obj()
    c.assume_pod(pod)
    assert c.is_assumed_pod(pod) and requested(c, "n1") == 1000
    c.forget_pod(pod)
    assert not c.is_assumed_pod(pod) and requested(c, "n1") == 0
    assert c.pod_count() == 0


def test_assume_then_confirm() -> None:
    c = Cache()
    c.add_node(node("n1"))
    pod = make_pod().name("p").req(cpu="1").node("n1").obj()
    c.assume_pod(pod)
    c.finish_binding(pod, 0.0)
    bound = make_pod().name("p").req(cpu="1").node("n1").rv("7").obj()
    c.add_pod(bound)
    assert not c.is_assumed_pod(bound) and requested(c, "n1") == 1000
    assert c.get_pod(pod) is bound
    with pytest.raises(CacheError, match="wasn't assumed so cannot be forgotten"):
        c.forget_pod(bound)


def test_confirmed_on_another_node() -> None:
    c = Cache()
    c.add_node(node("n1"))
    c.add_node(node("n2"))
    c.assume_pod(make_pod().name("p").req(cpu="1").node("n1").obj())
    c.add_pod(make_pod().name("p").req(cpu="1").node("n2").obj())
    assert requested(c, "n1") == 0 and requested(c, "n2") == 1000


@pytest.mark.parametrize("op,message", [
    pytest.param(lambda c, p: c.assume_pod(p), "is in the cache, so can't be assumed", id="assume-twice"),
    pytest.param(lambda c, p: c.add_pod(make_pod().name("q").node("n1").obj()) or c.add_pod(
        make_pod().name("q").node("n1").obj()), "was already in added state", id="add-twice"),
    pytest.param(lambda c, p: c.update_pod(p, p), "is not added to scheduler cache", id="update-assumed"),
    pytest.param(lambda c, p: c.remove_pod(make_pod().name("zz").obj()), "is not found in scheduler cache",
                 id="remove-unknown"),
    pytest.param(lambda c, p: c.forget_pod(make_pod().name("p").req(cpu="1").node("n2").obj()),
                 "was assumed on n2 but assigned to n1", id="forget-wrong-node"),
    pytest.param(lambda c, p: c.assume_pod(make_pod().name("x").obj()), "has no nodeName", id="no-node"),
])
def test_errors(op: Any, message: str) -> None:
    c = Cache()
    c.add_node(node("n1"))
    pod = make_pod().name("p").req(cpu="1").node("n1").obj()
    c.assume_pod(pod)
    with pytest.raises(CacheError, match=message):
        op(c, pod)


def test_update_and_remove_pod() -> None:
    c = Cache()
    c.add_node(node("n1"))
    pod = make_pod().name("p").req(cpu="1").node("n1").obj()
    c.add_pod(pod)
    bigger = make_pod().name("p").req(cpu="2").node("n1").obj()
    c.update_pod(pod, bigger)
    assert requested(c, "n1") == 2000
    c.remove_pod(bigger)
    assert requested(c, "n1") == 0 and c.pod_count() == 0


def test_pods_before_their_node_and_node_removal() -> None:
    c = Cache()
    pod = make_pod().name("p").req(cpu="1").node("n1").obj()
    c.add_pod(pod)
    assert c.snapshot().num_nodes() == 0  # the node is not known yet
    c.add_node(node("n1"))
    assert requested(c, "n1") == 1000
    c.remove_node(node("n1"))
    assert c.snapshot().num_nodes() == 0 and c.node_count() == 0
    assert "n1" in c.nodes  # kept for its pod
    c.remove_pod(pod)
    assert "n1" not in c.nodes
    with pytest.raises(CacheError, match="node n1 is not found"):
        c.remove_node(node("n1"))


def test_snapshot_is_isolated_and_incremental() -> None:
    c = Cache()
    c.add_node(node("n1"))
    c.add_node(node("n2"))
    s1 = c.snapshot()
    n1a, n2a = s1.get("n1"), s1.get("n2")
    c.add_pod(make_pod().name("p").req(cpu="1").node("n1").obj())
    s2 = c.snapshot()  # the same Snapshot brought up to date (UpdateSnapshot)
    n1b = s2.get("n1")
    assert n1a is not None and n1b is not None
    # the NodeInfo a cycle saw is never changed under it: the changed node is re-cloned
    assert n1a.requested.milli_cpu == 0 and n1b.requested.milli_cpu == 1000
    assert s2.get("n2") is n2a  # unchanged: the clone is reused
    assert n1a is not n1b
    assert [n.name for n in s2.node_info_list] == ["n1", "n2"]
    c.add_node(node("n3"))  # a new node changes the order: rebuilt
    assert [n.name for n in c.snapshot().node_info_list] == ["n1", "n2", "n3"]
    c.remove_node(node("n1"))
    assert [n.name for n in c.snapshot().node_info_list] == ["n2", "n3"]


def test_assumed_pod_expiry_with_ttl() -> None:
    c = Cache(ttl=30)
    c.add_node(node("n1"))
    pod = make_pod().name("p").req(cpu="1").node("n1").obj()
    c.assume_pod(pod)
    assert c.cleanup_assumed_pods(1000.0) == []  # binding not finished: never expires
    c.finish_binding(pod, 1000.0)
    assert c.cleanup_assumed_pods(1030.0) == []
    assert c.cleanup_assumed_pods(1030.5) == [pod]
    assert requested(c, "n1") == 0
    c.add_pod(pod)  # the informer's late confirmation adds it back
    assert requested(c, "n1") == 1000


def test_no_expiry_by_default() -> None:
    c = Cache()
    c.add_node(node("n1"))
    pod = make_pod().name("p").node("n1").obj()
    c.assume_pod(pod)
    c.finish_binding(pod, 0.0)
    assert c.cleanup_assumed_pods(1e12) == []


def test_node_order_interleaves_zones() -> None:
    c = Cache()
    for name, zone in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c"), ("b2", "b")]:
        c.add_node(make_node().name(name).zone(zone).cap(cpu="1", pods=10).obj())
    assert [n.name for n in c.snapshot().node_info_list] == ["a1", "b1", "c1", "a2", "b2", "a3"]
    moved = make_node().name("a3").zone("c").cap(cpu="1", pods=10).obj()
    c.update_node(None, moved)
    assert [n.name for n in c.snapshot().node_info_list] == ["a1", "b1", "c1", "a2", "b2", "a3"]
    c.remove_node(moved)
    assert [n.name for n in c.snapshot().node_info_list] == ["a1", "b1", "c1", "a2", "b2"]


def test_update_node_changes_allocatable() -> None:
    c = Cache()
    old = node("n1")
    c.add_node(old)
    new = make_node().name("n1").cap(cpu="8", memory="8Gi", pods=110).obj()
    ni = c.update_node(old, new)
    assert ni.allocatable.milli_cpu == 8000
    got = c.snapshot().get("n1")
    assert got is not None and got.allocatable.milli_cpu == 8000
