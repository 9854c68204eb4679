"""Strategic merge patch (actors/api/strategicpatch.py): the patch metadata of the served
kinds, the merge itself, its directives and errors, the patches `kubectl apply` sends, and
the real kubectl (`kubectl patch --local`, Go's SMP with the compiled-in v1.32 types) as an
oracle for the same cases."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from actors.api.errors import APIError
from actors.api.strategicpatch import (DEFINITIONS, EMPTY, KINDS, _go_stable_sort,
                                       _strip_directive_keys, definition_meta, go_v, list_meta,
                                       patch_meta, strategic_merge_patch, tagged_fields)

# ---------------------------------------------------------------------------------------------
# patch metadata
# ---------------------------------------------------------------------------------------------

META = [
    pytest.param("Pod", ("metadata", "finalizers"), ("merge", ""), id="finalizers"),
    pytest.param("Pod", ("metadata", "ownerReferences"), ("merge", "uid"), id="ownerReferences"),
    pytest.param("Pod", ("spec", "containers"), ("merge", "name"), id="containers"),
    pytest.param("Pod", ("spec", "initContainers"), ("merge", "name"), id="initContainers"),
    pytest.param("Pod", ("spec", "ephemeralContainers"), ("merge", "name"),
                 id="ephemeralContainers"),
    pytest.param("Pod", ("spec", "volumes"), ("merge,retainKeys", "name"), id="volumes"),
    pytest.param("Pod", ("spec", "imagePullSecrets"), ("merge", "name"), id="imagePullSecrets"),
    pytest.param("Pod", ("spec", "hostAliases"), ("merge", "ip"), id="hostAliases"),
    pytest.param("Pod", ("spec", "topologySpreadConstraints"), ("merge", "topologyKey"),
                 id="topologySpreadConstraints"),
    pytest.param("Pod", ("spec", "schedulingGates"), ("merge", "name"), id="schedulingGates"),
    pytest.param("Pod", ("spec", "resourceClaims"), ("merge,retainKeys", "name"),
                 id="resourceClaims"),
    pytest.param("Pod", ("spec", "containers", "ports"), ("merge", "containerPort"), id="ports"),
    pytest.param("Pod", ("spec", "containers", "env"), ("merge", "name"), id="env"),
    pytest.param("Pod", ("spec", "initContainers", "volumeMounts"), ("merge", "mountPath"),
                 id="volumeMounts"),
    pytest.param("Pod", ("spec", "ephemeralContainers", "volumeDevices"),
                 ("merge", "devicePath"), id="volumeDevices"),
    pytest.param("Pod", ("status", "conditions"), ("merge", "type"), id="pod-conditions"),
    pytest.param("Pod", ("status", "podIPs"), ("merge", "ip"), id="podIPs"),
    pytest.param("Pod", ("status", "hostIPs"), ("merge", "ip"), id="hostIPs"),
    pytest.param("Node", ("spec", "podCIDRs"), ("merge", ""), id="podCIDRs"),
    pytest.param("Node", ("status", "conditions"), ("merge", "type"), id="node-conditions"),
    pytest.param("Node", ("status", "addresses"), ("merge", "type"), id="node-addresses"),
    pytest.param("Namespace", ("status", "conditions"), ("merge", "type"), id="ns-conditions"),
    pytest.param("Service", ("spec", "ports"), ("merge", "port"), id="service-ports"),
    pytest.param("Service", ("status", "conditions"), ("merge", "type"), id="svc-conditions"),
    pytest.param("Deployment", ("spec", "strategy"), ("retainKeys", ""), id="deploy-strategy"),
    pytest.param("Deployment", ("spec", "template", "spec", "containers", "env"),
                 ("merge", "name"), id="deploy-template-env"),
    pytest.param("Deployment", ("status", "conditions"), ("merge", "type"), id="deploy-conds"),
    pytest.param("ReplicaSet", ("spec", "template", "metadata", "finalizers"), ("merge", ""),
                 id="rs-template-finalizers"),
    pytest.param("ReplicaSet", ("status", "conditions"), ("merge", "type"), id="rs-conditions"),
    pytest.param("ConfigMap", ("metadata", "ownerReferences"), ("merge", "uid"),
                 id="configmap-ownerReferences"),
    # untagged: atomic lists (replaced whole) and plain fields
    pytest.param("Pod", ("spec", "tolerations"), None, id="tolerations-atomic"),
    pytest.param("Pod", ("spec", "containers", "args"), None, id="args-atomic"),
    pytest.param("Pod", ("spec", "containers", "command"), None, id="command-atomic"),
    pytest.param("Pod", ("spec", "containers", "envFrom"), None, id="envFrom-atomic"),
    pytest.param("Pod", ("spec", "readinessGates"), None, id="readinessGates-atomic"),
    pytest.param("Pod", ("status", "containerStatuses"), None, id="containerStatuses-atomic"),
    pytest.param("Node", ("spec", "taints"), None, id="taints-atomic"),
    pytest.param("Node", ("status", "images"), None, id="images-atomic"),
    pytest.param("Namespace", ("spec", "finalizers"), None, id="ns-spec-finalizers-atomic"),
    pytest.param("Service", ("spec", "clusterIPs"), None, id="clusterIPs-atomic"),
    pytest.param("Endpoints", ("subsets",), None, id="subsets-atomic"),
    pytest.param("Pod", ("spec",), None, id="struct"),
    pytest.param("Pod", ("spec", "nope", "containers"), None, id="unknown-path"),
    pytest.param("Widget", ("spec", "containers"), None, id="unknown-kind"),
]


@pytest.mark.parametrize("kind,path,want", META)
def test_list_meta(kind: str, path: tuple[str, ...], want: tuple[str, str] | None) -> None:
    assert list_meta(kind, path) == want


def test_every_served_kind_has_a_tree_and_unknown_kinds_are_empty() -> None:
    assert set(KINDS) == {"Pod", "Node", "Namespace", "Service", "Endpoints", "ConfigMap",
                          "Secret", "Event", "Deployment", "ReplicaSet", "Lease",
                          "PriorityClass"}
    for kind, definition in KINDS.items():
        assert patch_meta(kind).definition == definition
        assert list_meta(kind, ("metadata", "finalizers")) == ("merge", "")
    assert patch_meta("Widget") is EMPTY


def test_tagged_fields_and_definition_meta() -> None:
    paths = {p: (s, k) for p, s, k in tagged_fields("Deployment")}
    assert paths[("spec", "template", "spec", "volumes")] == ("merge,retainKeys", "name")
    assert paths[("spec", "strategy")] == ("retainKeys", "")
    assert ("spec", "template", "spec", "tolerations") not in paths
    assert definition_meta("io.k8s.api.core.v1.Container") == {
        "ports": ("merge", "containerPort"), "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"), "volumeDevices": ("merge", "devicePath")}
    assert definition_meta("io.k8s.api.core.v1.Pod") == {}      # only untagged struct fields
    assert "io.k8s.api.core.v1.PodSpec" in DEFINITIONS
    assert "io.k8s.api.core.v1.Pod" not in DEFINITIONS
    node = patch_meta("Pod").child("spec").child("containers")
    assert (node.patch_strategy, node.merge_key, node.definition) == \
        ("merge", "name", "io.k8s.api.core.v1.Container")
    assert patch_meta("Pod").child("spec").child("volumes").retain_keys


# ---------------------------------------------------------------------------------------------
# the merge
# ---------------------------------------------------------------------------------------------

POD: dict[str, Any] = {
    "metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a", "b"]},
    "spec": {
        "containers": [
            {"name": "app", "image": "app:1", "args": ["--x", "--y"],
             "ports": [{"containerPort": 80, "protocol": "TCP"}],
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "side", "image": "side:1"},
        ],
        "tolerations": [{"key": "k1", "operator": "Exists"}],
        "nodeSelector": {"disk": "ssd"},
    },
}


def pod(**changes: Any) -> dict[str, Any]:
    """POD with top-level-path changes: pod(**{"spec.nodeSelector": None}) drops a key."""
    out = copy.deepcopy(POD)
    for dotted, value in changes.items():
        *head, last = dotted.split(".")
        cur = out
        for k in head:
            cur = cur[k]
        if value is None:
            cur.pop(last, None)
        else:
            cur[last] = value
    return out


APP = POD["spec"]["containers"][0]
SIDE = POD["spec"]["containers"][1]


def app(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = copy.deepcopy(APP)
    for k, v in fields.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


MERGES = [
    # maps
    pytest.param("Pod", POD, {"metadata": {"labels": {"tier": None, "v": "2"}}},
                 pod(**{"metadata.labels": {"app": "web", "v": "2"}}), id="map-merge-null-deletes"),
    pytest.param("Pod", POD, {"spec": {"nodeSelector": None}}, pod(**{"spec.nodeSelector": None}),
                 id="null-deletes-field"),
    pytest.param("Pod", POD, {"spec": {"priorityClassName": None}}, POD,
                 id="null-for-absent-field"),
    pytest.param("Pod", POD, {"spec": {"affinity": {"nodeAffinity": None, "podAffinity": {}}}},
                 pod(**{"spec.affinity": {"podAffinity": {}}}), id="new-map-loses-its-nulls"),
    # lists merged by key
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "app", "image": "app:2"}]}},
                 pod(**{"spec.containers": [app(image="app:2"), SIDE]}),
                 id="containers-merge-by-name"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "new", "image": "n:1"}]}},
                 pod(**{"spec.containers": [{"name": "new", "image": "n:1"}, APP, SIDE]}),
                 id="new-entry-first"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "side", "image": "side:2"},
                                                      {"name": "new", "image": "n:1"}]}},
                 pod(**{"spec.containers": [APP, {"name": "side", "image": "side:2"},
                                            {"name": "new", "image": "n:1"}]}),
                 id="new-entry-after-the-patch-entry-it-follows"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "app", "env": [
                     {"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}]}},
                 pod(**{"spec.containers": [app(env=[
                     {"name": "A", "value": "1"}, {"name": "B", "value": "20"},
                     {"name": "C", "value": "3"}]), SIDE]}), id="nested-env-merge"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "app", "ports": [
                     {"containerPort": 443}]}]}},
                 pod(**{"spec.containers": [app(ports=[
                     {"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}]), SIDE]}),
                 id="ports-by-containerPort"),
    # atomic lists
    pytest.param("Pod", POD, {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}},
                 pod(**{"spec.tolerations": [{"key": "k2", "operator": "Exists"}]}),
                 id="tolerations-replaced"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "app", "args": ["--z"]}]}},
                 pod(**{"spec.containers": [app(args=["--z"]), SIDE]}), id="args-replaced"),
    # primitive merge list
    pytest.param("Pod", POD, {"metadata": {"finalizers": ["c", "b"]}},
                 pod(**{"metadata.finalizers": ["c", "a", "b"]}), id="finalizers-union"),
    pytest.param("Pod", POD, {"metadata": {"finalizers": []}}, POD, id="finalizers-empty-patch"),
    pytest.param("Pod", POD, {"metadata": {"finalizers": None}},
                 pod(**{"metadata.finalizers": None}), id="finalizers-null"),
    # $patch in maps
    pytest.param("Pod", POD, {"metadata": {"labels": {"$patch": "replace", "only": "me"}}},
                 pod(**{"metadata.labels": {"only": "me"}}), id="map-replace"),
    pytest.param("Pod", POD, {"metadata": {"labels": {"$patch": "delete"}}},
                 pod(**{"metadata.labels": {}}), id="map-delete"),
    pytest.param("Pod", POD, {"spec": {"dnsConfig": {"$patch": "replace", "searches": ["x"]}}},
                 POD, id="directive-map-for-absent-field-dropped"),
    # $patch in lists
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
                 pod(**{"spec.containers": [APP]}), id="list-delete-entry"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "x", "image": "x:1"},
                                                      {"$patch": "replace"}]}},
                 pod(**{"spec.containers": [{"name": "x", "image": "x:1"}]}),
                 id="list-replace"),
    pytest.param("Pod", POD, {"spec": {"initContainers": [{"name": "i", "$patch": "delete"}]}},
                 pod(**{"spec.initContainers": []}), id="delete-in-new-list"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "app", "env": [
                     {"name": "A", "$patch": "delete"}]}]}},
                 pod(**{"spec.containers": [app(env=[{"name": "B", "value": "2"}]), SIDE]}),
                 id="nested-delete"),
    # $retainKeys
    pytest.param("Pod", POD, {"spec": {"containers": [
                     {"name": "app", "$retainKeys": ["name", "image"], "image": "app:3"}]}},
                 pod(**{"spec.containers": [{"name": "app", "image": "app:3"}, SIDE]}),
                 id="retainKeys"),
    # $setElementOrder
    pytest.param("Pod", POD, {"spec": {"$setElementOrder/containers": [{"name": "side"},
                                                                      {"name": "app"}]}},
                 pod(**{"spec.containers": [SIDE, APP]}), id="setElementOrder-reorders"),
    pytest.param("Pod", POD, {"metadata": {"$setElementOrder/finalizers": ["b", "a"]}},
                 pod(**{"metadata.finalizers": ["b", "a"]}), id="setElementOrder-primitives"),
    pytest.param("Pod", POD, {"spec": {"containers": [{"name": "app", "env": [
                     {"name": "Z", "value": "26"}],
                     "$setElementOrder/env": [{"name": "B"}, {"name": "Z"}, {"name": "A"}]}]}},
                 pod(**{"spec.containers": [app(env=[
                     {"name": "B", "value": "2"}, {"name": "Z", "value": "26"},
                     {"name": "A", "value": "1"}]), SIDE]}), id="setElementOrder-with-entries"),
    # $deleteFromPrimitiveList
    pytest.param("Pod", POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "x"]}},
                 pod(**{"metadata.finalizers": ["b"]}), id="deleteFromPrimitiveList"),
    pytest.param("Pod", POD, {"spec": {"containers": [
                     {"name": "app", "$deleteFromPrimitiveList/args": ["--x"]}]}},
                 pod(**{"spec.containers": [app(args=["--y"]), SIDE]}),
                 id="deleteFromPrimitiveList-atomic-list-too"),
    pytest.param("Pod", POD, {"spec": {"$deleteFromPrimitiveList/imagePullSecrets": ["x"]}},
                 POD, id="deleteFromPrimitiveList-absent-list"),
    # other kinds
    pytest.param("Node", {"status": {"conditions": [
                     {"type": "Ready", "status": "True", "reason": "KubeletReady"},
                     {"type": "DiskPressure", "status": "False"}],
                     "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
                 {"status": {"conditions": [{"type": "Ready", "status": "False",
                                             "reason": "NodeStatusUnknown"}],
                             "addresses": [{"type": "Hostname", "address": "n1"}]}},
                 {"status": {"conditions": [
                     {"type": "Ready", "status": "False", "reason": "NodeStatusUnknown"},
                     {"type": "DiskPressure", "status": "False"}],
                     "addresses": [{"type": "Hostname", "address": "n1"},
                                   {"type": "InternalIP", "address": "10.0.0.1"}]}},
                 id="node-status-conditions-and-addresses"),
    pytest.param("Node", {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}],
                                   "podCIDRs": ["10.0.0.0/24"]}},
                 {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}],
                           "podCIDRs": ["fd00::/64"]}},
                 {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}],
                           "podCIDRs": ["fd00::/64", "10.0.0.0/24"]}},
                 id="node-taints-atomic-podCIDRs-merge"),
    pytest.param("Service", {"spec": {"ports": [{"port": 80, "targetPort": 8080},
                                                {"port": 443, "targetPort": 8443}]}},
                 {"spec": {"ports": [{"port": 443, "targetPort": 9443},
                                     {"port": 80, "$patch": "delete"}]}},
                 {"spec": {"ports": [{"port": 443, "targetPort": 9443}]}},
                 id="service-ports-by-port"),
    pytest.param("Deployment", {"spec": {"strategy": {
                     "type": "RollingUpdate",
                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}},
                 {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
                 {"spec": {"strategy": {"type": "Recreate"}}}, id="deployment-strategy-retainKeys"),
    pytest.param("Deployment", {"spec": {"template": {"spec": {"containers": [
                     {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}]}}}},
                 {"spec": {"template": {"spec": {"containers": [
                     {"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}}},
                 {"spec": {"template": {"spec": {"containers": [
                     {"name": "a", "image": "a:1", "env": [{"name": "Y", "value": "2"},
                                                          {"name": "X", "value": "1"}]}]}}}},
                 id="deployment-template"),
    pytest.param("ReplicaSet", {"metadata": {"ownerReferences": [
                     {"uid": "u1", "name": "d1", "kind": "Deployment", "apiVersion": "apps/v1"}]}},
                 {"metadata": {"ownerReferences": [
                     {"uid": "u1", "controller": True},
                     {"uid": "u2", "name": "d2", "kind": "Deployment", "apiVersion": "apps/v1"}]}},
                 {"metadata": {"ownerReferences": [
                     {"uid": "u1", "name": "d1", "kind": "Deployment", "apiVersion": "apps/v1",
                      "controller": True},
                     {"uid": "u2", "name": "d2", "kind": "Deployment", "apiVersion": "apps/v1"}]}},
                 id="ownerReferences-by-uid"),
    pytest.param("ConfigMap", {"data": {"a": "1", "b": "2"}}, {"data": {"a": None, "c": "3"}},
                 {"data": {"b": "2", "c": "3"}}, id="configmap-data"),
]


def _same(a: Any, b: Any) -> bool:
    """Equal, list order included (dict key order aside)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("kind,original,patch,want", MERGES)
