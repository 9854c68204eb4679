"""The pure REST strategies and admission plugins (no store, no loop)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.api.errors import APIError
from actors.api.resources import lookup
from actors.apiserver import admission, strategy
from actors.common.clock import rfc3339

from .helpers import T0, configmap, deployment, namespace, pod

PODS = lookup("pods")


# ---- create ---------------------------------------------------------------------------


@pytest.mark.parametrize("obj,resource,status", [
    pytest.param(pod("p"), "pods", {"phase": "Pending", "qosClass": "BestEffort"}, id="pod"),
    pytest.param({**deployment("d"), "status": {"replicas": 9}}, "deployments", {},
                 id="deployment-status-reset"),
    pytest.param({**namespace("n"), "status": {"phase": "Terminating"}}, "namespaces",
                 {"phase": "Active"}, id="namespace-active"),
    pytest.param({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                  "status": {"capacity": {"cpu": "4"}}}, "nodes",
                 {"capacity": {"cpu": "4"}}, id="node-keeps-registered-status"),
])
def test_prepare_for_create_sets_system_fields_and_status(obj: dict[str, Any], resource: str,
                                                           status: dict[str, Any]) -> None:
    info = lookup(resource)
    obj["metadata"]["deletionTimestamp"] = "2020-01-01T00:00:00Z"
    strategy.prepare_for_create(info, obj, namespace="default", now=T0, rng=random.Random(1))
    m = obj["metadata"]
    assert m["creationTimestamp"] == rfc3339(T0) and m["generation"] == 1
    assert len(m["uid"]) == 36 and "deletionTimestamp" not in m
    assert obj["status"] == status
    assert ("namespace" in m) == info.namespaced


@pytest.mark.parametrize("resources,qos", [
    pytest.param({}, "BestEffort", id="besteffort"),
    pytest.param({"requests": {"cpu": "100m"}}, "Burstable", id="burstable"),
    pytest.param({"limits": {"cpu": "1", "memory": "1Gi"},
                  "requests": {"cpu": "1000m", "memory": "1024Mi"}}, "Guaranteed",
                 id="guaranteed-equal-quantities"),
])
def test_pod_qos_class(resources: dict[str, Any], qos: str) -> None:
    p = pod("p")
    p["spec"]["containers"][0]["resources"] = resources
    strategy.prepare_for_create(PODS, p, namespace="default", now=T0, rng=random.Random(1))
    assert p["status"]["qosClass"] == qos


def test_generate_name_is_seeded_and_truncated() -> None:
    a = strategy.generate_name("web-", random.Random(3))
    assert a.startswith("web-") and len(a) == 9 and a == strategy.generate_name(
        "web-", random.Random(3))
    assert len(strategy.generate_name("x" * 80, random.Random(3))) == 63
    assert set(a[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_namespace_gets_kubernetes_finalizer() -> None:
    ns = namespace("n")
    strategy.prepare_for_create(lookup("namespaces"), ns, namespace=None, now=T0,
                                rng=random.Random(1))
    assert ns["spec"]["finalizers"] == ["kubernetes"]


@pytest.mark.parametrize("meta,error", [
    pytest.param({"name": "p", "namespace": "other"}, "does not match the namespace",
                 id="namespace-mismatch"),
    pytest.param({"name": "p", "resourceVersion": "5"}, "resourceVersion should not be set",
                 id="resource-version-set"),
])
def test_prepare_for_create_rejects(meta: dict[str, Any], error: str) -> None:
    p = pod("p")
    p["metadata"] = meta
    with pytest.raises(APIError) as ei:
        strategy.prepare_for_create(PODS, p, namespace="default", now=T0, rng=random.Random(1))
    assert ei.value.code == 400 and error in ei.value.message


# ---- update ---------------------------------------------------------------------------


def _stored_pod() -> dict[str, Any]:
    p = pod("p", labels={"a": "1"})
    strategy.prepare_for_create(PODS, p, namespace="default", now=T0, rng=random.Random(1))
    p["metadata"]["resourceVersion"] = "10"
    p["status"] = {"phase": "Running"}
    return p


def test_main_update_keeps_status_and_system_metadata_and_bumps_generation() -> None:
    old = _stored_pod()
    new = pod("p", labels={"a": "2"}, activeDeadlineSeconds=5)
    new["metadata"]["resourceVersion"] = "10"
    new["status"] = {"phase": "Failed"}
    out = strategy.prepare_for_update(PODS, new, old)
    assert out["status"] == {"phase": "Running"}
    assert out["metadata"]["uid"] == old["metadata"]["uid"]
    assert out["metadata"]["creationTimestamp"] == old["metadata"]["creationTimestamp"]
    assert out["metadata"]["labels"] == {"a": "2"}
    assert out["metadata"]["generation"] == 2


def test_update_without_spec_change_keeps_generation() -> None:
    old = _stored_pod()
    new = pod("p", labels={"b": "1"})
    assert strategy.prepare_for_update(PODS, new, old)["metadata"]["generation"] == 1


def test_status_update_keeps_spec_and_metadata() -> None:
    old = _stored_pod()
    new = pod("p", labels={"hacked": "1"}, node="elsewhere")
    new["metadata"]["resourceVersion"] = "10"
    new["status"] = {"phase": "Succeeded"}
    out = strategy.prepare_for_update(PODS, new, old, "status")
    assert out["status"] == {"phase": "Succeeded"}
    assert out["spec"] == old["spec"] and out["metadata"]["labels"] == {"a": "1"}
    assert out["metadata"]["resourceVersion"] == "10"
    assert out["metadata"]["generation"] == 1


def test_namespace_finalizers_change_only_through_finalize() -> None:
    info = lookup("namespaces")
    old = namespace("n")
    strategy.prepare_for_create(info, old, namespace=None, now=T0, rng=random.Random(1))
    new = namespace("n")
    new["spec"] = {"finalizers": []}
    assert strategy.prepare_for_update(info, new, old)["spec"]["finalizers"] == ["kubernetes"]
    assert strategy.prepare_for_update(info, new, old, "finalize")["spec"]["finalizers"] == []


@pytest.mark.parametrize("new_fins,old_meta,delete", [
    pytest.param([], {"deletionTimestamp": "x", "deletionGracePeriodSeconds": 0}, True,
                 id="last-finalizer-removed"),
    pytest.param(["a"], {"deletionTimestamp": "x", "deletionGracePeriodSeconds": 0}, False,
                 id="finalizers-left"),
    pytest.param([], {}, False, id="not-being-deleted"),
    pytest.param([], {"deletionTimestamp": "x", "deletionGracePeriodSeconds": 30}, False,
                 id="graceful-pod-waits-for-kubelet"),
])
def test_should_delete_during_update(new_fins: list[str], old_meta: dict[str, Any],
                                     delete: bool) -> None:
    new = {"metadata": {"finalizers": new_fins}}
    old = {"metadata": old_meta}
    assert strategy.should_delete_during_update(new, old) is delete


# ---- delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("obj,grace,expect", [
    pytest.param(pod("p", node="n1", grace=30), None, (True, False, 30), id="bound-default-grace"),
    pytest.param(pod("p", node="n1", grace=30), 5, (True, False, 5), id="bound-explicit-grace"),
    pytest.param(pod("p", node="n1", grace=30), 0, (True, False, 0), id="bound-force"),
    pytest.param(pod("p", grace=30), None, (True, False, 0), id="unbound-immediate"),
    pytest.param(pod("p", node="n1", grace=30, ), -3, (True, False, 1), id="negative-is-1"),
    pytest.param(configmap("c"), None, (False, False, 0), id="not-graceful-kind"),
])
def test_before_delete(obj: dict[str, Any], grace: int | None,
                       expect: tuple[bool, bool, int]) -> None:
    info = lookup(obj["kind"])
    obj["metadata"]["generation"] = 1
    assert strategy.before_delete(info, obj, grace, T0) == expect
    if expect[0]:
        assert obj["metadata"]["deletionTimestamp"] == rfc3339(T0 + expect[2])
        assert obj["metadata"]["deletionGracePeriodSeconds"] == expect[2]
        assert obj["metadata"]["generation"] == 2


def test_terminated_pod_deletes_at_once() -> None:
    p = pod("p", node="n1", grace=30)
    p["status"] = {"phase": "Succeeded"}
    assert strategy.before_delete(PODS, p, None, T0) == (True, False, 0)


@pytest.mark.parametrize("grace,expect,ts_offset", [
    pytest.param(None, (False, True, 30), 30, id="pending-no-grace"),
    pytest.param(60, (False, True, 60), 30, id="pending-longer"),
    pytest.param(10, (True, False, 10), 10, id="shortened"),
    pytest.param(0, (True, False, 0), 0, id="forced"),
])
def test_before_delete_of_terminating_pod(grace: int | None, expect: tuple[bool, bool, int],
                                          ts_offset: int) -> None:
    p = pod("p", node="n1", grace=30)
    strategy.before_delete(PODS, p, None, T0)
    assert strategy.before_delete(PODS, p, grace, T0) == expect
    assert p["metadata"]["deletionTimestamp"] == rfc3339(T0 + ts_offset)


@pytest.mark.parametrize("fins,policy,changed,out", [
    pytest.param([], None, False, [], id="default-background"),
    pytest.param([], "Orphan", True, ["orphan"], id="orphan"),
    pytest.param([], "Foreground", True, ["foregroundDeletion"], id="foreground"),
    pytest.param(["orphan"], "Background", True, [], id="background-clears"),
    pytest.param(["x", "orphan"], "Foreground", True, ["x", "foregroundDeletion"],
                 id="foreground-replaces-orphan"),
    pytest.param(["orphan"], None, False, ["orphan"], id="unset-keeps-object-choice"),
])
def test_gc_finalizers(fins: list[str], policy: str | None, changed: bool,
                       out: list[str]) -> None:
    assert strategy.gc_finalizers({"metadata": {"finalizers": fins}}, policy) == (changed, out)


def test_mark_as_deleting() -> None:
    obj = {"metadata": {"generation": 3}}
    strategy.mark_as_deleting(obj, T0)
    assert obj["metadata"] == {"generation": 4, "deletionTimestamp": rfc3339(T0),
                               "deletionGracePeriodSeconds": 0}
    strategy.mark_as_deleting(obj, T0 + 50)  # already deleting: unchanged timestamp
    assert obj["metadata"]["deletionTimestamp"] == rfc3339(T0)
    assert obj["metadata"]["generation"] == 4


def test_bad_propagation_policy() -> None:
    with pytest.raises(APIError) as ei:
        strategy.validate_delete_options("Sometimes")
    assert ei.value.code == 422 and "propagationPolicy" in ei.value.message


# ---- binding --------------------------------------------------------------------------


def test_bind_sets_node_and_condition() -> None:
    p = pod("p")
    out = strategy.bind_pod(PODS, p, {"target": {"kind": "Node", "name": "n1"},
                                      "metadata": {"annotations": {"k": "v"}}}, T0)
    assert out["spec"]["nodeName"] == "n1" and "nodeName" not in p["spec"]
    assert out["metadata"]["annotations"] == {"k": "v"}
    assert out["status"]["conditions"] == [{"type": "PodScheduled", "status": "True",
                                            "lastProbeTime": None,
                                            "lastTransitionTime": rfc3339(T0)}]


@pytest.mark.parametrize("p,binding,code,message", [
    pytest.param(pod("p", node="n1"), {"target": {"name": "n2"}}, 409,
                 'Operation cannot be fulfilled on pods/binding "p": pod p is already '
                 'assigned to node "n1"', id="already-bound"),
    pytest.param(pod("p"), {"target": {"kind": "Pod", "name": "n2"}}, 422,
                 "target.kind", id="bad-target-kind"),
    pytest.param(pod("p"), {"target": {}}, 422, "target.name: Required value",
                 id="no-target"),
])
def test_bind_rejects(p: dict[str, Any], binding: dict[str, Any], code: int,
                      message: str) -> None:
    with pytest.raises(APIError) as ei:
        strategy.bind_pod(PODS, p, binding, T0)
    assert ei.value.code == code and message in ei.value.message


# ---- admission ------------------------------------------------------------------------


def _attrs(obj: dict[str, Any], op: str = admission.CREATE, ns: str = "default"
           ) -> admission.Attributes:
    return admission.Attributes(op, lookup(obj["kind"]), ns, obj["metadata"]["name"], obj=obj)


NR = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
      "tolerationSeconds": 300}
UR = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
      "tolerationSeconds": 300}


@pytest.mark.parametrize("tolerations,expect", [
    pytest.param(None, [NR, UR], id="none"),
    pytest.param([{**NR, "tolerationSeconds": 5}], [{**NR, "tolerationSeconds": 5}, UR],
                 id="keeps-own-not-ready"),
    pytest.param([{"operator": "Exists"}], [{"operator": "Exists"}], id="tolerates-everything"),
    pytest.param([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                   "effect": "NoSchedule"}],
                 [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                   "effect": "NoSchedule"}, NR, UR], id="noschedule-does-not-count"),
])
def test_default_toleration_seconds(tolerations: list[dict[str, Any]] | None,
                                    expect: list[dict[str, Any]]) -> None:
    p = pod("p")
    if tolerations is not None:
        p["spec"]["tolerations"] = tolerations
    admission.default_toleration_seconds(_attrs(p), 300)
    assert p["spec"].get("tolerations") == expect


def test_default_toleration_seconds_from_config() -> None:
    p = pod("p")
    admission.Admission(admission.AdmissionConfig(default_toleration_seconds=30)).mutate(
        _attrs(p))
    assert {t["tolerationSeconds"] for t in p["spec"]["tolerations"]} == {30}


def test_default_tolerations_only_on_pod_create() -> None:
    p = pod("p")
    admission.default_toleration_seconds(_attrs(p, admission.UPDATE), 300)
    assert "tolerations" not in p["spec"]


ACTIVE = {"metadata": {"name": "default"}, "status": {"phase": "Active"}}
TERMINATING = {"metadata": {"name": "default"}, "status": {"phase": "Terminating"}}


@pytest.mark.parametrize("op,ns_obj,code,message", [
    pytest.param(admission.CREATE, ACTIVE, None, "", id="create-active"),
    pytest.param(admission.CREATE, None, 404, 'namespaces "default" not found', id="missing"),
    pytest.param(admission.UPDATE, None, 404, 'namespaces "default" not found',
                 id="update-missing"),
    pytest.param(admission.CREATE, TERMINATING, 403,
                 'pods "p" is forbidden: unable to create new content in namespace default '
                 'because it is being terminated', id="terminating"),
    pytest.param(admission.UPDATE, TERMINATING, None, "", id="update-terminating-ok"),
    pytest.param(admission.DELETE, None, None, "", id="delete-always-ok"),
])
def test_namespace_lifecycle(op: str, ns_obj: dict[str, Any] | None, code: int | None,
                             message: str) -> None:
    a = _attrs(pod("p"), op)
    if code is None:
        admission.namespace_lifecycle(a, ns_obj)
        return
    with pytest.raises(APIError) as ei:
        admission.namespace_lifecycle(a, ns_obj)
    assert ei.value.code == code and ei.value.message == message
    if code == 403:
        assert ei.value.causes[0]["reason"] == "NamespaceTerminating"


@pytest.mark.parametrize("name,forbidden", [("default", True), ("kube-system", True),
                                            ("kube-public", True), ("kube-node-lease", False),
                                            ("team-a", False)])
def test_immortal_namespaces(name: str, forbidden: bool) -> None:
    a = admission.Attributes(admission.DELETE, lookup("namespaces"), "", name)
    if not forbidden:
        admission.namespace_lifecycle(a, None)
        return
    with pytest.raises(APIError) as ei:
        admission.namespace_lifecycle(a, None)
    assert ei.value.message == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
