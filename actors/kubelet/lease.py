"""The node's heartbeat Lease in kube-node-lease, and when to renew it (pure).

Upstream (component-helpers/apimachinery/lease): the kubelet renews every
renewInterval = 0.25 x nodeLeaseDurationSeconds (10 s of the default 40 s), run by
wait.JitterUntil with a jitter factor of 0.04 (each period 0-4 % longer), measured
from the end of the previous renew. A failed renew is retried with a backoff of
200 ms doubling to 7 s. `leaseDurationSeconds` is reported as configured (40); the
renew timing in real seconds is scaled by `time_scale`.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from actors.common.clock import rfc3339_micro

from .config import NodeConfig

Obj = dict[str, Any]

NAMESPACE = "kube-node-lease"
JITTER = 0.04
RETRY_INITIAL = 0.2
RETRY_MAX = 7.0


def build_lease(cfg: NodeConfig, now: float, node_uid: str = "") -> Obj:
    lease: Obj = {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": cfg.node_name, "namespace": NAMESPACE},
        "spec": {"holderIdentity": cfg.node_name,
                 "leaseDurationSeconds": int(cfg.node_lease_duration_seconds),
                 "renewTime": rfc3339_micro(now)},
    }
    if node_uid:
        lease["metadata"]["ownerReferences"] = [owner_reference(cfg.node_name, node_uid)]
    return lease


def owner_reference(node_name: str, node_uid: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}


def renewed(lease: Obj, cfg: NodeConfig, now: float, node_uid: str = "") -> Obj:
    """A copy of `lease` renewed at `now` (holder, duration and owner reasserted)."""
    out = copy.deepcopy(lease)
    spec = out.setdefault("spec", {})
    spec["holderIdentity"] = cfg.node_name
    spec["leaseDurationSeconds"] = int(cfg.node_lease_duration_seconds)
    spec["renewTime"] = rfc3339_micro(now)
    if node_uid:
        meta = out.setdefault("metadata", {})
        refs = meta.get("ownerReferences") or []
        if not any(r.get("kind") == "Node" and r.get("uid") == node_uid for r in refs):
            meta["ownerReferences"] = [owner_reference(cfg.node_name, node_uid)]
    return out


class LeaseTimer:
    """When to renew next: the jittered renew interval, or a retry backoff after failures."""

    __slots__ = ("cfg", "rng", "failures", "last_renew")

    def __init__(self, cfg: NodeConfig, rng: random.Random | None = None) -> None:
        self.cfg = cfg
        self.rng = rng or random.Random(0)
        self.failures = 0
        self.last_renew: float | None = None

    def next_renew(self, now: float) -> float:
        """After a successful renew at `now`."""
        self.failures = 0
        self.last_renew = now
        interval = self.cfg.lease_renew_interval
        return now + interval * (1.0 + JITTER * self.rng.random())

    def next_retry(self, now: float) -> float:
        """After a failed renew at `now`: 200 ms doubling to 7 s (scaled)."""
        self.failures += 1
        delay = min(RETRY_INITIAL * 2 ** (self.failures - 1), RETRY_MAX)
        return now + self.cfg.scaled(delay)