def test_strategic_merge_patch(kind: str, original: dict[str, Any], patch: dict[str, Any],
                               want: dict[str, Any]) -> None:
    before, pbefore = copy.deepcopy(original), copy.deepcopy(patch)
    got = strategic_merge_patch(original, patch, kind)
    assert _same(got, want), json.dumps(got)
    assert original == before and patch == pbefore, "inputs must not be modified"


def test_appended_entries_lose_their_directive_keys() -> None:
    """A new container appended from the patch keeps what the Go type keeps: the apiserver
    decodes the patched map into a Pod, which drops the leftover directive keys."""
    p = {"spec": {"containers": [{"name": "n", "image": "n:1", "$setElementOrder/env": [],
                                  "env": [{"name": "X", "$patch": "delete"}]}]}}
    got = strategic_merge_patch(POD, p, "Pod")
    assert got["spec"]["containers"][0] == {"name": "n", "image": "n:1", "env": [{"name": "X"}]}


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

ERRORS = [
    pytest.param({"spec": {"containers": [{"image": "z"}]}}, 500,
                 "map: map[image:z] does not contain declared merge key: name",
                 id="missing-merge-key"),
    pytest.param({"spec": {"containers": [{"image": "z", "$patch": "delete"}]}}, 500,
                 "map: map[$patch:delete image:z] does not contain declared merge key: name",
                 id="delete-without-merge-key"),
    pytest.param({"metadata": {"labels": {"$patch": "merge", "y": "2"}}}, 500,
                 "unknown patch type: merge in map: map[$patch:merge y:2]", id="map-patch-merge"),
    pytest.param({"metadata": {"labels": {"$patch": 7}}}, 500,
                 "unknown patch type: %!s(int64=7) in map: map[$patch:7]", id="map-patch-number"),
    pytest.param({"spec": {"containers": [{"name": "app", "$patch": "merge"}]}}, 500,
                 "merging lists cannot yet be specified in the patch", id="list-patch-merge"),
    pytest.param({"spec": {"containers": [{"name": "app", "$patch": "bogus"}]}}, 500,
                 "unknown patch type: bogus in map: map[$patch:bogus name:app]",
                 id="list-patch-bogus"),
    pytest.param({"metadata": {"$retainKeys": ["name"], "labels": {"y": "2"}}}, 400,
                 "invalid patch format of retainKeys", id="retainKeys-missing-a-patched-key"),
    pytest.param({"metadata": {"$retainKeys": "name"}}, 400,
                 "invalid patch format of retainKeys", id="retainKeys-not-a-list"),
    pytest.param({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}, 400,
                 "invalid patch format of primitive list", id="deleteFromPrimitiveList-no-slash"),
    pytest.param({"spec": {"$setElementOrdercontainers": [{"name": "b"}]}}, 400,
                 "invalid patch format of setElementOrder list", id="setElementOrder-no-slash"),
    pytest.param({"spec": {"$setElementOrder/containers": "x"}}, 500,
                 "expected a []interface {}, but received a string", id="setElementOrder-string"),
    pytest.param({"spec": {"$setElementOrder/containers": [{"name": "side"}],
                           "containers": [{"name": "app", "image": "z"}]}}, 500,
                 "The order in patch list:\n[map[image:z name:app]]\n doesn't match "
                 "$setElementOrder list:\n[map[name:side]]\n", id="setElementOrder-mismatch"),
    pytest.param({"spec": {"$setElementOrder/containers": ["app"]}}, 500,
                 "value for key 0 is not a map", id="setElementOrder-scalars-for-maps"),
    pytest.param({"spec": {"containers": ["x"]}}, 500,
                 "list element types are not identical: [[map[args:[--x --y] env:[map[name:A "
                 "value:1] map[name:B value:2]] image:app:1 name:app ports:[map[containerPort:80 "
                 "protocol:TCP]]] map[image:side:1 name:side]] [x]]", id="element-types-differ"),
    pytest.param({"metadata": {"finalizers": [1.5]}}, 500,
                 "list element types are not identical: [[a b] [1.5]]", id="number-in-strings"),
]


