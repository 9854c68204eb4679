"""The controller-manager against the real apiserver (gRPC, memory storage).

In-process (no Ray): `ApiServer` with ``storage: memory`` on a free port, the real
`APIClient`/`Informer`, `ControllerManager`, and a stand-in kubelet that marks pods
Running/Ready through the status subresource. A last test runs the same through
Ray actors (`ApiServerActor` + `ControllerManagerActor`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import pytest

from actors.common.clock import rfc3339

pytestmark = pytest.mark.e2e


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.25",
               **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}},
                     **spec}}


async def eventually(pred: Callable[[], Awaitable[bool]], timeout: float = 15.0,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await pred():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def kubelet_tick(client: Any) -> int:
    """Mark every pending pod Running and Ready; finish graceful deletions."""
    n = 0
    for p in (await client.list("pods", "default"))["items"]:
        md = p["metadata"]
        if md.get("deletionTimestamp"):
            try:
                await client.delete("pods", md["name"], "default", grace_period_seconds=0)
            except Exception:
                pass
            continue
        if (p.get("status") or {}).get("phase") == "Running":
            continue
        p.setdefault("spec", {})["nodeName"] = p["spec"].get("nodeName") or "node-1"
        now = rfc3339(time.time())
        p["status"] = {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True",
                                       "lastTransitionTime": now}]}
        try:
            await client.update("pods", p, subresource="status")
            n += 1
        except Exception:
            pass
    return n


async def _with_cluster(body: Callable[[Any], Awaitable[None]]) -> None:
    from actors.apiserver.actor import ApiServer
    from actors.apiserver.client import APIClient
    from actors.controllers.actor import ControllerManager

    api = ApiServer({"storage": "memory", "bookmark_interval": 1.0})
    address = await api.start()
    cm = ControllerManager({"apiserver": address, "seed": 3})
    client = APIClient(address)
    stop = asyncio.Event()

    async def kubelet() -> None:
        while not stop.is_set():
            await kubelet_tick(client)
            await asyncio.sleep(0.05)
    try:
        await cm.start()
        await eventually(lambda: asyncio.sleep(0, cm.synced), what="caches synced")
        kt = asyncio.get_running_loop().create_task(kubelet())
        await body(client)
        stop.set()
        await kt
    finally:
        await cm.stop()
        await client.close()
        await api.stop()


def test_deployment_rollout_scale_and_cascading_delete() -> None:
    async def body(client: Any) -> None:
        await client.create("deployments", deployment(replicas=3))

        async def available(n: int) -> bool:
            d = await client.get("deployments", "web", "default")
            st = d.get("status") or {}
            return st.get("availableReplicas") == n and st.get("updatedReplicas") == n and \
                st.get("replicas") == n
        await eventually(lambda: available(3), what="3 available")
        rss = (await client.list("replicasets", "default"))["items"]
        assert len(rss) == 1
        rs = rss[0]
        h = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{h}"
        d = await client.get("deployments", "web", "default")
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        conds = {c["type"]: c["reason"] for c in d["status"]["conditions"]}
        assert conds == {"Available": "MinimumReplicasAvailable",
                         "Progressing": "NewReplicaSetAvailable"}

        # rolling update
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
        await client.update("deployments", d)

        async def rolled() -> bool:
            rss = (await client.list("replicasets", "default"))["items"]
            new = [r for r in rss if r["metadata"]["annotations"].get(
                "deployment.kubernetes.io/revision") == "2"]
            old = [r for r in rss if r not in new]
            return bool(new) and new[0]["spec"]["replicas"] == 3 and \
                all(r["spec"]["replicas"] == 0 for r in old) and await available(3)
        await eventually(rolled, what="rollout to revision 2")
        pods = (await client.list("pods", "default"))["items"]
        assert len(pods) == 3 and all(
            p["spec"]["containers"][0]["image"] == "nginx:1.26" for p in pods)

        # scale down: the ReplicaSet deletes two pods
        d = await client.get("deployments", "web", "default")
        d["spec"]["replicas"] = 1
        await client.update("deployments", d)
        await eventually(lambda: available(1), what="scaled to 1")

        events = (await client.list("events", "default"))["items"]
        msgs = [e["message"] for e in events if e["reason"] == "ScalingReplicaSet"]
        assert any(m.startswith("Scaled up replica set web-") and m.endswith(" to 3")
                   for m in msgs), msgs
        assert any(e["reason"] == "SuccessfulCreate" and
                   e["source"]["component"] == "replicaset-controller" for e in events)

        # foreground deletion: the deployment goes last
        await client.delete("deployments", "web", "default", propagation_policy="Foreground")

        async def all_gone() -> bool:
            left = [(await client.list(r, "default"))["items"]
                    for r in ("deployments", "replicasets", "pods")]
            return not any(left)
        await eventually(all_gone, what="cascading foreground delete")

    asyncio.run(_with_cluster(body))


def test_orphan_delete_keeps_pods_and_background_delete_collects_them() -> None:
    async def body(client: Any) -> None:
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "solo", "namespace": "default"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "solo"}},
                       "template": {"metadata": {"labels": {"app": "solo"}},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        await client.create("replicasets", rs)

        async def pods(n: int) -> bool:
            return len((await client.list("pods", "default"))["items"]) == n
        await eventually(lambda: pods(2), what="2 pods")
        await client.delete("replicasets", "solo", "default", propagation_policy="Orphan")

        async def orphaned() -> bool:
            items = (await client.list("pods", "default"))["items"]
            gone = not (await client.list("replicasets", "default"))["items"]
            return gone and len(items) == 2 and all(
                not p["metadata"].get("ownerReferences") for p in items)
        await eventually(orphaned, what="pods orphaned")

        # a new ReplicaSet adopts them; deleting it in background collects them
        rs2 = dict(rs, metadata={"name": "solo2", "namespace": "default"})
        await client.create("replicasets", rs2)

        async def adopted() -> bool:
            items = (await client.list("pods", "default"))["items"]
            return len(items) == 2 and all(
                (p["metadata"].get("ownerReferences") or [{}])[0].get("name") == "solo2"
                for p in items)
        await eventually(adopted, what="adoption")
        await client.delete("replicasets", "solo2", "default")
        await eventually(lambda: pods(0), what="pods garbage-collected")

    asyncio.run(_with_cluster(body))


def test_controller_manager_actor_under_ray(ray_runtime: None) -> None:
    from actors.apiserver.actor import ApiServerActor
    from actors.apiserver.client import SyncAPIClient
    from actors.common import rayutil
    from actors.controllers.actor import ControllerManagerActor

    api = rayutil.start_actor(ApiServerActor, "e2e-ctrl-apiserver",
                              {"storage": "memory"}, detached=False)
    address = str(rayutil.call(api, "address", timeout=60))
    cm = rayutil.start_actor(ControllerManagerActor, "e2e-ctrl-cm",
                             {"apiserver": address, "seed": 1}, detached=False)
    client = SyncAPIClient(address)
    try:
        assert rayutil.call(cm, "pid") > 0
        client.create("deployments", deployment("hello", replicas=2))
        deadline = time.time() + 30
        while len(client.list("pods", "default")["items"]) < 2:
            assert time.time() < deadline, "pods not created"
            time.sleep(0.1)
        st = rayutil.call(cm, "status")
        assert st["synced"] and st["controllers"] == [
            "replicaset", "deployment", "garbagecollector", "nodelifecycle", "tainteviction",
            "podgc", "endpoints", "namespace"]
        rayutil.call(cm, "stop")
    finally:
        client.close()
        rayutil.kill(cm)
        rayutil.kill(api)
