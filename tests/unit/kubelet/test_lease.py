"""The node Lease object and its renew timing."""

from __future__ import annotations

import random

import pytest

from actors.common.clock import rfc3339_micro
from actors.kubelet.lease import LeaseTimer, build_lease, renewed

from .builders import T0, node_cfg


def test_lease_object() -> None:
    lease = build_lease(node_cfg(), T0 + 0.123456, node_uid="u-1")
    assert lease == {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease",
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1",
                                          "uid": "u-1"}]},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                 "renewTime": rfc3339_micro(T0 + 0.123456)}}
    assert lease["spec"]["renewTime"].endswith(".123456Z")


def test_renewed_updates_renew_time_and_adds_owner() -> None:
    cfg = node_cfg()
    old = build_lease(cfg, T0)
    old["metadata"]["resourceVersion"] = "7"
    new = renewed(old, cfg, T0 + 10, node_uid="u-1")
    assert new["spec"]["renewTime"] == rfc3339_micro(T0 + 10)
    assert new["metadata"]["resourceVersion"] == "7"
    assert new["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert old["spec"]["renewTime"] == rfc3339_micro(T0)  # not mutated


@pytest.mark.parametrize("scale,duration,low,high", [
    pytest.param(1.0, 40, 10.0, 10.4, id="default-10s-plus-4pct-jitter"),
    pytest.param(0.1, 40, 1.0, 1.04, id="scaled"),
    pytest.param(1.0, 60, 15.0, 15.6, id="quarter-of-duration"),
])
def test_next_renew(scale: float, duration: int, low: float, high: float) -> None:
    t = LeaseTimer(node_cfg(time_scale=scale, node_lease_duration_seconds=duration),
                   random.Random(1))
    gaps = [t.next_renew(T0) - T0 for _ in range(200)]
    assert all(low <= g <= high for g in gaps)
    assert max(gaps) - min(gaps) > (high - low) / 2  # jitter is actually applied
    assert t.last_renew == T0


def test_retry_backoff_after_failures() -> None:
    t = LeaseTimer(node_cfg())
    delays = [round(t.next_retry(T0) - T0, 3) for _ in range(8)]
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 7.0, 7.0]
    t.next_renew(T0)
    assert t.next_retry(T0) - T0 == pytest.approx(0.2)
