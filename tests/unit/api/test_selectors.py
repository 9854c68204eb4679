"""Label selectors (parse, match, errors), field selectors and node selector terms."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.selectors import (
    FieldSelector,
    Selector,
    node_selector_matches,
    node_selector_term_matches,
    parse_field_selector,
    parse_label_selector,
    pod_matches_node_selector,
    selector_from_dict,
    selector_from_set,
    supported_field_labels,
)

# ---- label selector parsing ----------------------------------------------------------------------

PARSE = [
    pytest.param("", "", id="empty"),
    pytest.param("a=b", "a=b", id="equals"),
    pytest.param("a==b", "a==b", id="double-equals"),
    pytest.param("a!=b", "a!=b", id="not-equals"),
    pytest.param("a in (x,y)", "a in (x,y)", id="in"),
    pytest.param("a in (y, x)", "a in (x,y)", id="in-sorted"),
    pytest.param("a notin (x)", "a notin (x)", id="notin"),
    pytest.param("a", "a", id="exists"),
    pytest.param("!a", "!a", id="does-not-exist"),
    pytest.param("a>3", "a>3", id="gt"),
    pytest.param("a<3", "a<3", id="lt"),
    pytest.param("a=", "a=", id="empty-value"),
    pytest.param("x in ()", "x in ()", id="in-empty-set-is-empty-value"),
    pytest.param("x in (a,)", "x in (,a)", id="in-trailing-comma"),
    pytest.param("z=1,a=b, c != d ,e in (x,y),!f,g", "a=b,c!=d,e in (x,y),!f,g,z=1", id="many-sorted-by-key"),
    pytest.param("example.com/app=web", "example.com/app=web", id="prefixed-key"),
    pytest.param("in=in", "in=in", id="keyword-as-key-and-value"),
]


@pytest.mark.parametrize("s,canonical", PARSE)
def test_parse(s: str, canonical: str) -> None:
    assert str(parse_label_selector(s)) == canonical


ERRORS = [
    pytest.param("a in b", "unable to parse requirement: found 'b' expected: '('", id="in-without-parens"),
    pytest.param("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
                 id="missing-operator"),
    pytest.param("a=b c", "found 'c', expected: ',' or 'end of string'", id="trailing-garbage"),
    pytest.param("a=b,", "found '', expected: identifier after ','", id="trailing-comma"),
    pytest.param("=a", "found '=', expected: !, identifier, or 'end of string'", id="no-key"),
    pytest.param("!a=b", "found '=', expected: ',' or 'end of string'", id="not-with-value"),
    pytest.param("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'", id="in-missing-comma"),
    pytest.param("a>x", 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' '
                 "operators, the value must be an integer", id="gt-not-integer"),
    pytest.param("Foo_=x", "unable to parse requirement: <nil>: Invalid value: \"Foo_\": name part must "
                 "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                 "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')", id="bad-key"),
    pytest.param("a=b/c", "unable to parse requirement: values[0][a]: Invalid value: \"b/c\": a valid "
                 "label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
                 "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                 id="bad-value"),
]


@pytest.mark.parametrize("s,msg", ERRORS)
def test_parse_errors(s: str, msg: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_label_selector(s)
    assert str(e.value) == msg


# ---- label selector matching ---------------------------------------------------------------------

LABELS = {"app": "web", "tier": "front", "gen": "3"}

MATCH = [
    pytest.param("app=web", True, id="equals"),
    pytest.param("app=api", False, id="equals-other"),
    pytest.param("missing=x", False, id="equals-absent"),
    pytest.param("app!=api", True, id="not-equals"),
    pytest.param("missing!=x", True, id="not-equals-absent-matches"),
    pytest.param("app in (api,web)", True, id="in"),
    pytest.param("missing in (x)", False, id="in-absent"),
    pytest.param("app notin (web)", False, id="notin"),
    pytest.param("missing notin (x)", True, id="notin-absent-matches"),
    pytest.param("tier", True, id="exists"),
    pytest.param("!tier", False, id="not-exists"),
    pytest.param("!missing", True, id="not-exists-absent"),
    pytest.param("gen>2", True, id="gt"),
    pytest.param("gen<3", False, id="lt"),
    pytest.param("app>2", False, id="gt-non-integer-label"),
    pytest.param("app=web,tier=back", False, id="and"),
    pytest.param("", True, id="everything"),
]


@pytest.mark.parametrize("s,want", MATCH)
def test_match(s: str, want: bool) -> None:
    assert parse_label_selector(s).matches(LABELS) is want


DICTS = [
    pytest.param(None, {"app": "web"}, False, "", id="nil-selects-nothing"),
    pytest.param({}, {"app": "web"}, True, "", id="empty-selects-everything"),
    pytest.param({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True, "app=web", id="match-labels"),
    pytest.param({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
                 {"tier": "a"}, True, "tier in (a,b)", id="expr-in"),
    pytest.param({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]},
                 {}, True, "tier notin (a)", id="expr-notin-absent"),
    pytest.param({"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                 {"tier": ""}, True, "tier", id="expr-exists"),
    pytest.param({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
                 {"tier": ""}, False, "!tier", id="expr-does-not-exist"),
    pytest.param({"matchLabels": {"b": "1"}, "matchExpressions": [{"key": "a", "operator": "Exists"}]},
                 {"a": "x", "b": "1"}, True, "a,b=1", id="combined-sorted"),
]


@pytest.mark.parametrize("d,labels,want,text", DICTS)
def test_selector_from_dict(d: Any, labels: dict[str, str], want: bool, text: str) -> None:
    sel = selector_from_dict(d)
    assert sel.matches(labels) is want
    assert str(sel) == text


@pytest.mark.parametrize("d,msg", [
    pytest.param({"matchExpressions": [{"key": "a", "operator": "Near"}]},
                 '"Near" is not a valid label selector operator', id="operator"),
    pytest.param({"matchExpressions": [{"key": "a", "operator": "In"}]},
                 "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
                 id="in-without-values"),
    pytest.param({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
                 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
                 id="exists-with-values"),
])
def test_selector_from_dict_errors(d: Any, msg: str) -> None:
    with pytest.raises(ValueError) as e:
        selector_from_dict(d)
    assert str(e.value) == msg


def test_empty_is_usable_as_attribute_and_call() -> None:
    assert Selector().empty and Selector().empty()
    assert not parse_label_selector("a").empty
    assert not Selector.nothing().empty
    assert not Selector.nothing().matches({})


def test_selector_from_set_and_exact_match() -> None:
    sel = selector_from_set({"b": "2", "a": "1"})
    assert str(sel) == "a=1,b=2"
    assert sel.requires_exact_match("b") == "2"
    assert sel.requires_exact_match("c") is None
    assert selector_from_set({}).matches({"x": "y"})


# ---- field selectors ---------------------------------------------------------------------------------

POD = {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "default"},
       "spec": {"nodeName": "node-1", "restartPolicy": "Always"},
       "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.5"}]}}
NODE = {"kind": "Node", "metadata": {"name": "node-1"}, "spec": {}}
EVENT = {"kind": "Event", "metadata": {"name": "e", "namespace": "default"},
         "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
         "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"}}

FIELDS = [
    pytest.param("metadata.name=web-1", POD, True, id="name"),
    pytest.param("metadata.name==web-1", POD, True, id="double-equals"),
    pytest.param("metadata.namespace!=default", POD, False, id="namespace-not-equals"),
    pytest.param("spec.nodeName=node-1,status.phase=Running", POD, True, id="node-and-phase"),
    pytest.param("spec.nodeName=", POD, False, id="unscheduled"),
    pytest.param("spec.nodeName!=", POD, True, id="scheduled"),
    pytest.param("status.podIP=10.244.1.5", POD, True, id="pod-ip"),
    pytest.param("spec.hostNetwork=false", POD, True, id="host-network-default-false"),
    pytest.param("spec.unschedulable=false", NODE, True, id="node-unschedulable-default"),
    pytest.param("spec.unschedulable!=true", NODE, True, id="node-schedulable"),
    pytest.param("involvedObject.name=web-1,involvedObject.kind=Pod", EVENT, True, id="event-involved"),
    pytest.param("source=default-scheduler", EVENT, True, id="event-source"),
    pytest.param("reason=Killing", EVENT, False, id="event-reason"),
    pytest.param("", POD, True, id="empty"),
]


@pytest.mark.parametrize("s,obj,want", FIELDS)
def test_field_selector_match(s: str, obj: dict[str, Any], want: bool) -> None:
    assert parse_field_selector(s).matches(obj) is want


def test_field_selector_escaping_and_string() -> None:
    sel = parse_field_selector(r"metadata.name=a\,b,status.phase!=x\=y")
    assert [(t.field, t.operator, t.value) for t in sel.terms] == [
        ("metadata.name", "=", "a,b"), ("status.phase", "!=", "x=y")]
    assert str(sel) == r"metadata.name=a\,b,status.phase!=x\=y"
    assert sel.requires_exact_match("metadata.name") == "a,b"


@pytest.mark.parametrize("s,msg", [
    pytest.param("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
                 id="no-operator"),
    pytest.param(r"a=b\x", r"invalid field selector: invalid escape sequence: \x", id="bad-escape"),
    pytest.param("a=b=c", "invalid field selector: unescaped character in value: =", id="unescaped-equals"),
])
def test_field_selector_errors(s: str, msg: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_field_selector(s)
    assert str(e.value) == msg


def test_field_selector_supported_labels() -> None:
    parse_field_selector("spec.nodeName=n,status.phase=Running").check_supported("Pod")
    with pytest.raises(ValueError, match="field label not supported: spec.replicas"):
        parse_field_selector("spec.replicas=1").check_supported("Deployment")
    with pytest.raises(ValueError, match="field label not supported: metadata.namespace"):
        parse_field_selector("metadata.namespace=x").check_supported("Node")
    assert "spec.unschedulable" in supported_field_labels("Node")
    assert FieldSelector().empty


# ---- node selector terms -----------------------------------------------------------------------------

N = {"kind": "Node", "metadata": {"name": "node-1",
                                  "labels": {"zone": "a", "disk": "ssd", "cpus": "8"}}}


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


TERMS = [
    pytest.param({"matchExpressions": [expr("zone", "In", "a", "b")]}, True, id="in"),
    pytest.param({"matchExpressions": [expr("zone", "NotIn", "a")]}, False, id="notin"),
    pytest.param({"matchExpressions": [expr("gpu", "NotIn", "x")]}, True, id="notin-absent"),
    pytest.param({"matchExpressions": [expr("disk", "Exists")]}, True, id="exists"),
    pytest.param({"matchExpressions": [expr("disk", "DoesNotExist")]}, False, id="does-not-exist"),
    pytest.param({"matchExpressions": [expr("cpus", "Gt", "4")]}, True, id="gt"),
    pytest.param({"matchExpressions": [expr("cpus", "Lt", "4")]}, False, id="lt"),
    pytest.param({"matchExpressions": [expr("cpus", "Gt", "four")]}, False, id="gt-invalid-value"),
    pytest.param({"matchExpressions": [expr("zone", "In", "a"), expr("disk", "In", "hdd")]}, False,
                 id="requirements-anded"),
    pytest.param({"matchFields": [expr("metadata.name", "In", "node-1")]}, True, id="fields-in"),
    pytest.param({"matchFields": [expr("metadata.name", "NotIn", "node-1")]}, False, id="fields-notin"),
    pytest.param({"matchFields": [expr("metadata.name", "In", "a", "b")]}, False, id="fields-two-values-invalid"),
    pytest.param({"matchFields": [expr("spec.x", "In", "a")]}, False, id="fields-bad-key"),
    pytest.param({"matchExpressions": [expr("zone", "In", "a")],
                  "matchFields": [expr("metadata.name", "In", "node-1")]}, True, id="expressions-and-fields"),
    pytest.param({}, False, id="empty-term-matches-nothing"),
    pytest.param({"matchExpressions": [expr("zone", "Near", "a")]}, False, id="invalid-operator"),
]


@pytest.mark.parametrize("term,want", TERMS)
def test_node_selector_term(term: dict[str, Any], want: bool) -> None:
    assert node_selector_term_matches(N, term) is want


def test_node_selector_terms_are_ored() -> None:
    bad = {"matchExpressions": [expr("zone", "In", "b")]}
    good = {"matchExpressions": [expr("zone", "In", "a")]}
    assert node_selector_matches(N, [bad, good])
    assert not node_selector_matches(N, [bad])
    assert node_selector_matches(N, {"nodeSelectorTerms": [bad, good]})
    assert node_selector_matches(N, good)
    assert not node_selector_matches(N, [])
    assert not node_selector_matches(N, None)


def test_pod_matches_node_selector() -> None:
    pod: dict[str, Any] = {"spec": {"nodeSelector": {"disk": "ssd"}}}
    assert pod_matches_node_selector(pod, N)
    pod["spec"]["nodeSelector"] = {"disk": "hdd"}
    assert not pod_matches_node_selector(pod, N)
    pod["spec"] = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expr("zone", "In", "b")]}]}}}}
    assert not pod_matches_node_selector(pod, N)
    assert pod_matches_node_selector({"spec": {}}, N)
