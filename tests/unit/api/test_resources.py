"""The served resources and name lookup."""

from __future__ import annotations

import pytest

from actors.api.resources import RESOURCES, for_kind, for_object, lookup


@pytest.mark.parametrize("name,plural", [
    pytest.param("pods", "pods", id="plural"),
    pytest.param("pod", "pods", id="singular"),
    pytest.param("Pod", "pods", id="kind"),
    pytest.param("PODS", "pods", id="upper"),
    pytest.param("po", "pods", id="short"),
    pytest.param("ns", "namespaces", id="ns"),
    pytest.param("no", "nodes", id="no"),
    pytest.param("ev", "events", id="ev"),
    pytest.param("rs", "replicasets", id="rs"),
    pytest.param("deploy", "deployments", id="deploy"),
    pytest.param("cm", "configmaps", id="cm"),
    pytest.param("svc", "services", id="svc"),
    pytest.param("ep", "endpoints", id="ep"),
    pytest.param("secret", "secrets", id="secret"),
    pytest.param("lease", "leases", id="lease"),
    pytest.param("deployments.apps", "deployments", id="group-qualified"),
    pytest.param("deploy.apps", "deployments", id="short-group-qualified"),
    pytest.param("Deployment.apps", "deployments", id="kind-group-qualified"),
    pytest.param("deployments.v1.apps", "deployments", id="version-group-qualified"),
    pytest.param("leases.coordination.k8s.io", "leases", id="dotted-group"),
    pytest.param("pods.v1", "pods", id="core-version"),
])
def test_lookup(name: str, plural: str) -> None:
    assert lookup(name).plural == plural


@pytest.mark.parametrize("name", ["", "widgets", "deployments.extensions", "pods.apps", "deployments.v2.apps"])
def test_lookup_unknown(name: str) -> None:
    with pytest.raises(KeyError):
        lookup(name)


def test_infos() -> None:
    assert set(RESOURCES) == {"namespaces", "nodes", "pods", "leases", "events", "replicasets",
                              "deployments", "configmaps", "secrets", "services", "endpoints",
                              "priorityclasses"}
    d = for_kind("Deployment")
    assert (d.api_version, d.group_resource, d.group_kind, d.list_kind) == (
        "apps/v1", "deployments.apps", "Deployment.apps", "DeploymentList")
    assert for_kind("Pod").api_version == "v1"
    assert for_kind("Lease").api_version == "coordination.k8s.io/v1"
    assert not for_kind("Node").namespaced and not for_kind("Namespace").namespaced
    assert for_kind("Deployment").has_status and not for_kind("ConfigMap").has_status
    assert for_object({"apiVersion": "apps/v1", "kind": "ReplicaSet"}).plural == "replicasets"
    with pytest.raises(KeyError):
        for_object({"apiVersion": "extensions/v1beta1", "kind": "ReplicaSet"})
