"""Upstream kubelet rules: getPhase and the generated conditions, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from actors.kubelet import pod_status as ps

RUN: dict[str, Any] = {"running": {"startedAt": "x"}}
WAIT: dict[str, Any] = {"waiting": {"reason": "ContainerCreating"}}


def term(code: int) -> dict[str, Any]:
    return {"terminated": {"exitCode": code}}


def cs(name: str, state: dict[str, Any], last: dict[str, Any] | None = None,
       ready: bool = False) -> dict[str, Any]:
    return {"name": name, "state": state, "lastState": last or {}, "ready": ready}


def spec(policy: str = "Always", n: int = 2, init: int = 0) -> dict[str, Any]:
    return {"restartPolicy": policy,
            "containers": [{"name": f"c{i}"} for i in range(n)],
            "initContainers": [{"name": f"i{i}"} for i in range(init)]}


@pytest.mark.parametrize("sp,inits,regs,terminal,phase", [
    pytest.param(spec(), [], [cs("c0", WAIT), cs("c1", RUN)], False, "Pending", id="one-waiting"),
    pytest.param(spec(), [], [cs("c0", RUN), cs("c1", RUN)], False, "Running", id="all-running"),
    pytest.param(spec(), [], [cs("c0", RUN), cs("c1", term(0))], False, "Running",
                 id="running-and-done"),
    pytest.param(spec("Always"), [], [cs("c0", term(0)), cs("c1", term(1))], False, "Running",
                 id="always-all-stopped-restarting"),
    pytest.param(spec("Never"), [], [cs("c0", term(0)), cs("c1", term(0))], False, "Succeeded",
                 id="never-all-succeeded"),
    pytest.param(spec("Never"), [], [cs("c0", term(0)), cs("c1", term(1))], False, "Failed",
                 id="never-one-failed"),
    pytest.param(spec("OnFailure"), [], [cs("c0", term(0)), cs("c1", term(1))], False, "Running",
                 id="onfailure-restarting"),
    pytest.param(spec("Always"), [], [cs("c0", term(0)), cs("c1", term(0))], True, "Succeeded",
                 id="terminal-always-succeeded"),
    pytest.param(spec("Always"), [], [cs("c0", term(0)), cs("c1", term(137))], True, "Failed",
                 id="terminal-always-killed"),
    pytest.param(spec(n=1), [], [cs("c0", {"waiting": {"reason": "CrashLoopBackOff"}},
                                    term(1))], False, "Running", id="crashloop-is-running"),
    pytest.param(spec(n=1), [], [], False, "Pending", id="no-statuses"),
    pytest.param(spec(n=1, init=1), [cs("i0", RUN)], [cs("c0", WAIT)], False, "Pending",
                 id="init-running"),
    pytest.param(spec("Never", n=1, init=1), [cs("i0", term(1))], [cs("c0", WAIT)], False,
                 "Failed", id="init-failed-never"),
    pytest.param(spec("OnFailure", n=1, init=1), [cs("i0", term(1))], [cs("c0", WAIT)], False,
                 "Pending", id="init-failed-onfailure-retries"),
])
def test_pod_phase(sp: dict[str, Any], inits: list[dict[str, Any]], regs: list[dict[str, Any]],
                   terminal: bool, phase: str) -> None:
    assert ps.pod_phase(sp, inits, regs, terminal) == phase


@pytest.mark.parametrize("regs,phase,expect", [
    pytest.param([cs("c0", RUN, ready=True), cs("c1", RUN, ready=True)], "Running",
                 {"type": "ContainersReady", "status": "True"}, id="all-ready"),
    pytest.param([cs("c0", RUN, ready=True)], "Running",
                 {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                  "message": "containers with unknown status: [c1]"}, id="unknown"),
    pytest.param([cs("c0", WAIT), cs("c1", WAIT)], "Pending",
                 {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                  "message": "containers with unready status: [c0 c1]"}, id="unready"),
    pytest.param([cs("c0", term(0)), cs("c1", term(0))], "Succeeded",
                 {"type": "ContainersReady", "status": "False", "reason": "PodCompleted"},
                 id="completed"),
    pytest.param([cs("c0", term(1)), cs("c1", term(0))], "Failed",
                 {"type": "ContainersReady", "status": "False", "reason": "PodFailed"},
                 id="failed"),
])
def test_containers_ready_condition(regs: list[dict[str, Any]], phase: str,
                                    expect: dict[str, Any]) -> None:
    assert ps.containers_ready_condition(spec(), regs, [], phase) == expect


def test_ready_condition_follows_containers_ready_and_readiness_gates() -> None:
    sp = dict(spec(), readinessGates=[{"conditionType": "example.com/lb"}])
    ok = {"type": "ContainersReady", "status": "True"}
    assert ps.ready_condition(ok, sp, [])["reason"] == "ReadinessGatesNotReady"
    assert ps.ready_condition(ok, sp, [{"type": "example.com/lb", "status": "True"}]) == \
        {"type": "Ready", "status": "True"}
    bad = {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
           "message": "m"}
    assert ps.ready_condition(bad, spec(), []) == {
        "type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "m"}


def test_initialized_condition_completed_pod() -> None:
    assert ps.initialized_condition(spec(), [], "Succeeded", True) == {
        "type": "Initialized", "status": "True", "reason": "PodCompleted"}


def test_merge_conditions_keeps_transition_time_while_unchanged() -> None:
    old = [{"type": "Ready", "status": "False", "lastTransitionTime": "t0"},
           {"type": "ContainersReady", "status": "True", "lastTransitionTime": "t0"},
           {"type": "example.com/x", "status": "True"}]
    gen = [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}]
    out = ps.merge_conditions(gen, old, 1_700_000_000.0)
    assert out[0] == {"type": "example.com/x", "status": "True"}
    assert out[1]["lastTransitionTime"] == "2023-11-14T22:13:20Z"
    assert out[2]["lastTransitionTime"] == "t0"


@pytest.mark.parametrize("q,v", [
    ("100m", 0.1), ("1", 1), ("1Gi", 2**30), ("128Mi", 2**27), ("1e3", 1000), ("2k", 2000),
    (3, 3), ("0.5", 0.5),
])
def test_quantity(q: str | int, v: float) -> None:
    assert float(ps.quantity(q)) == v
