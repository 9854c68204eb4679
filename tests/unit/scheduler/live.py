"""The scheduler shell against a real in-process apiserver (MemoryKV, gRPC on loopback):
the polling helper, the server + client + scheduler setup, and objects as a client sends them."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from actors.apiserver.actor import ApiServer
from actors.apiserver.client import APIClient
from actors.scheduler.actor import SchedulerServer

from .builders import make_node, make_pod


async def eventually(fn: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """fn()'s first truthy value, polled every 20 ms; AssertionError after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        v = await fn()
        if v:
            return v
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def live_scheduler(**scheduler_config: Any) -> AsyncIterator[tuple[ApiServer, APIClient, SchedulerServer]]:
    """A started ApiServer (storage memory), a client of it and a started SchedulerServer
    (seed 1, time_scale 0.1 unless `scheduler_config` says otherwise); all stopped on exit."""
    srv = ApiServer({"port": 0, "storage": "memory"})
    await srv.start()
    try:
        c = APIClient(srv.address, timeout=5)
        try:
            sched = SchedulerServer({"apiserver": srv.address, "seed": 1, "time_scale": 0.1, **scheduler_config})
            await sched.start()
            try:
                yield srv, c, sched
            finally:
                await sched.stop()
        finally:
            await c.close()
    finally:
        await srv.stop()


def api_pod(name: str, **req: str) -> dict[str, Any]:
    """A pod with these requests as a client creates it (no uid, no status)."""
    p = make_pod().name(name).req(**req).obj()
    p["metadata"].pop("uid")
    p.pop("status")
    return p


async def register_node(c: APIClient, n: dict[str, Any]) -> None:
    """Create the node, then write its status (capacity, allocatable) when create dropped it."""
    created = await c.create("nodes", n)
    if not (created.get("status") or {}).get("allocatable"):
        created["status"] = n["status"]
        await c.update("nodes", created, subresource="status")


async def create_node(c: APIClient, name: str, cpu: str) -> None:
    await register_node(c, make_node().name(name).cap(cpu=cpu, memory="4Gi", pods=110).obj())
