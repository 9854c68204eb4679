"""The scheduler as a real Ray actor against an apiserver actor (MemoryKV), no kubelets:
pods are bound and spread, an impossible pod gets FailedScheduling and a
PodScheduled=False condition, and after a SIGKILL Ray restarts the scheduler, which
relists and goes on scheduling.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable, Iterator

import pytest

pytestmark = pytest.mark.e2e


def wait_for(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
        except Exception:
            v = None
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(ray_runtime: None) -> Iterator[dict[str, Any]]:
    from actors.apiserver.actor import ApiServerActor
    from actors.apiserver.client import SyncAPIClient
    from actors.common import grpcutil, rayutil
    from actors.scheduler.actor import SchedulerActor

    suffix = os.getpid()
    api_actor = rayutil.start_actor(ApiServerActor, f"e2e-sched-apiserver-{suffix}",
                                    {"port": grpcutil.free_ports(1)[0], "storage": "memory"},
                                    detached=False)
    address = rayutil.call(api_actor, "address", timeout=60)
    sched = rayutil.start_actor(SchedulerActor, f"e2e-sched-{suffix}",
                                {"apiserver": address, "time_scale": 0.2}, detached=False)
    rayutil.call(sched, "pid", timeout=60)
    client = SyncAPIClient(address, timeout=15)
    try:
        yield {"api": client, "sched": sched}
    finally:
        client.close()
        for h in (sched, api_actor):
            try:
                rayutil.kill(h)
            except Exception:
                pass


def node(name: str, cpu: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {}, "status": {"capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                                   "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, cpu: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                                     "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}], **spec}}


def add_node(api: Any, name: str, cpu: str) -> None:
    created = api.create("nodes", node(name, cpu))
    if not (created.get("status") or {}).get("allocatable"):
        created["status"] = node(name, cpu)["status"]
        api.update("nodes", created, subresource="status")


def node_of(api: Any, name: str) -> str:
    return str(api.get("pods", name, namespace="default")["spec"].get("nodeName") or "")


def test_binds_and_spreads(stack: dict[str, Any]) -> None:
    api = stack["api"]
    add_node(api, "n1", "4")
    add_node(api, "n2", "4")
    for i in range(4):
        api.create("pods", pod(f"web-{i}", "500m"), namespace="default")
    def bound(name: str) -> Callable[[], str]:
        return lambda: node_of(api, name)
    placed = [wait_for(bound(f"web-{i}"), 30, f"web-{i} bound") for i in range(4)]
    assert sorted(placed) == ["n1", "n1", "n2", "n2"]  # least allocated spreads them
    evs = api.list("events", namespace="default", field_selector="involvedObject.name=web-0")["items"]
    assert any(e["reason"] == "Scheduled" and e["message"] == f"Successfully assigned default/web-0 to {placed[0]}"
               for e in evs)


def test_unschedulable_pod_reports_and_waits(stack: dict[str, Any]) -> None:
    api = stack["api"]
    api.create("pods", pod("huge", "16"), namespace="default")
    # more cpu than any node's allocatable: UnschedulableAndUnresolvable for
    # NodeResourcesFit, so DefaultPreemption says preemption cannot help, as upstream
    msg = ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
           "2 Preemption is not helpful for scheduling.")

    def condition() -> Any:
        conds = (api.get("pods", "huge", namespace="default").get("status") or {}).get("conditions") or []
        return next((c for c in conds if c["type"] == "PodScheduled"), None)
    c = wait_for(condition, 30, "PodScheduled condition")
    assert (c["status"], c["reason"], c["message"]) == ("False", "Unschedulable", msg)
    evs = api.list("events", namespace="default", field_selector="involvedObject.name=huge")["items"]
    assert [(e["type"], e["reason"], e["message"]) for e in evs] == [("Warning", "FailedScheduling", msg)]
    add_node(api, "n3", "32")
    assert wait_for(lambda: node_of(api, "huge"), 30, "huge bound") == "n3"


def test_survives_sigkill(stack: dict[str, Any]) -> None:
    from actors.common import rayutil

    api, sched = stack["api"], stack["sched"]
    pid = rayutil.call(sched, "pid")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: rayutil.call(sched, "pid", timeout=5) != pid, 60, "scheduler restarted")
    api.create("pods", pod("after-restart", "100m"), namespace="default")
    assert wait_for(lambda: node_of(api, "after-restart"), 30, "after-restart bound")
    st = wait_for(lambda: (lambda s: s if s["synced"] else None)(rayutil.call(sched, "status", timeout=5)),
                  30, "synced status")
    assert st["cached_pods"] == 6 and st["nodes"] == 3
