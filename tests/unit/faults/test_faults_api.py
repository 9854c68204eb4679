"""actors.faults without Ray: targets, resolution and its errors, the fault log, the
active-fault table, and the `kubemu fault` CLI's input checking."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.cluster import ClusterState
from actors.faults import FaultRecord, Faults


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ClusterState:
    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    st = ClusterState(
        name="fx", namespace="kubemu-fx", ray_address="127.0.0.1:1", ray_started=False,
        ray_session_pid=0, apiserver="127.0.0.1:2", etcd_endpoints=[],
        actors={"fx-etcd-1": "etcd", "fx-etcd-2": "etcd", "fx-etcd-3": "etcd",
                "apiserver": "apiserver", "scheduler": "scheduler",
                "controller-manager": "controller-manager",
                "kubelet-node-1": "kubelet", "kube-proxy-node-1": "kube-proxy",
                "kubelet-node-2": "kubelet", "kube-proxy-node-2": "kube-proxy"},
        nodes=["node-1", "node-2"])
    st.save()
    return st


@pytest.fixture
def faults(state: ClusterState) -> Faults:
    return Faults(state, connect=False)


def test_targets(faults: Faults) -> None:
    assert faults.targets() == {
        "apiserver": "apiserver", "controller-manager": "controller-manager",
        "etcd-1": "etcd", "etcd-2": "etcd", "etcd-3": "etcd", "etcd-leader": "etcd",
        "kube-proxy-node-1": "kube-proxy", "kube-proxy-node-2": "kube-proxy",
        "kubelet-node-1": "kubelet", "kubelet-node-2": "kubelet",
        "node-1": "node", "node-2": "node", "scheduler": "scheduler"}


def test_resolution(faults: Faults) -> None:
    t = faults._resolve("node-2")
    assert (t.role, t.node, [c.name for c in t.components]) == (
        "node", "node-2", ["kubelet-node-2", "kube-proxy-node-2"])
    assert [c.actor for c in t.components] == ["kubelet-node-2", "kube-proxy-node-2"]
    t = faults._resolve("etcd-3")
    assert (t.role, t.components[0].actor, t.components[0].etcd_id) == ("etcd", "fx-etcd-3", 3)
    t = faults._resolve("kube-proxy-node-1")
    assert (t.role, t.node) == ("kube-proxy", "node-1")
    assert faults._resolve("scheduler").node is None


UNKNOWN = ('unknown target "node-9"; valid targets: apiserver, controller-manager, etcd-1, '
           "etcd-2, etcd-3, etcd-leader, kube-proxy-node-1, kube-proxy-node-2, "
           "kubelet-node-1, kubelet-node-2, node-1, node-2, scheduler")


@pytest.mark.parametrize("call", [
    lambda f: f.kill("node-9"), lambda f: f.stop("node-9"), lambda f: f.start("node-9"),
    lambda f: f.partition("node-9"), lambda f: f.heal("node-9"),
    lambda f: f.delay("node-9", 1), lambda f: f.drop("node-9", 0.5)])
def test_unknown_target_lists_the_valid_ones(faults: Faults, call: Any) -> None:
    with pytest.raises(ValueError) as ei:
        call(faults)
    assert str(ei.value) == UNKNOWN
    assert faults.log() == []  # nothing recorded, and Ray was never needed


@pytest.mark.parametrize("call,msg", [
    (lambda f: f.stop("apiserver"), 'stop: "apiserver" is not a node'),
    (lambda f: f.start("etcd-1"), 'start: "etcd-1" is not a node'),
    (lambda f: f.kill("scheduler", restart_after=5), "--restart-after applies to nodes"),
    (lambda f: f.kill("node-1", restart_after=-1), "must be >= 0"),
    (lambda f: f.delay("etcd-2", 1), "etcd members take partitions only"),
    (lambda f: f.drop("etcd-leader", 0.1), "etcd members take partitions only"),
    (lambda f: f.delay("node-1", -0.5), "must be >= 0"),
    (lambda f: f.drop("node-1", 1.5), "between 0 and 1"),
    (lambda f: f.drop("node-1", -0.1), "between 0 and 1"),
])
def test_bad_requests(faults: Faults, call: Any, msg: str) -> None:
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        call(faults)


def test_fault_log_round_trip(faults: Faults, state: ClusterState) -> None:
    assert faults.log() == []
    r1 = faults._append("kill", "node-2", {"pids": {"kubelet-node-2": 11}}, True,
                        "kill: SIGKILL kubelet-node-2 (pid 11)")
    r2 = faults._append("heal", "all", {}, False, "heal: errors")
    assert (r1.id, r2.id) == (1, 2) and r1.time <= r2.time
    assert faults.log() == [r1, r2]
    lines = (Path(faults.dir) / "faults.jsonl").read_text().splitlines()
    assert [FaultRecord.from_dict(json.loads(x)) for x in lines] == [r1, r2]
    # a second handle (another CLI invocation) sees the same log and continues the ids
    other = Faults(state, connect=False, by="restart-after")
    r3 = other._append("start", "node-2", {}, True, "start: started ...")
    assert r3.id == 3 and r3.detail == {"by": "restart-after"}
    assert faults.log() == [r1, r2, r3]


def test_fault_log_skips_torn_lines_and_ids_stay_unique_under_concurrency(
        faults: Faults, state: ClusterState) -> None:
    with open(faults.log_path, "a") as f:
        f.write('{"id": 1, "time": 1.0, "action": "kill", "target": "x", "detail": {}, '
                '"ok": true, "message": "m"}\n{"id": 2, "ti')
    assert [r.id for r in faults.log()] == [1]
    with open(faults.log_path, "a") as f:
        f.write("\n")

    def writer() -> None:
        f = Faults(state, connect=False)
        for _ in range(20):
            f._append("delay", "scheduler", {}, True, "delay")

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r.id for r in faults.log()]
    assert ids == list(range(1, 82))


def test_active_table_starts_empty_and_drops_cleared_entries(faults: Faults) -> None:
    assert faults.active() == {"components": {}, "etcd_partitioned": []}
    faults._save_active({"components": {
        "scheduler": {"partitioned": False, "delay": 0.0, "drop_rate": 0.0},
        "kubelet-node-1": {"partitioned": True, "delay": 0.0, "drop_rate": 0.0}},
        "etcd_partitioned": [2]})
    assert faults.active() == {"components": {
        "kubelet-node-1": {"partitioned": True, "delay": 0.0, "drop_rate": 0.0}},
        "etcd_partitioned": [2]}


def test_involved_objects(faults: Faults) -> None:
    assert faults._involved(faults._resolve("node-1")) == {
        "kind": "Node", "name": "node-1", "uid": "node-1", "apiVersion": "v1"}
    assert faults._involved(faults._resolve("scheduler")) == {
        "kind": "ComponentStatus", "name": "scheduler", "apiVersion": "v1"}
    assert faults._involved(faults._resolve("kubelet-node-2"))["name"] == "node-2"


# ---- the CLI --------------------------------------------------------------------------


def kubemu(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from cli.main import main

    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("argv,msg", [
    (["fault", "kill", "node-9"], UNKNOWN),
    (["fault", "kill", "node-1", "--restart-after", "soon"],
     '--restart-after: invalid value "soon": must be a duration such as 10s, 500ms or 5m'),
    (["fault", "kill", "scheduler", "--restart-after", "5s"],
     'kill: --restart-after applies to nodes and their agents; Ray restarts "scheduler" '
     "by itself"),
    (["fault", "delay", "scheduler", "fast"],
     'delay: invalid value "fast": must be a duration such as 10s, 500ms or 5m'),
    (["fault", "drop", "scheduler", "2"], 'rate: invalid value "2": must be between 0 and 1'),
    (["fault", "drop", "scheduler", "lots"], 'rate: invalid value "lots": must be a number'),
    (["fault", "stop", "apiserver"], 'stop: "apiserver" is not a node'),
    (["fault", "partition", "nope"], 'unknown target "nope"'),
])
def test_cli_rejects_bad_input(state: ClusterState, capsys: pytest.CaptureFixture[str],
                               argv: list[str], msg: str) -> None:
    rc, out, err = kubemu(capsys, *argv, "--name", "fx")
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and msg in err, err
    assert "Traceback" not in err


def test_cli_without_a_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    rc, _, err = kubemu(capsys, "fault", "log")
    assert (rc, err) == (1, "error: no cluster: start one with `kubemu up`\n")
    rc, _, err = kubemu(capsys, "fault", "targets", "--name", "ghost")
    assert rc == 1 and err.startswith('error: cluster "ghost" not found')


def test_cli_targets_and_log(state: ClusterState, faults: Faults,
                             capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = kubemu(capsys, "fault", "targets")
    assert rc == 0
    assert out.splitlines()[0].split() == ["NAME", "ROLE"]
    assert ["node-2", "node"] in [line.split() for line in out.splitlines()]
    assert len(out.splitlines()) == 1 + len(faults.targets())
    rc, out, _ = kubemu(capsys, "fault", "targets", "-o", "json")
    assert json.loads(out) == faults.targets()
    rc, out, err = kubemu(capsys, "fault", "log")
    assert (rc, out) == (0, "") and "No faults recorded" in err
    faults._append("kill", "node-2", {}, True, "kill: SIGKILL kubelet-node-2 (pid 11)")
    faults._append("start", "node-2", {}, False, "start: errors: boom")
    rc, out, _ = kubemu(capsys, "fault", "log")
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "ACTION", "TARGET", "RESULT", "MESSAGE"]
    assert lines[1].split()[2:6] == ["kill", "node-2", "ok", "kill:"]
    assert lines[2].split()[2:5] == ["start", "node-2", "failed"]
    rc, out, _ = kubemu(capsys, "fault", "log", "-o", "json")
    assert [r["action"] for r in json.loads(out)] == ["kill", "start"]
