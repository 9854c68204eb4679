"""The scheduler shell against a real in-process apiserver (MemoryKV, gRPC on loopback):
informers in, bindings, events and PodScheduled conditions out. No Ray."""

from __future__ import annotations

import asyncio
from typing import Any

from .live import api_pod, create_node, eventually, live_scheduler


def test_schedules_binds_and_reports() -> None:
    async def body() -> None:
        async with live_scheduler() as (_, c, sched):
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
    asyncio.run(body())
