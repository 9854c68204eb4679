"""Each condition's detect function on hand-built objects (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.scenario.conditions import (DEFAULTS, Sighting, World, describe, detect, node_of,
                                        validate_condition)
from actors.scenario.spec import _V
from tests.unit.scenario.fakes import T0, deployment, event, node, pod

UNREACH = "node.kubernetes.io/unreachable"


def args(kind: str, a: dict[str, Any]) -> dict[str, Any]:
    """The condition's arguments as the spec normalizes them."""
    v = _V()
    out = validate_condition(kind, a, kind, v)
    assert out is not None, v.errs
    return out


def world(**kw: Any) -> World:
    kw.setdefault("now", T0 + 100)
    kw.setdefault("started", T0)
    kw.setdefault("step_started", T0 + 50)
    return World(**kw)


def check(kind: str, a: dict[str, Any], w: World, ok: bool, detail: str) -> None:
    got, det = detect(kind, args(kind, a), w)
    assert got is ok, det
    assert detail in det, det


# ---- nodeStatus ------------------------------------------------------------------------------

NODES = [node("node-1"), node("node-2", "Unknown", reason="NodeStatusUnknown"),
         node("node-3", "False", reason="KubeletNotReady")]


@pytest.mark.parametrize("a,ok,detail", [
    pytest.param({"node": "node-1", "status": "Ready"}, True, "node-1 Ready=True", id="ready"),
    pytest.param({"node": "node-2", "status": "Ready"}, False, "Ready=Unknown (NodeStatusUnknown)",
                 id="unknown-is-not-ready"),
    pytest.param({"node": "node-2", "status": "NotReady"}, True, "", id="unknown-is-notready"),
    pytest.param({"node": "node-3", "status": "NotReady"}, True, "Ready=False",
                 id="false-is-notready"),
    pytest.param({"node": "node-2", "status": "Unknown"}, True, "", id="unknown-exactly"),
    pytest.param({"node": "node-3", "status": "Unknown"}, False, "", id="false-is-not-unknown"),
    pytest.param({"node": "node-3", "status": "False"}, True, "", id="false-exactly"),
    pytest.param({"node": "node-1", "status": "NotReady"}, False, "", id="ready-is-not-notready"),
    pytest.param({"node": "node-9", "status": "Ready"}, False, "node node-9 not found",
                 id="missing"),
])
def test_node_status(a: dict[str, Any], ok: bool, detail: str) -> None:
    check("nodeStatus", a, world(nodes=NODES), ok, detail)


def test_node_status_without_conditions() -> None:
    n = node("node-1")
    n["status"] = {}
    check("nodeStatus", {"node": "node-1", "status": "NotReady"}, world(nodes=[n]), True,
          "Ready=none")


# ---- nodeTaint -------------------------------------------------------------------------------

TAINTED = [node("node-2", "Unknown", taints=[(UNREACH, "NoExecute"), (UNREACH, "NoSchedule")]),
           node("node-1")]


@pytest.mark.parametrize("a,ok", [
    pytest.param({"node": "node-2", "key": UNREACH, "effect": "NoExecute"}, True,
                 id="present-with-effect"),
    pytest.param({"node": "node-2", "key": UNREACH}, True, id="present-any-effect"),
    pytest.param({"node": "node-2", "key": UNREACH, "effect": "PreferNoSchedule"}, False,
                 id="other-effect"),
    pytest.param({"node": "node-2", "key": "node.kubernetes.io/not-ready"}, False,
                 id="other-key"),
    pytest.param({"node": "node-1", "key": UNREACH, "present": False}, True, id="absent"),
    pytest.param({"node": "node-2", "key": UNREACH, "present": False}, False,
                 id="absent-but-there"),
    pytest.param({"node": "node-9", "key": UNREACH, "present": False}, False, id="no-node"),
])
def test_node_taint(a: dict[str, Any], ok: bool) -> None:
    check("nodeTaint", a, world(nodes=TAINTED), ok, "")


def test_node_taint_detail_lists_taints() -> None:
    check("nodeTaint", {"node": "node-2", "key": UNREACH}, world(nodes=TAINTED), True,
          f"node-2 taints: {UNREACH}:NoExecute, {UNREACH}:NoSchedule")


# ---- podsRunning -----------------------------------------------------------------------------

