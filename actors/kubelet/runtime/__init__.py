"""The simulated container runtime of one node (pure): images, sandboxes, containers.

`Runtime` plays containerd + CNI for one kubelet: an `ImageStore` with the node's
serial puller, an `IPAllocator` over the podCIDR for pod sandboxes, and container
creation with IDs that look like containerd's (64 hex digits, shown as
`kubemu://<id>`). It keeps no per-pod tables: each pod worker holds its own
`Container` objects, so a thousand hollow nodes in one process stay small. Container
logs are computed, not stored (runtime.logs): `log_view(c, hostname)`.
"""

from __future__ import annotations

import hashlib

from .behavior import Behavior, behavior_for
from .containers import SIGKILL_EXIT_CODE, Container, exit_reason
from .images import (ImageStore, PullTicket, RegistryImage, default_pull_policy,
                     normalize_image)
from .ipam import IPAllocator, IPExhausted
from .logs import DEFAULT_CAP_BYTES, LogError, LogReader, LogView, container_log_id

__all__ = ["Behavior", "Container", "DEFAULT_CAP_BYTES", "ImageStore", "IPAllocator",
           "IPExhausted", "LogError", "LogReader", "LogView", "PullTicket", "RegistryImage",
           "Runtime", "SIGKILL_EXIT_CODE", "behavior_for", "container_log_id",
           "default_pull_policy", "exit_reason", "normalize_image"]

RUNTIME_SCHEME = "kubemu"


class Runtime:
    __slots__ = ("node_name", "time_scale", "images", "ipam", "_seq")

    def __init__(self, node_name: str, pod_cidr: str, registry: dict[str, RegistryImage],
                 time_scale: float = 1.0, preloaded: tuple[str, ...] = ()) -> None:
        self.node_name = node_name
        self.time_scale = time_scale
        self.images = ImageStore(registry, time_scale, preloaded)
        self.ipam = IPAllocator(pod_cidr)
        self._seq = 0

    def run_sandbox(self, pod_uid: str) -> str:
        """Set up the pod's network namespace; returns its IP."""
        return self.ipam.allocate(pod_uid)

    def adopt_sandbox(self, pod_uid: str, ip: str) -> None:
        """A sandbox that survived a kubelet restart keeps its IP."""
        self.ipam.reserve(ip, pod_uid)

    def adopt_container(self, cid: str, name: str, image: RegistryImage, behavior: Behavior,
                        started_at: float) -> Container:
        """A container found running after a kubelet restart (containerd kept it)."""
        self.images.present.setdefault(image.ref, image)
        c = Container(cid, name, image, behavior, started_at)
        c.start(started_at, self.time_scale)
        return c

    def stop_sandbox(self, ip: str) -> None:
        self.ipam.release(ip)

    def create_container(self, pod_uid: str, name: str, image: RegistryImage,
                         behavior: Behavior, now: float) -> Container:
        self._seq += 1
        cid = hashlib.sha256(f"{self.node_name}/{pod_uid}/{name}/{self._seq}".encode()
                             ).hexdigest()
        return Container(cid, name, image, behavior, now)

    def start_container(self, c: Container, now: float) -> None:
        c.start(now, self.time_scale)

    def log_view(self, c: Container, hostname: str = "") -> LogView:
        """The log of container `c` (lines from its start to `c.log_end(now)`)."""
        return LogView(c.behavior.output, c.started_at, self.time_scale, hostname)

    def stop_container(self, c: Container, now: float, grace: float) -> float:
        """SIGTERM, SIGKILL after `grace` real seconds; returns the time it is gone."""
        return c.stop(now, grace, self.time_scale)
