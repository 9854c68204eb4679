"""The apiserver shell: `ApiServer` (in-process, asyncio) and `ApiServerActor` (Ray).

`ApiServer(config)` wires the KV (etcd, or memory for tests), the registry, the watch
caches and the gRPC service on 127.0.0.1:`port`. On start it waits for the store,
creates the system namespaces (default, kube-system, kube-public, kube-node-lease)
and priority classes (system-node-critical, system-cluster-critical) and starts one
watch cache per served resource.

Config keys:

    port                         gRPC port on 127.0.0.1 (0 = any free port)
    etcd_endpoints               ["127.0.0.1:2379", ...]
    storage                      "etcd" (default) | "memory"
    default_toleration_seconds   DefaultTolerationSeconds admission (300)
    bookmark_interval            seconds between watch bookmarks (60, already scaled)
    watch_window                 events kept per resource for watch resumption (1000)
    time_scale                   informational (durations above come scaled)
    rest_port                    the Kubernetes REST API's port (0 = any free port;
                                 None = no REST API)
    rest_bind_address            where it listens (kube-apiserver --bind-address;
                                 kubemu's default is loopback)
    rest_token                   the bearer token every REST request must carry
    rest_tls_cert, rest_tls_key  serving certificate and key files (PEM); without
                                 them the REST API is plain HTTP
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from actors.common import grpcutil
from actors.common.faultinject import FaultHooks
from actors.common.clock import Clock, RealClock
from actors.common.loopthread import LoopThread
from protos.apipb import api_pb2_grpc

from .registry import Registry
from .service import ApiService
from .storage import KV, EtcdKV, MemoryKV
from .watchcache import WatchCaches

log = logging.getLogger("kubemu.apiserver")

DEFAULTS: dict[str, Any] = {
    "port": 0,
    "etcd_endpoints": [],
    "storage": "etcd",
    "default_toleration_seconds": 300,
    "bookmark_interval": 60.0,
    "watch_window": 1000,
    "time_scale": 1.0,
    # group commit: a write waits this long for others to share its raft entry
    "store_batch_linger": 0.02,
    # kube-apiserver --etcd-compaction-interval (5 min; scaled by time_scale; 0: never)
    "etcd_compaction_interval": 300.0,
    "rest_port": None,
    "rest_bind_address": "127.0.0.1",
    "rest_token": "",
    "rest_tls_cert": "",
    "rest_tls_key": "",
}


class ApiServer:
    """Construct, then `await start()` inside a running loop."""

    def __init__(self, config: dict[str, Any], *, kv: KV | None = None,
                 clock: Clock | None = None) -> None:
        self.config = {**DEFAULTS, **config}
        self.clock = clock or RealClock()
        self._kv = kv
        self.port = 0
        self.started_at = time.time()
        self.compactions = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _make_kv(self) -> KV:
        if self._kv is not None:
            return self._kv
        if self.config["storage"] == "memory":
            return MemoryKV()
        eps = list(self.config["etcd_endpoints"])
        if not eps:
            raise ValueError("apiserver: etcd_endpoints: Required value")
        return EtcdKV(eps, batch_linger=float(self.config["store_batch_linger"]))

    async def start(self, *, bootstrap_timeout: float = 60.0) -> str:
        cfg = self.config
        self.kv = self._make_kv()
        self.registry = Registry(self.kv, clock=self.clock,
                                 default_toleration_seconds=int(cfg["default_toleration_seconds"]))
        self.caches = WatchCaches(self.kv, window=int(cfg["watch_window"]), clock=self.clock,
                                  bookmark_interval=float(cfg["bookmark_interval"]))
        await self._bootstrap(bootstrap_timeout)
        from actors.api.resources import RESOURCES

        await self.caches.start(list(RESOURCES.values()))
        interval = float(cfg["etcd_compaction_interval"]) * float(cfg["time_scale"])
        if interval > 0:
            self._compactor = asyncio.get_running_loop().create_task(self._compact_loop(interval))
        self.registry.cache_lookup = self.caches.lookup
        self.registry.cache_objects = self.caches.objects
        self.service = ApiService(self.registry, self.caches)
        self.server = grpcutil.aio_server()
        api_pb2_grpc.add_APIServicer_to_server(self.service, self.server)
        self.port = grpcutil.bind(self.server, int(cfg["port"]))
        await self.server.start()
        log.info("apiserver serving on %s", self.address)
        if cfg["rest_port"] is not None:
            await self._start_rest()
        return self.address

    async def _start_rest(self) -> None:
        from .rest import RestAPI, make_ssl_context

        cfg = self.config
        if not cfg["rest_token"]:
            raise ValueError("apiserver: rest_token: Required value (the REST API "
                             "never runs unauthenticated)")
        ctx = None
        if cfg["rest_tls_cert"]:
            ctx = make_ssl_context(cfg["rest_tls_cert"], cfg["rest_tls_key"])
        self.rest = RestAPI(self.registry, self.caches, token=str(cfg["rest_token"]))
        await self.rest.start(str(cfg["rest_bind_address"]), int(cfg["rest_port"]), ctx)
        log.info("REST API serving on %s", self.rest.address)

    @property
    def rest_address(self) -> str:
        rest = getattr(self, "rest", None)
        return rest.address if rest is not None else ""

    async def _bootstrap(self, timeout: float) -> None:
        """The system namespaces and priority classes; the store may still be electing a leader."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                created = await self.registry.ensure_system_namespaces()
                if created:
                    log.info("created namespaces %s", ", ".join(created))
                created = await self.registry.ensure_system_priority_classes()
                if created:
                    log.info("created priority classes %s", ", ".join(created))
                return
            except Exception as e:
                if time.monotonic() > deadline:
                    raise
                log.info("waiting for the store: %s", e)
                await asyncio.sleep(0.2)

    async def _compact_loop(self, interval: float) -> None:
        """Upstream's compactor: every interval, compact the store to the revision it
        had one interval earlier, so at least `interval` of history stays watchable."""
        last = 0
        while True:
            await asyncio.sleep(interval)
            try:
                cur = await self.kv.current_revision()
                if last:
                    await self.kv.compact(last)
                    self.compactions += 1
                    log.info("compacted the store at revision %d", last)
                last = cur
            except asyncio.CancelledError:
                raise
            except Exception as e:  # compacted already (another apiserver) or unavailable
                log.info("compaction at %d: %s", last, e)
                last = 0

    async def stop(self) -> None:
        if getattr(self, "_compactor", None) is not None:
            self._compactor.cancel()
        if getattr(self, "rest", None) is not None:
            await self.rest.stop()
        if getattr(self, "server", None) is not None:
            await self.server.stop(0.5)
        if getattr(self, "caches", None) is not None:
            await self.caches.stop()
        if getattr(self, "kv", None) is not None:
            await self.kv.close()

    def _batch_stats(self) -> dict[str, int]:
        batcher = getattr(getattr(self, "kv", None), "_batcher", None)
        return dict(batcher.stats) if batcher is not None else {}

    def status(self) -> dict[str, Any]:
        return {"address": self.address, "rest_address": self.rest_address,
                "rest_requests": dict(self.rest.stats) if getattr(self, "rest", None) else {},
                "pid": os.getpid(), "started_at": self.started_at,
                "uptime": time.time() - self.started_at,
                "etcd_endpoints": list(self.config["etcd_endpoints"]),
                "requests": dict(self.service.stats) if hasattr(self, "service") else {},
                "requests_by_resource": dict(self.service.by_resource)
                if hasattr(self, "service") else {},
                "registry": dict(self.registry.stats) if hasattr(self, "registry") else {},
                "batches": self._batch_stats(), "compactions": self.compactions,
                "caches": self.caches.stats() if getattr(self, "caches", None) else {}}


class ApiServerActor(FaultHooks):
    """Ray-facing shell: `rayutil.start_actor(ApiServerActor, "apiserver", config)`.

    `__init__` starts the server in its own loop thread, so a Ray restart after a crash
    brings it back on the same port (the launcher fixed it) with nobody calling start.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        from actors.common import faultinject

        faultinject.install()  # before any client: every channel obeys `kubemu fault`
        self._config = dict(config)
        self._lt = LoopThread("apiserver")
        self._server = self._lt.start_bound(
            lambda: ApiServer(self._config), lambda srv: srv.start(),
            cleanup=lambda srv: srv.stop(), timeout=120)

    def address(self) -> str:
        return self._server.address

    def rest_address(self) -> str:
        return self._server.rest_address

    def status(self) -> dict[str, Any]:
        return self._lt.run(self._async(self._server.status), timeout=10)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._lt.run(self._server.stop(), timeout=10)

    @staticmethod
    async def _async(fn: Any, *args: Any) -> Any:
        return fn(*args)