DEP = deployment("web", 3)
SPREAD = [pod("web-a", "node-1"), pod("web-b", "node-2"), pod("web-c", "node-3")]
MOVED = [pod("web-a", "node-1"), pod("web-b", "node-2", deleting=True),
         pod("web-c", "node-3"), pod("web-d", "node-1")]


@pytest.mark.parametrize("pods,a,ok,detail", [
    pytest.param(SPREAD, {"deployment": "web"}, True,
                 "3/3 pods of deployment web Running on node-1, node-2, node-3", id="all-running"),
    pytest.param(SPREAD, {"deployment": "web", "count": 3, "notOnNode": "node-2"}, False,
                 "on a forbidden node: web-b (Running on node-2)", id="forbidden-node"),
    pytest.param(MOVED, {"deployment": "web", "count": 3, "notOnNode": "node-2"}, True,
                 "3/3 pods", id="terminating-pods-do-not-count"),
    pytest.param(MOVED, {"deployment": "web", "onNodes": ["node-1", "node-3"]}, True, "",
                 id="on-nodes"),
    pytest.param(SPREAD, {"deployment": "web", "onNodes": ["node-1"]}, False,
                 "on another node: web-b (Running on node-2), web-c (Running on node-3)",
                 id="on-nodes-violated"),
    pytest.param(SPREAD[:2], {"deployment": "web"}, False, "2/3 pods of deployment web Running "
                 "on node-1, node-2; 2 live pods", id="too-few"),
    pytest.param(SPREAD + [pod("web-d", "", phase="Pending")], {"deployment": "web", "count": 4},
                 False, "not Running: web-d (Pending, unscheduled)", id="pending"),
    pytest.param(SPREAD, {"deployment": "web", "count": 2}, False, "3 live pods",
                 id="too-many"),
    pytest.param(SPREAD, {"deployment": "nope"}, False, "deployment nope not found",
                 id="no-deployment"),
    pytest.param(SPREAD, {"selector": "app=web"}, True, "3/3 pods of app=web Running",
                 id="selector"),
    pytest.param(SPREAD, {"selector": "app=db"}, False, "0/0", id="selector-none"),
    pytest.param([pod("web-a", "node-1", ready=False)], {"selector": "app=web", "ready": True},
                 False, "not Running", id="ready-required"),
    pytest.param([pod("web-a", "node-1", ns="other")], {"selector": "app=web"}, False, "",
                 id="other-namespace"),
])
def test_pods_running(pods: list[Any], a: dict[str, Any], ok: bool, detail: str) -> None:
    check("podsRunning", a, world(pods=pods, deployments=[DEP]), ok, detail)


# ---- podsEvicted -----------------------------------------------------------------------------


def history(*pods: Any, first_seen: float = T0) -> dict[str, Sighting]:
    return {p["metadata"]["uid"]: Sighting(p, first_seen) for p in pods}


@pytest.mark.parametrize("current,hist,a,ok,detail", [
    pytest.param([pod("web-b", "node-2", deleting=True), pod("web-a", "node-1")],
                 history(pod("web-b", "node-2"), pod("web-a", "node-1")),
                 {"node": "node-2"}, True, "1/1 pods that were on node-2 evicted (Terminating: "
                 "web-b)", id="terminating"),
    pytest.param([pod("web-a", "node-1")], history(pod("web-b", "node-2")),
                 {"node": "node-2"}, True, "gone: web-b", id="gone"),
    pytest.param([pod("web-b", "node-2")], history(pod("web-b", "node-2")),
                 {"node": "node-2"}, False, "still there: web-b (Running on node-2)",
                 id="still-there"),
    pytest.param([pod("web-b", "node-2", deleting=True), pod("db", "node-2", labels={"app": "db"})],
                 history(pod("web-b", "node-2"), pod("db", "node-2", labels={"app": "db"})),
                 {"node": "node-2", "selector": "app=web"}, True, "1/1", id="selector"),
    pytest.param([], {}, {"node": "node-2"}, False, "expected at least 1 pod(s) on the node",
                 id="nothing-was-there"),
    pytest.param([pod("web-b", "node-2")],
                 history(pod("web-b", "node-2"), first_seen=T0 + 60),
                 {"node": "node-2"}, False, "expected at least 1", id="arrived-after-step-start"),
    pytest.param([pod("web-b", "node-2", deleting=True)], {},
                 {"node": "node-2"}, True, "1/1", id="listed-without-history"),
    pytest.param([pod("web-b", "node-2", deleting=True)], {},
                 {"node": "node-2", "minPods": 2}, False, "expected at least 2", id="min-pods"),
])
def test_pods_evicted(current: list[Any], hist: dict[str, Sighting], a: dict[str, Any], ok: bool,
                      detail: str) -> None:
    check("podsEvicted", a, world(pods=current, pod_history=hist), ok, detail)


