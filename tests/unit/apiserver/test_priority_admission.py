"""The Priority admission plugin: pods get their PriorityClass's priority and
preemptionPolicy; PriorityClasses keep a single globalDefault; system classes exist
from bootstrap and cannot be deleted."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.errors import APIError
from actors.api.resources import lookup
from actors.apiserver.admission import (CREATE, DELETE, UPDATE, Admission, Attributes, default_priority_class,
                                        needs_priority_classes, system_priority_classes)

from .helpers import make_registry, pod, run

PODS = lookup("pods")
PCS = lookup("priorityclasses")


def pc(name: str, value: int, *, default: bool = False, policy: str | None = "PreemptLowerPriority"
       ) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                           "metadata": {"name": name}, "value": value}
    if default:
        out["globalDefault"] = True
    if policy is not None:
        out["preemptionPolicy"] = policy
    return out


CLASSES = [pc("high", 1000), pc("low", -5), pc("batch", 500, policy="Never"),
           *[dict(c, preemptionPolicy="PreemptLowerPriority") for c in system_priority_classes()]]


def admit_pod(spec: dict[str, Any], classes: list[dict[str, Any]], name: str = "web") -> dict[str, Any]:
    obj = pod(name, **spec)
    Admission().mutate(Attributes(CREATE, PODS, "default", name, obj=obj), classes)
    return obj["spec"]


@pytest.mark.parametrize("spec,classes,want", [
    pytest.param({}, CLASSES, {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"},
                 id="no-class-no-default"),
    pytest.param({"priorityClassName": "high"}, CLASSES,
                 {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"},
                 id="named-class"),
    pytest.param({"priorityClassName": "batch"}, CLASSES,
                 {"priorityClassName": "batch", "priority": 500, "preemptionPolicy": "Never"},
                 id="class-with-preemption-never"),
    pytest.param({"priorityClassName": "system-node-critical"}, CLASSES,
                 {"priorityClassName": "system-node-critical", "priority": 2000001000,
                  "preemptionPolicy": "PreemptLowerPriority"}, id="system-node-critical"),
    pytest.param({"priorityClassName": "system-cluster-critical"}, CLASSES,
                 {"priorityClassName": "system-cluster-critical", "priority": 2000000000,
                  "preemptionPolicy": "PreemptLowerPriority"}, id="system-cluster-critical"),
    pytest.param({}, CLASSES + [pc("dflt", 7, default=True, policy="Never")],
                 {"priorityClassName": "dflt", "priority": 7, "preemptionPolicy": "Never"},
                 id="global-default-named-on-the-pod"),
    pytest.param({}, CLASSES + [pc("d2", 9, default=True), pc("d1", 3, default=True)],
                 {"priorityClassName": "d1", "priority": 3, "preemptionPolicy": "PreemptLowerPriority"},
                 id="two-defaults-lowest-value-wins"),
    pytest.param({"priorityClassName": "high"}, CLASSES + [pc("dflt", 7, default=True)],
                 {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"},
                 id="named-class-beats-default"),
    pytest.param({"priorityClassName": "high", "priority": 1000}, CLASSES,
                 {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"},
                 id="matching-priority-given"),
    pytest.param({"priorityClassName": "batch", "preemptionPolicy": "Never"}, CLASSES,
                 {"priorityClassName": "batch", "priority": 500, "preemptionPolicy": "Never"},
                 id="matching-policy-given"),
])
def test_pod_priority_resolution(spec: dict[str, Any], classes: list[dict[str, Any]],
                                 want: dict[str, Any]) -> None:
    got = admit_pod(spec, classes)
    assert {k: got.get(k) for k in want} == want
    if "priorityClassName" not in want:
        assert not got.get("priorityClassName")


@pytest.mark.parametrize("spec,name,message", [
    pytest.param({"priorityClassName": "nope"}, "web",
                 'pods "web" is forbidden: no PriorityClass with name nope was found', id="unknown-class"),
    pytest.param({"priorityClassName": "high", "priority": 5}, "web",
                 'pods "web" is forbidden: the integer value of priority (5) must not be provided in pod spec; '
                 "priority admission controller computed 1000 from the given PriorityClass name",
                 id="priority-mismatch"),
    pytest.param({"priority": 10}, "web",
                 'pods "web" is forbidden: the integer value of priority (10) must not be provided in pod spec; '
                 "priority admission controller computed 0 from the given PriorityClass name",
                 id="priority-without-class"),
    pytest.param({"priorityClassName": "high", "preemptionPolicy": "Never"}, "web",
                 'pods "web" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in '
                 "pod spec; priority admission controller computed PreemptLowerPriority from the given "
                 "PriorityClass name", id="policy-mismatch"),
    pytest.param({"priorityClassName": "nope"}, "",
                 'pods "web-" is forbidden: no PriorityClass with name nope was found', id="generate-name"),
])
def test_pod_priority_forbidden(spec: dict[str, Any], name: str, message: str) -> None:
    obj = pod(name, **spec)
    if not name:
        obj["metadata"] = {"generateName": "web-", "namespace": "default"}
    with pytest.raises(APIError) as ei:
        Admission().mutate(Attributes(CREATE, PODS, "default", name, obj=obj), CLASSES)
    assert (ei.value.code, ei.value.reason, ei.value.message) == (403, "Forbidden", message)


@pytest.mark.parametrize("new_spec,want", [
    pytest.param({"priorityClassName": "high"}, (1000, "Never"), id="omitted-keeps-stored"),
    pytest.param({"priorityClassName": "high", "priority": 0, "preemptionPolicy": "PreemptLowerPriority"},
                 (1000, "Never"), id="defaulted-keeps-stored"),
    pytest.param({"priorityClassName": "other", "priority": 0}, (0, "Never"), id="class-changed-not-masked"),
])
def test_pod_update_keeps_priority(new_spec: dict[str, Any], want: tuple[int, str]) -> None:
    old = pod("web", priorityClassName="high", priority=1000, preemptionPolicy="Never")
    new = pod("web", **new_spec)
    Admission().mutate(Attributes(UPDATE, PODS, "default", "web", obj=new, old=old), None)
    assert (new["spec"].get("priority"), new["spec"].get("preemptionPolicy")) == want


@pytest.mark.parametrize("op,obj,classes,message", [
    pytest.param(CREATE, pc("d2", 1, default=True), [pc("d1", 5, default=True)],
                 'priorityclasses.scheduling.k8s.io "d2" is forbidden: PriorityClass d1 is already marked as '
                 "default. Only one default can exist", id="second-default"),
    pytest.param(UPDATE, pc("x", 1, default=True), [pc("d1", 5, default=True), pc("x", 1)],
                 'priorityclasses.scheduling.k8s.io "x" is forbidden: PriorityClass d1 is already marked as '
                 "default. Only one default can exist", id="update-to-second-default"),
    pytest.param(UPDATE, pc("d1", 5, default=True), [pc("d1", 5, default=True)], None,
                 id="default-updated-itself"),
    pytest.param(CREATE, pc("d1", 5, default=True), [pc("high", 1000)], None, id="first-default"),
    pytest.param(CREATE, pc("x", 5), [pc("d1", 5, default=True)], None, id="not-a-default"),
])
def test_priority_class_single_default(op: str, obj: dict[str, Any], classes: list[dict[str, Any]],
                                       message: str | None) -> None:
    a = Attributes(op, PCS, "", obj["metadata"]["name"], obj=obj)
    assert needs_priority_classes(a, True) == bool(obj.get("globalDefault"))
    if message is None:
        Admission().validate(a, None, classes)
        return
    with pytest.raises(APIError) as ei:
        Admission().validate(a, None, classes)
    assert (ei.value.code, ei.value.message) == (403, message)


@pytest.mark.parametrize("name,forbidden", [
    pytest.param("system-node-critical", True, id="system-node-critical"),
    pytest.param("system-cluster-critical", True, id="system-cluster-critical"),
    pytest.param("high", False, id="user-class"),
])
def test_system_classes_cannot_be_deleted(name: str, forbidden: bool) -> None:
    a = Attributes(DELETE, PCS, "", name)
    if not forbidden:
        Admission().validate(a, None)
        return
    with pytest.raises(APIError) as ei:
        Admission().validate(a, None)
    assert ei.value.message == (f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: '
                                "this is a system priority class and cannot be deleted")


def test_default_priority_class_picks_lowest_value() -> None:
    assert default_priority_class([pc("a", 1)]) is None
    got = default_priority_class([pc("a", 9, default=True), pc("b", -1, default=True), pc("c", 0)])
    assert got is not None and got["metadata"]["name"] == "b"


# ---- through the registry -------------------------------------------------------------


def test_registry_bootstrap_and_pod_resolution() -> None:
    reg, _, _ = make_registry()
    assert run(reg.ensure_system_priority_classes()) == ["system-node-critical", "system-cluster-critical"]
    assert run(reg.ensure_system_priority_classes()) == []
    snc = run(reg.get("priorityclasses", "system-node-critical"))
    assert (snc["value"], snc["preemptionPolicy"], snc.get("globalDefault", False)) == \
        (2000001000, "PreemptLowerPriority", False)
    run(reg.create("priorityclasses", pc("high", 1000, policy=None)))
    assert run(reg.get("priorityclasses", "high"))["preemptionPolicy"] == "PreemptLowerPriority"
    out = run(reg.create("pods", pod("web", priorityClassName="high")))
    assert (out["spec"]["priority"], out["spec"]["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    crit = run(reg.create("pods", pod("dns", "kube-system", priorityClassName="system-cluster-critical")))
    assert crit["spec"]["priority"] == 2000000000
    with pytest.raises(APIError) as ei:
        run(reg.create("pods", pod("bad", priorityClassName="missing")))
    assert ei.value.message == 'pods "bad" is forbidden: no PriorityClass with name missing was found'
    # a replace that omits priority keeps the stored one (upstream's Priority admission on update)
    body = pod("web", priorityClassName="high", image="nginx:1.26")
    body["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
    body["spec"]["tolerations"] = out["spec"]["tolerations"]
    body["spec"]["serviceAccountName"] = out["spec"]["serviceAccountName"]  # admission's
    updated = run(reg.update("pods", body))
    assert (updated["spec"]["priority"], updated["spec"]["containers"][0]["image"]) == (1000, "nginx:1.26")


def test_registry_global_default_and_value_rules() -> None:
    reg, _, _ = make_registry()
    run(reg.ensure_system_priority_classes())
    run(reg.create("priorityclasses", pc("dflt", 100, default=True, policy="Never")))
    out = run(reg.create("pods", pod("web")))
    assert (out["spec"]["priorityClassName"], out["spec"]["priority"], out["spec"]["preemptionPolicy"]) == \
        ("dflt", 100, "Never")
    with pytest.raises(APIError) as ei:
        run(reg.create("priorityclasses", pc("other", 1, default=True)))
    assert (ei.value.code, ei.value.message) == (
        403, 'priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass dflt is already marked as '
             "default. Only one default can exist")
    cur = run(reg.get("priorityclasses", "dflt"))
    with pytest.raises(APIError) as ei:
        run(reg.update("priorityclasses", dict(cur, value=101)))
    assert (ei.value.code, ei.value.message) == (
        422, 'PriorityClass.scheduling.k8s.io "dflt" is invalid: value: Forbidden: may not be changed in an update.')
    with pytest.raises(APIError) as ei:
        run(reg.delete("priorityclasses", "system-node-critical"))
    assert ei.value.code == 403
    run(reg.delete("priorityclasses", "dflt"))
    assert run(reg.create("pods", pod("later")))["spec"]["priority"] == 0
