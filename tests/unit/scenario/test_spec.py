"""The scenario file: validation errors name the path, durations, variables, the
cluster section, and the shipped scenarios."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.common.config import DEFAULT_TIMINGS
from actors.scenario import spec
from actors.scenario.spec import Duration, ScenarioError, parse, parse_scenario_duration

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

NODES = {"nodes": [{"name": "node-1"}, {"name": "node-2"}, {"name": "node-3"}]}
WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}


def doc(*steps: Any, **top: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": "t", "cluster": copy.deepcopy(NODES), "steps": list(steps)}
    d.update(top)
    return d


def errors_of(d: Any, **kw: Any) -> list[str]:
    with pytest.raises(ScenarioError) as ei:
        parse(d, "t.yaml", **kw)
    return ei.value.errors


# ---- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [
    pytest.param("30s", 30.0, id="seconds"),
    pytest.param(45, 45.0, id="number"),
    pytest.param(2.5, 2.5, id="float"),
    pytest.param("1m30s", 90.0, id="go-style"),
    pytest.param("500ms", 0.5, id="millis"),
    pytest.param("nodeMonitorGracePeriod", 50.0, id="timing"),
    pytest.param("nodeMonitorGracePeriod + nodeMonitorPeriod + 15s", 70.0, id="sum"),
    pytest.param("2*nodeMonitorPeriod + 10s", 20.0, id="factor"),
    pytest.param("defaultTolerationSeconds+30s", 330.0, id="no-spaces"),
    pytest.param("1.5 * 10s", 15.0, id="factor-of-duration"),
])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_scenario_duration(text).seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("text,why", [
    pytest.param("soon", "must be a duration such as 10s", id="word"),
    pytest.param("fooPeriod + 3s", "unknown timing 'fooPeriod'", id="unknown-timing"),
    pytest.param("", "must be a duration", id="empty"),
    pytest.param(True, "must be a duration", id="bool"),
    pytest.param(-3, "greater than or equal to 0", id="negative"),
    pytest.param("10 s", "must be a duration", id="space-inside"),
])
def test_bad_durations(text: Any, why: str) -> None:
    with pytest.raises(ValueError) as ei:
        parse_scenario_duration(text)
    assert why in str(ei.value)


def test_timings_resolve_against_the_cluster() -> None:
    d = parse_scenario_duration("nodeMonitorGracePeriod + nodeMonitorPeriod + 15s")
    timings = dict(DEFAULT_TIMINGS, nodeMonitorGracePeriod=20.0, nodeMonitorPeriod=2.0)
    assert d.seconds(timings) == 37.0
    assert d.seconds() == 70.0
    assert str(d) == "nodeMonitorGracePeriod + nodeMonitorPeriod + 15s"
    assert Duration.of(12).seconds() == 12.0


# ---- errors name the path --------------------------------------------------------------------


@pytest.mark.parametrize("steps,expected", [
    pytest.param([{"sleep": "soon"}],
                 'steps[0].sleep: Invalid value: "soon": must be a duration such as 10s, 500ms '
                 "or 5m", id="sleep-duration"),
    pytest.param([{"expect": {"nodeStatus": {"node": "node-1", "status": "Ready"},
                              "within": "soon"}}],
                 'steps[0].expect.within: Invalid value: "soon": must be a duration',
                 id="expect-within"),
    pytest.param([{"mark": "a"}, {"mark": "b"}, {"mark": "c"},
                  {"expect": {"nodeStatus": {"node": "node-1", "status": "Ready"},
                              "within": "soon"}}],
                 'steps[3].expect.within: Invalid value: "soon"', id="index-counts"),
    pytest.param([{"explode": 1}], 'steps[0].explode: Unsupported value: "explode": supported '
                 'values: "apply"', id="unknown-step"),
    pytest.param([{"mark": "x", "sleep": "1s"}], "steps[0]: Invalid value",
                 id="two-kinds"),
    pytest.param([{"wait": {"nodeStatus": {"node": "node-1", "status": "Ready"}}}],
                 "steps[0].wait.within: Required value", id="wait-needs-within"),
    pytest.param([{"expect": {"within": "5s"}}],
                 "steps[0].expect: Required value: at least one condition", id="no-condition"),
    pytest.param([{"expect": {"nodeStatus": {"node": "node-1", "status": "Sleepy"},
                              "within": "5s"}}],
                 'steps[0].expect.nodeStatus.status: Unsupported value: "Sleepy": supported '
                 'values: "Ready", "NotReady", "Unknown", "False"', id="condition-enum"),
    pytest.param([{"expect": {"nodeStatus": {"node": "node-9", "status": "Ready"},
                              "within": "5s"}}],
                 'steps[0].expect.nodeStatus.node: Unsupported value: "node-9"',
                 id="unknown-node"),
    pytest.param([{"expect": {"nodeTaint": {"node": "node-1"}, "within": "5s"}}],
                 "steps[0].expect.nodeTaint.key: Required value", id="condition-required"),
    pytest.param([{"expect": {"podsRunning": {"deployment": "web", "selector": "app=web"},
                              "within": "5s"}}],
                 "steps[0].expect.podsRunning: Invalid value: {deployment: web, selector: "
                 "app=web}: give exactly one of deployment, selector", id="one-of"),
    pytest.param([{"expect": {"podsRunning": {"selector": "app in (", "count": 2},
                              "within": "5s"}}],
                 'steps[0].expect.podsRunning.selector: Invalid value: "app in ("',
                 id="bad-selector"),
    pytest.param([{"expect": {"podsRunning": {"deployment": "web", "count": -1},
                              "within": "5s"}}],
                 "steps[0].expect.podsRunning.count: Invalid value: -1", id="negative-count"),
    pytest.param([{"expect": {"podsRunning": {"deployment": "web", "colour": "red"},
                              "within": "5s"}}],
                 'steps[0].expect.podsRunning.colour: Unsupported value: "colour"',
                 id="unknown-field"),
    pytest.param([{"expect": {"nodeBlue": {}, "within": "5s"}}],
                 'steps[0].expect.nodeBlue: Unsupported value: "nodeBlue"',
                 id="unknown-condition"),
    pytest.param([{"expect": {"noPodsOn": "node-1", "within": "5s", "onFailure": "panic"}}],
                 'steps[0].expect.onFailure: Unsupported value: "panic"', id="on-failure"),
    pytest.param([{"fault": {"kill": "node-9"}}],
                 'steps[0].fault.kill: Unsupported value: "node-9": supported values: "node-1"',
                 id="fault-target"),
    pytest.param([{"fault": {"kill": "etcd-4"}}],
                 'steps[0].fault.kill: Invalid value: "etcd-4": etcd members are etcd-1 .. '
                 "etcd-3", id="etcd-member"),
    pytest.param([{"fault": {"kill": "scheduler", "restartAfter": "5s"}}],
                 'steps[0].fault.restartAfter: Invalid value: "5s": applies to nodes',
                 id="restart-after-control-plane"),
    pytest.param([{"fault": {"stop": "apiserver"}}],
                 'steps[0].fault.stop: Unsupported value: "apiserver"', id="stop-needs-node"),
    pytest.param([{"fault": {"delay": "apiserver"}}],
                 "steps[0].fault.seconds: Required value", id="delay-seconds"),
    pytest.param([{"fault": {"drop": "apiserver", "rate": 2}}],
                 "steps[0].fault.rate: Invalid value: 2: must be a number between 0 and 1",
                 id="drop-rate"),
    pytest.param([{"fault": {"kill": "node-1", "stop": "node-2"}}],
                 "steps[0].fault: Invalid value", id="two-faults"),
    pytest.param([{"fault": {"kill": {"nodeOf": {"deployment": "web", "pod": "x"}}}}],
                 "steps[0].fault.kill.nodeOf: Invalid value", id="node-of-one"),
    pytest.param([{"expect": {"nodeStatus": {"node": "${victim}", "status": "Ready"},
                              "within": "5s"}}],
                 'steps[0].expect.nodeStatus.node: Invalid value: "${victim}": refers to '
                 '"victim", which no earlier step binds', id="unbound-variable"),
    pytest.param([{"apply": {"manifest": {"kind": "Pod"}}}],
                 "steps[0].apply.manifest.apiVersion: Required value", id="manifest-fields"),
    pytest.param([{"apply": {"manifest": {"apiVersion": "v1", "kind": "Gizmo",
                                          "metadata": {"name": "g"}}}}],
                 'steps[0].apply.manifest.kind: Invalid value: "Gizmo"', id="manifest-kind"),
    pytest.param([{"apply": {}}], "steps[0].apply: Required value: one of manifest, file",
                 id="apply-empty"),
    pytest.param([{"scale": {"deployment": "web"}}], "steps[0].scale.replicas: Required value",
                 id="scale-replicas"),
    pytest.param([{"delete": {"kind": "Gizmo", "name": "x"}}],
                 'steps[0].delete.kind: Invalid value: "Gizmo"', id="delete-kind"),
])
def test_errors_name_the_path(steps: list[Any], expected: str) -> None:
    errs = errors_of(doc(*steps))
    assert any(e.startswith(expected) for e in errs), errs


def test_every_problem_at_once() -> None:
    errs = errors_of({"name": "Bad_Name", "extra": 1, "onFailure": "maybe",
                      "steps": [{"sleep": "soon"}, {"mark": ""}]})
    assert [e.split(":")[0] for e in errs] == ["extra", "name", "onFailure", "steps[0].sleep",
                                               "steps[1].mark"]


@pytest.mark.parametrize("d,expected", [
    pytest.param([], "<root>: Invalid value", id="not-a-mapping"),
    pytest.param({"name": "x"}, "steps: Required value", id="no-steps"),
    pytest.param({"name": "x", "steps": []}, "steps: Invalid value", id="empty-steps"),
    pytest.param({"steps": [{"mark": "a"}]}, "name: Required value", id="no-name"),
    pytest.param({"name": "x", "cluster": {"timeScale": 0, **NODES}, "steps": [{"mark": "a"}]},
                 "cluster.timeScale: Invalid value: 0", id="cluster-field"),
    pytest.param({"name": "x", "cluster": {"nodes": []}, "steps": [{"mark": "a"}]},
                 "cluster.nodes: Required value", id="cluster-nodes"),
])
def test_top_level_errors(d: Any, expected: str) -> None:
    errs = errors_of(d)
    assert any(e.startswith(expected) for e in errs), errs


# ---- the model -------------------------------------------------------------------------------


def test_a_valid_scenario() -> None:
    s = parse(doc(
        {"apply": {"manifest": WEB}},
        {"wait": {"deploymentAvailable": "web", "within": "2m"}},
        {"fault": {"kill": {"nodeOf": {"deployment": "web"}}, "as": "victim",
                   }},
        {"expect": {"nodeStatus": {"node": "${victim}", "status": "Unknown"},
                    "nodeTaint": {"node": "${victim}", "key": "node.kubernetes.io/unreachable"},
                    "within": "nodeMonitorGracePeriod + 10s", "onFailure": "stop"}},
        {"expect": {"podPhase": {"name": "forever", "phase": "Running"}, "for": "60s"}},
        {"heal": "all"}, {"heal": "${victim}"}, {"sleep": 30},
        {"scale": {"deployment": "web", "replicas": 5}},
        {"delete": {"kind": "deploy", "name": "web"}},
        {"fault": {"delay": "apiserver", "seconds": "200ms"}},
        {"fault": {"drop": "scheduler", "rate": 0.5}},
        {"fault": {"kill": "node-2", "restartAfter": "60s"}},
        {"mark": "done"}, onFailure="continue"))
    kinds = [st.kind for st in s.steps]
    assert kinds == ["apply", "wait", "fault", "expect", "expect", "heal", "heal", "sleep",
                     "scale", "delete", "fault", "fault", "fault", "mark"]
    assert s.steps[0].args["manifests"][0]["kind"] == "Deployment"
    assert s.steps[1].conditions[0].args == {"name": "web", "namespace": "default"}
    assert s.steps[2].args["target"] == {"nodeOf": {"deployment": "web", "namespace": "default"}}
    assert s.steps[2].args["as"] == "victim"
    e = s.steps[3]
    assert [c.kind for c in e.conditions] == ["nodeStatus", "nodeTaint"]
    assert e.conditions[1].args["present"] is True
    assert e.args["onFailure"] == "stop"
    assert s.steps[4].args["onFailure"] == "continue"  # the file's default
    assert s.steps[4].args["for"].seconds() == 60 and s.steps[4].args["within"].seconds() == 0
    assert s.steps[5].args == {"node": None} and s.steps[6].args == {"node": "${victim}"}
    assert s.steps[9].args == {"kind": "Deployment", "name": "web", "namespace": "default",
                               "ignoreNotFound": False}
    assert s.steps[12].args["restartAfter"].seconds() == 60
    assert s.needs_faults() and len(s.expectations) == 2
    assert s.cluster is not None and [n.name for n in s.cluster.nodes] == \
        ["node-1", "node-2", "node-3"]
    assert s.steps[2].label() == "fault kill nodeOf(deployment=web) as ${victim}"
    assert s.steps[3].label().startswith("expect ${victim} is Unknown and ${victim} has taint")


def test_variables_and_substitution() -> None:
    args = {"node": "${victim}", "list": ["a-${victim}", 3], "text": "no vars"}
    assert spec.variables_in(args) == ["victim", "victim"]
    assert spec.substitute(args, {"victim": "node-2"}) == \
        {"node": "node-2", "list": ["a-node-2", 3], "text": "no vars"}
    with pytest.raises(KeyError):
        spec.substitute("${nope}", {})


def test_cluster_file_and_overrides(tmp_path: Path) -> None:
    files = {
        "/s/../cluster.yaml": "",  # never read: paths are normalized
        "/cluster.yaml": yaml.safe_dump({"name": "base", "timeScale": 1.0, **NODES,
                                         "timings": {"nodeMonitorPeriod": "5s",
                                                     "nodeMonitorGracePeriod": "40s"}}),
    }

    def read(path: str) -> str:
        if path not in files:
            raise FileNotFoundError(2, "No such file or directory")
        return files[path]

    s = parse({"name": "x", "cluster": {"file": "../cluster.yaml", "timeScale": 0.1,
                                        "timings": {"nodeMonitorPeriod": "2s"}},
               "steps": [{"fault": {"kill": "node-3"}}]},
              "x.yaml", base_dir="/s", read_text=read)
    assert s.cluster is not None
    assert s.cluster.time_scale == 0.1 and s.cluster.name == "base"
    assert s.cluster.timings["nodeMonitorPeriod"] == 2.0          # overridden
    assert s.cluster.timings["nodeMonitorGracePeriod"] == 40.0    # from the file
    assert not s.cluster_name_set
    errs = errors_of({"name": "x", "cluster": {"file": "nope.yaml"}, "steps": [{"mark": "m"}]},
                     base_dir="/s", read_text=read)
    assert errs == ['cluster.file: Not found: "nope.yaml": No such file or directory']
    errs = errors_of({"name": "x", "cluster": {"file": "../cluster.yaml"},
                      "steps": [{"fault": {"stop": "node-4"}}]}, base_dir="/s", read_text=read)
    assert errs[0].startswith('steps[0].fault.stop: Unsupported value: "node-4"')


def test_apply_file_is_read_and_checked(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(yaml.safe_dump_all([WEB, {"kind": "Pod"}]))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(
        {"name": "x", "steps": [{"apply": {"file": "web.yaml"}}, {"apply": "missing.yaml"}]}))
    with pytest.raises(ScenarioError) as ei:
        spec.load(str(tmp_path / "s.yaml"))
    errs = ei.value.errors
    assert "steps[0].apply.file[1].apiVersion: Required value" in errs
    assert errs[-1].startswith('steps[1].apply.file: Not found: "missing.yaml"')


def test_load_reports_yaml_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as ei:
        spec.load(str(tmp_path / "none.yaml"))
    assert ei.value.errors[0].startswith("<file>: Not found")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError) as ei:
        spec.load(str(tmp_path / "bad.yaml"))
    assert ei.value.errors[0].startswith("<yaml>: Invalid value")


def test_nodes_given_override_the_file() -> None:
    d = doc({"fault": {"kill": "node-7"}})
    s = parse(d, nodes=["node-7"])
    assert s.steps[0].args["target"] == "node-7"


# ---- the shipped scenarios -------------------------------------------------------------------


def test_shipped_scenarios_exist() -> None:
    names = {p.name for p in SCENARIOS}
    assert {"node-failure.yaml", "partition.yaml", "control-plane-kills.yaml",
            "no-toleration.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_is_valid(path: Path) -> None:
    s = spec.load(str(path))
    assert s.cluster is not None and s.cluster.time_scale == 0.1
    assert s.expectations, "a scenario without expectations proves nothing"
    assert s.description


def test_node_failure_story() -> None:
    s = spec.load(str(ROOT / "scenarios" / "node-failure.yaml"))
    kill = next(st for st in s.steps if st.kind == "fault")
    assert kill.args["action"] == "kill" and "nodeOf" in kill.args["target"]
    conds = [c.kind for st in s.expectations for c in st.conditions]
    for k in ("nodeStatus", "nodeTaint", "podsEvicted", "podsRunning", "noPodsOn"):
        assert k in conds
    notready = s.expectations[0]
    # NotReady within the grace period + one monitor period (+ margin), upstream timings
    assert notready.args["within"].seconds(DEFAULT_TIMINGS) == 70.0