# ---- deploymentAvailable ---------------------------------------------------------------------


@pytest.mark.parametrize("dep,a,ok,detail", [
    pytest.param(deployment("web", 3), {"name": "web"}, True, "3/3 available", id="available"),
    pytest.param(deployment("web", 3, available=2), {"name": "web"}, False, "2/3 available",
                 id="not-yet"),
    pytest.param(deployment("web", 5, available=3, updated=3), {"name": "web", "replicas": 3},
                 True, "3/3", id="explicit-replicas"),
    pytest.param(deployment("web", 3, generation=2, observed=1), {"name": "web"}, False,
                 "status of generation 1, spec at 2", id="stale-status"),
    pytest.param(deployment("web", 3, updated=1), {"name": "web"}, False, "1 updated",
                 id="rollout"),
    pytest.param(deployment("web", 3), {"name": "api"}, False, "deployment api not found",
                 id="missing"),
    pytest.param(deployment("web", 3, ns="prod"), {"name": "web", "namespace": "prod"}, True, "",
                 id="namespace"),
])
def test_deployment_available(dep: Any, a: dict[str, Any], ok: bool, detail: str) -> None:
    check("deploymentAvailable", a, world(deployments=[dep]), ok, detail)


# ---- podPhase --------------------------------------------------------------------------------


@pytest.mark.parametrize("pods,a,ok", [
    pytest.param([pod("forever", "node-2")], {"name": "forever", "phase": "Running"}, True,
                 id="running"),
    pytest.param([pod("forever", "node-2", deleting=True)], {"name": "forever", "phase": "Running"},
                 False, id="terminating"),
    pytest.param([pod("forever", "node-2", deleting=True)],
                 {"name": "forever", "phase": "Running", "allowTerminating": True}, True,
                 id="terminating-allowed"),
    pytest.param([pod("job", "node-2", phase="Succeeded")], {"name": "job", "phase": "Running"},
                 False, id="other-phase"),
    pytest.param([], {"name": "forever", "phase": "Running"}, False, id="missing"),
    pytest.param([pod("a", "n", labels={"t": "x"}), pod("b", "n", labels={"t": "x"})],
                 {"selector": "t=x", "phase": "Running"}, True, id="selector-all"),
    pytest.param([pod("a", "n", labels={"t": "x"}),
                  pod("b", "", phase="Pending", labels={"t": "x"})],
                 {"selector": "t=x", "phase": "Running"}, False, id="selector-one-pending"),
    pytest.param([], {"selector": "t=x", "phase": "Running"}, False, id="selector-none"),
])
def test_pod_phase(pods: list[Any], a: dict[str, Any], ok: bool) -> None:
    check("podPhase", a, world(pods=pods), ok, "")


# ---- eventSeen -------------------------------------------------------------------------------

EVENTS = [event("TaintManagerEviction", name="web-b", message="Marking for deletion Pod "
                "default/web-b", ts="2023-11-14T22:13:30Z"),          # T0 + 10
          event("Scheduled", name="web-c", ts="2023-11-14T22:13:30Z"),
          event("TaintManagerEviction", name="old", ts="2023-11-14T22:10:00Z")]  # before T0


@pytest.mark.parametrize("a,ok,detail", [
    pytest.param({"reason": "TaintManagerEviction"}, True, "1 TaintManagerEviction event(s), "
                 "e.g. pod/web-b: Marking for deletion Pod default/web-b", id="seen"),
    pytest.param({"reason": "TaintManagerEviction", "involvedObject": {"kind": "Pod",
                                                                      "name": "web-*"}},
                 True, "", id="glob"),
    pytest.param({"reason": "TaintManagerEviction", "involvedObject": {"name": "old"}}, False,
                 "no TaintManagerEviction event yet", id="before-the-start"),
    pytest.param({"reason": "TaintManagerEviction", "involvedObject": {"kind": "Node"}}, False,
                 "", id="other-kind"),
    pytest.param({"reason": "TaintManagerEviction", "message": "web-b"}, True, "", id="message"),
    pytest.param({"reason": "TaintManagerEviction", "since": "step"}, False, "",
                 id="before-the-step"),
    pytest.param({"reason": "NodeNotReady"}, False, "", id="other-reason"),
])
def test_event_seen(a: dict[str, Any], ok: bool, detail: str) -> None:
    check("eventSeen", a, world(events=EVENTS, started=T0, step_started=T0 + 50), ok, detail)


