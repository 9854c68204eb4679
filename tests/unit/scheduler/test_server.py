"""The scheduler shell against a real in-process apiserver (MemoryKV, gRPC on loopback):
informers in, bindings, events and PodScheduled conditions out. No Ray."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from actors.apiserver.actor import ApiServer
from actors.apiserver.client import APIClient
from actors.scheduler.actor import SchedulerServer

from .builders import make_node, make_pod


async def eventually(fn: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        v = await fn()
        if v:
            return v
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def api_pod(name: str, **req: str) -> dict[str, Any]:
    p = make_pod().name(name).req(**req).obj()
    p["metadata"].pop("uid")
    p.pop("status")
    return p


async def create_node(c: APIClient, name: str, cpu: str) -> None:
    n = make_node().name(name).cap(cpu=cpu, memory="4Gi", pods=110).obj()
    created = await c.create("nodes", n)
    if not (created.get("status") or {}).get("allocatable"):
        created["status"] = n["status"]
        await c.update("nodes", created, subresource="status")


def test_schedules_binds_and_reports() -> None:
    async def body() -> None:
        srv = ApiServer({"port": 0, "storage": "memory"})
        await srv.start()
        c = APIClient(srv.address, timeout=5)
        sched = SchedulerServer({"apiserver": srv.address, "seed": 1, "time_scale": 0.1})
        await sched.start()
        try:
            await create_node(c, "node-1", "2")
            await c.create("pods", api_pod("web-abc", cpu="500m"))

            async def bound(name: str) -> str:
                return str((await c.get("pods", name, "default"))["spec"].get("nodeName") or "")
            assert await eventually(lambda: bound("web-abc")) == "node-1"

            async def events_of(name: str) -> list[dict[str, Any]]:
                items = (await c.list("events", "default"))["items"]
                return [e for e in items if e["involvedObject"]["name"] == name]
            ev = (await eventually(lambda: events_of("web-abc")))[0]
            assert (ev["type"], ev["reason"], ev["message"], ev["source"]["component"]) == \
                ("Normal", "Scheduled", "Successfully assigned default/web-abc to node-1", "default-scheduler")

            await c.create("pods", api_pod("big", cpu="4"))

            async def scheduled_condition() -> dict[str, Any] | None:
                p = await c.get("pods", "big", "default")
                return next((x for x in (p.get("status") or {}).get("conditions") or []
                             if x["type"] == "PodScheduled"), None)
            cond = await eventually(scheduled_condition)
            msg = ("0/1 nodes are available: 1 Insufficient cpu. "
                   "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
            assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", msg)
            fev = (await eventually(lambda: events_of("big")))[0]
            assert (fev["type"], fev["reason"], fev["message"]) == ("Warning", "FailedScheduling", msg)
            assert sched.status()["queue"]["unschedulable"] == 1

            await create_node(c, "node-2", "8")  # a node add moves the pod; it backs off, then binds
            assert await eventually(lambda: bound("big")) == "node-2"
            st = sched.status()
            assert st["scheduled"] == 2 and st["synced"] and st["queue"] == \
                {"active": 0, "backoff": 0, "unschedulable": 0}
        finally:
            await sched.stop()
            await c.close()
            await srv.stop()
    asyncio.run(body())
