"""meta helpers: keys, names, owners, pod state, requests, tolerations; and strategy hooks."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from actors.api import meta


def test_keys() -> None:
    assert meta.key("default", "web") == "default/web"
    assert meta.key("", "node-1") == "node-1"
    assert meta.key(None, "node-1") == "node-1"
    assert meta.split_key("default/web") == ("default", "web")
    assert meta.split_key("node-1") == ("", "node-1")
    assert meta.key_of({"metadata": {"name": "a", "namespace": "b"}}) == "b/a"


def test_generate_name_and_uid_are_deterministic() -> None:
    a = meta.generate_name("web-7d4b9c-", random.Random(1))
    assert a == meta.generate_name("web-7d4b9c-", random.Random(1))
    assert re.fullmatch(r"web-7d4b9c-[bcdfghjklmnpqrstvwxz2456789]{5}", a)
    long = meta.generate_name("x" * 80, random.Random(2))
    assert len(long) == 63 and long.startswith("x" * 58)
    uid = meta.new_uid(random.Random(3))
    assert uid == meta.new_uid(random.Random(3))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uid)


RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "uid": "u-1"}}


def test_owner_references() -> None:
    ref = meta.owner_reference(RS)
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1",
                   "controller": True, "blockOwnerDeletion": True}
    pod = {"metadata": {"ownerReferences": [meta.owner_reference(RS, controller=False), ref]}}
    assert meta.get_controller_of(pod) == ref
    assert meta.is_controlled_by(pod, RS)
    assert not meta.is_controlled_by(pod, {"metadata": {"uid": "other"}})
    assert meta.get_controller_of({"metadata": {}}) is None
    assert meta.labels_of({"metadata": {"labels": {"a": "b"}}}) == {"a": "b"}
    assert meta.labels_of({}) == {}


def pod(**spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "p"}, "spec": spec, "status": {}}


def c(cpu: str | None = None, mem: str | None = None, **extra: Any) -> dict[str, Any]:
    req: dict[str, str] = {}
    if cpu:
        req["cpu"] = cpu
    if mem:
        req["memory"] = mem
    return {"name": "c", "image": "x", "resources": {"requests": req}, **extra}


REQUESTS = [
    pytest.param(pod(containers=[c("100m", "64Mi"), c("250m", "128Mi")]),
                 {"cpu": 350, "memory": 192 << 20}, id="sum-containers"),
    pytest.param(pod(containers=[c("100m")], initContainers=[c("1", "1Gi")]),
                 {"cpu": 1000, "memory": 1 << 30}, id="init-container-max"),
    pytest.param(pod(containers=[c("500m", "1Gi")], initContainers=[c("200m", "2Gi")]),
                 {"cpu": 500, "memory": 2 << 30}, id="max-per-resource"),
    pytest.param(pod(containers=[c("100m")], initContainers=[c("50m", restartPolicy="Always"), c("300m")]),
                 {"cpu": 350, "memory": 0}, id="sidecar-adds-and-counts-in-later-init"),
    pytest.param(pod(containers=[c("100m")], overhead={"cpu": "10m"}),
                 {"cpu": 110, "memory": 0}, id="overhead"),
    pytest.param(pod(containers=[c()]), {"cpu": 0, "memory": 0}, id="best-effort"),
]


@pytest.mark.parametrize("p,want", REQUESTS)
def test_pod_requests(p: dict[str, Any], want: dict[str, int]) -> None:
    assert meta.pod_requests(p) == want


def test_pod_requests_non_zero() -> None:
    assert meta.pod_requests(pod(containers=[c(), c("1")]), non_zero=True) == {
        "cpu": 1100, "memory": 400 << 20}


def test_pod_state() -> None:
    p = pod(containers=[c()])
    assert not meta.pod_is_ready(p)
    p["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    assert meta.pod_is_ready(p) and meta.pod_is_active(p)
    t0 = 1704067200.0  # 2024-01-01T00:00:00Z
    assert meta.pod_is_available(p, 0, t0)
    assert not meta.pod_is_available(p, 10, t0 + 5)
    assert meta.pod_is_available(p, 10, t0 + 10)
    p["metadata"]["deletionTimestamp"] = "2024-01-01T00:01:00Z"
    assert meta.pod_is_terminating(p) and not meta.pod_is_active(p)
    p["status"]["phase"] = "Succeeded"
    assert meta.pod_is_terminal(p)


@pytest.mark.parametrize("containers,want", [
    pytest.param([{"resources": {}}], "BestEffort", id="best-effort"),
    pytest.param([{"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                 "limits": {"cpu": "1", "memory": "1Gi"}}}], "Guaranteed", id="guaranteed"),
    pytest.param([{"resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1"}}}], "Burstable", id="burstable"),
    pytest.param([{"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                 "limits": {"cpu": "1", "memory": "1Gi"}}},
                  {"resources": {}}], "Burstable", id="one-container-without-limits"),
])
def test_qos_class(containers: list[dict[str, Any]], want: str) -> None:
    assert meta.qos_class(pod(containers=containers)) == want


TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}

TOLERATIONS = [
    pytest.param({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True, id="exact"),
    pytest.param({"key": "dedicated", "value": "gpu"}, True, id="empty-operator-is-equal-any-effect"),
    pytest.param({"key": "dedicated", "operator": "Equal", "value": "cpu"}, False, id="other-value"),
    pytest.param({"key": "dedicated", "operator": "Exists"}, True, id="exists"),
    pytest.param({"operator": "Exists"}, True, id="exists-everything"),
    pytest.param({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False, id="other-effect"),
    pytest.param({"key": "other", "operator": "Exists"}, False, id="other-key"),
    pytest.param({"key": "dedicated", "operator": "Lt", "value": "gpu"}, False, id="bad-operator"),
]


@pytest.mark.parametrize("tol,want", TOLERATIONS)
def test_tolerates(tol: dict[str, Any], want: bool) -> None:
    assert meta.tolerates(TAINT, [tol]) is want


def test_untolerated_taints() -> None:
    taints = [TAINT, {"key": "soft", "effect": "PreferNoSchedule"},
              {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]
    tols = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}]
    assert meta.untolerated_taints(taints, tols) == [TAINT]
    assert meta.tolerates(TAINT, None) is False
