"""Fault injection on a live cluster (real Ray, real processes, timeScale 0.1).

Kill a node: its kubelet's process is gone and stays gone, until `start` brings the
node back Ready. Partition a node: its processes live on but its Lease is no longer
renewed; heal: renewals resume (and a partition survives the node's restart). Kill
the apiserver, the scheduler, the controller-manager: Ray restarts each (new pid) and
a new Deployment still gets scheduled and Running. Kill the etcd leader: a new leader,
nothing lost. `kill --restart-after` brings a node back by itself. The fault log lists
all of it, and the FaultInjected events are in the apiserver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import launched_cluster, wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.1
NAME = "e2e-faults"


@pytest.fixture(scope="module")
def cluster(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = str(tmp_path_factory.mktemp("kubemu-home"))
    with launched_cluster(ray_address, home, NAME, TIME_SCALE) as state:
        yield state


@pytest.fixture(scope="module")
def faults(cluster: Any) -> Iterator[Any]:
    from actors.faults import Faults

    f = Faults(cluster)
    yield f
    f.close()



def actor_pid(cluster: Any, actor: str, timeout: float = 10) -> int | None:
    from actors.common import rayutil

    h = rayutil.try_get_actor(actor, cluster.namespace)
    if h is None:
        return None
    try:
        return int(rayutil.call(h, "pid", timeout=timeout))
    except Exception:
        return None


def node_ready(api: Any, name: str) -> bool:
    from actors.cluster import node_ready as ready

    return ready(api.get("nodes", name))


def renew_time(api: Any, node: str) -> str:
    return str(api.get("leases", node, "kube-node-lease")["spec"]["renewTime"])


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx:1.25",
                                      "resources": {"requests": {"cpu": "100m"}}}]}}}}


def running(api: Any, app: str) -> list[dict[str, Any]]:
    pods = api.list("pods", namespace="default", label_selector=f"app={app}")["items"]
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def test_targets(faults: Any) -> None:
    t = faults.targets()
    assert {n: t[n] for n in ("node-1", "node-2", "node-3")} == dict.fromkeys(
        ("node-1", "node-2", "node-3"), "node")
    assert t["kubelet-node-2"] == "kubelet" and t["kube-proxy-node-2"] == "kube-proxy"
    assert t["apiserver"] == "apiserver" and t["etcd-leader"] == "etcd"
    assert {k for k, v in t.items() if v == "etcd"} == {"etcd-1", "etcd-2", "etcd-3",
                                                          "etcd-leader"}


def test_kill_node_stays_down_until_started(cluster: Any, faults: Any, api: Any) -> None:
    from actors.faults import pid_alive

    kubelet_pid = actor_pid(cluster, "kubelet-node-2")
    proxy_pid = actor_pid(cluster, "kube-proxy-node-2")
    assert kubelet_pid and proxy_pid
    rec = faults.kill("node-2")
    assert rec.ok, rec
    assert rec.detail["pids"] == {"kubelet-node-2": kubelet_pid, "kube-proxy-node-2": proxy_pid}
    assert rec.message.startswith(f"kill: SIGKILL kubelet-node-2 (pid {kubelet_pid}) and "
                                  f"kube-proxy-node-2 (pid {proxy_pid})")
    assert not pid_alive(kubelet_pid) and not pid_alive(proxy_pid)
    time.sleep(3)  # Ray does not bring it back
    assert not pid_alive(kubelet_pid)
    assert actor_pid(cluster, "kubelet-node-2") is None
    assert actor_pid(cluster, "kube-proxy-node-2") is None
    again = faults.kill("node-2")
    assert not again.ok and "not running" in again.message

    rec = faults.start("node-2")
    assert rec.ok, rec
    new_pid = rec.detail["pids"]["kubelet-node-2"]
    assert new_pid != kubelet_pid and actor_pid(cluster, "kubelet-node-2") == new_pid
    wait_for(lambda: node_ready(api, "node-2") and
             renew_time(api, "node-2") and actor_pid(cluster, "kube-proxy-node-2"),
             60, "node-2 Ready again")
    st = faults.start("node-2")  # idempotent
    assert st.ok and "already running" in st.message


def test_stop_then_start(cluster: Any, faults: Any, api: Any) -> None:
    pid = actor_pid(cluster, "kubelet-node-1")
    rec = faults.stop("node-1")
    assert rec.ok and rec.detail["pids"]["kubelet-node-1"] == pid, rec
    assert actor_pid(cluster, "kubelet-node-1") is None
    rec = faults.start("node-1")
    assert rec.ok, rec
    wait_for(lambda: node_ready(api, "node-1") and actor_pid(cluster, "kubelet-node-1"),
             60, "node-1 back")


def test_partition_stops_lease_renewal_and_heal_resumes_it(cluster: Any, faults: Any,
                                                           api: Any) -> None:
    from actors.common import rayutil
    from actors.faults import pid_alive

    kubelet_pid = actor_pid(cluster, "kubelet-node-3")
    proxy_pid = actor_pid(cluster, "kube-proxy-node-3")
    assert kubelet_pid and proxy_pid
    first = renew_time(api, "node-3")
    wait_for(lambda: renew_time(api, "node-3") != first, 20, "a lease renewal")
    rec = faults.partition("node-3")
    assert rec.ok and "cut off from the control plane" in rec.message, rec
    time.sleep(1.5)  # a renewal already on the wire may still land
    frozen = renew_time(api, "node-3")
    time.sleep(4)  # 4 renew intervals at this time scale
    assert renew_time(api, "node-3") == frozen
    assert pid_alive(kubelet_pid) and pid_alive(proxy_pid)
    h = rayutil.get_actor("kubelet-node-3", cluster.namespace)
    st = rayutil.call(h, "fault_state")
    assert st["partitioned"] and st["stats"]["rejected"] > 0
    assert st["stats"]["streams_broken"] >= 1  # its pod watch was broken
    assert rayutil.call(h, "status")["last_lease_renew"] is not None  # alive, answering

    rec = faults.heal("node-3")
    assert rec.ok and "kubelet-node-3 (partition)" in rec.message, rec
    wait_for(lambda: renew_time(api, "node-3") != frozen, 30, "lease renewals to resume")
    assert not rayutil.call(h, "fault_state")["partitioned"]


def test_partition_survives_a_restart_of_the_node(cluster: Any, faults: Any, api: Any) -> None:
    from actors.common import rayutil

    assert faults.partition("node-3").ok
    assert faults.kill("node-3").ok
    rec = faults.start("node-3")
    assert rec.ok and "network fault re-applied" in rec.message, rec
    h = rayutil.get_actor("kubelet-node-3", cluster.namespace)
    assert rayutil.call(h, "fault_state")["partitioned"]
    assert faults.active()["components"]["kubelet-node-3"]["partitioned"]
    assert faults.heal().ok
    assert faults.active() == {"components": {}, "etcd_partitioned": []}
    wait_for(lambda: node_ready(api, "node-3") and
             not rayutil.call(h, "fault_state")["partitioned"], 60, "node-3 Ready")


def test_kill_with_restart_after(cluster: Any, faults: Any, api: Any) -> None:
    pid = actor_pid(cluster, "kubelet-node-1")
    rec = faults.kill("node-1", restart_after=2.0)
    assert rec.ok and rec.detail["restart_after"] == 2.0, rec
    assert "restarting in 2s" in rec.message
    assert [p["target"] for p in faults.pending()] == ["node-1"]
    assert actor_pid(cluster, "kubelet-node-1") is None
    new = wait_for(lambda: (lambda p: p if p and p != pid else None)(
        actor_pid(cluster, "kubelet-node-1", timeout=2)), 60, "the automatic restart")
    assert new != pid
    starts = wait_for(lambda: [r for r in faults.log() if r.action == "start" and
                               r.target == "node-1" and r.detail.get("by") == "restart-after"],
                      30, "the restart's record")
    assert starts[-1].ok and starts[-1].detail["pids"]["kubelet-node-1"] == new, starts
    wait_for(lambda: node_ready(api, "node-1"), 60, "node-1 Ready")
    from actors.cluster import ClusterState

    assert ClusterState.load(NAME).actors.get("fault-scheduler") == "fault-scheduler"


@pytest.mark.parametrize("component", ["apiserver", "scheduler", "controller-manager"])
def test_control_plane_kill_is_restarted_by_ray(cluster: Any, faults: Any, api: Any,
                                                component: str) -> None:
    from actors.faults import pid_alive

    old = actor_pid(cluster, component)
    assert old
    rec = faults.kill(component)
    assert rec.ok and rec.message == f"kill: SIGKILL {component} (pid {old}); Ray restarts it"
    assert not pid_alive(old)
    new = wait_for(lambda: (lambda p: p if p and p != old else None)(
        actor_pid(cluster, component, timeout=5)), 90, f"{component} restarted")
    assert new != old
    name = f"after-{component}"
    wait_for(lambda: api.create("deployments", deployment(name, 2), namespace="default"),
             60, "the Deployment created")
    pods = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(running(api, name)),
                    120, f"2 Running pods of {name}")
    assert all(p["spec"]["nodeName"] for p in pods)


def test_a_fault_is_put_back_after_ray_restarts_the_component(cluster: Any, faults: Any
                                                              ) -> None:
    from actors.common import rayutil

    assert faults.delay("controller-manager", 0.05).ok
    old = actor_pid(cluster, "controller-manager")
    rec = faults.kill("controller-manager")
    assert rec.ok and rec.detail["reapply"], rec

    def delayed_again() -> Any:
        h = rayutil.get_actor("controller-manager", cluster.namespace)
        st = rayutil.call(h, "fault_state", timeout=5)
        return actor_pid(cluster, "controller-manager") != old and st["delay"] == 0.05
    wait_for(delayed_again, 90, "the restarted controller-manager delayed again")
    assert faults.heal("controller-manager").ok
    st = rayutil.call(rayutil.get_actor("controller-manager", cluster.namespace), "fault_state")
    assert st["delay"] == 0.0


def test_delay_and_drop_on_the_scheduler(cluster: Any, faults: Any, api: Any) -> None:
    from actors.common import rayutil

    assert faults.delay("scheduler", 0.2).ok
    rec = faults.drop("scheduler", 0.2)
    assert rec.ok and rec.message == ("drop: 20% of the RPCs scheduler makes fail with "
                                      "UNAVAILABLE")
    st = rayutil.call(rayutil.get_actor("scheduler", cluster.namespace), "fault_state")
    assert (st["delay"], st["drop_rate"]) == (0.2, 0.2)
    api.create("deployments", deployment("slow-net", 2), namespace="default")
    wait_for(lambda: len(running(api, "slow-net")) == 2, 120, "2 Running pods of slow-net")
    rec = faults.heal("scheduler")
    assert rec.ok and rec.message == "heal: cleared scheduler (delay 200ms, drop 20%)", rec
    st = rayutil.call(rayutil.get_actor("scheduler", cluster.namespace), "fault_state")
    assert (st["delay"], st["drop_rate"]) == (0.0, 0.0)


def test_kill_etcd_leader_elects_a_new_one_and_loses_nothing(cluster: Any, faults: Any,
                                                             api: Any) -> None:
    from actors.common import rayutil

    for i in range(20):
        api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": f"before-{i}", "namespace": "default"},
                                  "data": {"i": str(i)}}, namespace="default")
    leader = faults._leader()
    assert leader is not None
    old_term = rayutil.call(rayutil.get_actor(leader.actor, cluster.namespace), "status")["term"]
    rec = faults.kill("etcd-leader")
    assert rec.ok and rec.target == leader.name and rec.detail["leader"], rec
    assert rec.message.startswith(f"kill: SIGKILL the etcd leader {leader.name} (pid ")

    def new_leader() -> Any:
        c = faults._leader(timeout=1)
        if c is None:
            return None
        st = rayutil.call(rayutil.get_actor(c.actor, cluster.namespace), "status")
        return c if st["term"] > old_term else None
    wait_for(new_leader, 60, "a new etcd leader")
    names = wait_for(lambda: {c["metadata"]["name"] for c in api.list(
        "configmaps", namespace="default")["items"]}, 30, "a list")
    assert {f"before-{i}" for i in range(20)} <= names
    wait_for(lambda: api.create("configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "after", "namespace": "default"}}, namespace="default"),
        30, "a write after the election")

    def converged() -> bool:
        sts = [rayutil.call(rayutil.get_actor(c.actor, cluster.namespace), "status", timeout=5)
               for c in faults._components.values() if c.role == "etcd"]
        return len({(s["revision"], s["hash"]) for s in sts}) == 1
    wait_for(converged, 60, "every member at the same revision and hash")


def test_etcd_member_partition_and_heal(cluster: Any, faults: Any) -> None:
    from actors.common import rayutil

    rec = faults.partition("etcd-2")
    assert rec.ok and rec.message == ("partition: etcd-2 cut off from etcd-1 and etcd-3 "
                                      "(raft traffic dropped both ways)"), rec
    st = {c.name: rayutil.call(rayutil.get_actor(c.actor, cluster.namespace), "status")
          for c in faults._components.values() if c.role == "etcd"}
    assert st["etcd-2"]["blocked"] == [1, 3]
    assert st["etcd-1"]["blocked"] == [2] and st["etcd-3"]["blocked"] == [2]
    rec = faults.heal("etcd-2")
    assert rec.ok and "etcd-2 (partition)" in rec.message
    for c in faults._components.values():
        if c.role == "etcd":
            assert rayutil.call(rayutil.get_actor(c.actor, cluster.namespace),
                                "status")["blocked"] == []


def test_cli(cluster: Any, faults: Any) -> None:
    def kubemu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli.main", *args, "--name", NAME],
                              capture_output=True, text=True, timeout=120,
                              cwd=os.path.join(os.path.dirname(__file__), "..", ".."))

    p = kubemu("fault", "delay", "controller-manager", "100ms")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "delay: every RPC controller-manager makes is delayed 100ms"
    p = kubemu("fault", "heal")
    assert p.returncode == 0 and p.stdout.startswith("heal: cleared controller-manager"), \
        p.stdout + p.stderr
    p = kubemu("fault", "partition", "node-7")
    assert p.returncode == 1 and p.stderr.startswith('error: unknown target "node-7"')
    p = kubemu("fault", "log")
    assert p.returncode == 0
    assert p.stdout.splitlines()[0].split() == ["TIME", "ACTION", "TARGET", "RESULT", "MESSAGE"]
    p = kubemu("fault", "log", "-o", "json")
    recs = json.loads(p.stdout)
    assert recs[-1]["action"] == "heal" and recs[-2]["action"] == "delay"


def test_fault_log_and_events(cluster: Any, faults: Any, api: Any) -> None:
    log = faults.log()
    assert [r.id for r in log] == list(range(1, len(log) + 1))
    seen = {(r.action, r.target) for r in log}
    for want in [("kill", "node-2"), ("start", "node-2"), ("stop", "node-1"),
                 ("partition", "node-3"), ("heal", "node-3"), ("kill", "apiserver"),
                 ("kill", "scheduler"), ("kill", "controller-manager"),
                 ("delay", "scheduler"), ("drop", "scheduler"), ("partition", "etcd-2"),
                 ("heal", "etcd-2"), ("kill", "node-1")]:
        assert want in seen, want
    assert any(r.action == "kill" and r.detail.get("leader") for r in log)
    assert all(r.ok for r in log if r.action != "kill" or "not running" not in r.message)

    def fault_events() -> list[dict[str, Any]]:
        return [e for e in api.list("events", namespace="default")["items"]
                if (e.get("source") or {}).get("component") == "kubemu-fault"]
    evs = wait_for(fault_events, 30, "fault events")
    injected = [e for e in evs if e["reason"] == "FaultInjected"]
    assert all(e["type"] == "Warning" for e in injected)
    node2 = [e for e in injected if e["involvedObject"] == {
        "kind": "Node", "name": "node-2", "uid": "node-2", "apiVersion": "v1"}]
    assert any(e["message"].startswith("kill: SIGKILL kubelet-node-2 (pid ") for e in node2)
    comps = {e["involvedObject"]["name"] for e in injected
             if e["involvedObject"]["kind"] == "ComponentStatus"}
    assert {"apiserver", "scheduler", "controller-manager"} <= comps
    assert any(e["reason"] == "FaultCleared" for e in evs)
    posted = sum(1 for r in log if r.detail.get("event"))
    assert posted >= len(log) - 2  # best effort: nearly all made it
