"""kube-proxy rules from Services + Endpoints, and table diffs (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.proxy.rules import Rule, compute, diff, service_rules, sorted_rules


def svc(name: str = "web", ports: list[dict[str, Any]] | None = None, *,
        cluster_ip: str = "10.96.0.10", stype: str = "ClusterIP", ns: str = "default",
        status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
        "spec": {"type": stype, "clusterIP": cluster_ip,
                 "ports": ports if ports is not None else [
                     {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    s["spec"].update(spec)
    if status:
        s["status"] = status
    return s


def eps(name: str = "web", subsets: list[dict[str, Any]] | None = None,
        ns: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns},
            "subsets": subsets if subsets is not None else [subset()]}


def subset(ips: tuple[str, ...] = ("10.244.1.2", "10.244.2.2"), port: int = 8080,
           name: str = "http", not_ready: tuple[str, ...] = (), nodes: tuple[str, ...] = (),
           protocol: str = "TCP") -> dict[str, Any]:
    addrs = [{"ip": ip, **({"nodeName": nodes[i]} if nodes else {})} for i, ip in enumerate(ips)]
    s: dict[str, Any] = {"addresses": addrs,
                         "ports": [{"name": name, "port": port, "protocol": protocol}]}
    if not_ready:
        s["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return s


def brief(rules: list[Rule]) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return [(r.kind, r.ip, r.port, r.backends) for r in rules]


BOTH = ("10.244.1.2:8080", "10.244.2.2:8080")


@pytest.mark.parametrize("service,endpoints,expect", [
    pytest.param(svc(), eps(), [("ClusterIP", "10.96.0.10", 80, BOTH)], id="clusterip"),
    pytest.param(svc(), None, [("ClusterIP", "10.96.0.10", 80, ())], id="no-endpoints-reject"),
    pytest.param(svc(), eps(subsets=[subset(ips=("10.244.1.2",),
                                            not_ready=("10.244.2.2",))]),
                 [("ClusterIP", "10.96.0.10", 80, ("10.244.1.2:8080",))],
                 id="not-ready-excluded"),
    pytest.param(svc(cluster_ip="None"), eps(), [], id="headless"),
    pytest.param(svc(stype="ExternalName", externalName="example.com"), None, [],
                 id="external-name"),
    pytest.param(svc(stype="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080,
                                               "protocol": "TCP"}]), eps(),
                 [("ClusterIP", "10.96.0.10", 80, BOTH), ("NodePort", "0.0.0.0", 30080, BOTH)],
                 id="nodeport"),
    pytest.param(svc(stype="LoadBalancer",
                     ports=[{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}],
                     status={"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}), eps(),
                 [("ClusterIP", "10.96.0.10", 80, BOTH), ("NodePort", "0.0.0.0", 30080, BOTH),
                  ("LoadBalancer", "192.0.2.1", 80, BOTH)], id="loadbalancer"),
    pytest.param(svc(externalIPs=["198.51.100.7"]), eps(),
                 [("ClusterIP", "10.96.0.10", 80, BOTH), ("ExternalIP", "198.51.100.7", 80, BOTH)],
                 id="external-ip"),
    pytest.param(svc(stype="NodePort", externalTrafficPolicy="Local",
                     ports=[{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}]),
                 eps(subsets=[subset(nodes=("node-1", "node-2"))]),
                 [("ClusterIP", "10.96.0.10", 80, BOTH),
                  ("NodePort", "0.0.0.0", 30080, ("10.244.1.2:8080",))],
                 id="external-traffic-local"),
    pytest.param(svc(internalTrafficPolicy="Local"),
                 eps(subsets=[subset(nodes=("node-2", "node-3"))]),
                 [("ClusterIP", "10.96.0.10", 80, ())], id="internal-traffic-local-none-here"),
    pytest.param(svc(ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                            {"name": "dns", "port": 53, "protocol": "UDP"}]),
                 eps(subsets=[subset(), subset(port=5353, name="dns", protocol="UDP")]),
                 [("ClusterIP", "10.96.0.10", 80, BOTH),
                  ("ClusterIP", "10.96.0.10", 53, ("10.244.1.2:5353", "10.244.2.2:5353"))],
                 id="ports-matched-by-name-and-protocol"),
    pytest.param(svc(ports=[{"port": 80}]),
                 eps(subsets=[subset(name="", ips=("10.244.1.10", "10.244.1.9"))]),
                 [("ClusterIP", "10.96.0.10", 80, ("10.244.1.9:8080", "10.244.1.10:8080"))],
                 id="unnamed-port-numeric-sort"),
    pytest.param(svc(), eps(subsets=[subset(name="other")]),
                 [("ClusterIP", "10.96.0.10", 80, ())], id="port-name-mismatch"),
])
def test_service_rules(service: dict[str, Any], endpoints: dict[str, Any] | None,
                       expect: list[tuple[str, str, int, tuple[str, ...]]]) -> None:
    assert brief(service_rules(service, endpoints, "node-1")) == expect


def test_rule_identity_fields() -> None:
    [r] = service_rules(svc(sessionAffinity="ClientIP"), eps())
    assert (r.service, r.port_name, r.protocol, r.session_affinity) == (
        "default/web", "http", "TCP", "ClientIP")
    assert r.key == ("ClusterIP", "10.96.0.10", 80, "TCP")
    assert r.to_dict()["backends"] == list(BOTH)


def test_compute_pairs_services_with_their_endpoints_by_namespace_and_name() -> None:
    table = compute([svc("a", cluster_ip="10.96.0.1"), svc("a", cluster_ip="10.96.0.2", ns="x")],
                    [eps("a"), eps("a", ns="x", subsets=[subset(ips=("10.244.9.9",))])])
    assert [(r.service, r.backends) for r in sorted_rules(table)] == [
        ("default/a", BOTH), ("x/a", ("10.244.9.9:8080",))]


def test_diff() -> None:
    old = compute([svc("a", cluster_ip="10.96.0.1"), svc("b", cluster_ip="10.96.0.2")],
                  [eps("a"), eps("b")])
    new = compute([svc("a", cluster_ip="10.96.0.1"), svc("c", cluster_ip="10.96.0.3")],
                  [eps("a", subsets=[subset(ips=("10.244.1.2",))]), eps("c")])
    d = diff(old, new)
    assert [r.service for r in d.added] == ["default/c"]
    assert [r.service for r in d.removed] == ["default/b"]
    assert [(o.backends, n.backends) for o, n in d.changed] == [(BOTH, ("10.244.1.2:8080",))]
    assert diff(new, new).empty