@pytest.mark.parametrize("patch,code,message", ERRORS)
def test_errors(patch: dict[str, Any], code: int, message: str) -> None:
    with pytest.raises(APIError) as e:
        strategic_merge_patch(POD, patch, "Pod")
    assert (e.value.code, e.value.message) == (code, message)
    assert e.value.reason == {400: "BadRequest", 500: ""}[code]


def test_list_of_lists_is_422() -> None:
    with pytest.raises(APIError) as e:
        strategic_merge_patch({"metadata": {"finalizers": []}},
                              {"metadata": {"finalizers": [["x"]]}}, "Pod")
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    assert e.value.causes[0]["message"] == "lists of lists are not supported"


def test_patch_must_be_an_object() -> None:
    with pytest.raises(APIError) as e:
        strategic_merge_patch(POD, [{"op": "add"}], "Pod")
    assert e.value.code == 400


@pytest.mark.parametrize("value,want", [
    pytest.param({"b": [1, 2.5, True, None], "a": "x"}, "map[a:x b:[1 2.5 true <nil>]]", id="map"),
    pytest.param(1e6, "1e+06", id="float-exponent"),
    pytest.param(123456.0, "123456", id="float-integral"),
    pytest.param(0.0001, "0.0001", id="float-small"),
    pytest.param(0.00001, "1e-05", id="float-tiny"),
])
def test_go_v(value: Any, want: str) -> None:
    assert go_v(value) == want


