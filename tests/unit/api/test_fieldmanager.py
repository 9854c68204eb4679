"""Server-side apply and managedFields (actors/api/fieldmanager.py): field sets and their
FieldsV1 encoding, ownership after ordinary writes, apply's merge, pruning and conflicts,
and Registry.patch(patch_type="apply")."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.api.errors import APIError
from actors.api.fieldmanager import (BEFORE_FIRST_APPLY, apply, decode_fields, encode_fields,
                                     field_set, managers, path_string, update_managed_fields)

T1, T2, T3 = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"
KEY_NGINX = 'k:{"name":"nginx"}'
PORT_80 = 'k:{"containerPort":80,"protocol":"TCP"}'


def deploy(replicas: int = 3, image: str = "nginx:1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                         "resourceVersion": "7", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [
                                      {"name": "nginx", "image": image,
                                       "ports": [{"containerPort": 80}]}]}},
                     **spec},
            "status": {"replicas": replicas}}


def config(replicas: int | None = 3, image: str = "nginx:1", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "nginx",
                                                                  "image": image}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    spec.update(extra)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": spec}


def do_apply(live: dict[str, Any] | None, cfg: dict[str, Any], manager: str = "kubectl",
             force: bool = False, now: str = T2, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = apply(live, cfg, manager, force, kind=kw.pop("kind", "Deployment"),
                                api_version=kw.pop("api_version", "apps/v1"), now=now, **kw)
    return out


def owners(obj: dict[str, Any]) -> dict[str, set[tuple[str, ...]]]:
    return {m.manager: m.fields for m in managers(obj)}


# ---------------------------------------------------------------------------------------------
# field sets and FieldsV1
# ---------------------------------------------------------------------------------------------


def test_field_set_of_a_deployment() -> None:
    d = deploy()
    d["metadata"]["finalizers"] = ["a"]
    d["spec"]["template"]["spec"]["containers"][0]["args"] = ["-v"]
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    c = ("f:spec", "f:template", "f:spec", "f:containers", KEY_NGINX)
    assert field_set(d, "Deployment") == {
        ("f:metadata", "f:labels", "f:app"),                    # map entry
        ("f:metadata", "f:finalizers", 'v:"a"'),                 # set item
        ("f:spec", "f:replicas"),
        ("f:spec", "f:selector"),                                # +structType=atomic
        ("f:spec", "f:template", "f:metadata", "f:labels", "f:app"),
        c,                                                       # keyed list item
        c + ("f:name",), c + ("f:image",),
        c + ("f:args",),                                         # atomic list
        c + ("f:resources",),                                    # empty map
        c + ("f:ports", PORT_80),                                # key default: protocol TCP
        c + ("f:ports", PORT_80, "f:containerPort"),
    }                                   # no status (a subresource), no system metadata
    assert field_set(d, "Deployment", "status") == {("f:status", "f:replicas")}


def test_fieldsv1_encoding_round_trip() -> None:
    paths = {("f:metadata", "f:labels", "f:app"), ("f:spec", "f:replicas"),
             ("f:spec", "f:template", "f:spec", "f:containers", KEY_NGINX),
             ("f:spec", "f:template", "f:spec", "f:containers", KEY_NGINX, "f:image")}
    enc = encode_fields(paths)
    assert enc == {"f:metadata": {"f:labels": {"f:app": {}}},
                   "f:spec": {"f:replicas": {},
                              "f:template": {"f:spec": {"f:containers": {
                                  KEY_NGINX: {".": {}, "f:image": {}}}}}}}
    assert decode_fields(enc) == paths


@pytest.mark.parametrize("path,text", [
    pytest.param(("f:spec", "f:replicas"), ".spec.replicas", id="fields"),
    pytest.param(("f:spec", "f:containers", KEY_NGINX, "f:image"),
                 '.spec.containers[name="nginx"].image', id="key"),
    pytest.param(("f:spec", "f:ports", PORT_80), '.spec.ports[containerPort=80,protocol="TCP"]',
                 id="two-keys"),
    pytest.param(("f:metadata", "f:finalizers", 'v:"a/b"'), '.metadata.finalizers[="a/b"]',
                 id="set-item"),
])
def test_path_string(path: tuple[str, ...], text: str) -> None:
    assert path_string(path) == text


# ---------------------------------------------------------------------------------------------
# ordinary writes (operation Update)
# ---------------------------------------------------------------------------------------------


def test_create_records_every_field_as_upstream() -> None:
    """What `kubectl create`/client-side apply leaves: '.' on the nodes the write created
    that also have owned children; structs every Go object has (spec, template) have none."""
    out = update_managed_fields(None, deploy(), "kubectl-client-side-apply", kind="Deployment",
                                api_version="apps/v1", now=T1)
    [entry] = out["metadata"]["managedFields"]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
        "time": T1, "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:selector": {},
                   "f:template": {
                       "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                       "f:spec": {"f:containers": {KEY_NGINX: {
                           ".": {}, "f:image": {}, "f:name": {},
                           "f:ports": {".": {}, PORT_80: {".": {}, "f:containerPort": {}}}}}}}}}


def test_update_moves_changed_fields_to_the_writer() -> None:
    d = update_managed_fields(None, deploy(), "creator", kind="Deployment",
                              api_version="apps/v1", now=T1)
    new = copy.deepcopy(d)
    new["spec"]["replicas"] = 5
    del new["metadata"]["labels"]
    out = update_managed_fields(d, new, "scaler", kind="Deployment", api_version="apps/v1",
                                now=T2)
    own = owners(out)
    assert own["scaler"] == {("f:spec", "f:replicas")}
    assert ("f:spec", "f:replicas") not in own["creator"]
    assert not any(p[:2] == ("f:metadata", "f:labels") for p in own["creator"])  # removed
    times = {m.manager: m.time for m in managers(out)}
    assert times == {"creator": T1, "scaler": T2}
    # a write that changes nothing takes nothing (and leaves the time alone)
    again = update_managed_fields(out, copy.deepcopy(out), "scaler", kind="Deployment",
                                  api_version="apps/v1", now=T3)
    assert {m.manager: m.time for m in managers(again)} == times


def test_update_with_managed_fields_reset() -> None:
    d = update_managed_fields(None, deploy(), "creator", kind="Deployment",
                              api_version="apps/v1", now=T1)
    new = copy.deepcopy(d)
    new["metadata"]["managedFields"] = [{}]
    out = update_managed_fields(d, new, "x", kind="Deployment", api_version="apps/v1", now=T2)
    assert "managedFields" not in out["metadata"]


def test_an_unwalkable_object_keeps_its_managed_fields() -> None:
    d = update_managed_fields(None, deploy(), "creator", kind="Deployment",
                              api_version="apps/v1", now=T1)
    new = copy.deepcopy(d)
    new["spec"]["template"]["spec"]["containers"].append({"image": "no-name"})
    out = update_managed_fields(d, new, "x", kind="Deployment", api_version="apps/v1", now=T2)
    assert out["metadata"]["managedFields"] == d["metadata"]["managedFields"]


def test_status_writes_are_tracked_apart() -> None:
    d = update_managed_fields(None, deploy(), "creator", kind="Deployment",
                              api_version="apps/v1", now=T1)
    new = copy.deepcopy(d)
    new["status"] = {"replicas": 3, "readyReplicas": 3}
    out = update_managed_fields(d, new, "kube-controller-manager", kind="Deployment",
                                api_version="apps/v1", now=T2, subresource="status")
    [ctrl] = [m for m in managers(out) if m.manager == "kube-controller-manager"]
    assert (ctrl.subresource, ctrl.fields) == ("status", {("f:status", "f:readyReplicas")})


# ---------------------------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------------------------


def test_apply_creates() -> None:
    out = do_apply(None, config(), now=T1)
    assert out["metadata"]["name"] == "web"
    assert out["spec"]["replicas"] == 3
    [entry] = out["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["time"]) == ("kubectl", "Apply", T1)
    # an applier's set is its configuration's: no '.' on maps it did not create as such
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:metadata"] == \
        {"f:labels": {"f:app": {}}}


def test_reapply_removes_what_the_manager_no_longer_applies() -> None:
    first = do_apply(None, config(minReadySeconds=5), now=T1)
    first["metadata"]["annotations"] = {"note": "x"}           # someone else's field
    out = do_apply(first, config())
    assert "minReadySeconds" not in out["spec"]
    assert out["metadata"]["annotations"] == {"note": "x"}     # not the applier's: kept
    assert out["spec"]["replicas"] == 3


def test_reapply_keeps_a_field_another_manager_also_owns() -> None:
    first = do_apply(None, config(minReadySeconds=5), now=T1)
    shared = do_apply(first, config(minReadySeconds=5), manager="other")
    out = do_apply(shared, config(), now=T3)
    assert out["spec"]["minReadySeconds"] == 5


def test_conflict_with_an_update_manager() -> None:
    live = update_managed_fields(None, deploy(), "kubectl-client-side-apply",
                                 kind="Deployment", api_version="apps/v1", now=T1)
    with pytest.raises(APIError) as e:
        do_apply(live, config(replicas=5))
    assert (e.value.code, e.value.reason) == (409, "Conflict")
    assert e.value.message == ('Apply failed with 1 conflict: conflict with '
                               '"kubectl-client-side-apply" using apps/v1: .spec.replicas')
    assert e.value.causes == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                               "message": 'conflict with "kubectl-client-side-apply" '
                                          "using apps/v1"}]


def test_same_value_is_shared_not_a_conflict() -> None:
    live = update_managed_fields(None, deploy(), "creator", kind="Deployment",
                                 api_version="apps/v1", now=T1)
    out = do_apply(live, config(replicas=3))
    own = owners(out)
    assert ("f:spec", "f:replicas") in own["kubectl"] and ("f:spec", "f:replicas") in \
        own["creator"]


def test_several_conflicts_and_force() -> None:
    live = update_managed_fields(None, deploy(), "creator", kind="Deployment",
                                 api_version="apps/v1", now=T1)
    live = do_apply(live, config(replicas=3), manager="ci", now=T1)
    with pytest.raises(APIError) as e:
        do_apply(live, config(replicas=4, image="nginx:2"))
    image = '.spec.template.spec.containers[name="nginx"].image'
    assert e.value.message == (
        'Apply failed with 4 conflicts: conflicts with "ci":\n'
        f"- .spec.replicas\n- {image}\n"
        'conflicts with "creator" using apps/v1:\n'
        f"- .spec.replicas\n- {image}")
    assert sorted((c["message"], c["field"]) for c in e.value.causes) == [
        ('conflict with "ci"', ".spec.replicas"), ('conflict with "ci"', image),
        ('conflict with "creator" using apps/v1', ".spec.replicas"),
        ('conflict with "creator" using apps/v1', image)]
    out = do_apply(live, config(replicas=4, image="nginx:2"), force=True)
    assert out["spec"]["replicas"] == 4
    own = owners(out)
    assert ("f:spec", "f:replicas") not in own["ci"] | own["creator"]
    assert ("f:spec", "f:replicas") in own["kubectl"]


def test_first_apply_to_an_object_without_managed_fields() -> None:
    live = deploy()
    assert "managedFields" not in live["metadata"]
    with pytest.raises(APIError) as e:
        do_apply(live, config(replicas=5))
    assert e.value.causes[0]["message"] == f'conflict with "{BEFORE_FIRST_APPLY}" using apps/v1'
    out = do_apply(live, config(replicas=3))      # same values: no conflict
    assert set(owners(out)) == {BEFORE_FIRST_APPLY, "kubectl"}


def test_apply_ignores_status_and_system_metadata() -> None:
    live = do_apply(None, config(), now=T1)
    live["status"] = {"replicas": 3}
    cfg = config()
    cfg["status"] = {"replicas": 99}
    cfg["metadata"]["uid"] = "forged"
    out = do_apply(live, cfg)
    assert out["status"] == {"replicas": 3}
    assert "uid" not in out["metadata"] and "f:status" not in \
        out["metadata"]["managedFields"][0]["fieldsV1"]


def test_apply_status_subresource() -> None:
    live = do_apply(None, config(), now=T1)
    live["status"] = {"replicas": 3}
    cfg = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": 50}, "status": {"readyReplicas": 2}}
    out = do_apply(live, cfg, manager="ctrl", subresource="status")
    assert out["status"] == {"replicas": 3, "readyReplicas": 2}
    assert out["spec"]["replicas"] == 3
    [ctrl] = [m for m in managers(out) if m.manager == "ctrl"]
    assert (ctrl.subresource, ctrl.fields) == ("status", {("f:status", "f:readyReplicas")})


def test_apply_merges_keyed_lists_in_upstream_order() -> None:
    cm = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
          "spec": {"containers": [{"name": n, "image": "i"} for n in "abc"]}}
    live = do_apply(None, cm, manager="owner", kind="Pod", api_version="v1", now=T1)
    cfg = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "d", "image": "i"}, {"name": "b", "image": "j"}]}}
    out = do_apply(live, cfg, manager="other", kind="Pod", api_version="v1", force=True)
    assert [(c["name"], c["image"]) for c in out["spec"]["containers"]] == \
        [("a", "i"), ("d", "i"), ("b", "j"), ("c", "i")]


def test_apply_sets_union_and_atomic_lists_replace() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "finalizers": ["x"]},
           "spec": {"containers": [{"name": "a", "image": "i"}],
                    "tolerations": [{"key": "k1", "operator": "Exists"}]}}
    live = do_apply(None, pod, manager="one", kind="Pod", api_version="v1", now=T1)
    cfg = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["y"]},
           "spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}}
    out = do_apply(live, cfg, manager="two", kind="Pod", api_version="v1", force=True)
    assert out["metadata"]["finalizers"] == ["x", "y"]
    assert out["spec"]["tolerations"] == [{"key": "k2", "operator": "Exists"}]


@pytest.mark.parametrize("cfg,code,message", [
    pytest.param({**config(), "apiVersion": "apps/v1beta1"}, 400,
                 "Incorrect version specified in apply patch. Specified patch version: "
                 "apps/v1beta1, expected: apps/v1", id="version"),
    pytest.param({**config(), "kind": "ReplicaSet"}, 400,
                 "Incorrect kind specified in apply patch. Specified patch kind: ReplicaSet, "
                 "expected: Deployment", id="kind"),
    pytest.param({**config(), "metadata": {"name": "web", "managedFields": []}}, 400,
                 "metadata.managedFields must be nil", id="managedFields"),
    pytest.param(config(template={"spec": {"containers": [{"image": "x"}]}}), 422,
                 '.spec.template.spec.containers: element 0: associative list with keys has an '
                 'element that omits key field "name" (and doesn\'t have default value)',
                 id="missing-key"),
])
def test_bad_apply_configurations(cfg: dict[str, Any], code: int, message: str) -> None:
    with pytest.raises(APIError) as e:
        do_apply(None, cfg)
    assert (e.value.code, e.value.message) == (code, message)


# ---------------------------------------------------------------------------------------------
# Registry.patch(patch_type="apply")
# ---------------------------------------------------------------------------------------------

from tests.unit.apiserver.helpers import deployment, make_registry, run  # noqa: E402


def _apply_cfg(replicas: int, image: str = "nginx:1.25") -> dict[str, Any]:
    d = deployment("web", replicas)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return d


def test_registry_apply_creates_then_updates() -> None:
    reg, _, _ = make_registry()
    created = run(reg.patch("deployments", "web", _apply_cfg(2), "default", "apply",
                            field_manager="kubectl"))
    assert created["spec"]["replicas"] == 2 and created["metadata"]["uid"]
    out = run(reg.patch("deployments", "web", _apply_cfg(2, "nginx:1.27"), "default", "apply",
                        field_manager="kubectl", force=True))
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert out["metadata"]["uid"] == created["metadata"]["uid"]


def test_registry_apply_needs_a_field_manager_and_the_right_name() -> None:
    reg, _, _ = make_registry()
    with pytest.raises(APIError) as e:
        run(reg.patch("deployments", "web", _apply_cfg(2), "default", "apply"))
    assert e.value.code == 422 and "fieldManager: Required value" in e.value.message
    with pytest.raises(APIError) as e:
        run(reg.patch("deployments", "other", _apply_cfg(2), "default", "apply",
                      field_manager="kubectl"))
    assert e.value.code == 400


def test_registry_apply_ownership() -> None:
    reg, _, _ = make_registry()
    run(reg.patch("deployments", "web", _apply_cfg(2), "default", "apply",
                  field_manager="kubectl"))
    # the applier changes its own fields freely
    out = run(reg.patch("deployments", "web", _apply_cfg(2, "nginx:1.27"), "default", "apply",
                        field_manager="kubectl"))
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    # an ordinary patch by another manager takes spec.replicas
    scaled = run(reg.patch("deployments", "web", {"spec": {"replicas": 5}}, "default",
                           "merge", field_manager="kubectl-scale"))
    assert {m["manager"] for m in scaled["metadata"]["managedFields"]} == \
        {"kubectl", "kubectl-scale"}
    with pytest.raises(APIError) as e:
        run(reg.patch("deployments", "web", _apply_cfg(3), "default", "apply",
                      field_manager="kubectl"))
    assert e.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-scale" '
                               "using apps/v1: .spec.replicas")
    out = run(reg.patch("deployments", "web", _apply_cfg(3, "nginx:1.27"), "default",
                        "apply", field_manager="kubectl", force=True))
    assert out["spec"]["replicas"] == 3
    assert {m["manager"] for m in out["metadata"]["managedFields"]} == {"kubectl"}
    stored = run(reg.get("deployments", "web", "default"))
    assert stored["metadata"]["managedFields"] == out["metadata"]["managedFields"]
