"""`kubemu bench schedule`, small, through the real command: it launches 30 hollow nodes
on the session's Ray runtime, schedules 60 basic pods, tears the cluster down, runs the
in-process peer and writes its report."""

from __future__ import annotations

import glob
import json
import os
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_bench_schedule_basic(ray_address: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from actors import cluster as cl
    from cli.main import main

    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    try:
        rc = main(["bench", "schedule", "--nodes", "30", "--pods", "60", "--workload", "basic", "--runs", "1",
                   "--time-scale", "1", "--out", str(out), "--address", ray_address])
    finally:
        cl.connect(ray_address, "kubemu-e2e")  # the teardown left the session's runtime
    printed = capsys.readouterr().out
    assert rc == 0, printed  # 0: every pod of every run bound
    with pytest.raises(FileNotFoundError):
        cl.ClusterState.load("bench-schedule")  # torn down

    (path,) = glob.glob(str(out / "schedule-basic-*.json"))
    report = json.load(open(path))
    assert (report["nodes"], report["pods"], report["runs"]) == (30, 60, 1)
    (run,) = report["runs_detail"]
    assert (run["pods"], run["bound"], run["running"], run["create_errors"]) == (60, 60, 60, 0)
    tp = run["throughput"]
    assert tp["average"] > 0 and sum(tp["series"]) == 60
    for key in ("create_to_bound", "create_to_running"):
        lat = run["latency_ms"][key]
        assert lat["count"] == 60 and 0 < lat["p50"] <= lat["p90"] <= lat["p99"]
    assert run["latency_ms"]["create_to_bound"]["p50"] <= run["latency_ms"]["create_to_running"]["p50"]

    peer = run["in_process"]
    assert (peer["pods"], peer["bound"]) == (60, 60) and peer["pods_per_s"] > 0
    assert run["ratios"]["vs_goal"] == pytest.approx(tp["average"] / 680, rel=1e-3)
    assert run["ratios"]["vs_in_process"] == pytest.approx(tp["average"] / peer["pods_per_s"], rel=1e-2)

    sched = run["scheduler"]
    assert sched["attempts"]["scheduled"]["count"] == 60
    assert sched["plugins"]["NodeResourcesFit"]["Filter"]["count"] >= 1

    roles = run["components"]["roles"]
    assert roles["etcd"]["processes"] == 3
    for role in ("apiserver", "scheduler", "controller-manager", "node-pool", "bench driver"):
        assert roles[role]["processes"] >= 1 and roles[role]["cpu_seconds"] >= 0
        assert roles[role]["peak_rss_mb"] > 10
    assert roles["apiserver"]["cpu_seconds"] > 0

    assert report["median"]["throughput"]["average"] == tp["average"]
    png = report.get("png") or path.replace(".json", ".png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 10_000
    assert "median of 1" in printed and "in-process" in printed