def test_go_stable_sort_is_a_stable_sort_for_consistent_orders() -> None:
    rng = random.Random(7)
    for n in (0, 1, 5, 19, 20, 21, 40, 41, 97, 300):
        items = [(rng.randint(0, 9), i) for i in range(n)]
        got = _go_stable_sort(items, lambda a, b: a[0] < b[0])
        assert got == sorted(items, key=lambda t: t[0])


# ---------------------------------------------------------------------------------------------
# what `kubectl apply` sends: a three-way patch with the last-applied annotation
# ---------------------------------------------------------------------------------------------

OLD_CONFIG = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [
                              {"name": "app", "image": "app:1", "ports": [{"containerPort": 80}],
                               "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                              {"name": "sidecar", "image": "side:1"}]}}},
}
NEW_CONFIG = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"selector": {"matchLabels": {"app": "web"}},
             "strategy": {"type": "Recreate"},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [
                              {"name": "log", "image": "log:1"},
                              {"name": "app", "image": "app:2",
                               "env": [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}]}]}}},
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LIVE = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "generation": 1,
                 "annotations": {LAST_APPLIED: json.dumps(OLD_CONFIG) + "\n"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "strategy": {"type": "RollingUpdate",
                          "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [
                              {"name": "app", "image": "app:1", "imagePullPolicy": "IfNotPresent",
                               "ports": [{"containerPort": 80, "protocol": "TCP"}],
                               "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                              {"name": "sidecar", "image": "side:1",
                               "imagePullPolicy": "IfNotPresent"}],
                              "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}},
}
# CreateThreeWayMergePatch(original=OLD_CONFIG, modified=NEW_CONFIG, current=LIVE): the
# deletions from the last applied config, plus the changes from the live object, with
# $setElementOrder lists for the merging lists and $retainKeys for the retainKeys strategy
APPLY_PATCH = {
    "metadata": {"annotations": {LAST_APPLIED: json.dumps(NEW_CONFIG) + "\n"}},
    "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"},
             "template": {"spec": {
                 "$setElementOrder/containers": [{"name": "log"}, {"name": "app"}],
                 "containers": [
                     {"name": "log", "image": "log:1"},
                     {"name": "app", "image": "app:2", "ports": None,
                      "$setElementOrder/env": [{"name": "B"}, {"name": "C"}],
                      "env": [{"name": "C", "value": "3"}, {"name": "A", "$patch": "delete"}]},
                     {"name": "sidecar", "$patch": "delete"}]}}},
}


