"""The registered Node, its conditions, and when node status is posted."""

from __future__ import annotations

from actors.common.clock import rfc3339
from actors.kubelet.node_status import NodeStatusManager, build_node, reconcile_registered

from .builders import T0, node_cfg


def test_node_object_to_register() -> None:
    cfg = node_cfg(instance_type="kubemu.small",
                   taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}])
    n = build_node(cfg, T0)
    meta, spec, st = n["metadata"], n["spec"], n["status"]
    assert n["apiVersion"] == "v1" and n["kind"] == "Node" and meta["name"] == "node-1"
    assert meta["labels"] == {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "node-1",
        "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "kubemu.small",
        "beta.kubernetes.io/instance-type": "kubemu.small",
        "topology.kubernetes.io/zone": "zone-a"}
    assert spec["podCIDR"] == "10.244.1.0/24" and spec["podCIDRs"] == ["10.244.1.0/24"]
    assert spec["taints"] == [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    assert st["capacity"]["cpu"] == "4" and st["capacity"]["memory"] == "8Gi"
    assert st["capacity"]["pods"] == "110" and st["allocatable"] == st["capacity"]
    assert st["addresses"] == [{"type": "InternalIP", "address": "10.0.0.3"},
                               {"type": "Hostname", "address": "node-1"}]
    assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    info = st["nodeInfo"]
    assert info["kubeletVersion"] == "v1.30.0-kubemu"
    assert info["containerRuntimeVersion"] == "kubemu://0.1"
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"
    assert info["osImage"] and info["machineID"] and info["bootID"]
    conds = [(c["type"], c["status"], c["reason"], c["message"]) for c in st["conditions"]]
    assert conds == [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory",
         "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID",
         "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
    assert all(c["lastHeartbeatTime"] == rfc3339(T0) == c["lastTransitionTime"]
               for c in st["conditions"])


def test_no_taints_key_without_taints() -> None:
    assert "taints" not in build_node(node_cfg(), T0)["spec"]


def test_reconcile_existing_node_restores_kubelet_labels_only_when_needed() -> None:
    cfg = node_cfg()
    n = build_node(cfg, T0)
    assert reconcile_registered(n, cfg) is None
    n["metadata"]["labels"].pop("kubernetes.io/hostname")
    n["metadata"]["labels"]["extra"] = "kept"
    fixed = reconcile_registered(n, cfg)
    assert fixed is not None and fixed["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
    assert fixed["metadata"]["labels"]["extra"] == "kept"


def _post(m: NodeStatusManager, node: dict, t: float) -> dict | None:  # type: ignore[type-arg]
    upd = m.status_update(node, t)
    if upd is not None:
        m.posted(upd, t)
    return upd


def test_status_posted_on_change_else_every_report_frequency() -> None:
    cfg = node_cfg()
    m = NodeStatusManager(cfg)
    node = build_node(cfg, T0)
    first = _post(m, node, T0)
    assert first is not None
    assert [e.reason for e in m.take_events()] == [
        "NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"]
    assert m.next_update(T0) == T0 + 10
    for k in range(1, 30):  # 10 s ticks for 290 s: nothing changed, nothing posted
        assert _post(m, first, T0 + 10 * k) is None
    again = _post(m, first, T0 + 300)  # nodeStatusReportFrequency
    assert again is not None
    ready = next(c for c in again["status"]["conditions"] if c["type"] == "Ready")
    assert ready["lastHeartbeatTime"] == rfc3339(T0 + 300)
    assert ready["lastTransitionTime"] == rfc3339(T0)
    assert m.take_events() == []
    m.pressure["MemoryPressure"] = True
    changed = _post(m, again, T0 + 310)
    assert changed is not None
    mem = changed["status"]["conditions"][0]
    assert (mem["status"], mem["reason"], mem["lastTransitionTime"]) == (
        "True", "KubeletHasInsufficientMemory", rfc3339(T0 + 310))
    assert [(e.reason, e.message) for e in m.take_events()] == [
        ("NodeHasInsufficientMemory", "Node node-1 status is now: NodeHasInsufficientMemory")]


def test_not_ready_status() -> None:
    cfg = node_cfg()
    m = NodeStatusManager(cfg)
    node = build_node(cfg, T0)
    _post(m, node, T0)
    upd = m.status_update(node, T0 + 10, ready=False, not_ready_message="PLEG is not healthy")
    assert upd is not None
    ready = upd["status"]["conditions"][3]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", "KubeletNotReady", "PLEG is not healthy")


def test_status_timing_is_scaled() -> None:
    cfg = node_cfg(time_scale=0.1)
    m = NodeStatusManager(cfg)
    node = build_node(cfg, T0)
    _post(m, node, T0)
    assert m.next_update(T0) == T0 + 1.0
    assert _post(m, node, T0 + 29) is None
    assert _post(m, node, T0 + 30) is not None


def test_images_reported_from_the_runtime() -> None:
    cfg = node_cfg()
    m = NodeStatusManager(cfg, images=lambda now: [{"names": ["a"], "sizeBytes": 1}])
    assert m.compute_status(None, T0)["images"] == [{"names": ["a"], "sizeBytes": 1}]


def test_status_changed_by_the_node_controller_is_corrected_at_once() -> None:
    cfg = node_cfg()
    m = NodeStatusManager(cfg)
    posted = _post(m, build_node(cfg, T0), T0)
    assert posted is not None
    m.take_events()
    unknown = dict(posted, status=dict(posted["status"]))
    unknown["status"]["conditions"] = [
        dict(c, status="Unknown", reason="NodeStatusUnknown",
             message="Kubelet stopped posting node status.") if c["type"] == "Ready" else c
        for c in posted["status"]["conditions"]]
    fixed = _post(m, unknown, T0 + 20)
    assert fixed is not None
    ready = fixed["status"]["conditions"][3]
    assert (ready["status"], ready["lastTransitionTime"]) == ("True", rfc3339(T0 + 20))
    assert [e.reason for e in m.take_events()] == ["NodeReady"]
