"""Hollow node pools and the scheduler's fidelity on them, end to end.

One cluster: no per-node actors, 200 hollow nodes in one pool of two actors
(pool-hollow-0 = hollow-0..99, pool-hollow-1 = hollow-100..199; zones a/b/c round
robin), timeScale 0.1 (grace 50 s -> 5 s). In order:

- every hollow node is Ready and renews its Lease;
- 1000 pods (a Deployment) are all bound and Running;
- topology spread (zone, maxSkew 1, DoNotSchedule) places 9 replicas 3/3/3;
- required pod anti-affinity on the hostname: on 3 labelled nodes 3 pods land on 3
  different nodes and the 4th stays Pending with upstream's FitError;
- a high-priority pod preempts a low-priority one on a full node (nominatedNodeName,
  the victim deleted with a DisruptionTarget condition and a Preempted event, the
  preemptor bound there);
- killing one pool actor (a rack) makes its 100 nodes NotReady and the pods that ran
  there are replaced on the other pool's nodes.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.e2e.conftest import launched_cluster, wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.1
NS = "default"
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def _configure(cfg: Any) -> None:
    from actors.common.config import NodePoolSpec

    cfg.nodes = []
    cfg.node_pools = [NodePoolSpec(name="hollow", count=200, nodes_per_actor=100,
                                   capacity={"cpu": "4", "memory": "32Gi", "pods": "110"},
                                   zones=["zone-a", "zone-b", "zone-c"])]


@pytest.fixture(scope="module")
def cluster(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = str(tmp_path_factory.mktemp("kubemu-home"))
    with launched_cluster(ray_address, home, "e2e-pools", TIME_SCALE, _configure) as state:
        yield state


def deployment(name: str, replicas: int, cpu: str = "10m", **spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                                                "resources": {"requests": {"cpu": cpu}}}]}
    pod_spec.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}}}


def bare_pod(name: str, cpu: str, priority_class: str, node_selector: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"priorityClassName": priority_class, "nodeSelector": node_selector,
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                                     "resources": {"requests": {"cpu": cpu}}}]}}


def pods_of(api: Any, app: str) -> list[dict[str, Any]]:
    return list(api.list_all("pods", namespace=NS, label_selector=f"app={app}")["items"])


def running(p: dict[str, Any]) -> bool:
    return p.get("status", {}).get("phase") == "Running" and \
        not p["metadata"].get("deletionTimestamp")


def all_running(api: Any, app: str, n: int) -> list[dict[str, Any]] | None:
    ps = [p for p in pods_of(api, app) if not p["metadata"].get("deletionTimestamp")]
    return ps if len(ps) == n and all(map(running, ps)) else None


def node_zone(api: Any) -> dict[str, str]:
    return {n["metadata"]["name"]: n["metadata"]["labels"].get(ZONE, "")
            for n in api.list_all("nodes")["items"]}


def ready(n: dict[str, Any]) -> str:
    return next((c["status"] for c in n["status"].get("conditions", []) if c["type"] == "Ready"), "")


def test_every_hollow_node_is_ready_and_renews_its_lease(api: Any, cluster: Any) -> None:
    nodes = api.list_all("nodes")["items"]
    assert len(nodes) == 200 and all(ready(n) == "True" for n in nodes)
    assert {n["metadata"]["labels"]["kubemu.io/node-pool"] for n in nodes} == {"hollow"}
    assert cluster.pools == {"pool-hollow-0": [f"hollow-{i}" for i in range(100)],
                             "pool-hollow-1": [f"hollow-{i}" for i in range(100, 200)]}
    names = {n["metadata"]["name"] for n in nodes}

    def leases() -> dict[str, str] | None:
        got = {le["metadata"]["name"]: le["spec"]["renewTime"]
               for le in api.list_all("leases", namespace="kube-node-lease")["items"]}
        return got if set(got) == names else None

    # a node registers Ready with its create; its Lease follows (paced, under load later)
    before = wait_for(leases, 30, "a Lease for every hollow node")
    # renewed every 10 s x timeScale: within a few seconds every lease moved on
    wait_for(lambda: all(le["spec"]["renewTime"] != before[le["metadata"]["name"]]
                         for le in api.list_all("leases", namespace="kube-node-lease")["items"]),
             15, "every Lease renewed")


def test_a_thousand_pods_are_bound_and_running(api: Any, cluster: Any) -> None:
    api.create("deployments", deployment("bulk", 1000), namespace=NS)
    ps = wait_for(lambda: all_running(api, "bulk", 1000), 240, "1000 bulk pods Running",
                  period=1.0)
    per_node: dict[str, int] = {}
    for p in ps:
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
    assert max(per_node.values()) <= 110  # the nodes' pod capacity
    assert len(per_node) >= 150, "LeastAllocated/Balanced scoring spreads them"
    api.delete("deployments", "bulk", namespace=NS)
    wait_for(lambda: not pods_of(api, "bulk"), 120, "bulk pods gone", period=1.0)


def test_topology_spread_is_respected(api: Any, cluster: Any) -> None:
    api.create("deployments", deployment("spread", 9, topologySpreadConstraints=[{
        "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "spread"}}}]), namespace=NS)
    ps = wait_for(lambda: all_running(api, "spread", 9), 60, "9 spread pods Running")
    zones = node_zone(api)
    counts: dict[str, int] = {}
    for p in ps:
        z = zones[p["spec"]["nodeName"]]
        counts[z] = counts.get(z, 0) + 1
    assert counts == {"zone-a": 3, "zone-b": 3, "zone-c": 3}


def test_required_anti_affinity_is_respected(api: Any, cluster: Any) -> None:
    for n in ("hollow-10", "hollow-11", "hollow-12"):
        api.patch("nodes", n, {"metadata": {"labels": {"anti": "yes"}}})
    api.create("deployments", deployment("anti", 4, nodeSelector={"anti": "yes"}, affinity={
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "topologyKey": HOST, "labelSelector": {"matchLabels": {"app": "anti"}}}]}}),
        namespace=NS)

    def three_and_one_pending() -> list[dict[str, Any]] | None:
        ps = pods_of(api, "anti")
        run = [p for p in ps if running(p)]
        pending = [p for p in ps if not p["spec"].get("nodeName")]
        return ps if len(run) == 3 and len(pending) == 1 else None

    ps = wait_for(three_and_one_pending, 60, "3 anti pods Running, 1 Pending")
    assert sorted(p["spec"]["nodeName"] for p in ps if running(p)) == \
        ["hollow-10", "hollow-11", "hollow-12"]
    pending = next(p for p in ps if not p["spec"].get("nodeName"))

    def failed_msg() -> str | None:
        evs = api.list("events", namespace=NS,
                       field_selector=f"involvedObject.name={pending['metadata']['name']}")
        msgs = [e["message"] for e in evs["items"] if e["reason"] == "FailedScheduling"]
        return msgs[-1] if msgs else None

    msg = wait_for(failed_msg, 30, "FailedScheduling event")
    assert msg.startswith("0/200 nodes are available: 197 node(s) didn't match Pod's node "
                          "affinity/selector, 3 node(s) didn't match pod anti-affinity rules."), msg


def test_a_high_priority_pod_preempts_a_low_priority_one(api: Any, cluster: Any) -> None:
    for name, value in (("low", 100), ("high", 1000)):
        api.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                       "metadata": {"name": name}, "value": value})
    api.patch("nodes", "hollow-20", {"metadata": {"labels": {"pre": "yes"}}})
    api.create("pods", bare_pod("victim", "3", "low", {"pre": "yes"}), namespace=NS)
    wait_for(lambda: running(api.get("pods", "victim", namespace=NS)), 30, "victim Running")
    api.create("pods", bare_pod("preemptor", "3", "high", {"pre": "yes"}), namespace=NS)
    p = api.get("pods", "preemptor", namespace=NS)
    assert p["spec"]["priority"] == 1000  # Priority admission resolved the class

    def nominated_or_bound() -> dict[str, Any] | None:
        q = api.get("pods", "preemptor", namespace=NS)
        return q if q["status"].get("nominatedNodeName") or q["spec"].get("nodeName") else None

    q = wait_for(nominated_or_bound, 30, "preemptor nominated")
    assert q["status"].get("nominatedNodeName", "hollow-20") == "hollow-20"

    from actors.api.errors import APIError

    def victim_gone() -> bool:
        try:
            api.get("pods", "victim", namespace=NS)
            return False
        except APIError as e:
            return e.code == 404

    wait_for(victim_gone, 30, "victim deleted")
    q = wait_for(lambda: (lambda x: x if running(x) else None)(
        api.get("pods", "preemptor", namespace=NS)), 30, "preemptor Running")
    assert q["spec"]["nodeName"] == "hollow-20"
    def preempted() -> list[str]:
        evs = api.list("events", namespace=NS, field_selector="involvedObject.name=victim")["items"]
        return [e["message"] for e in evs if e["reason"] == "Preempted"]

    msgs = wait_for(preempted, 10, "Preempted event on the victim")
    assert any("on node hollow-20" in m for m in msgs), msgs


def test_killing_a_pool_actor_fails_its_nodes_and_their_pods_move(api: Any, cluster: Any) -> None:
    from actors.faults import Faults

    tolerate_briefly = [{"key": k, "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 0}
                        for k in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
    api.create("deployments", deployment("rack", 40, tolerations=tolerate_briefly), namespace=NS)
    ps = wait_for(lambda: all_running(api, "rack", 40), 60, "40 rack pods Running")
    rack = set(cluster.pools["pool-hollow-1"])
    assert any(p["spec"]["nodeName"] in rack for p in ps), "some ran on the rack"
    with Faults(cluster) as f:
        rec = f.kill("pool-hollow-1")
    assert rec.ok, rec.message

    def rack_not_ready() -> bool:
        nodes = {n["metadata"]["name"]: ready(n) for n in api.list_all("nodes")["items"]}
        return all(nodes[n] == "Unknown" for n in rack) and \
            all(nodes[n] == "True" for n in nodes if n not in rack)

    wait_for(rack_not_ready, 60, "the rack's 100 nodes NotReady, the others Ready", period=1.0)

    def moved() -> list[dict[str, Any]] | None:
        ps = all_running(api, "rack", 40)
        return ps if ps and not any(p["spec"]["nodeName"] in rack for p in ps) else None

    wait_for(moved, 150, "every rack pod Running off the rack", period=1.0)