def test_kubectl_apply_three_way_patch() -> None:
    got = strategic_merge_patch(LIVE, APPLY_PATCH, "Deployment")
    assert got["metadata"]["annotations"][LAST_APPLIED] == json.dumps(NEW_CONFIG) + "\n"
    assert got["spec"]["strategy"] == {"type": "Recreate"}
    assert got["spec"]["template"]["spec"]["containers"] == [
        {"name": "log", "image": "log:1"},
        {"name": "app", "image": "app:2", "imagePullPolicy": "IfNotPresent",  # server-set kept
         "env": [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}]}]
    assert got["spec"]["replicas"] == 1 and got["metadata"]["uid"] == "u-1"


FINALIZERS_APPLY = {"metadata": {"$setElementOrder/finalizers": ["b", "d"],
                                 "finalizers": ["d"],
                                 "$deleteFromPrimitiveList/finalizers": ["a"]}}


def test_kubectl_apply_primitive_list() -> None:
    """last applied [a, b], new config [b, d], live [a, b, c] (c added by a controller):
    c stays, a goes, d comes, in the order the config gives."""
    live = {"metadata": {"name": "p", "finalizers": ["a", "b", "c"]}}
    got = strategic_merge_patch(live, FINALIZERS_APPLY, "Pod")
    assert got["metadata"]["finalizers"] == ["b", "d", "c"]


