"""The runner against a scripted API, a fake Faults and a fake clock: expectations that
pass, fail and time out, holds, stops, faults and variables, apply/scale/delete, the
exit code and the JSON report; and the shipped node-failure story end to end."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from actors.scenario import spec
from actors.scenario.runner import Printer, Runner, print_summary, write_report
from tests.unit.scenario.fakes import (T0, Clock, FakeFaults, ScriptedAPI, deployment, node, pod)

ROOT = Path(__file__).resolve().parents[3]
UNREACH = "node.kubernetes.io/unreachable"
NODES3 = {"nodes": [{"name": "node-1"}, {"name": "node-2"}, {"name": "node-3"}]}
WEB = {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "web", "namespace": "default"},
       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}


class Rig:
    def __init__(self, *steps: Any, time_scale: float = 0.1, faults: bool = True,
                 **top: Any) -> None:
        d: dict[str, Any] = {"name": "t", "cluster": copy.deepcopy(NODES3),
                             "steps": list(steps)}
        d.update(top)
        self.scn = spec.parse(d)
        self.clock = Clock()
        self.api = ScriptedAPI(self.clock)
        for n in ("node-1", "node-2", "node-3"):
            self.api.put(node(n))
        self.faults = FakeFaults(self.clock, self.api) if faults else None
        self.out = io.StringIO()
        self.console = Console(file=self.out, width=200, highlight=False, color_system=None)
        self.runner = Runner(self.scn, self.api, time_scale=time_scale, faults=self.faults,
                             clock=self.clock, sleep=self.clock.sleep,
                             printer=Printer(self.console), poll=0.25,
                             cluster_info={"name": "fake", "launched": False})

    def run(self) -> dict[str, Any]:
        self.report = self.runner.run()
        return self.report

    def set_node(self, name: str, ready: str = "True", taints: list[Any] | None = None) -> Any:
        return lambda api: api.put(node(name, ready, taints=taints))


def expect(within: str = "60s", **cond: Any) -> dict[str, Any]:
    return {"expect": {**cond, "within": within}}


NOT_READY = {"nodeStatus": {"node": "node-2", "status": "Unknown"}}


# ---- expectations ----------------------------------------------------------------------------


def test_expect_passes_when_the_condition_comes_true() -> None:
    rig = Rig(expect("60s", **NOT_READY))                # 6 s real at timeScale 0.1
    rig.api.at(3.0, rig.set_node("node-2", "Unknown"))
    r = rig.run()
    assert r["passed"] and r["exitCode"] == 0
    x = r["expectations"][0]
    assert x["ok"] and x["withinScenario"] == 60 and x["withinReal"] == pytest.approx(6.0)
    assert x["metAtReal"] == pytest.approx(3.0, abs=0.26)
    assert x["metAtScenario"] == pytest.approx(30.0, abs=2.6)
    assert x["tookScenario"] == pytest.approx(30.0, abs=2.6)
    assert x["conditions"][0]["detail"] == "node-2 Ready=Unknown"
    assert rig.clock.t - T0 < 3.5  # it stopped polling once met


def test_expect_fails_at_its_deadline_and_the_scenario_goes_on() -> None:
    rig = Rig(expect("10s", **NOT_READY), {"mark": "after"})
    r = rig.run()
    assert not r["passed"] and r["exitCode"] == 1
    assert [s["number"] for s in r["steps"]] == [1, 2]           # continued
    x = r["expectations"][0]
    assert not x["ok"] and x["metAtScenario"] is None
    assert x["detail"] == "not within 10 s: node-2 Ready=True"
    assert 1.0 <= rig.clock.t - T0 <= 1.3                        # 10 s scenario = 1 s real
    assert r["summary"]["expectationsFailed"] == 1 and r["stopped"] is None


def test_on_failure_stop() -> None:
    rig = Rig({"expect": {**NOT_READY, "within": "1s", "onFailure": "stop"}}, {"mark": "never"})
    r = rig.run()
    assert [s["number"] for s in r["steps"]] == [1]
    assert r["stopped"].startswith("step 1 (expect) failed: not within 1 s")
    assert r["exitCode"] == 1 and r["summary"]["run"] == 1


def test_file_default_on_failure_stop() -> None:
    rig = Rig(expect("1s", **NOT_READY), {"mark": "never"}, onFailure="stop")
    assert [s["number"] for s in rig.run()["steps"]] == [1]


def test_a_failed_wait_stops_the_scenario() -> None:
    rig = Rig({"wait": {**NOT_READY, "within": "5s"}}, expect("5s", **NOT_READY))
    r = rig.run()
    assert [s["kind"] for s in r["steps"]] == ["wait"]
    assert r["summary"]["waitsFailed"] == 1 and r["exitCode"] == 1


def test_all_conditions_of_a_step_must_hold() -> None:
    rig = Rig(expect("60s", **NOT_READY,
                     nodeTaint={"node": "node-2", "key": UNREACH, "effect": "NoExecute"}))
    rig.api.at(1.0, rig.set_node("node-2", "Unknown"))
    rig.api.at(2.0, rig.set_node("node-2", "Unknown", [(UNREACH, "NoExecute")]))
    r = rig.run()
    x = r["expectations"][0]
    assert x["ok"] and x["metAtReal"] == pytest.approx(2.0, abs=0.26)
    assert [c["ok"] for c in x["conditions"]] == [True, True]


def test_hold_passes_when_the_condition_stays_true() -> None:
    rig = Rig({"expect": {"nodeStatus": {"node": "node-1", "status": "Ready"}, "for": "30s"}})
    r = rig.run()
    assert r["passed"]
    assert rig.clock.t - T0 == pytest.approx(3.0, abs=0.3)       # held 30 s scenario = 3 s real
    assert r["expectations"][0]["for"] == "30s"


def test_hold_fails_when_the_condition_breaks() -> None:
    rig = Rig({"expect": {"nodeStatus": {"node": "node-2", "status": "Ready"}, "for": "60s"}})
    rig.api.at(2.0, rig.set_node("node-2", "Unknown"))
    r = rig.run()
    x = r["expectations"][0]
    assert not x["ok"]
    assert x["detail"].startswith("held for 20.0 s of 60 s, then broke")


def test_hold_needs_the_condition_true_from_the_start_without_within() -> None:
    rig = Rig({"expect": {**NOT_READY, "for": "10s"}})
    assert not rig.run()["expectations"][0]["ok"]


def test_an_unreachable_apiserver_is_a_state_not_a_crash() -> None:
    rig = Rig(expect("60s", nodeStatus={"node": "node-1", "status": "Ready"}),
              expect("5s", nodeStatus={"node": "node-1", "status": "Ready"}))
    rig.api.fail_lists_until = T0 + 2.0
    r = rig.run()
    first = r["expectations"][0]
    assert first["ok"] and first["metAtReal"] >= 2.0
    rig2 = Rig(expect("5s", nodeStatus={"node": "node-1", "status": "Ready"}))
    rig2.api.fail_lists_until = T0 + 100
    x = rig2.run()["expectations"][0]
    assert not x["ok"] and "cannot list nodes" in x["detail"]


# ---- faults, variables -----------------------------------------------------------------------


def test_fault_target_node_of_binds_a_variable() -> None:
    rig = Rig({"fault": {"kill": {"nodeOf": {"deployment": "web"}}, "as": "victim",
                         "restartAfter": "60s"}},
              expect("60s", nodeStatus={"node": "${victim}", "status": "Unknown"}))
    rig.api.put(deployment("web", 3))
    for name, n in (("web-a", "node-1"), ("web-b", "node-3"), ("web-c", "node-3")):
        rig.api.put(pod(name, n))
    rig.faults.effects["kill"] = lambda t, api: api.later(2.0, lambda a: a.put(
        node(t, "Unknown")))
    r = rig.run()
    assert rig.faults.calls == [("kill", "node-3", pytest.approx(6.0))]  # 60 s scenario, scaled
    assert r["variables"] == {"victim": "node-3"}
    assert r["passed"]
    assert r["expectations"][0]["description"] == "expect node-3 is Unknown within 60s"
    assert r["faults"][0]["action"] == "kill" and r["faults"][0]["target"] == "node-3"
    assert r["steps"][0]["fault"]["ok"] is True


@pytest.mark.parametrize("step,call", [
    pytest.param({"fault": {"stop": "node-1"}}, ("stop", "node-1"), id="stop"),
    pytest.param({"fault": {"start": "node-1"}}, ("start", "node-1"), id="start"),
    pytest.param({"fault": {"partition": "node-2"}}, ("partition", "node-2"), id="partition"),
    pytest.param({"fault": {"kill": "etcd-leader"}}, ("kill", "etcd-leader", None), id="kill"),
    pytest.param({"fault": {"heal": "all"}}, ("heal", None), id="fault-heal-all"),
    pytest.param({"heal": "all"}, ("heal", None), id="heal-all"),
    pytest.param({"heal": "node-2"}, ("heal", "node-2"), id="heal-node"),
    pytest.param({"fault": {"delay": "apiserver", "seconds": "2s"}},
                 ("delay", "apiserver", pytest.approx(0.2)), id="delay-scaled"),
    pytest.param({"fault": {"drop": "scheduler", "rate": 0.25}}, ("drop", "scheduler", 0.25),
                 id="drop"),
])
def test_fault_calls(step: dict[str, Any], call: tuple[Any, ...]) -> None:
    rig = Rig(step)
    r = rig.run()
    assert rig.faults.calls == [call]
    assert r["passed"]


def test_a_refused_fault_stops_the_scenario() -> None:
    rig = Rig({"fault": {"kill": "scheduler"}}, {"mark": "never"})
    rig.faults.fail.add("kill")
    r = rig.run()
    assert r["exitCode"] == 1 and len(r["steps"]) == 1
    assert r["steps"][0]["detail"] == "kill scheduler: failed (kill: refused)"


def test_a_fault_that_raises_stops_the_scenario() -> None:
    rig = Rig({"fault": {"kill": "scheduler"}}, {"mark": "never"})

    def boom(target: str, restart_after: float | None = None) -> Any:
        raise ValueError('unknown target "scheduler"')
    rig.faults.kill = boom  # type: ignore[method-assign]
    r = rig.run()
    assert r["steps"][0]["fatal"] and 'ValueError: unknown target "scheduler"' in \
        r["steps"][0]["detail"]


def test_faults_without_a_fault_api() -> None:
    rig = Rig({"fault": {"kill": "scheduler"}}, faults=False)
    r = rig.run()
    assert r["exitCode"] == 1 and "no fault API is available" in r["steps"][0]["detail"]


def test_unresolvable_node_of_is_a_step_failure() -> None:
    rig = Rig({"fault": {"kill": {"nodeOf": {"deployment": "web"}}, "as": "v"}},
              expect("1s", nodeStatus={"node": "${v}", "status": "Unknown"}))
    r = rig.run()
    assert "cannot resolve nodeOf(deployment=web): deployment web not found" in \
        r["steps"][0]["detail"]
    assert len(r["steps"]) == 1


# ---- apply, scale, delete, sleep, mark -------------------------------------------------------


def test_apply_uses_kubectl_apply() -> None:
    rig = Rig({"apply": {"manifest": WEB}}, {"apply": {"manifest": WEB}},
              {"scale": {"deployment": "web", "replicas": 5}},
              {"delete": {"kind": "Deployment", "name": "web"}},
              {"delete": {"kind": "Deployment", "name": "web", "ignoreNotFound": True}})
    r = rig.run()
    assert r["passed"], r["steps"]
    details = [s["detail"] for s in r["steps"]]
    assert details[:2] == ["deployment.apps/web created", "deployment.apps/web unchanged"]
    assert details[2] == "deployment.apps/web scaled to 5"
    assert details[3:] == ['deployment "web" deleted', 'deployment "web" not found (ignored)']
    creates = [c for c in rig.api.calls if c[0] == "create"]
    assert creates and creates[0][1][0] == "deployments"
    ann = creates[0][1][2]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in ann
    patches = [c for c in rig.api.calls if c[0] == "patch"]
    assert patches[0][1] == ("deployments", "default", "web", {"spec": {"replicas": 5}})


def test_apply_file_and_rejection(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "web.yaml").write_text(yaml.safe_dump(WEB))
    bad = copy.deepcopy(WEB)
    bad["metadata"]["name"] = "bad"
    bad["spec"]["replicas"] = -1
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(
        {"name": "t", "steps": [{"apply": "web.yaml"}, {"apply": {"manifest": bad}},
                                {"mark": "never"}]}))
    scn = spec.load(str(tmp_path / "s.yaml"))
    clock = Clock()
    api = ScriptedAPI(clock)
    runner = Runner(scn, api, clock=clock, sleep=clock.sleep,
                    printer=Printer(Console(file=io.StringIO())))
    r = runner.run()
    assert r["steps"][0]["detail"] == "deployment.apps/web created"
    assert not r["steps"][1]["ok"] and "spec.replicas" in r["steps"][1]["detail"]
    assert len(r["steps"]) == 2 and r["exitCode"] == 1


def test_delete_missing_object_fails() -> None:
    rig = Rig({"delete": {"kind": "pod", "name": "ghost"}})
    r = rig.run()
    assert not r["passed"] and "NotFound" in r["steps"][0]["detail"] or \
        "not found" in r["steps"][0]["detail"]


def test_sleep_is_scaled_and_marks_label_the_timeline() -> None:
    rig = Rig({"mark": "before"}, {"sleep": "30s"}, {"mark": "after"}, time_scale=0.1)
    r = rig.run()
    assert rig.clock.t - T0 == pytest.approx(3.0)
    marks = [e for e in r["timeline"] if e["kind"] == "mark"]
    assert [m["text"] for m in marks] == ["before", "after"]
    assert marks[1]["t_real"] == pytest.approx(3.0) and marks[1]["t_scenario"] == \
        pytest.approx(30.0)
    assert r["steps"][1]["detail"] == "slept 30 s (3.00 s real)"


def test_sleep_observes_what_happens_meanwhile() -> None:
    rig = Rig({"sleep": "20s"})
    rig.api.at(1.0, rig.set_node("node-1", "Unknown"))
    r = rig.run()
    nr = [e for e in r["timeline"] if e["kind"] == "node-notready"]
    assert nr and nr[0]["t_real"] == pytest.approx(1.0, abs=0.26)


def test_keyboard_interrupt_is_reported() -> None:
    rig = Rig({"sleep": "60s"}, {"mark": "never"})

    def interrupt(t: float) -> None:
        if t > T0 + 1:
            raise KeyboardInterrupt
    rig.clock.on_tick.append(interrupt)
    r = rig.run()
    assert r["exitCode"] == 130 and r["stopped"] == "interrupted"


# ---- the report ------------------------------------------------------------------------------


def test_report_shape_and_summary(tmp_path: Path) -> None:
    rig = Rig({"mark": "go"}, expect("60s", **NOT_READY), expect("1s", **NOT_READY,
                                                                 onFailure="continue"))
    rig.api.at(2.0, rig.set_node("node-2", "Unknown"))
    r = rig.run()
    assert set(r) == {"scenario", "description", "file", "cluster", "startedAt", "started",
                      "duration", "passed", "exitCode", "stopped", "variables", "summary",
                      "steps", "expectations", "timeline", "faults"}
    assert r["cluster"] == {"name": "fake", "launched": False, "timeScale": 0.1}
    assert r["summary"] == {"steps": 3, "run": 3, "expectations": 2, "expectationsPassed": 2,
                            "expectationsFailed": 0, "waitsFailed": 0, "stepsFailed": 0}
    assert r["duration"]["scenario"] == pytest.approx(r["duration"]["real"] / 0.1, rel=1e-3)
    step = r["steps"][1]
    for k in ("number", "kind", "label", "ok", "detail", "start_real", "start_scenario",
              "end_real", "end_scenario", "conditions", "within", "met_scenario"):
        assert k in step
    kinds = [e["kind"] for e in r["timeline"]]
    assert kinds.index("node-notready") < kinds.index("expect")
    exp = [e for e in r["timeline"] if e["kind"] == "expect"]
    assert [e["ok"] for e in exp] == [True, True]
    path = write_report(r, str(tmp_path / "out" / "r.json"))
    assert json.loads(Path(path).read_text())["summary"] == r["summary"]


def test_summary_tables() -> None:
    rig = Rig(expect("10s", **NOT_READY))
    r = rig.run()
    buf = io.StringIO()
    print_summary(r, Console(file=buf, width=200, color_system=None))
    text = buf.getvalue()
    assert "what happened when" in text and "expectations" in text
    assert "FAILED" in text and "node-2 is Unknown" in text
    live = rig.out.getvalue()
    assert "t(scn)" in live and "✘ expect node-2 is Unknown: FAILED" in live


# ---- the shipped node-failure story against a scripted cluster -------------------------------


def _script_node_failure(api: ScriptedAPI, faults: FakeFaults, *, evict: bool = True) -> None:
    """What the control plane would do, at timeScale 0.1 (real seconds)."""
    spots = {"web-a": "node-1", "web-b": "node-2", "web-c": "node-3"}

    def controllers(api: ScriptedAPI, resource: str, obj: dict[str, Any]) -> None:
        if resource == "deployments":
            def run(a: ScriptedAPI) -> None:
                for name, n in spots.items():
                    a.put(pod(name, n))
                a.put(deployment("web", 3))
            api.later(1.0, run)

    api.on_create.append(controllers)

    def killed(target: str, api: ScriptedAPI) -> None:
        victims = [p for p, n in spots.items() if n == target]
        api.later(5.0, lambda a: a.put(node(target, "Unknown", reason="NodeStatusUnknown")))
        api.later(5.5, lambda a: a.put(node(target, "Unknown", taints=[(UNREACH, "NoExecute"),
                                                                        (UNREACH, "NoSchedule")])))
        if not evict:
            return

        def evict_and_replace(a: ScriptedAPI) -> None:
            others = [n for n in ("node-1", "node-2", "node-3") if n != target]
            for i, v in enumerate(victims):
                a.put(pod(v, target, deleting=True))
                a.put(pod(f"{v}-new", others[i % 2]))
        api.later(35.5, evict_and_replace)

    def started(target: str, api: ScriptedAPI) -> None:
        def back(a: ScriptedAPI) -> None:
            a.put(node(target, "True"))
            for v in [p for p, n in spots.items() if n == target]:
                a.remove("pods", v)
        api.later(1.0, back)

    faults.effects["kill"] = killed
    faults.effects["start"] = started


@pytest.mark.parametrize("evict,passed", [pytest.param(True, True, id="evicted"),
                                          pytest.param(False, False, id="never-evicted")])
def test_node_failure_story(evict: bool, passed: bool) -> None:
    scn = spec.load(str(ROOT / "scenarios" / "node-failure.yaml"))
    clock = Clock()
    api = ScriptedAPI(clock)
    for n in ("node-1", "node-2", "node-3"):
        api.put(node(n))
    faults = FakeFaults(clock, api)
    _script_node_failure(api, faults, evict=evict)
    out = io.StringIO()
    runner = Runner(scn, api, time_scale=scn.cluster.time_scale,  # type: ignore[union-attr]
                    timings=scn.cluster.timings,  # type: ignore[union-attr]
                    faults=faults, clock=clock, sleep=clock.sleep,
                    printer=Printer(Console(file=out, width=200, color_system=None)))
    r = runner.run()
    assert r["passed"] is passed, json.dumps(r["expectations"], indent=1)
    assert r["variables"] == {"victim": "node-1"}
    by_step = {x["step"]: x for x in r["expectations"]}
    notready = by_step[5]
    assert notready["ok"] and notready["metAtScenario"] == pytest.approx(
        by_step[5]["metAtScenario"])
    # NotReady 5 s real after the kill = 50 s of scenario time
    kill_t = next(s for s in r["steps"] if s["kind"] == "fault")["end_scenario"]
    assert notready["metAtScenario"] - kill_t == pytest.approx(50, abs=3)
    tl = [e["kind"] for e in r["timeline"]]
    for k in ("node-notready", "taint-added"):
        assert k in tl
    if passed:
        assert r["exitCode"] == 0
        evicted = by_step[7]
        assert evicted["ok"] and evicted["tookScenario"] == pytest.approx(300, abs=10)
        for k in ("pod-deleting", "pod-running", "node-ready", "taint-removed", "pod-gone"):
            assert k in tl, k
        assert all(x["ok"] for x in r["expectations"])
    else:
        assert r["exitCode"] == 1
        assert not by_step[7]["ok"]
        assert "still there: web-a (Running on node-1)" in by_step[7]["detail"]
