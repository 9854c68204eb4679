"""Endpoints controller: addresses per port set, readiness, named ports, no-op, deletion."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from actors.controllers import endpoints as epc
from actors.controllers.loop import WatchEvent

from .fakes import T0, FakeCluster, Sim, make_pod

Obj = dict[str, Any]


def make_svc(name: str = "web", *, selector: dict[str, str] | None = None,
             ports: list[Obj] | None = None, labels: dict[str, str] | None = None,
             publish_not_ready: bool = False, headless: bool = False) -> Obj:
    spec: Obj = {"ports": ports if ports is not None else
                 [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    if selector is not None:
        spec["selector"] = selector
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    spec["clusterIP"] = "None" if headless else "10.96.0.10"
    md: Obj = {"name": name, "namespace": "default", "uid": f"svc-uid-{name}"}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": md, "spec": spec}


def pod(name: str, ip: str | None, *, ready: bool = True, deleting: bool = False,
        labels: dict[str, str] | None = None, node: str = "node-1",
        ports: list[Obj] | None = None, phase: str = "Running") -> Obj:
    p = make_pod(name, labels=labels, node=node, phase=phase, ready=ready, ready_at=T0,
                 deleting=deleting)
    if ip is not None:
        p["status"]["podIP"] = ip
    if ports is not None:
        p["spec"]["containers"][0]["ports"] = ports
    return p


def addr(name: str, ip: str, node: str = "node-1") -> Obj:
    return {"ip": ip, "nodeName": node, "targetRef": {
        "kind": "Pod", "namespace": "default", "name": name, "uid": f"pod-uid-{name}"}}


HTTP = [{"name": "http", "port": 8080, "protocol": "TCP"}]
WEB = {"app": "web"}


@pytest.mark.parametrize("svc,pods,subsets", [
    pytest.param(make_svc(selector=WEB), [pod("a", "10.0.0.2"), pod("b", "10.0.0.1")],
                 [{"addresses": [addr("b", "10.0.0.1"), addr("a", "10.0.0.2")],
                   "ports": HTTP}], id="ready-pods-sorted-by-ip"),
    pytest.param(make_svc(selector=WEB), [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)],
                 [{"addresses": [addr("a", "10.0.0.1")],
                   "notReadyAddresses": [addr("b", "10.0.0.2")], "ports": HTTP}],
                 id="not-ready-pod"),
    pytest.param(make_svc(selector=WEB), [pod("a", "10.0.0.1", deleting=True)], [],
                 id="terminating-pod-left-out"),
    pytest.param(make_svc(selector=WEB, publish_not_ready=True),
                 [pod("a", "10.0.0.1", deleting=True), pod("b", "10.0.0.2", ready=False)],
                 [{"addresses": [addr("a", "10.0.0.1"), addr("b", "10.0.0.2")], "ports": HTTP}],
                 id="publish-not-ready-addresses"),
    pytest.param(make_svc(selector=WEB), [pod("a", None), pod("b", "10.0.0.2", phase="Failed")],
                 [], id="no-ip-or-terminal-left-out"),
    pytest.param(make_svc(selector=WEB), [pod("a", "10.0.0.1", labels={"app": "db"})], [],
                 id="pod-not-matching"),
    pytest.param(make_svc(selector=WEB, ports=[
        {"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]),
        [pod("a", "10.0.0.1", ports=[{"name": "web", "containerPort": 9090, "protocol": "TCP"}]),
         pod("b", "10.0.0.2", ports=[{"name": "web", "containerPort": 9091}]),
         pod("c", "10.0.0.3", ports=[{"name": "other", "containerPort": 9092}])],
        [{"addresses": [addr("a", "10.0.0.1")],
          "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}]},
         {"addresses": [addr("b", "10.0.0.2")],
          "ports": [{"name": "http", "port": 9091, "protocol": "TCP"}]}],
        id="named-target-port-per-pod"),
    pytest.param(make_svc(selector=WEB, ports=[
        {"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]),
        [pod("a", "10.0.0.1")],
        [{"addresses": [addr("a", "10.0.0.1")],
          "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}],
        id="several-ports-one-subset"),
    pytest.param(make_svc(selector=WEB, ports=[], headless=True), [pod("a", "10.0.0.1")],
                 [{"addresses": [addr("a", "10.0.0.1")]}], id="headless-without-ports"),
])
def test_desired_subsets(svc: Obj, pods: list[Obj], subsets: list[Obj]) -> None:
    assert epc.desired_subsets(svc, pods) == subsets


def test_creates_labelled_endpoints_that_kube_proxy_reads() -> None:
    from actors.proxy.rules import service_rules
    sim = Sim(("endpoints",))
    sim.cluster.add("pods", pod("a", "10.0.0.1"))
    sim.cluster.add("pods", pod("b", "10.0.0.2", ready=False))
    svc = sim.cluster.add("services", make_svc(selector=WEB, labels={"team": "x"}))
    sim.settle()
    ep = sim.get("endpoints", "web")
    assert ep is not None
    assert ep["metadata"]["labels"] == {"team": "x"}
    assert ep["subsets"] == [{"addresses": [addr("a", "10.0.0.1")],
                              "notReadyAddresses": [addr("b", "10.0.0.2")], "ports": HTTP}]
    rules = service_rules(svc, ep, "node-1")
    assert [r.backends for r in rules] == [("10.0.0.1:8080",)]


def test_pod_events_update_the_endpoints_of_matching_services() -> None:
    sim = Sim(("endpoints",))
    sim.cluster.add("services", make_svc(selector=WEB))
    sim.cluster.add("services", make_svc("db", selector={"app": "db"}))
    sim.cluster.add("pods", pod("a", "10.0.0.1"))
    sim.settle()
    assert sim.get("endpoints", "web")["subsets"][0]["addresses"] == [  # type: ignore[index]
        addr("a", "10.0.0.1")]
    assert "subsets" not in sim.get("endpoints", "db")  # type: ignore[operator]
    # relabel: leaves web, joins db
    p = sim.get("pods", "a")
    assert p is not None
    p["metadata"]["labels"] = {"app": "db"}
    sim.cluster.update("pods", p)
    sim.settle()
    assert "subsets" not in sim.get("endpoints", "web")  # type: ignore[operator]
    assert sim.get("endpoints", "db")["subsets"][0]["addresses"] == [  # type: ignore[index]
        addr("a", "10.0.0.1")]
    # becomes not ready, then is deleted
    p = sim.get("pods", "a")
    assert p is not None
    p["status"]["conditions"][0]["status"] = "False"
    sim.cluster.update("pods", p, status=True)
    sim.settle()
    sub = sim.get("endpoints", "db")["subsets"][0]  # type: ignore[index]
    assert "addresses" not in sub and [a["targetRef"]["name"] for a in
                                       sub["notReadyAddresses"]] == ["a"]
    sim.cluster.delete("pods", "default", "a")
    sim.settle()
    assert "subsets" not in sim.get("endpoints", "db")  # type: ignore[operator]


def test_selector_less_service_is_left_alone() -> None:
    sim = Sim(("endpoints",))
    manual = {"apiVersion": "v1", "kind": "Endpoints",
              "metadata": {"name": "ext", "namespace": "default"},
              "subsets": [{"addresses": [{"ip": "192.168.1.5"}],
                           "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]}
    sim.cluster.add("endpoints", manual)
    sim.cluster.add("services", make_svc("ext"))
    sim.cluster.add("services", make_svc("none"))
    sim.cluster.add("pods", pod("a", "10.0.0.1"))
    sim.settle()
    assert [a for a in sim.cluster.log if a.resource == "endpoints"] == []
    assert sim.get("endpoints", "ext")["subsets"] == manual["subsets"]  # type: ignore[index]
    assert sim.get("endpoints", "none") is None


def test_no_write_when_unchanged() -> None:
    sim = Sim(("endpoints",))
    sim.cluster.add("pods", pod("a", "10.0.0.1"))
    sim.cluster.add("services", make_svc(selector=WEB))
    sim.settle()
    writes = [a for a in sim.cluster.log if a.resource == "endpoints"]
    assert [a.verb for a in writes] == ["create"]
    ctrl = sim.controllers["endpoints"]
    actions, _ = ctrl.reconcile("default/web", sim.cluster, sim.clock.now(), random.Random(0))
    assert actions == []
    # a pod change that does not affect the endpoints: reconciled, nothing written
    p = sim.get("pods", "a")
    assert p is not None
    p["metadata"]["annotations"] = {"x": "y"}
    sim.cluster.update("pods", p)
    sim.settle()
    assert [a.verb for a in sim.cluster.log if a.resource == "endpoints"] == ["create"]
    # a service label change is written
    svc = sim.get("services", "web")
    assert svc is not None
    svc["metadata"]["labels"] = {"tier": "front"}
    sim.cluster.update("services", svc)
    sim.settle()
    assert [a.verb for a in sim.cluster.log if a.resource == "endpoints"] == ["create", "update"]
    assert sim.get("endpoints", "web")["metadata"]["labels"] == {  # type: ignore[index]
        "tier": "front"}


def test_service_deleted_deletes_its_endpoints_and_deleted_endpoints_come_back() -> None:
    sim = Sim(("endpoints",))
    sim.cluster.add("pods", pod("a", "10.0.0.1"))
    sim.cluster.add("services", make_svc(selector=WEB))
    sim.settle()
    sim.cluster.delete("endpoints", "default", "web")
    sim.settle()
    assert sim.get("endpoints", "web") is not None  # recreated
    sim.cluster.delete("services", "default", "web")
    sim.settle()
    assert sim.get("endpoints", "web") is None


@pytest.mark.parametrize("ev,keys", [
    pytest.param(WatchEvent("ADDED", "pods", pod("a", "10.0.0.1")), ["default/web"],
                 id="pod-added"),
    pytest.param(WatchEvent("MODIFIED", "pods", pod("a", "10.0.0.1", labels={"app": "db"}),
                            pod("a", "10.0.0.1")), ["default/db", "default/web"],
                 id="pod-relabelled-old-and-new"),
    pytest.param(WatchEvent("DELETED", "pods", pod("a", "10.0.0.1", labels={"app": "x"})), [],
                 id="pod-matching-nothing"),
    pytest.param(WatchEvent("ADDED", "services", make_svc("ext")), ["default/ext"],
                 id="service"),
    pytest.param(WatchEvent("MODIFIED", "endpoints", {"metadata": {
        "name": "web", "namespace": "default"}}, {"metadata": {}}), [], id="endpoints-modified"),
])
def test_keys_for(ev: WatchEvent, keys: list[str]) -> None:
    c = FakeCluster()
    c.add("services", make_svc(selector=WEB))
    c.add("services", make_svc("db", selector={"app": "db"}))
    c.add("services", make_svc("ext"))  # no selector: matches no pod
    ctrl = epc.EndpointsController()
    got = ctrl.keys_for(copy.deepcopy(ev), c, T0)
    assert sorted(k for k, _ in got) == keys
