"""The gRPC service and the Python client, in process over loopback, on MemoryKV.

Checks the wire contract: JSON envelopes, APIError rebuilt from the Status details,
the HTTP → gRPC code mapping, watch streams (ERROR event for 410, bookmarks), lists
from the watch cache, and the blocking SyncAPIClient.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc
import pytest

from actors.api.errors import APIError
from actors.apiserver.actor import ApiServer
from actors.apiserver.client import APIClient, SyncAPIClient
from protos.apipb import api_pb2, api_pb2_grpc

from .helpers import configmap, deployment, namespace, pod

CONFIG = {"port": 0, "storage": "memory", "bookmark_interval": 0.3, "watch_window": 5}


def with_server(fn: Callable[[ApiServer, APIClient], Awaitable[None]],
                **config: Any) -> None:
    async def body() -> None:
        srv = ApiServer({**CONFIG, **config})
        await srv.start()
        client = APIClient(srv.address, timeout=5)
        try:
            await fn(srv, client)
        finally:
            await client.close()
            await srv.stop()
    asyncio.run(body())


async def next_event(it: AsyncIterator[tuple[str, dict[str, Any]]],
                     timeout: float = 3) -> tuple[str, dict[str, Any]]:
    return await asyncio.wait_for(it.__anext__(), timeout)


def test_crud_round_trip_and_errors() -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        created = await c.create("pods", pod("web"))
        assert created["metadata"]["uid"] and created["status"]["phase"] == "Pending"
        got = await c.get("pods", "web", "default")
        assert got == created
        with pytest.raises(APIError) as ei:
            await c.create("pods", pod("web"))
        assert (ei.value.code, ei.value.reason) == (409, "AlreadyExists")
        with pytest.raises(APIError) as ei:
            await c.get("pods", "nope", "default")
        assert ei.value.status == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                   "status": "Failure", "message": 'pods "nope" not found',
                                   "reason": "NotFound",
                                   "details": {"name": "nope", "kind": "pods"}, "code": 404}
        d = await c.create("deployments", deployment("d"))
        d2 = await c.update("deployments", {**d, "spec": {**d["spec"], "replicas": 4}})
        with pytest.raises(APIError) as ei:
            await c.update("deployments", {**d, "spec": {**d["spec"], "replicas": 5}})
        assert ei.value.reason == "Conflict"
        p = await c.patch("deployments", "d", {"spec": {"replicas": 2}}, "default")
        assert p["spec"]["replicas"] == 2 and p["metadata"]["generation"] == 3
        st = await c.update("deployments", {**p, "status": {"replicas": 2}}, subresource="status")
        assert st["status"] == {"replicas": 2}
        assert d2["metadata"]["generation"] == 2
        bad = pod("bad")
        bad["spec"]["containers"][0]["image"] = ""
        with pytest.raises(APIError) as ei:
            await c.create("pods", bad)
        assert ei.value.code == 422 and ei.value.field_errors()[0].field == "spec.containers[0].image"
        await c.bind("default", "web", "node-1")
        with pytest.raises(APIError) as ei:
            await c.bind("default", "web", "node-2")
        assert ei.value.message.endswith('pod web is already assigned to node "node-1"')
        gone = await c.delete("deployments", "d", "default")
        assert gone["metadata"]["name"] == "d"
        lst = await c.list("pods", "default")
        assert [x["metadata"]["name"] for x in lst["items"]] == ["web"]
    with_server(run)


@pytest.mark.parametrize("call,code", [
    pytest.param(lambda s: s.Get(api_pb2.GetRequest(resource="pods", namespace="default",
                                                    name="x")), grpc.StatusCode.NOT_FOUND,
                 id="404-not-found"),
    pytest.param(lambda s: s.Create(api_pb2.CreateRequest(
        resource="namespaces", body=json.dumps(namespace("default")).encode())),
        grpc.StatusCode.ALREADY_EXISTS, id="409-already-exists"),
    pytest.param(lambda s: s.Create(api_pb2.CreateRequest(
        resource="configmaps", namespace="default", body=b"{not json")),
        grpc.StatusCode.INVALID_ARGUMENT, id="400-bad-request"),
    pytest.param(lambda s: s.Create(api_pb2.CreateRequest(
        resource="configmaps", namespace="default",
        body=json.dumps(configmap("Bad_Name")).encode())),
        grpc.StatusCode.INVALID_ARGUMENT, id="422-invalid"),
    pytest.param(lambda s: s.Delete(api_pb2.DeleteRequest(
        resource="namespaces", name="kube-system", grace_period_seconds=-1)),
        grpc.StatusCode.PERMISSION_DENIED, id="403-forbidden"),
])
def test_grpc_status_codes_carry_the_status_json(call: Callable[[Any], Any],
                                                 code: grpc.StatusCode) -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        async with grpc.aio.insecure_channel(srv.address) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as ei:
                await call(api_pb2_grpc.APIStub(ch))
            assert ei.value.code() == code
            st = json.loads(ei.value.details())
            assert st["kind"] == "Status" and st["status"] == "Failure"
    with_server(run)


def test_conflict_maps_to_aborted() -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        cm = await c.create("configmaps", configmap("c"))
        await c.update("configmaps", {**cm, "data": {"a": "1"}})
        async with grpc.aio.insecure_channel(srv.address) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as ei:
                await api_pb2_grpc.APIStub(ch).Update(api_pb2.UpdateRequest(
                    resource="configmaps", namespace="default", name="c",
                    body=json.dumps({**cm, "data": {"a": "2"}}).encode()))
            assert ei.value.code() == grpc.StatusCode.ABORTED
    with_server(run)


def test_watch_stream() -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        await c.create("configmaps", configmap("before"))
        it = c.watch("configmaps", "default").__aiter__()
        t, o = await next_event(it)
        assert (t, o["metadata"]["name"]) == ("ADDED", "before")
        cm = await c.create("configmaps", configmap("c"))
        await c.patch("configmaps", "c", {"data": {"k": "v"}}, "default")
        await c.delete("configmaps", "c", "default")
        got = [await next_event(it) for _ in range(3)]
        assert [t for t, _ in got] == ["ADDED", "MODIFIED", "DELETED"]
        rvs = [int(o["metadata"]["resourceVersion"]) for _, o in got]
        assert rvs == sorted(rvs) and rvs[0] == int(cm["metadata"]["resourceVersion"])
        await it.aclose()  # type: ignore[attr-defined]
    with_server(run)


def test_watch_too_old_is_an_error_event_and_selectors_apply() -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        first = await c.create("configmaps", configmap("c0", labels={"n": "0"}))
        for i in range(1, 8):
            await c.create("configmaps", configmap(f"c{i}", labels={"n": str(i % 2)}))
        evs = [e async for e in c.watch("configmaps", "default",
                                        resource_version=first["metadata"]["resourceVersion"])]
        assert len(evs) == 1 and evs[0][0] == "ERROR"
        assert evs[0][1]["code"] == 410 and evs[0][1]["reason"] == "Expired"
        assert evs[0][1]["message"].startswith("too old resource version: ")
        it = c.watch("configmaps", "default", resource_version="0", label_selector="n=1").__aiter__()
        names = [(await next_event(it))[1]["metadata"]["name"] for _ in range(4)]
        assert names == ["c1", "c3", "c5", "c7"]
        await it.aclose()  # type: ignore[attr-defined]
        with pytest.raises(APIError) as ei:
            async for _ in c.watch("configmaps", field_selector="data.k=v"):
                pass
        assert ei.value.code == 400
    with_server(run)


def test_bookmarks_and_cache_lists() -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        await c.create("configmaps", configmap("c"))
        it = c.watch("pods", "default", resource_version="0", allow_bookmarks=True).__aiter__()
        t, o = await next_event(it, 5)
        assert t == "BOOKMARK" and o["kind"] == "Pod"
        # the bookmark carries the store revision even though no pod changed
        cached = await c.list("pods", resource_version="0")
        assert int(o["metadata"]["resourceVersion"]) >= int(cached["metadata"]["resourceVersion"]) > 0
        await it.aclose()  # type: ignore[attr-defined]
        consistent = await c.list("configmaps", "default")
        from_cache = await c.list("configmaps", "default", resource_version="0")
        assert from_cache["items"] == consistent["items"]
    with_server(run)


def test_sync_client() -> None:
    async def run(srv: ApiServer, c: APIClient) -> None:
        def blocking() -> None:
            s = SyncAPIClient(srv.address, timeout=5)
            try:
                s.create("namespaces", namespace("team"))
                s.create("pods", pod("p", ns="team"))
                events = s.watch("pods", "team", timeout=3)
                t, o = next(events)
                assert (t, o["metadata"]["name"]) == ("ADDED", "p")
                s.delete("pods", "p", "team")
                assert next(events)[0] == "DELETED"
                events.close()
                with pytest.raises(APIError):
                    s.get("pods", "p", "team")
            finally:
                s.close()
        await asyncio.get_running_loop().run_in_executor(None, blocking)
    with_server(run)


def test_unreachable_apiserver_is_503() -> None:
    async def body() -> None:
        from actors.common.grpcutil import free_ports

        c = APIClient(f"127.0.0.1:{free_ports(1)[0]}", timeout=0.3)
        with pytest.raises(APIError) as ei:
            await c.get("pods", "x", "default")
        assert ei.value.code == 503
        await c.close()
    asyncio.run(body())


def test_informer_against_the_server() -> None:
    from actors.common.informer import Informer

    async def run(srv: ApiServer, c: APIClient) -> None:
        await c.create("configmaps", configmap("a"))
        log: list[tuple[str, str]] = []
        inf = Informer(c, "configmaps", "default",
                       on_add=lambda o: log.append(("add", o["metadata"]["name"])),
                       on_update=lambda o, n: log.append(("update", n["metadata"]["name"])),
                       on_delete=lambda o: log.append(("delete", o["metadata"]["name"])))
        inf.start()
        assert await inf.wait_for_sync(3)
        await c.create("configmaps", configmap("b"))
        await c.patch("configmaps", "a", {"data": {"k": "v"}}, "default")
        await c.delete("configmaps", "a", "default")
        for _ in range(100):
            if len(log) == 4:
                break
            await asyncio.sleep(0.02)
        assert log == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "a")]
        assert sorted(inf.cache) == ["default/b"]
        inf.stop()
    with_server(run)


def test_the_compactor_keeps_one_interval_of_history() -> None:
    """kube-apiserver's compactor: every interval it compacts the store to the revision
    seen one interval before, so old history goes (a watch from there is 410 Gone) and
    the last interval's stays."""
    async def run(srv: ApiServer, c: APIClient) -> None:
        kv: Any = srv.kv
        first = await c.create("configmaps", configmap("a"))
        old_rv = first["metadata"]["resourceVersion"]
        for i in range(3):
            await c.patch("configmaps", "a", {"data": {"i": str(i)}}, namespace="default")
        deadline = asyncio.get_running_loop().time() + 5
        while kv.compact_revision < int(old_rv):
            assert asyncio.get_running_loop().time() < deadline, "never compacted"
            await asyncio.sleep(0.05)
        assert srv.compactions >= 1
        # the current state is intact; the compacted history is gone
        assert (await c.get("configmaps", "a", "default"))["data"] == {"i": "2"}
        from actors.apiserver.storage import CompactedError

        with pytest.raises(CompactedError):
            await kv.list("/registry/configmaps/", revision=int(old_rv))
    with_server(run, etcd_compaction_interval=0.3)


def test_calls_the_server_sheds_with_cancelled_are_retried() -> None:
    """A loaded grpc server answers some calls CANCELLED without running them; the
    client retries those (a write that did land would answer the retry with a 409)."""
    class Shedding(api_pb2_grpc.APIServicer):
        def __init__(self) -> None:
            self.calls = 0

        async def Get(self, request: Any, context: Any) -> Any:
            self.calls += 1
            if self.calls <= 2:
                await context.abort(grpc.StatusCode.CANCELLED, "CANCELLED")
            return api_pb2.ObjectResponse(body=json.dumps(pod("web")).encode())

    async def body() -> None:
        from actors.common import grpcutil

        server = grpcutil.aio_server()
        svc = Shedding()
        api_pb2_grpc.add_APIServicer_to_server(svc, server)
        port = grpcutil.bind(server, 0)
        await server.start()
        c = APIClient(f"127.0.0.1:{port}", timeout=5)
        try:
            got = await c.get("pods", "web", "default")
            assert got["metadata"]["name"] == "web" and svc.calls == 3
        finally:
            await c.close()
            await server.stop(0)
    asyncio.run(body())
