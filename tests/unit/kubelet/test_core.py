"""KubeletCore: admission, the wake-up heap, deletion, adoption; events and config."""

from __future__ import annotations

from typing import Any

import pytest

from actors.kubelet.config import NodeConfig
from actors.kubelet.core import KubeletCore, pod_requests
from actors.kubelet.events import EventRecorder, PodEvent, event_object, node_ref

from .builders import T0, container, deleted, node_cfg, pod


def _req(cpu: str = "", mem: str = "") -> dict[str, Any]:
    r: dict[str, Any] = {}
    if cpu:
        r["cpu"] = cpu
    if mem:
        r["memory"] = mem
    return {"requests": r}


def test_pod_requests_max_of_init_and_sum_plus_overhead() -> None:
    p = pod(containers=[container("a", resources=_req("100m", "64Mi")),
                        container("b", resources={"limits": {"cpu": "200m"}})],
            init=[container("i", resources=_req("500m", "1Mi"))],
            overhead={"cpu": "10m"})
    assert pod_requests(p) == {"cpu": 510, "memory": 64 * 2**20}


@pytest.mark.parametrize("capacity,pods,reason,message", [
    pytest.param({"cpu": "1", "memory": "1Gi", "pods": "10"},
                 [("a", "600m"), ("b", "500m")], "OutOfcpu",
                 "Node didn't have enough resource: cpu, requested: 500, used: 600, "
                 "capacity: 1000", id="cpu"),
    pytest.param({"cpu": "4", "memory": "1Gi", "pods": "1"},
                 [("a", "100m"), ("b", "100m")], "OutOfpods",
                 "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1",
                 id="pods"),
])
def test_admission_rejects_what_does_not_fit(capacity: dict[str, str],
                                             pods: list[tuple[str, str]], reason: str,
                                             message: str) -> None:
    core = KubeletCore(node_cfg(capacity=capacity))
    for name, cpu in pods:
        core.pod_changed(pod(name, [container(resources=_req(cpu))]), T0)
    outs = {o.pod["metadata"]["name"]: o for o in core.run_due(T0)}
    assert outs["a"].status is not None and outs["a"].status["phase"] == "Pending"
    st = outs["b"].status
    assert st is not None
    assert st == {"phase": "Failed", "reason": reason, "message": f"Pod was rejected: {message}"}
    assert [(e.type, e.reason, e.message) for e in outs["b"].events] == [
        ("Warning", reason, message)]


def test_heap_wakes_only_due_workers_and_sleeps_when_idle() -> None:
    core = KubeletCore(node_cfg())
    core.pod_changed(pod("a"), T0)
    assert core.next_wake() == T0
    out = core.run_due(T0)
    assert len(out) == 1 and core.next_wake() == pytest.approx(T0 + 2)
    assert core.run_due(T0 + 1) == []
    out = core.run_due(T0 + 2)
    assert out[0].status is not None and out[0].status["phase"] == "Running"
    assert core.next_wake() is None
    # an update that changes nothing relevant does not wake the worker
    core.pod_changed(pod("a"), T0 + 3)
    assert core.next_wake() is None


def test_deletion_flow_and_removal() -> None:
    core = KubeletCore(node_cfg(preloaded_images=["nginx:1.25"]))
    p = pod("a")
    core.pod_changed(p, T0)
    core.run_due(T0)
    core.pod_changed(deleted(p, T0 + 5), T0 + 5)
    out = core.run_due(T0 + 5)
    assert out[0].delete and [e.reason for e in out[0].events] == ["Killing"]
    assert core.pod_deleted(p, T0 + 6) is not None
    assert core.pod_count() == 0 and core.runtime.ipam.in_use() == 0
    assert core.pod_deleted(p, T0 + 7) is None


def test_force_deleted_running_pod_is_killed() -> None:
    core = KubeletCore(node_cfg(preloaded_images=["nginx:1.25"]))
    core.pod_changed(pod("a"), T0)
    core.run_due(T0)
    out = core.pod_deleted(pod("a"), T0 + 1)
    assert out is not None and [e.reason for e in out.events] == ["Killing"]


def test_pod_already_running_here_is_adopted() -> None:
    cfg = node_cfg(preloaded_images=["nginx:1.25"])
    core = KubeletCore(cfg)
    core.pod_changed(pod("a"), T0)
    st = core.run_due(T0)[0].status
    assert st is not None
    core2 = KubeletCore(cfg)  # the kubelet restarted
    running = dict(pod("a"), status=st)
    core2.pod_changed(running, T0 + 50)
    assert core2.run_due(T0 + 50) == []  # no restart, no status change
    assert core2.summary()[0]["podIP"] == st["podIP"]


def test_event_recorder_creates_then_aggregates() -> None:
    rec = EventRecorder("node-1")
    p = pod("a")
    ev = PodEvent(T0, "Normal", "Pulling", 'Pulling image "nginx:1.25"', "spec.containers{web}")
    a1 = rec.record(p, ev)
    assert a1.verb == "create"
    obj = a1.body
    assert obj["metadata"]["namespace"] == "default"
    assert obj["metadata"]["name"].startswith("a.")
    assert obj["involvedObject"] == {"kind": "Pod", "namespace": "default", "name": "a",
                                     "uid": "uid-a", "apiVersion": "v1",
                                     "resourceVersion": "10",
                                     "fieldPath": "spec.containers{web}"}
    assert obj["source"] == {"component": "kubelet", "host": "node-1"}
    assert (obj["count"], obj["type"], obj["reason"]) == (1, "Normal", "Pulling")
    assert obj["reportingComponent"] == "kubelet" and obj["reportingInstance"] == "node-1"
    a2 = rec.record(p, PodEvent(T0 + 9, ev.type, ev.reason, ev.message, ev.field_path))
    assert (a2.verb, a2.name, a2.body) == ("patch", a1.name,
                                           {"count": 2, "lastTimestamp": "2023-11-14T22:13:29Z"})
    rec.forget(a2)
    assert rec.record(p, ev).verb == "create"


def test_node_events_reference_the_node_by_name() -> None:
    obj = event_object(node_ref("node-1"), PodEvent(T0, "Normal", "Starting",
                                                    "Starting kubelet."), "node-1")
    assert obj["involvedObject"] == {"kind": "Node", "name": "node-1", "uid": "node-1"}
    assert obj["metadata"]["namespace"] == "default"


def test_config_from_launcher_dict_and_camel_case() -> None:
    cfg = NodeConfig.from_dict({
        "node_name": "n", "pod_cidr": "10.244.5.0/24", "node_ip": "10.0.0.7",
        "images": {"nginx:1.25": {"size_bytes": 1, "pull_seconds": 2.0}},
        "node_lease_duration_seconds": 40, "node_status_update_frequency": 10.0,
        "node_status_report_frequency": "5m", "time_scale": 0.5})
    assert cfg.lease_renew_interval == 5.0 and cfg.node_status_report_frequency == 300
    assert "docker.io/library/nginx:1.25" in cfg.registry
    cfg2 = NodeConfig.from_dict({"nodeName": "n", "podCIDR": "10.244.5.0/24",
                                 "timings": {"nodeLeaseDurationSeconds": "20s"},
                                 "registry": {"images": {"busybox": {}}}})
    assert cfg2.node_lease_duration_seconds == 20 and cfg2.pod_cidr == "10.244.5.0/24"
    assert "docker.io/library/busybox:latest" in cfg2.registry
    with pytest.raises(ValueError):
        NodeConfig.from_dict({})
