"""`kubemu bench api`: the figures (medians, REST/gRPC ratios) and one small real run of
both front doors against an apiserver in a child process."""

from __future__ import annotations

import json
from pathlib import Path

from actors import bench_api


def _row(api: str, phase: str, rate: float, p50: float, cpu: float) -> dict[str, object]:
    return {"api": api, "phase": phase, "rate": rate, "p50_ms": p50, "p99_ms": 2 * p50,
            "server_cpu_us_per_call": cpu, "errors": 0}


def test_medians_and_ratios() -> None:
    runs = [[_row("grpc", "get", r, 4.0, 400), _row("rest", "get", 2 * r, 2.0, 100)]
            for r in (900.0, 1000.0, 5000.0)]
    med = bench_api.medians(runs)
    assert [(m["api"], m["rate"]) for m in med] == [("grpc", 1000.0), ("rest", 2000.0)]
    assert bench_api.ratios(med) == {"get": {"rate": 2.0, "p50": 0.5, "server_cpu": 0.25}}


def test_a_small_run_measures_every_phase_of_both(tmp_path: Path) -> None:
    report = bench_api.bench_api(ops=40, concurrency=4, runs=1, out_dir=str(tmp_path),
                                 plot=False, quiet=True)
    got = {(m["phase"], m["api"]) for m in report["median"]}
    assert got == {(p, a) for p in bench_api.PHASES for a in bench_api.APIS}
    assert all(m["errors"] == 0 and m["rate"] > 0 for m in report["median"])
    # the server's CPU is read from /proc in clock ticks: with 40 calls it may round to 0
    assert all(m["server_cpu_us_per_call"] >= 0 for m in report["median"])
    saved = json.loads(Path(report["path"]).read_text())
    assert saved["ratio_rest_over_grpc"].keys() == set(bench_api.PHASES)
