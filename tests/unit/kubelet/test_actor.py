"""The kubelet shell against an in-memory apiserver (real asyncio, timeScale 0.01)."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from actors.common.clock import parse_time
from actors.kubelet.actor import Kubelet

from .builders import container, node_cfg, pod
from .fakeapi import FakeAPI

SCALE = 0.01


async def until(pred: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        v = pred()
        if v:
            return v
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 30))


def _pod_phase(api: FakeAPI, name: str) -> str:
    p = api.peek("pods", name)
    return str(((p or {}).get("status") or {}).get("phase") or "")


def test_registers_node_renews_lease_runs_and_deletes_pods() -> None:
    async def main() -> None:
        api = FakeAPI()
        cfg = node_cfg(time_scale=SCALE)
        k = Kubelet(cfg, api)
        await k.start()
        try:
            await until(lambda: api.peek("leases", "node-1", "kube-node-lease"), what="lease")
            node = api.peek("nodes", "node-1")
            assert node is not None
            ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
            assert ready[0]["status"] == "True"
            lease = api.peek("leases", "node-1", "kube-node-lease")
            assert lease is not None
            assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
            first = parse_time(lease["spec"]["renewTime"])
            await until(lambda: parse_time((api.peek("leases", "node-1", "kube-node-lease")
                                            or {})["spec"]["renewTime"]) > first,
                        what="a lease renewal (every 0.1 s at this scale)")

            await api.create("pods", pod("web-1", [container()]), "default")
            await until(lambda: _pod_phase(api, "web-1") == "Running", what="Running")
            p = api.peek("pods", "web-1")
            assert p is not None and p["status"]["podIP"] == "10.244.1.2"
            reasons = await until(lambda: [e["reason"] for e in sorted(
                api.items("events"), key=lambda e: e["metadata"]["name"])
                if e["involvedObject"].get("name") == "web-1"] or None, what="events")
            assert {"Pulling", "Pulled", "Created", "Started"} <= set(reasons)
            node_events = {e["reason"] for e in api.items("events")
                           if e["involvedObject"]["kind"] == "Node"}
            assert {"Starting", "NodeReady", "NodeHasSufficientMemory"} <= node_events

            await api.delete("pods", "web-1", "default")  # graceful: deletionTimestamp
            await until(lambda: api.peek("pods", "web-1") is None, what="pod deleted")
            assert ("delete", "pods", "web-1") in api.calls
            assert any(e["reason"] == "Killing" for e in api.items("events"))
            st = k.status()
            assert st["registered"] and st["pods"] == 0 and st["synced"]
        finally:
            await k.stop()
    run(main)


def test_existing_node_is_reconciled_not_recreated() -> None:
    async def main() -> None:
        api = FakeAPI()
        await api.create("nodes", {"apiVersion": "v1", "kind": "Node",
                                   "metadata": {"name": "node-1", "labels": {"keep": "me"}}})
        k = Kubelet(node_cfg(time_scale=SCALE), api)
        await k.start()
        try:
            await until(lambda: k.registered, what="registration")
            node = api.peek("nodes", "node-1")
            assert node is not None
            assert node["metadata"]["labels"]["keep"] == "me"
            assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
            assert node["status"]["conditions"]
        finally:
            await k.stop()
    run(main)


def test_lease_retried_after_failures_and_status_conflicts_retried() -> None:
    async def main() -> None:
        api = FakeAPI()
        api.fail[("create", "leases")] = 3
        k = Kubelet(node_cfg(time_scale=SCALE), api)
        await k.start()
        try:
            await until(lambda: api.peek("leases", "node-1", "kube-node-lease"),
                        what="lease after retries")
            assert k.stats["errors"] >= 3
            await api.create("pods", pod("web-1"), "default")
            await until(lambda: _pod_phase(api, "web-1") == "Pending", what="Pending")
            # someone else changes the pod meanwhile: the kubelet's next status write
            # conflicts and is retried against a fresh copy
            await api.patch("pods", "web-1", {"metadata": {"labels": {"x": "y"}}}, "default")
            api.conflicts["pods"] = 2
            await until(lambda: _pod_phase(api, "web-1") == "Running", what="Running")
            p = api.peek("pods", "web-1")
            assert p is not None and p["metadata"]["labels"] == {"x": "y"}
            assert api.conflicts["pods"] == 0
            assert ("get", "pods", "web-1") in api.calls
        finally:
            await k.stop()
    run(main)


def test_restarted_kubelet_adopts_its_running_pods() -> None:
    async def main() -> None:
        api = FakeAPI()
        cfg = node_cfg(time_scale=SCALE)
        k = Kubelet(cfg, api)
        await k.start()
        await api.create("pods", pod("web-1"), "default")
        await until(lambda: _pod_phase(api, "web-1") == "Running", what="Running")
        before = api.peek("pods", "web-1")
        await k.stop()
        k2 = Kubelet(cfg, api)
        await k2.start()
        try:
            await until(lambda: k2.status()["pods"] == 1, what="adopted")
            await asyncio.sleep(0.1)
            after = api.peek("pods", "web-1")
            assert before is not None and after is not None
            assert after["status"] == before["status"]  # no restart, no new IP
            assert not [e for e in api.items("events")
                        if e["reason"] == "Started" and e["count"] > 1]
        finally:
            await k2.stop()
    run(main)


def test_a_failed_pod_status_write_is_posted_again_later() -> None:
    """Every retry of a status write fails (the apiserver is shedding load): the pod's
    status is not left behind, the kubelet posts it again after the status manager's
    resync period (10 s, scaled), as upstream's status manager does."""
    async def main() -> None:
        api = FakeAPI()
        k = Kubelet(node_cfg(time_scale=SCALE), api)
        await k.start()
        try:
            await until(lambda: api.peek("leases", "node-1", "kube-node-lease"), what="lease")
            api.fail[("update", "pods")] = 12  # more than the 5 quick retries of two writes
            await api.create("pods", pod("web-1", [container()]), "default")
            await until(lambda: api.fail[("update", "pods")] == 0, what="the failures used up")
            assert _pod_phase(api, "web-1") != "Running"
            await until(lambda: _pod_phase(api, "web-1") == "Running", what="Running after resync")
            assert k.stats["errors"] >= 1 and "injected failure" in k.last_error
        finally:
            await k.stop()
    run(main)
