"""Builders for kubelet unit tests: node configs, pods and a stepping harness."""

from __future__ import annotations

import copy
from typing import Any

from actors.common.clock import FakeClock, rfc3339
from actors.kubelet.config import NodeConfig
from actors.kubelet.events import PodEvent
from actors.kubelet.pod_worker import Effects, PodWorker
from actors.kubelet.runtime import Runtime

T0 = 1_700_000_000.0

REGISTRY = {
    "nginx:1.25": {"size_bytes": 70_000_000, "pull_seconds": 2.0},
    "nginx:latest": {"size_bytes": 71_000_000, "pull_seconds": 2.0},
    "busybox:1.36": {"size_bytes": 4_000_000, "pull_seconds": 0.5},
    "redis:7": {"size_bytes": 45_000_000, "pull_seconds": 1.5},
}


def node_cfg(**kw: Any) -> NodeConfig:
    d: dict[str, Any] = {
        "node_name": "node-1", "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "labels": {"topology.kubernetes.io/zone": "zone-a"}, "taints": [],
        "pod_cidr": "10.244.1.0/24", "node_ip": "10.0.0.3",
        "kubelet_version": "v1.30.0-kubemu", "images": REGISTRY, "time_scale": 1.0,
    }
    d.update(kw)
    return NodeConfig.from_dict(d)


def container(name: str = "web", image: str = "nginx:1.25", **kw: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image}
    c.update(kw)
    return c


def pod(name: str = "web-1", containers: list[dict[str, Any]] | None = None, *,
        uid: str = "", namespace: str = "default", annotations: dict[str, str] | None = None,
        init: list[dict[str, Any]] | None = None, scheduled_at: float = T0 - 1,
        **spec: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}",
                     "resourceVersion": "10"},
        "spec": {"nodeName": "node-1", "restartPolicy": "Always",
                 "terminationGracePeriodSeconds": 30,
                 "containers": containers if containers is not None else [container()]},
        "status": {"phase": "Pending",
                   "conditions": [{"type": "PodScheduled", "status": "True",
                                   "lastProbeTime": None,
                                   "lastTransitionTime": rfc3339(scheduled_at)}]},
    }
    if annotations:
        p["metadata"]["annotations"] = annotations
    if init:
        p["spec"]["initContainers"] = init
    p["spec"].update(spec)
    return p


def deleted(p: dict[str, Any], at: float, grace: int | None = 30) -> dict[str, Any]:
    q = copy.deepcopy(p)
    q["metadata"]["deletionTimestamp"] = rfc3339(at)
    if grace is not None:
        q["metadata"]["deletionGracePeriodSeconds"] = grace
    return q


class Harness:
    """Drive one PodWorker with a fake clock, collecting everything it emits."""

    def __init__(self, p: dict[str, Any], cfg: NodeConfig | None = None,
                 runtime: Runtime | None = None, start: float = T0) -> None:
        self.cfg = cfg or node_cfg()
        self.rt = runtime or Runtime(self.cfg.node_name, self.cfg.pod_cidr, self.cfg.registry,
                                     self.cfg.time_scale, self.cfg.preloaded_images)
        self.clock = FakeClock(start)
        self.w = PodWorker(p, self.cfg, self.rt)
        self.events: list[PodEvent] = []
        self.statuses: list[dict[str, Any]] = []
        self.last: Effects | None = None

    def step(self) -> Effects:
        fx = self.w.step(self.clock.now())
        self.events.extend(fx.events)
        if fx.status is not None:
            self.statuses.append(fx.status)
        self.last = fx
        return fx

    def run_until(self, t: float) -> None:
        """Step at every wake-up up to t, then at t."""
        fx = self.step()
        while fx.wake_at is not None and fx.wake_at <= t:
            self.clock.t = max(self.clock.t, fx.wake_at)
            fx = self.step()
        self.clock.t = t
        self.step()

    @property
    def status(self) -> dict[str, Any]:
        assert self.statuses, "no status posted yet"
        return self.statuses[-1]

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]

    def messages(self) -> list[str]:
        return [e.message for e in self.events]

    def cond(self, ctype: str) -> dict[str, Any]:
        return next(c for c in self.status["conditions"] if c["type"] == ctype)

    def cstatus(self, name: str = "web") -> dict[str, Any]:
        for cs in self.status.get("containerStatuses", []) + \
                self.status.get("initContainerStatuses", []):
            if cs["name"] == name:
                return cs  # type: ignore[no-any-return]
        raise KeyError(name)