# ---- noPodsOn --------------------------------------------------------------------------------


@pytest.mark.parametrize("pods,a,ok,detail", [
    pytest.param([pod("web-a", "node-1")], {"node": "node-2"}, True, "no pods on node-2",
                 id="empty"),
    pytest.param([pod("web-b", "node-2", deleting=True)], {"node": "node-2"}, False,
                 "1 pod(s) on node-2: web-b (Terminating on node-2)", id="terminating-counts"),
    pytest.param([pod("db", "node-2", labels={"app": "db"})], {"node": "node-2",
                                                               "selector": "app=web"},
                 True, "", id="selector"),
    pytest.param([pod("web-b", "node-2", ns="kube-system")], {"node": "node-2",
                                                              "namespace": "default"},
                 True, "", id="namespace"),
])
def test_no_pods_on(pods: list[Any], a: dict[str, Any], ok: bool, detail: str) -> None:
    check("noPodsOn", a, world(pods=pods), ok, detail)


# ---- nodeOf, describe, robustness ------------------------------------------------------------


@pytest.mark.parametrize("of,pods,expected", [
    pytest.param({"deployment": "web"}, SPREAD, "node-1", id="tie-first-by-name"),
    pytest.param({"deployment": "web"}, [pod("a", "node-3"), pod("b", "node-2"),
                                         pod("c", "node-2")], "node-2", id="most-pods"),
    pytest.param({"deployment": "web"}, [pod("a", "node-1", deleting=True), pod("b", "node-3")],
                 "node-3", id="skips-terminating"),
    pytest.param({"selector": "app=web"}, [pod("a", "node-3")], "node-3", id="selector"),
    pytest.param({"pod": "b"}, [pod("a", "node-1"), pod("b", "node-3")], "node-3", id="pod"),
    pytest.param({"deployment": "web"}, [pod("a", "")], None, id="unscheduled"),
    pytest.param({"deployment": "api"}, SPREAD, None, id="no-deployment"),
])
def test_node_of(of: dict[str, Any], pods: list[Any], expected: str | None) -> None:
    got, why = node_of({**of, "namespace": "default"}, world(pods=pods, deployments=[DEP]))
    assert got == expected, why


@pytest.mark.parametrize("kind,a,text", [
    pytest.param("nodeStatus", {"node": "n", "status": "Unknown"}, "n is Unknown", id="status"),
    pytest.param("nodeTaint", {"node": "n", "key": "k", "effect": "NoExecute"},
                 "n has taint k:NoExecute", id="taint"),
    pytest.param("nodeTaint", {"node": "n", "key": "k", "present": False}, "n has no taint k",
                 id="no-taint"),
    pytest.param("podsRunning", {"deployment": "web", "count": 3, "notOnNode": "n"},
                 "3 pods of deployment web Running, none on n", id="running"),
    pytest.param("podsEvicted", {"node": "n"}, "the pods on n evicted", id="evicted"),
    pytest.param("deploymentAvailable", {"name": "web"}, "deployment web available",
                 id="available"),
    pytest.param("eventSeen", {"reason": "R", "involvedObject": {"kind": "Pod", "name": "p"}},
                 "event R about Pod/p", id="event"),
    pytest.param("noPodsOn", {"node": "n"}, "no pods on n", id="no-pods"),
])
def test_describe(kind: str, a: dict[str, Any], text: str) -> None:
    assert describe(kind, args(kind, a)) == text


def test_selector_mapping_is_normalized() -> None:
    a = args("podsRunning", {"selector": {"matchLabels": {"app": "web", "tier": "fe"}}})
    assert a["selector"] == "app=web,tier=fe"


def test_defaults_applied() -> None:
    assert args("nodeTaint", {"node": "n", "key": "k"})["present"] is True
    assert args("eventSeen", {"reason": "R"})["since"] == DEFAULTS["eventSeen"]["since"]


def test_detect_never_raises_on_odd_objects() -> None:
    weird = {"metadata": {"name": "node-1"}, "status": {"conditions": "nope"}}
    ok, det = detect("nodeStatus", {"node": "node-1", "status": "Ready"},
                     world(nodes=[weird]))
    assert ok is False and "cannot evaluate" in det
