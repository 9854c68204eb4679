"""Scenarios end to end: `kubemu scenario validate` on every shipped file, a small
scenario launched on the session Ray runtime (apply, deployment available, kill the
scheduler, scale, every pod still scheduled and Running), and the full node-failure
story once the node lifecycle controller exists."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from rich.console import Console

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
HAVE_FAULTS = (ROOT / "actors" / "faults.py").exists()
HAVE_NODE_LIFECYCLE = (ROOT / "actors" / "controllers" / "nodelifecycle.py").exists()


@pytest.fixture
def kubemu_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kubemu-home"
    monkeypatch.setenv("KUBEMU_HOME", str(home))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    return home


@pytest.fixture
def reconnect(ray_address: str) -> Iterator[None]:
    """A scenario's teardown disconnects this process from Ray: join it again after."""
    yield
    from actors import cluster as cl

    cl.connect(ray_address, "kubemu-e2e")


def test_validate_every_shipped_scenario() -> None:
    assert len(SHIPPED) >= 4
    p = subprocess.run([sys.executable, "-m", "cli.main", "scenario", "validate",
                        *map(str, SHIPPED)], capture_output=True, text=True, timeout=60,
                       cwd=str(ROOT))
    assert p.returncode == 0, p.stderr
    for f in SHIPPED:
        assert f"{f}: valid" in p.stdout


def test_validate_rejects_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - sleep: soon\n")
    p = subprocess.run([sys.executable, "-m", "cli.main", "scenario", "validate", str(bad)],
                       capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert p.returncode == 1
    assert 'steps[0].sleep: Invalid value: "soon"' in p.stderr


def small_scenario(kill: bool) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"apply": {"manifest": {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx:1.25",
                                      "resources": {"requests": {"cpu": "100m"}}}]}}}}}},
        {"expect": {"deploymentAvailable": {"name": "web", "replicas": 2}, "within": "300s"}},
    ]
    if kill:
        steps += [{"mark": "the scheduler dies; the new pods must still be scheduled"},
                  {"fault": {"kill": "scheduler"}}]
    steps += [
        {"scale": {"deployment": "web", "replicas": 4}},
        {"expect": {"description": "every pod scheduled and Running",
                    "podsRunning": {"deployment": "web", "count": 4},
                    "deploymentAvailable": {"name": "web", "replicas": 4},
                    "within": "300s"}},
        {"expect": {"podsRunning": {"selector": "app=web", "count": 4}, "for": "10s"}},
        {"expect": {"nodeStatus": {"node": "node-1", "status": "Ready"}, "within": "10s"}},
    ]
    return {"name": "e2e-small", "description": "apply, available, kill the scheduler, scale",
            "cluster": {"file": str(ROOT / "cluster.yaml"), "timeScale": 0.1,
                        "etcd": {"members": 1}},
            "steps": steps}


@pytest.mark.timeout(120)
def test_small_scenario_end_to_end(ray_address: str, kubemu_home: Path, tmp_path: Path,
                                   reconnect: None) -> None:
    from actors import cluster as cl
    from actors.scenario.runner import run_file

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario(kill=HAVE_FAULTS), sort_keys=False))
    report_path = tmp_path / "out" / "report.json"
    buf = io.StringIO()
    code, report = run_file(str(path), address=ray_address, report_path=str(report_path),
                            console=Console(file=buf, width=160, color_system=None))
    text = buf.getvalue()
    assert code == 0, text
    assert report["passed"] and report["exitCode"] == 0
    assert report["cluster"]["name"] == "scenario-e2e-small" and report["cluster"]["launched"]
    assert all(x["ok"] for x in report["expectations"])
    assert json.loads(report_path.read_text())["summary"] == report["summary"]
    # the timeline saw the pods come up, in real and scenario seconds
    running = [e for e in report["timeline"] if e["kind"] == "pod-running"]
    assert len(running) >= 4
    assert all(e["t_scenario"] == pytest.approx(e["t_real"] / 0.1, abs=0.05) for e in running)
    if HAVE_FAULTS:
        assert [f["action"] for f in report["faults"]] == ["kill"]
        assert report["faults"][0]["target"] == "scheduler" and report["faults"][0]["ok"]
        kill_t = next(s for s in report["steps"] if s["kind"] == "fault")["end_real"]
        assert sum(1 for e in running if e["t_real"] > kill_t) >= 2  # scheduled after the kill
    assert "what happened when" in text and "PASSED" in text
    # torn down: no state left, the cluster's actors gone
    assert not (kubemu_home / "scenario-e2e-small").exists()
    with pytest.raises(FileNotFoundError):
        cl.ClusterState.load("scenario-e2e-small")


@pytest.mark.timeout(120)
def test_failed_expectation_exits_1(ray_address: str, kubemu_home: Path, tmp_path: Path,
                                    reconnect: None) -> None:
    from actors.scenario.runner import run_file

    doc = {"name": "e2e-fail", "cluster": {"file": str(ROOT / "cluster.yaml"), "timeScale": 0.1,
                                           "etcd": {"members": 1}},
           "steps": [{"expect": {"nodeStatus": {"node": "node-2", "status": "NotReady"},
                                 "within": "5s"}},
                     {"mark": "still runs after a failed expectation"}]}
    path = tmp_path / "fail.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, report = run_file(str(path), address=ray_address,
                            report_path=str(tmp_path / "r.json"),
                            console=Console(file=io.StringIO(), width=160))
    assert code == 1 and not report["passed"]
    assert report["expectations"][0]["detail"].startswith("not within 5 s: node-2 Ready=True")
    assert len(report["steps"]) == 2


@pytest.mark.skipif(not HAVE_NODE_LIFECYCLE,
                    reason="needs the node lifecycle controller (actors/controllers/"
                           "nodelifecycle.py)")
@pytest.mark.skipif(not HAVE_FAULTS, reason="needs the fault API (actors/faults.py)")
@pytest.mark.timeout(300)
def test_node_failure_scenario(ray_address: str, kubemu_home: Path, tmp_path: Path,
                               reconnect: None) -> None:
    from actors.scenario.runner import run_file

    buf = io.StringIO()
    code, report = run_file(str(ROOT / "scenarios" / "node-failure.yaml"), address=ray_address,
                            report_path=str(tmp_path / "node-failure.json"),
                            console=Console(file=buf, width=160, color_system=None))
    assert code == 0, buf.getvalue()
    kinds = [e["kind"] for e in report["timeline"]]
    for k in ("node-notready", "taint-added", "node-ready", "taint-removed"):
        assert k in kinds, k
    assert "pod-evicted" in kinds or "pod-deleting" in kinds
    victim = report["variables"]["victim"]
    assert victim in ("node-1", "node-2", "node-3")
