"""kube-proxy: Services and Endpoints informers -> the node's rule table, served over gRPC.

`KubeProxy` runs in one asyncio loop: two informers (all namespaces) feed it, and on
every Service or Endpoints event it recomputes only that service's rules
(`rules.service_rules`), replacing them in the table and bumping `generation` when
something changed. The table is served by `kubemu.proxy.Proxy/GetRules` on
127.0.0.1:<port>.

`KubeProxyActor(config)` is the Ray-facing class (config: apiserver, node_name,
port — 0 picks a free one —, optional node_ip); the loop runs in a thread started
from `__init__`, so a Ray restart brings it back on the same port.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc

from actors.common import grpcutil
from actors.common.faultinject import FaultHooks
from actors.common.informer import Informer
from actors.common.loopthread import LoopThread
from protos.proxypb import proxy_pb2, proxy_pb2_grpc

from . import rules as R

log = logging.getLogger("kubemu.proxy")

Obj = dict[str, Any]


class KubeProxy(proxy_pb2_grpc.ProxyServicer):
    """One node's kube-proxy. Construct, then `await start()` inside a running loop."""

    def __init__(self, node_name: str, client: Any, port: int = 0) -> None:
        self.node_name = node_name
        self.client = client
        self.port = port
        self.by_service: dict[str, list[R.Rule]] = {}
        self.table: R.RuleTable = {}
        self.generation = 0
        self.services: Informer | None = None
        self.endpoints: Informer | None = None
        self.server: grpc.aio.Server | None = None
        self.last_change: float | None = None

    async def start(self) -> None:
        self.server = grpcutil.aio_server()
        proxy_pb2_grpc.add_ProxyServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.port = grpcutil.bind(self.server, self.port)
        await self.server.start()
        self.services = Informer(self.client, "services", on_add=self._svc_event,
                                 on_update=lambda o, n: self._svc_event(n),
                                 on_delete=self._svc_event)
        self.endpoints = Informer(self.client, "endpoints", on_add=self._svc_event,
                                  on_update=lambda o, n: self._svc_event(n),
                                  on_delete=self._svc_event)
        self.services.start()
        self.endpoints.start()

    async def stop(self) -> None:
        for inf in (self.services, self.endpoints):
            if inf is not None:
                inf.stop()
        if self.server is not None:
            await self.server.stop(grace=0.5)
        close = getattr(self.client, "close", None)
        if close is not None:
            await close()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def synced(self) -> bool:
        return bool(self.services and self.services.has_synced and self.endpoints
                    and self.endpoints.has_synced)

    # ---- the table ------------------------------------------------------------------

    def _svc_event(self, obj: Obj) -> None:
        key = R.object_key(obj)
        ns, _, name = key.partition("/")
        svc = self.services.get(ns, name) if self.services is not None else None
        eps = self.endpoints.get(ns, name) if self.endpoints is not None else None
        self.resync(key, svc, eps)

    def resync(self, key: str, svc: Obj | None, eps: Obj | None) -> bool:
        """Recompute one service's rules; True when the table changed."""
        new = R.service_rules(svc, eps, self.node_name) if svc is not None else []
        old = self.by_service.get(key, [])
        if new == old:
            return False
        for r in old:
            if self.table.get(r.key) == r:
                del self.table[r.key]
        for r in new:
            self.table[r.key] = r
        if new:
            self.by_service[key] = new
        else:
            self.by_service.pop(key, None)
        self.generation += 1
        self.last_change = time.time()
        return True

    def rules(self, service: str = "") -> list[R.Rule]:
        if service:
            return sorted(self.by_service.get(service, []),
                          key=lambda r: (r.port_name, r.kind, r.ip, r.port, r.protocol))
        return R.sorted_rules(self.table)

    def status(self) -> Obj:
        return {"node": self.node_name, "address": self.address, "synced": self.synced,
                "services": len(self.by_service), "rules": len(self.table),
                "generation": self.generation, "last_change": self.last_change}

    # ---- gRPC -----------------------------------------------------------------------

    async def GetRules(self, request: Any, context: Any) -> Any:
        return proxy_pb2.GetRulesResponse(
            rules=[proxy_pb2.Rule(service=r.service, port_name=r.port_name,
                                  protocol=r.protocol, kind=r.kind, ip=r.ip, port=r.port,
                                  backends=list(r.backends),
                                  session_affinity=r.session_affinity)
                   for r in self.rules(request.service)],
            node_name=self.node_name, generation=self.generation, synced=self.synced)


class KubeProxyActor(FaultHooks):
    """Ray-facing: `rayutil.start_actor(KubeProxyActor, "kube-proxy-node-1", config)`."""

    def __init__(self, config: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        from actors.common import faultinject

        faultinject.install()  # before any client: every channel obeys `kubemu fault`
        from actors.apiserver.client import APIClient

        self.node_name = str(config.get("node_name") or config.get("nodeName") or "")
        self._lt = LoopThread(f"kube-proxy-{self.node_name}")
        port = int(config.get("port") or 0)
        self._proxy = self._lt.start_bound(
            lambda: KubeProxy(self.node_name, APIClient(str(config["apiserver"])), port),
            lambda proxy: proxy.start())

    def address(self) -> str:
        return self._proxy.address

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = self._lt.run(self._async(self._proxy.status), timeout=10)
        return st

    def rules(self, service: str = "") -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._lt.run(self._async(
            lambda: [r.to_dict() for r in self._proxy.rules(service)]), timeout=10)
        return out

    def stop(self) -> None:
        self._lt.run(self._proxy.stop(), timeout=10)

    @staticmethod
    async def _async(fn: Any, *args: Any) -> Any:
        return fn(*args)
