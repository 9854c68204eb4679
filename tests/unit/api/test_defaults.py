"""defaults.apply_defaults: the fields upstream fills, kind by kind."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.api.defaults import apply_defaults, default_pull_policy, image_tag

CONTAINER_DEFAULTS = {"terminationMessagePath": "/dev/termination-log",
                      "terminationMessagePolicy": "File", "resources": {}}
POD_SPEC_DEFAULTS = {"dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
                     "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}


def defaulted(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    apply_defaults(out)
    return out


def test_pod() -> None:
    pod = defaulted({"kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "nginx",
                                              "ports": [{"containerPort": 80}]}]}})
    assert pod["spec"] == {
        "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Always",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}], **CONTAINER_DEFAULTS}],
        **POD_SPEC_DEFAULTS,
        "enableServiceLinks": True, "priority": 0, "preemptionPolicy": "PreemptLowerPriority",
    }  # the default tolerations are admission's (apiserver), not defaulting's
    assert "status" not in pod and "apiVersion" not in pod


def test_pod_defaulting_is_idempotent() -> None:
    pod = defaulted({"kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
    assert defaulted(pod) == pod


def test_pod_keeps_explicit_values() -> None:
    spec = {"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}],
            "restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
            "schedulerName": "mine", "enableServiceLinks": False,
            "tolerations": [{"operator": "Exists"}]}
    pod = defaulted({"kind": "Pod", "spec": copy.deepcopy(spec)})
    for k, v in spec.items():
        if k != "containers":
            assert pod["spec"][k] == v, k
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_pod_requests_default_from_limits_and_quantities_are_canonical() -> None:
    pod = defaulted({"kind": "Pod", "spec": {"containers": [{
        "name": "c", "image": "x:1",
        "resources": {"limits": {"cpu": "1000m", "memory": "128Mi"}, "requests": {"memory": 0.5}}}]}})
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"memory": "500m", "cpu": "1"}}


def test_pod_host_network_ports_and_probes() -> None:
    pod = defaulted({"kind": "Pod", "spec": {"hostNetwork": True, "containers": [{
        "name": "c", "image": "x:1", "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"port": 8080}}}]}})
    c = pod["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]
    assert c["readinessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                                   "timeoutSeconds": 1, "periodSeconds": 10,
                                   "successThreshold": 1, "failureThreshold": 3}


def test_pod_volumes_and_priority_classes() -> None:
    pod = defaulted({"kind": "Pod", "spec": {
        "priorityClassName": "system-node-critical",
        "tolerations": [{"operator": "Exists"}],
        "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}}],
        "containers": [{"name": "c", "image": "x:1"}]}})
    assert pod["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}},
                                      {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}]
    assert pod["spec"]["priority"] == 2000001000
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]  # tolerates everything already


@pytest.mark.parametrize("image,tag,policy", [
    pytest.param("nginx", "latest", "Always", id="no-tag"),
    pytest.param("nginx:latest", "latest", "Always", id="latest"),
    pytest.param("nginx:1.25", "1.25", "IfNotPresent", id="tag"),
    pytest.param("registry.k8s.io/pause:3.9", "3.9", "IfNotPresent", id="registry-tag"),
    pytest.param("localhost:5000/app", "latest", "Always", id="registry-port-no-tag"),
    pytest.param("localhost:5000/app:v2", "v2", "IfNotPresent", id="registry-port-tag"),
    pytest.param("nginx@sha256:" + "a" * 64, "", "IfNotPresent", id="digest"),
    pytest.param("Nginx", None, "IfNotPresent", id="unparseable"),
    pytest.param("", None, "IfNotPresent", id="empty"),
])
def test_image_pull_policy(image: str, tag: str | None, policy: str) -> None:
    assert image_tag(image) == tag
    assert default_pull_policy(image) == policy


def test_deployment() -> None:
    d = defaulted({"kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
    assert d["spec"] == {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "containers": [{"name": "c", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                            **CONTAINER_DEFAULTS}],
            **POD_SPEC_DEFAULTS}},
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }


def test_deployment_recreate_and_partial_rolling_update() -> None:
    d = defaulted({"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}, "replicas": 0}})
    assert d["spec"]["strategy"] == {"type": "Recreate"}
    assert d["spec"]["replicas"] == 0
    d = defaulted({"kind": "Deployment", "spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}})
    assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}


def test_replicaset() -> None:
    rs = defaulted({"kind": "ReplicaSet", "spec": {"template": {"spec": {"containers": []}}}})
    assert rs["spec"]["replicas"] == 1
    assert rs["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert "enableServiceLinks" not in rs["spec"]["template"]["spec"]


SERVICES = [
    pytest.param({"selector": {"app": "web"}, "ports": [{"port": 80}]},
                 {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                  "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                  "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}, id="cluster-ip"),
    pytest.param({"type": "NodePort", "ports": [{"port": 80, "targetPort": "http", "protocol": "UDP"}]},
                 {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http", "protocol": "UDP"}],
                  "sessionAffinity": "None", "externalTrafficPolicy": "Cluster",
                  "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "SingleStack",
                  "ipFamilies": ["IPv4"]}, id="node-port"),
    pytest.param({"type": "LoadBalancer", "ports": [{"port": 443}], "sessionAffinity": "ClientIP"},
                 {"type": "LoadBalancer", "ports": [{"port": 443, "protocol": "TCP", "targetPort": 443}],
                  "sessionAffinity": "ClientIP",
                  "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                  "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster",
                  "allocateLoadBalancerNodePorts": True, "ipFamilyPolicy": "SingleStack",
                  "ipFamilies": ["IPv4"]}, id="load-balancer"),
    pytest.param({"clusterIP": "None", "ports": [{"port": 80}]},
                 {"clusterIP": "None", "clusterIPs": ["None"],
                  "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                  "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                  "ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]},
                 id="headless-without-selector"),
    pytest.param({"type": "ExternalName", "externalName": "db.example.com"},
                 {"type": "ExternalName", "externalName": "db.example.com", "sessionAffinity": "None"},
                 id="external-name"),
    pytest.param({"clusterIPs": ["10.96.0.5"], "ports": [{"port": 53, "protocol": "UDP"}]},
                 {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
                  "ports": [{"port": 53, "protocol": "UDP", "targetPort": 53}],
                  "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                  "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}, id="cluster-ips-sync"),
]


@pytest.mark.parametrize("spec,want", SERVICES)
def test_service(spec: dict[str, Any], want: dict[str, Any]) -> None:
    assert defaulted({"kind": "Service", "spec": spec})["spec"] == want


def test_namespace() -> None:
    ns = defaulted({"kind": "Namespace", "metadata": {"name": "team-a"}})
    assert ns == {"kind": "Namespace",
                  "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
                  "status": {"phase": "Active"}}


def test_secret() -> None:
    s = defaulted({"kind": "Secret", "data": {"a": "eA=="}, "stringData": {"b": "hunter2"}})
    assert s == {"kind": "Secret", "type": "Opaque", "data": {"a": "eA==", "b": "aHVudGVyMg=="}}


def test_node_and_endpoints() -> None:
    n = defaulted({"kind": "Node", "status": {"capacity": {"cpu": "4000m", "memory": "8Gi"}}})
    assert n["status"] == {"capacity": {"cpu": "4", "memory": "8Gi"},
                           "allocatable": {"cpu": "4", "memory": "8Gi"}}
    ep = defaulted({"kind": "Endpoints", "subsets": [{"ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_unknown_kind_untouched() -> None:
    assert defaulted({"kind": "Lease", "spec": {}}) == {"kind": "Lease", "spec": {}}
