"""The kubelet's configuration: one node's identity, capacity, registry and timings (pure).

The launcher (`actors/cluster.py: kubelet_config`) passes a plain dict with the raw
upstream durations and `time_scale`; every duration is multiplied by the scale in
exactly one place, `NodeConfig.scaled`, so a 40 s lease with `time_scale` 0.1 lasts
4 s of real time. Keys (snake_case; the camelCase KubeletConfiguration spelling is
accepted too)::

    node_name, capacity {cpu, memory, pods[, ephemeral-storage]}, labels, taints,
    pod_cidr, node_ip, kubelet_version, instance_type,
    images | registry: {"nginx:1.25": {size_bytes, pull_seconds[, repull_seconds, digest]}},
    preloaded_images: ["registry.k8s.io/pause:3.9", ...],
    node_lease_duration_seconds (40), node_status_update_frequency (10 s),
    node_status_report_frequency (5 min), crash_loop_backoff_initial (10 s),
    crash_loop_backoff_max (5 min), crash_loop_backoff_reset (10 min),
    time_scale (1.0), apiserver (host:port, used by the actor only)

Durations are numbers of seconds or Go-style strings ("10s", "5m").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .durations import parse_duration

from .runtime.images import RegistryImage, normalize_image

DEFAULT_KUBELET_VERSION = "v1.30.0-kubemu"
CONTAINER_RUNTIME_VERSION = "kubemu://0.1"
KUBELET_PORT = 10250
# upstream: the lease is renewed every NodeLeaseRenewIntervalFraction (0.25) of its duration
LEASE_RENEW_FRACTION = 0.25

_DURATIONS: dict[str, tuple[str, float]] = {
    # field: (camelCase alias, upstream default seconds)
    "node_lease_duration_seconds": ("nodeLeaseDurationSeconds", 40.0),
    "node_status_update_frequency": ("nodeStatusUpdateFrequency", 10.0),
    "node_status_report_frequency": ("nodeStatusReportFrequency", 300.0),
    "crash_loop_backoff_initial": ("crashLoopBackOffInitial", 10.0),
    "crash_loop_backoff_max": ("crashLoopBackOffMax", 300.0),
    "crash_loop_backoff_reset": ("crashLoopBackOffReset", 600.0),
}


@dataclass
class NodeConfig:
    node_name: str
    capacity: dict[str, str] = field(default_factory=lambda: {"cpu": "2", "memory": "4Gi",
                                                               "pods": "110"})
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    pod_cidr: str = "10.244.0.0/24"
    node_ip: str = "10.0.0.2"
    kubelet_version: str = DEFAULT_KUBELET_VERSION
    instance_type: str = ""
    registry: dict[str, RegistryImage] = field(default_factory=dict)
    preloaded_images: tuple[str, ...] = ()
    node_lease_duration_seconds: float = 40.0
    node_status_update_frequency: float = 10.0
    node_status_report_frequency: float = 300.0
    crash_loop_backoff_initial: float = 10.0
    crash_loop_backoff_max: float = 300.0
    crash_loop_backoff_reset: float = 600.0
    time_scale: float = 1.0
    apiserver: str = ""

    def scaled(self, seconds: float) -> float:
        """A configured (upstream, simulated) duration in real seconds."""
        return seconds * self.time_scale

    @property
    def lease_renew_interval(self) -> float:
        """Real seconds between lease renewals (upstream: 0.25 x the lease duration)."""
        return self.scaled(self.node_lease_duration_seconds * LEASE_RENEW_FRACTION)

    @property
    def machine_id(self) -> str:
        return hashlib.sha256(f"machine/{self.node_name}".encode()).hexdigest()[:32]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "NodeConfig":
        def get(key: str, alias: str, default: Any = None) -> Any:
            if key in d:
                return d[key]
            return d.get(alias, default)

        name = get("node_name", "nodeName") or d.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("kubelet config: node_name is required")
        cfg = cls(node_name=name)
        cap = get("capacity", "capacity")
        if cap:
            cfg.capacity = {str(k): str(v) for k, v in dict(cap).items()}
        cfg.labels = {str(k): str(v) for k, v in dict(get("labels", "labels") or {}).items()}
        cfg.taints = [dict(t) for t in (get("taints", "taints") or [])]
        cfg.pod_cidr = str(get("pod_cidr", "podCIDR", cfg.pod_cidr))
        cfg.node_ip = str(get("node_ip", "nodeIP", cfg.node_ip))
        cfg.kubelet_version = str(get("kubelet_version", "kubeletVersion", cfg.kubelet_version))
        cfg.instance_type = str(get("instance_type", "instanceType", "") or "")
        cfg.apiserver = str(d.get("apiserver", "") or "")
        ts = get("time_scale", "timeScale", 1.0)
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts <= 0:
            raise ValueError(f"kubelet config: time_scale must be a number > 0, got {ts!r}")
        cfg.time_scale = float(ts)
        timings = dict(d.get("timings") or {})
        for key, (alias, default) in _DURATIONS.items():
            v = get(key, alias, timings.get(alias, timings.get(key, default)))
            setattr(cfg, key, parse_duration(v))
        reg = get("images", "registry") or {}
        if isinstance(reg, dict) and "images" in reg and isinstance(reg["images"], dict):
            reg = reg["images"]  # cluster.yaml's `registry: {images: {...}}` shape
        cfg.registry = parse_registry(reg)
        cfg.preloaded_images = tuple(str(x) for x in (get("preloaded_images", "preloadedImages")
                                                       or ()))
        return cfg


def parse_registry(reg: dict[str, Any]) -> dict[str, RegistryImage]:
    """{"nginx:1.25": {size_bytes, pull_seconds, ...}} keyed by the normalized reference."""
    out: dict[str, RegistryImage] = {}
    for ref, raw in reg.items():
        spec: dict[str, Any] = dict(raw or {})
        norm = normalize_image(str(ref))
        size = int(spec.get("size_bytes") or spec.get("sizeBytes") or 10 * 1024 * 1024)
        pull = parse_duration(spec.get("pull_seconds", spec.get("pullSeconds", 1.0)))
        repull = spec.get("repull_seconds", spec.get("repullSeconds"))
        out[norm] = RegistryImage(
            ref=norm, size_bytes=size, pull_seconds=pull,
            repull_seconds=None if repull is None else parse_duration(repull),
            digest=str(spec.get("digest") or ""))
    return out