# ---------------------------------------------------------------------------------------------
# the real kubectl as an oracle
# ---------------------------------------------------------------------------------------------

API_VERSIONS = {"Pod": "v1", "Node": "v1", "Service": "v1", "ConfigMap": "v1",
                "Deployment": "apps/v1", "ReplicaSet": "apps/v1"}


def _kubectl_patch(tmp: Path, kind: str, original: dict[str, Any],
                   patch: dict[str, Any]) -> tuple[str, Any]:
    obj = copy.deepcopy(original)
    obj["apiVersion"], obj["kind"] = API_VERSIONS[kind], kind
    obj.setdefault("metadata", {}).setdefault("name", "x")
    f = tmp / "obj.json"
    f.write_text(json.dumps(obj))
    cfg = tmp / "kubeconfig"
    cfg.write_text("")
    env = dict(os.environ, KUBECONFIG=str(cfg))
    p = subprocess.run(["kubectl", "patch", "--local", "-f", str(f), "--type", "strategic",
                        "-p", json.dumps(patch), "-o", "json", "--cache-dir", str(tmp / "cache")],
                       capture_output=True, text=True, env=env, timeout=60)
    if p.returncode:
        return "error", p.stderr.strip().removeprefix("error: ")
    out = json.loads(p.stdout)
    # kubectl prints the bare map; the apiserver's typed decode drops leftover directives
    return "ok", _strip_directive_keys(out)


