"""KubeProxy against an in-memory apiserver, with GetRules over real gRPC."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import grpc

from actors.common import grpcutil
from actors.proxy.actor import KubeProxy
from protos.proxypb import proxy_pb2, proxy_pb2_grpc
from tests.unit.kubelet.fakeapi import FakeAPI

from .test_rules import eps, subset, svc


async def until(pred: Callable[[], Any], timeout: float = 5.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        v = pred()
        if v:
            return v
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


def test_rules_follow_services_and_endpoints_and_are_served() -> None:
    async def main() -> None:
        api = FakeAPI()
        await api.create("services", svc("web", cluster_ip="10.96.0.10"), "default")
        p = KubeProxy("node-1", api, 0)
        await p.start()
        ch = grpcutil.aio_channel(p.address)
        stub = proxy_pb2_grpc.ProxyStub(ch)
        try:
            await until(lambda: p.synced)
            r = await stub.GetRules(proxy_pb2.GetRulesRequest())
            assert r.synced and r.node_name == "node-1"
            assert [(x.kind, x.ip, x.port, list(x.backends)) for x in r.rules] == [
                ("ClusterIP", "10.96.0.10", 80, [])]
            gen = r.generation
            await api.create("endpoints", eps("web"), "default")
            await until(lambda: p.generation > gen)
            r = await stub.GetRules(proxy_pb2.GetRulesRequest(service="default/web"))
            assert list(r.rules[0].backends) == ["10.244.1.2:8080", "10.244.2.2:8080"]
            assert r.rules[0].service == "default/web" and r.rules[0].protocol == "TCP"
            await api.update("endpoints", eps("web", subsets=[subset(ips=("10.244.3.3",))]))
            await until(lambda: p.rules()[0].backends == ("10.244.3.3:8080",))
            await api.delete("services", "web", "default")
            await until(lambda: not p.rules())
            r = await stub.GetRules(proxy_pb2.GetRulesRequest())
            assert list(r.rules) == [] and p.status()["services"] == 0
            # nothing changed, nothing bumped
            g = p.generation
            assert not p.resync("default/web", None, None) and p.generation == g
        finally:
            await ch.close()
            await p.stop()
    asyncio.run(asyncio.wait_for(main(), 30))


def test_get_rules_unknown_service_is_empty() -> None:
    async def main() -> None:
        p = KubeProxy("node-1", FakeAPI(), 0)
        await p.start()
        ch = grpcutil.aio_channel(p.address)
        try:
            r = await proxy_pb2_grpc.ProxyStub(ch).GetRules(
                proxy_pb2.GetRulesRequest(service="x/none"))
            assert list(r.rules) == []
        except grpc.aio.AioRpcError as e:  # pragma: no cover
            raise AssertionError(e)
        finally:
            await ch.close()
            await p.stop()
    asyncio.run(asyncio.wait_for(main(), 30))
