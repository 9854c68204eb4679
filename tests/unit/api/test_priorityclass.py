"""scheduling.k8s.io/v1 PriorityClass: defaults, validation (create and update) and
kubectl's table columns."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api import printers
from actors.api.defaults import apply_defaults
from actors.api.resources import lookup
from actors.api.validation import validate

from .fixtures import stored

RESERVED = "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: "


def pc(name: str = "high", value: Any = 1000, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                           "metadata": {"name": name}, "value": value, **extra}
    apply_defaults(obj)
    return obj


def test_resource_and_defaults() -> None:
    info = lookup("pc")
    assert (info.plural, info.group, info.api_version, info.namespaced, info.has_status) == \
        ("priorityclasses", "scheduling.k8s.io", "scheduling.k8s.io/v1", False, False)
    assert lookup("priorityclasses.scheduling.k8s.io") is info
    assert pc()["preemptionPolicy"] == "PreemptLowerPriority"
    assert pc(preemptionPolicy="Never")["preemptionPolicy"] == "Never"


@pytest.mark.parametrize("obj,want", [
    pytest.param(pc(), [], id="valid"),
    pytest.param(pc(value=1_000_000_000), [], id="highest-user-value"),
    pytest.param(pc(value=-2147483648), [], id="lowest-value"),
    pytest.param(pc(value=1_000_000_001),
                 ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"],
                 id="user-value-too-high"),
    pytest.param(pc("system-node-critical", 2000001000), [], id="system-node-critical"),
    pytest.param(pc("system-cluster-critical", 2000000000), [], id="system-cluster-critical"),
    pytest.param(pc("system-custom", 10), [RESERVED + "system-custom is not a known system priority class"],
                 id="unknown-system-name"),
    pytest.param(pc("system-node-critical", 5),
                 [RESERVED + "value of system-node-critical PriorityClass must be 2000001000"],
                 id="system-class-wrong-value"),
    pytest.param(pc("system-cluster-critical", 2000000000, globalDefault=True),
                 [RESERVED + "globalDefault of system-cluster-critical PriorityClass must be false"],
                 id="system-class-global-default"),
    pytest.param(pc(preemptionPolicy="Sometimes"),
                 ['preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", '
                  '"Never"'], id="bad-preemption-policy"),
    pytest.param(pc("Bad_Name"),
                 ["metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of "
                  "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                  "character (e.g. 'example.com', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"], id="bad-name"),
])
def test_validate_create(obj: dict[str, Any], want: list[str]) -> None:
    assert [str(e) for e in validate(obj)] == want


def _stored(**extra: Any) -> dict[str, Any]:
    obj = stored("PriorityClass")
    obj.update(extra)
    return obj


@pytest.mark.parametrize("change,want", [
    pytest.param({"description": "new words", "globalDefault": True}, [], id="description-and-default"),
    pytest.param({"value": 1001}, ["value: Forbidden: may not be changed in an update."], id="value-immutable"),
    pytest.param({"preemptionPolicy": "Never"},
                 ['preemptionPolicy: Invalid value: "Never": field is immutable'], id="policy-immutable"),
])
def test_validate_update(change: dict[str, Any], want: list[str]) -> None:
    old = _stored()
    new = _stored(**change)
    assert [str(e) for e in validate(new, old)] == want


def test_kubectl_columns() -> None:
    info = lookup("priorityclasses")
    objs = [dict(pc("high", 1000, globalDefault=True), metadata={"name": "high",
                                                                  "creationTimestamp": "2024-01-01T00:00:00Z"}),
            dict(pc("batch", -5, preemptionPolicy="Never"), metadata={"name": "batch",
                                                                      "creationTimestamp": "2024-01-01T00:00:00Z"})]
    now = 1704067200.0 + 3 * 86400
    headers, rows = printers.table(info, objs, now=now)
    assert headers == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert rows == [["high", "1000", "true", "3d", "PreemptLowerPriority"],
                    ["batch", "-5", "false", "3d", "Never"]]
