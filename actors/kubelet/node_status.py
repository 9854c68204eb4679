"""The Node this kubelet registers, and when to post its status (pure).

`build_node(cfg)` is the object the kubelet creates at registration (labels the
kubelet sets itself, spec.podCIDR(s), taints from --register-with-taints, and an
initial status). Where its API (container logs) is served is published twice:
status.daemonEndpoints.kubeletEndpoint.Port, as upstream, and the annotation
`kubemu.io/kubelet-endpoint: 127.0.0.1:PORT` — node IPs are simulated, so the
annotation is what the apiserver dials; a restarted kubelet (a new port) rewrites it
when it registers again (`reconcile_registered`). `NodeStatusManager` plays kubelet's updateNodeStatus loop: every
nodeStatusUpdateFrequency (10 s) it computes the status; it posts it only when
something other than heartbeat times changed, or when nodeStatusReportFrequency
(5 min) has passed since the last post — the Lease is the real heartbeat. The
comparison is against the Node as the apiserver has it, as upstream does. Every
condition's lastHeartbeatTime is the time of the post; lastTransitionTime moves only
when its status changes. Condition transitions also produce the kubelet's node events
(NodeHasSufficientMemory, NodeReady, ...).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any, Callable

from actors.common.clock import rfc3339

from .config import CONTAINER_RUNTIME_VERSION, KUBELET_PORT, NodeConfig
from .events import PodEvent

Obj = dict[str, Any]

OS_IMAGE = "kubemu simulated node"
KUBELET_ENDPOINT_ANNOTATION = "kubemu.io/kubelet-endpoint"
_ATTACH_DETACH = "volumes.kubernetes.io/controller-managed-attach-detach"
KERNEL_VERSION = "6.1.0-kubemu"

# (type, reason and message when False, event reason when False)
_PRESSURE = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
     "NodeHasSufficientMemory", "KubeletHasInsufficientMemory",
     "kubelet has insufficient memory available", "NodeHasInsufficientMemory"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
     "NodeHasNoDiskPressure", "KubeletHasDiskPressure", "kubelet has disk pressure",
     "NodeHasDiskPressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
     "NodeHasSufficientPID", "KubeletHasInsufficientPID", "kubelet has insufficient PID available",
     "NodeHasInsufficientPID"),
)


def _uuid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def node_labels(cfg: NodeConfig) -> dict[str, str]:
    """Labels the kubelet sets on its Node, then the configured ones."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": cfg.node_name,
        "kubernetes.io/os": "linux",
    }
    if cfg.instance_type:
        labels["node.kubernetes.io/instance-type"] = cfg.instance_type
        labels["beta.kubernetes.io/instance-type"] = cfg.instance_type
    labels.update(cfg.labels)
    return labels


def capacity(cfg: NodeConfig) -> dict[str, str]:
    cap = {"cpu": "2", "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
           "hugepages-2Mi": "0", "memory": "4Gi", "pods": "110"}
    cap.update({k: str(v) for k, v in cfg.capacity.items()})
    return cap


def node_info(cfg: NodeConfig, boot_seed: str = "") -> dict[str, str]:
    return {
        "architecture": "amd64",
        "bootID": _uuid(f"boot/{cfg.node_name}/{boot_seed}"),
        "containerRuntimeVersion": CONTAINER_RUNTIME_VERSION,
        "kernelVersion": KERNEL_VERSION,
        "kubeProxyVersion": cfg.kubelet_version,
        "kubeletVersion": cfg.kubelet_version,
        "machineID": cfg.machine_id,
        "operatingSystem": "linux",
        "osImage": OS_IMAGE,
        "systemUUID": _uuid(f"system/{cfg.node_name}"),
    }


def node_annotations(endpoint: str = "") -> dict[str, str]:
    """The annotations the kubelet sets on its Node."""
    ann = {_ATTACH_DETACH: "true"}
    if endpoint:
        ann[KUBELET_ENDPOINT_ANNOTATION] = endpoint
    return ann


def endpoint_port(endpoint: str) -> int:
    """The port of "host:port" (KUBELET_PORT when there is none)."""
    _, _, port = endpoint.rpartition(":")
    return int(port) if port.isdigit() else KUBELET_PORT


def build_node(cfg: NodeConfig, now: float, port: int = KUBELET_PORT,
               endpoint: str = "") -> Obj:
    """The Node object the kubelet registers (status filled by a first update);
    `endpoint` is where its API listens (annotation, and the port when given)."""
    if endpoint:
        port = endpoint_port(endpoint)
    spec: Obj = {"podCIDR": cfg.pod_cidr, "podCIDRs": [cfg.pod_cidr],
                 "providerID": f"kubemu://{cfg.node_name}"}
    if cfg.taints:
        spec["taints"] = [dict(t) for t in cfg.taints]
    node: Obj = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": cfg.node_name, "labels": node_labels(cfg),
                     "annotations": node_annotations(endpoint)},
        "spec": spec,
        "status": {},
    }
    mgr = NodeStatusManager(cfg, port=port)
    node["status"] = mgr.compute_status(None, now)
    return node


