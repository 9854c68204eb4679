"""Field error formatting, aggregation and metav1.Status construction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.api import errors
from actors.api.errors import APIError, FieldError, GoRepr, aggregate, go_quote, go_value
from actors.api.resources import lookup

FIELD = [
    pytest.param(FieldError.invalid("spec.replicas", -1, "must be greater than or equal to 0"),
                 "spec.replicas: Invalid value: -1: must be greater than or equal to 0", id="invalid-int"),
    pytest.param(FieldError.required("metadata.name", "name or generateName is required"),
                 "metadata.name: Required value: name or generateName is required", id="required-detail"),
    pytest.param(FieldError.required("spec.containers[0].image"),
                 "spec.containers[0].image: Required value", id="required"),
    pytest.param(FieldError.invalid("metadata.name", "Web", "bad"),
                 'metadata.name: Invalid value: "Web": bad', id="invalid-string"),
    pytest.param(FieldError.invalid("x", True, "d"), "x: Invalid value: true: d", id="invalid-bool"),
    pytest.param(FieldError.invalid("x", 1.5, "d"), "x: Invalid value: 1.5: d", id="invalid-float"),
    pytest.param(FieldError.invalid("x", None, "d"), "x: Invalid value: null: d", id="invalid-null"),
    pytest.param(FieldError.invalid("x", {"b": "2", "a": "1"}, "d"),
                 'x: Invalid value: map[string]string{"a":"1", "b":"2"}: d', id="invalid-string-map"),
    pytest.param(FieldError.invalid("x", ["a", "b"], "d"), 'x: Invalid value: []string{"a", "b"}: d',
                 id="invalid-string-slice"),
    pytest.param(FieldError.invalid("x", GoRepr("intstr.IntOrString{Type:0}"), "d"),
                 "x: Invalid value: intstr.IntOrString{Type:0}: d", id="invalid-go-repr"),
    pytest.param(FieldError.invalid("x", {"a": 1}, "d"), 'x: Invalid value: {"a":1}: d', id="invalid-json"),
    pytest.param(FieldError.not_supported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"]),
                 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
                 '"OnFailure", "Never"', id="not-supported"),
    pytest.param(FieldError.duplicate("spec.containers[1].name", "web"),
                 'spec.containers[1].name: Duplicate value: "web"', id="duplicate"),
    pytest.param(FieldError.forbidden("metadata.namespace", "not allowed on this type"),
                 "metadata.namespace: Forbidden: not allowed on this type", id="forbidden"),
    pytest.param(FieldError.too_long("metadata.annotations", 262144),
                 "metadata.annotations: Too long: must have at most 262144 bytes", id="too-long"),
    pytest.param(FieldError.not_found("spec.volumes[0].name", "data"),
                 'spec.volumes[0].name: Not found: "data"', id="not-found"),
    pytest.param(FieldError.internal("spec", "boom"), "spec: Internal error: boom", id="internal"),
]


@pytest.mark.parametrize("err,want", FIELD)
def test_field_error_string(err: FieldError, want: str) -> None:
    assert str(err) == want


def test_go_quote() -> None:
    assert go_quote('a"b\\c\n\t\x01é') == '"a\\"b\\\\c\\n\\t\\x01é"'
    assert go_value(10**3) == "1000"
    assert go_value(1e21) == "1e+21"


@pytest.mark.parametrize("errs,want", [
    pytest.param([], "", id="none"),
    pytest.param(["a"], "a", id="one"),
    pytest.param(["a", "b"], "[a, b]", id="two"),
    pytest.param(["a", "b", "a"], "[a, b]", id="dedup"),
    pytest.param(["a", "a"], "a", id="dedup-to-one"),
])
def test_aggregate(errs: list[str], want: str) -> None:
    assert aggregate(errs) == want


def test_invalid_status() -> None:
    errs = [FieldError.invalid("spec.replicas", -1, "must be greater than or equal to 0"),
            FieldError.required("spec.selector")]
    err = errors.invalid(lookup("deployments.apps"), "web", errs)
    assert err.status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be '
                   "greater than or equal to 0, spec.selector: Required value]",
        "reason": "Invalid",
        "details": {"name": "web", "group": "apps", "kind": "Deployment", "causes": [
            {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0",
             "field": "spec.replicas"},
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"}]},
        "code": 422,
    }
    assert str(err) == err.message


def test_invalid_core_kind_and_string_kind() -> None:
    err = errors.invalid(lookup("po"), "x", [FieldError.required("spec.containers[0].image")])
    assert err.message == 'Pod "x" is invalid: spec.containers[0].image: Required value'
    assert errors.invalid("DeleteOptions.meta.k8s.io", "", []).message == 'DeleteOptions.meta.k8s.io "" is invalid'


STATUS = [
    pytest.param(errors.not_found(lookup("pods"), "x"), 404, "NotFound", 'pods "x" not found',
                 {"name": "x", "kind": "pods"}, id="not-found"),
    pytest.param(errors.not_found(lookup("deploy"), "web"), 404, "NotFound", 'deployments.apps "web" not found',
                 {"name": "web", "group": "apps", "kind": "deployments"}, id="not-found-group"),
    pytest.param(errors.not_found("namespaces", "team"), 404, "NotFound", 'namespaces "team" not found',
                 {"name": "team", "kind": "namespaces"}, id="not-found-string"),
    pytest.param(errors.already_exists(lookup("cm"), "c"), 409, "AlreadyExists", 'configmaps "c" already exists',
                 {"name": "c", "kind": "configmaps"}, id="already-exists"),
    pytest.param(errors.conflict(lookup("leases"), "n"), 409, "Conflict",
                 'Operation cannot be fulfilled on leases.coordination.k8s.io "n": the object has been '
                 "modified; please apply your changes to the latest version and try again",
                 {"name": "n", "group": "coordination.k8s.io", "kind": "leases"}, id="conflict"),
    pytest.param(errors.bad_request("nope"), 400, "BadRequest", "nope", None, id="bad-request"),
    pytest.param(errors.expired("too old resource version: 5 (20)"), 410, "Expired",
                 "too old resource version: 5 (20)", None, id="expired"),
    pytest.param(errors.forbidden(lookup("pods"), "x", "exceeded quota"), 403, "Forbidden",
                 'pods "x" is forbidden: exceeded quota', {"name": "x", "kind": "pods"}, id="forbidden"),
    pytest.param(errors.forbidden(lookup("pods"), "", "denied"), 403, "Forbidden",
                 "pods is forbidden: denied", {"kind": "pods"}, id="forbidden-unnamed"),
    pytest.param(errors.method_not_supported(lookup("events"), "watch"), 405, "MethodNotAllowed",
                 'watch is not supported on resources of kind "events"', {"kind": "events"}, id="method"),
    pytest.param(errors.internal_error("boom"), 500, "InternalError", "Internal error occurred: boom",
                 {"causes": [{"message": "boom"}]}, id="internal"),
]


@pytest.mark.parametrize("err,code,reason,message,details", STATUS)
def test_status(err: APIError, code: int, reason: str, message: str, details: dict[str, Any] | None) -> None:
    assert (err.code, err.reason, err.message) == (code, reason, message)
    assert err.status.get("details") == details
    assert err.status["kind"] == "Status" and err.status["status"] == "Failure"


def test_from_status_roundtrip() -> None:
    err = errors.invalid(lookup("svc"), "web", [FieldError.invalid("spec.ports[0].port", 0, "bad")])
    wire = json.dumps(err.status)
    back = APIError.from_status(json.loads(wire))
    assert back.status == err.status
    assert (back.code, back.reason, str(back)) == (422, "Invalid", err.message)
    assert [str(e) for e in back.field_errors()] == ["spec.ports[0].port: Invalid value: 0: bad"]
    assert back.field_errors()[0].type == "Invalid value"


def test_predicates() -> None:
    assert errors.is_not_found(errors.not_found("pods", "x"))
    assert errors.is_conflict(errors.conflict("pods", "x"))
    assert errors.is_already_exists(errors.already_exists("pods", "x"))
    assert errors.is_invalid(errors.invalid("Pod", "x", []))
    assert errors.is_expired(errors.expired("x")) and errors.is_expired(errors.gone("x"))
    assert not errors.is_not_found(ValueError("x"))


def test_namespace_terminating() -> None:
    err = errors.namespace_terminating(lookup("pods"), "p", "team")
    assert err.message == ('pods "p" is forbidden: unable to create new content in namespace team '
                           "because it is being terminated")
    assert err.causes[0]["reason"] == "NamespaceTerminating"
