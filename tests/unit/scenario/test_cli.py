"""`kubemu scenario validate` and the argument handling of `kubemu scenario run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))


def test_validate_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "validate", *SHIPPED]) == 0
    out = capsys.readouterr().out
    for p in SHIPPED:
        assert f"{p}: valid — scenario " in out
    assert "timeScale 0.1" in out


def test_validate_lists_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "validate", "-v", str(ROOT / "scenarios" / "node-failure.yaml")]) == 0
    out = capsys.readouterr().out
    assert " 4. fault   fault kill nodeOf(deployment=web) as ${victim}" in out


def test_validate_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - mark: a\n  - expect: {nodeStatus: {node: n, status: "
                   "Ready}, within: soon}\n")
    assert main(["scenario", "validate", str(bad), SHIPPED[0]]) == 1
    cap = capsys.readouterr()
    assert f"error: {bad} is invalid:" in cap.err
    assert '  steps[1].expect.within: Invalid value: "soon": must be a duration' in cap.err
    assert f"{SHIPPED[0]}: valid" in cap.out   # the others are still checked


def test_run_arguments() -> None:
    a = build_parser().parse_args(["scenario", "run", "f.yaml", "--name", "c", "--time-scale",
                                   "0.05", "--keep", "--report", "r.json"])
    assert (a.file, a.name, a.time_scale, a.keep, a.report) == ("f.yaml", "c", 0.05, True,
                                                                "r.json")


def test_run_bad_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "run", str(tmp_path / "none.yaml")]) == 1
    assert "<file>: Not found" in capsys.readouterr().err


def test_run_unknown_cluster_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    assert main(["scenario", "run", SHIPPED[0], "--name", "ghost"]) == 1
    assert 'cluster "ghost" not found' in capsys.readouterr().err


def test_run_refuses_time_scale_for_a_running_cluster(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from actors.cluster import ClusterState

    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    ClusterState(name="c1", namespace="kubemu-c1", ray_address="127.0.0.1:1", ray_started=False,
                 ray_session_pid=0, apiserver="127.0.0.1:2", etcd_endpoints=[],
                 nodes=["node-1"], time_scale=0.2).save()
    assert main(["scenario", "run", SHIPPED[0], "--name", "c1", "--time-scale", "0.1"]) == 1
    assert "runs at timeScale 0.2" in capsys.readouterr().err


def test_launch_config_names_the_cluster_after_the_scenario() -> None:
    from actors.scenario import spec
    from actors.scenario.runner import launch_config

    s = spec.load(str(ROOT / "scenarios" / "partition.yaml"))
    cfg = launch_config(s, time_scale=0.05)
    assert cfg.name == "scenario-partition" and cfg.time_scale == 0.05
    assert s.cluster is not None and s.cluster.time_scale == 0.1  # not mutated
    named: Any = spec.parse({"name": "x", "cluster": {"name": "mine", "nodes": [{"name": "a"}]},
                             "steps": [{"mark": "m"}]})
    assert launch_config(named).name == "mine"