def reconcile_registered(existing: Obj, cfg: NodeConfig, endpoint: str = "") -> Obj | None:
    """kubelet's reconcile of an already registered Node: the labels it owns, the
    annotations (its API endpoint: a restarted kubelet listens on a new port), podCIDR
    and taints it registers with; None when nothing differs."""
    node = copy.deepcopy(existing)
    meta = node.setdefault("metadata", {})
    labels = meta.setdefault("labels", {}) or {}
    meta["labels"] = labels
    changed = False
    for k, v in node_labels(cfg).items():
        if labels.get(k) != v:
            labels[k] = v
            changed = True
    ann = meta.get("annotations") or {}
    meta["annotations"] = ann
    for k, v in node_annotations(endpoint).items():
        if ann.get(k) != v:
            ann[k] = v
            changed = True
    spec = node.setdefault("spec", {})
    if not spec.get("podCIDR"):
        spec["podCIDR"], spec["podCIDRs"] = cfg.pod_cidr, [cfg.pod_cidr]
        changed = True
    have = {(t.get("key"), t.get("effect")) for t in spec.get("taints") or []}
    for t in cfg.taints:
        if (t.get("key"), t.get("effect")) not in have:
            spec.setdefault("taints", []).append(dict(t))
            changed = True
    return node if changed else None


def _cond(prev: Obj | None, ctype: str, status: str, reason: str, message: str,
          stamp: str) -> Obj:
    c: Obj = {"type": ctype, "status": status, "lastHeartbeatTime": stamp,
              "lastTransitionTime": stamp, "reason": reason, "message": message}
    if prev is not None and prev.get("status") == status and prev.get("lastTransitionTime"):
        c["lastTransitionTime"] = prev["lastTransitionTime"]
    return c


def _event_reason(ctype: str, status: str) -> str:
    for (t, _, _, ev_ok, _, _, ev_bad) in _PRESSURE:
        if t == ctype:
            return ev_bad if status == "True" else ev_ok
    return "NodeReady" if status == "True" else "NodeNotReady"


def _strip_heartbeats(status: Obj) -> Obj:
    out = dict(status)
    out["conditions"] = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                         for c in status.get("conditions") or []]
    return out


class NodeStatusManager:
    """Decides when the kubelet posts node status, and what it contains."""

    __slots__ = ("cfg", "port", "images", "boot_seed", "last_report", "_last_status",
                 "_events", "pressure", "_base")

    def __init__(self, cfg: NodeConfig, port: int = KUBELET_PORT,
                 images: Callable[[float], list[Obj]] | None = None,
                 boot_seed: str = "") -> None:
        self.cfg = cfg
        self.port = port
        self.images = images
        self.boot_seed = boot_seed
        self.last_report: float | None = None
        self._last_status: Obj | None = None
        self._events: list[PodEvent] = []
        self._base: Obj | None = None  # the apiserver's status the pending update replaces
        # simulated pressures (False = no pressure); a later issue can set them
        self.pressure = {"MemoryPressure": False, "DiskPressure": False, "PIDPressure": False}

    def next_update(self, now: float) -> float:
        return now + self.cfg.scaled(self.cfg.node_status_update_frequency)

    def take_events(self) -> list[PodEvent]:
        ev, self._events = self._events, []
        return ev

    def _conditions(self, old: list[Obj], now: float, ready: bool,
                    not_ready_message: str) -> list[Obj]:
        by_type = {c.get("type"): c for c in old}
        stamp = rfc3339(now)
        out: list[Obj] = []
        for (ctype, r_ok, m_ok, _, r_bad, m_bad, _) in _PRESSURE:
            bad = self.pressure.get(ctype, False)
            out.append(_cond(by_type.get(ctype), ctype, "True" if bad else "False",
                             r_bad if bad else r_ok, m_bad if bad else m_ok, stamp))
        out.append(_cond(by_type.get("Ready"), "Ready", "True" if ready else "False",
                         "KubeletReady" if ready else "KubeletNotReady",
                         "kubelet is posting ready status" if ready else not_ready_message,
                         stamp))
        return out

    def compute_status(self, node: Obj | None, now: float, ready: bool = True,
                       not_ready_message: str = "") -> Obj:
        """The status the kubelet would post now (heartbeats = now)."""
        old = ((node or {}).get("status") or {})
        cap = capacity(self.cfg)
        st: Obj = {
            "capacity": dict(cap),
            "allocatable": dict(cap),
            "conditions": self._conditions(old.get("conditions") or [], now, ready,
                                           not_ready_message),
            "addresses": [{"type": "InternalIP", "address": self.cfg.node_ip},
                          {"type": "Hostname", "address": self.cfg.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "nodeInfo": node_info(self.cfg, self.boot_seed),
        }
        if self.images is not None:
            st["images"] = self.images(now)
        return st

    def status_update(self, node: Obj, now: float, ready: bool = True,
                      not_ready_message: str = "") -> Obj | None:
        """The node with its new status when it is time to post one, else None.

        `node` is the Node as the apiserver has it now (kubelet's tryUpdateNodeStatus
        gets it every time), so a status someone else changed — the node lifecycle
        controller's Ready=Unknown — counts as a change and is corrected at once."""
        cur = node.get("status") or {}
        self._base = cur
        st = self.compute_status(node, now, ready, not_ready_message)
        changed = _strip_heartbeats(st) != _strip_heartbeats(cur)
        due = self.last_report is None or \
            now - self.last_report >= self.cfg.scaled(self.cfg.node_status_report_frequency)
        if not (changed or due):
            return None
        out = dict(node)
        out["status"] = st
        return out

    def posted(self, node: Obj, now: float) -> None:
        """The status of `node` reached the apiserver at `now`: remember it, and queue
        the kubelet's events for the conditions that changed."""
        st = node.get("status") or {}
        # the first post after (re)start reports every condition, as kubelet's setters do
        base = self._base if self._last_status is not None else None
        before = {c.get("type"): c.get("status") for c in (base or {}).get("conditions") or []}
        for c in st.get("conditions") or []:
            if before.get(c.get("type")) != c.get("status"):
                reason = _event_reason(str(c.get("type")), str(c.get("status")))
                self._events.append(PodEvent(now, "Normal", reason,
                                             f"Node {self.cfg.node_name} status is now: {reason}"))
        self._last_status = st
        self.last_report = now
