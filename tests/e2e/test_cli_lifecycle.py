"""`kubemu up / status / down` as a user runs them, in subprocesses.

Two small clusters with different names run side by side on their own Ray runtimes;
`kubemu status -o json` sees each; `kubemu down` leaves no process behind; a bad
cluster.yaml is refused with the field named and exit code 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.cluster import session_processes

pytestmark = pytest.mark.e2e

KUBEMU = [sys.executable, "-m", "cli.main"]
ROOT = Path(__file__).resolve().parents[2]

SMALL = """
name: {name}
timeScale: 0.2
etcd: {{members: 1}}
nodes:
  - name: n1
    capacity: {{cpu: "2", memory: 2Gi, pods: 20}}
registry:
  images:
    nginx:1.25: {{size: 60Mi, pullTime: 1s}}
"""


def run(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(KUBEMU + args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_bad_cluster_yaml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes:\n  - name: n1\n    capacity: {cpu: lots}\n")
    env = dict(os.environ, KUBEMU_HOME=str(tmp_path / "home"))
    p = run(["up", "-f", str(bad)], env, timeout=60)
    assert p.returncode == 1
    assert 'nodes[0].capacity.cpu: Invalid value: "lots"' in p.stderr
    assert "Traceback" not in p.stderr


def test_two_clusters_side_by_side_and_down_leaves_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, KUBEMU_HOME=str(tmp_path / "home"))
    sids = {}
    try:
        for name in ("alpha", "beta"):
            f = tmp_path / f"{name}.yaml"
            f.write_text(SMALL.format(name=name))
            p = run(["up", "-f", str(f)], env)
            assert p.returncode == 0, p.stderr[-3000:]
            state = json.loads((tmp_path / "home" / name / "cluster.json").read_text())
            sids[name] = state["ray_session_pid"]
            assert session_processes(sids[name]), "the cluster's Ray runtime should be running"
        for name in ("alpha", "beta"):
            p = run(["status", "--name", name, "-o", "json"], env, timeout=60)
            assert p.returncode == 0, p.stderr[-3000:]
            st = json.loads(p.stdout)
            assert st["name"] == name
            assert [n["name"] for n in st["nodes"]] == ["n1"] and st["nodes"][0]["ready"]
            roles = sorted(c["role"] for c in st["components"])
            assert roles == ["apiserver", "controller-manager", "etcd", "kube-proxy", "kubelet",
                             "scheduler"]
            assert all(c["healthy"] for c in st["components"])
    finally:
        for name in ("alpha", "beta"):
            p = run(["down", "--name", name], env, timeout=60)
    assert p.returncode == 0
    for name, sid in sids.items():
        assert not session_processes(sid), f"{name}: processes left behind after down"
        assert not (tmp_path / "home" / name).exists()