def _ours(kind: str, original: dict[str, Any], patch: dict[str, Any]) -> tuple[str, Any]:
    obj = copy.deepcopy(original)
    obj["apiVersion"], obj["kind"] = API_VERSIONS[kind], kind
    obj.setdefault("metadata", {}).setdefault("name", "x")
    try:
        return "ok", strategic_merge_patch(obj, patch, kind)
    except APIError as e:
        return "error", e.message.strip()


ORACLE = [pytest.param(*p.values[:3], id=p.id) for p in MERGES] + [
    pytest.param("Pod", POD, p.values[0], id=f"error-{p.id}") for p in ERRORS] + [
    pytest.param("Deployment", LIVE, APPLY_PATCH, id="kubectl-apply-three-way"),
    pytest.param("Pod", {"metadata": {"finalizers": ["a", "b", "c"]}}, FINALIZERS_APPLY,
                 id="kubectl-apply-primitive-list"),
    # long lists: Go's SliceStable merges blocks of 20, with upstream's inconsistent order
    pytest.param("Pod", {"metadata": {"finalizers": [f"f{i:02d}" for i in range(0, 50, 2)]}},
                 {"metadata": {"finalizers": [f"f{i:02d}" for i in range(45, 0, -3)],
                               "$setElementOrder/finalizers":
                                   [f"f{i:02d}" for i in range(45, 0, -3)]}},
                 id="long-primitive-list-setElementOrder"),
    pytest.param("Pod", {"spec": {"containers": [{"name": "a", "env": [
                     {"name": f"E{i:02d}", "value": "o"} for i in range(0, 60, 2)]}]}},
                 {"spec": {"containers": [{"name": "a", "env": [
                     {"name": f"E{i:02d}", "value": "p"} for i in range(57, 0, -4)],
                     "$setElementOrder/env": []}]}}, id="long-env-empty-setElementOrder"),
]


@pytest.mark.skipif(shutil.which("kubectl") is None,
                    reason="kubectl is not on PATH: the Go implementation is the oracle")
@pytest.mark.parametrize("kind,original,patch", ORACLE)
def test_same_as_kubectl(tmp_path: Path, kind: str, original: dict[str, Any],
                         patch: dict[str, Any]) -> None:
    want = _kubectl_patch(tmp_path, kind, original, patch)
    got = _ours(kind, original, patch)
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        assert _same(got[1], want[1]), (json.dumps(got[1]), json.dumps(want[1]))
    else:
        assert got[1] == want[1]
