"""The asyncio shell (ControllerManager): real Informers over a fake async API client."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, AsyncIterator

from actors.api import errors
from actors.controllers.actor import ControllerManager
from actors.controllers.loop import WatchEvent

from .fakes import FakeCluster, make_deploy


class FakeAPIClient:
    """APIClient's surface over a FakeCluster; watches replay a global event log (a list's
    resourceVersion is a position in that log; the watch never restarts)."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.log: list[WatchEvent] = []
        self.pulse = asyncio.Event()
        cluster.listeners.append(self._on_event)

    def _on_event(self, ev: WatchEvent, now: float) -> None:
        self.log.append(ev)
        self.pulse.set()

    async def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> dict[str, Any]:
        items = copy.deepcopy(self.cluster.list(resource, namespace))
        return {"items": items, "metadata": {"resourceVersion": str(len(self.log))}}

    async def watch(self, resource: str, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False
                    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        i = int(resource_version or 0)
        while True:
            while i < len(self.log):
                ev = self.log[i]
                i += 1
                if ev.resource == resource:
                    yield ev.type, copy.deepcopy(ev.obj)
            self.pulse.clear()
            await self.pulse.wait()

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        o = self.cluster.get(resource, namespace or "", name)
        if o is None:
            raise errors.not_found(resource, name)
        return copy.deepcopy(o)

    async def create(self, resource: str, obj: dict[str, Any],
                     namespace: str | None = None) -> dict[str, Any]:
        return self.cluster.create(resource, obj)

    async def update(self, resource: str, obj: dict[str, Any], subresource: str = "") -> dict[str, Any]:
        return self.cluster.update(resource, obj, status=subresource == "status")

    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None,
                    patch_type: str = "merge") -> dict[str, Any]:
        return self.cluster.patch(resource, namespace or "", name, patch, patch_type)

    async def delete(self, resource: str, name: str, namespace: str | None = None,
                     grace_period_seconds: int | None = None, propagation_policy: str | None = None,
                     preconditions_uid: str | None = None) -> dict[str, Any]:
        return self.cluster.delete(resource, namespace or "", name, propagation_policy,
                                   preconditions_uid)

    async def close(self) -> None:
        return None


async def _wait_for(pred: Any, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def test_controller_manager_rolls_out_a_deployment_and_posts_events() -> None:
    async def main() -> None:
        cluster = FakeCluster()
        client = FakeAPIClient(cluster)
        cm = ControllerManager({"apiserver": "fake", "seed": 7}, client=client)
        await cm.start()
        await _wait_for(lambda: cm.synced)
        cluster.add("deployments", make_deploy(replicas=3))
        await _wait_for(lambda: len(cluster.list("pods", "default")) == 3)
        cluster.run_pods()
        await _wait_for(lambda: ((cluster.get("deployments", "default", "web") or {})
                                 .get("status", {}).get("availableReplicas")) == 3)
        await _wait_for(lambda: len(cluster.list("events", "default")) >= 4)
        reasons = sorted({e["reason"] for e in cluster.list("events", "default")})
        assert reasons == ["ScalingReplicaSet", "SuccessfulCreate"]
        sources = {e["reason"]: e["source"]["component"] for e in cluster.list("events", "default")}
        assert sources == {"ScalingReplicaSet": "deployment-controller",
                           "SuccessfulCreate": "replicaset-controller"}
        created = [e for e in cluster.list("events", "default") if e["reason"] == "SuccessfulCreate"]
        assert all(e["involvedObject"]["kind"] == "ReplicaSet" for e in created)
        # background deletion through the garbage collector
        cluster.delete("deployments", "default", "web")
        await _wait_for(lambda: not cluster.list("pods", "default")
                        and not cluster.list("replicasets", "default"))
        st = await cm.status()
        assert st["synced"] and st["stats"]["replicaset"]["reconciles"] > 0
        assert st["events"]["posted"] >= 4
        await cm.stop()
    asyncio.run(main())


def test_repeated_events_are_aggregated_into_count() -> None:
    async def main() -> None:
        from actors.common.clock import FakeClock
        from actors.controllers.actor import EventPoster
        from actors.controllers.loop import EventSpec
        cluster = FakeCluster()
        poster = EventPoster(FakeAPIClient(cluster), FakeClock())
        ref = {"kind": "ReplicaSet", "name": "web", "namespace": "default", "uid": "u"}
        spec = EventSpec("Warning", "FailedCreate", "Error creating: quota", ref)
        for i in range(3):
            await poster._post("replicaset", spec, 1_700_000_000.0 + i)
        (ev,) = cluster.list("events", "default")
        assert ev["count"] == 3 and ev["source"]["component"] == "replicaset-controller"
    asyncio.run(main())
