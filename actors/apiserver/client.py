"""The Python client of the kubemu apiserver (`kubemu.api.API` over gRPC).

`APIClient` is async (grpc.aio); every component (scheduler, controllers, kubelet,
proxy, informers) uses it. API failures raise `actors.api.errors.APIError`, rebuilt
from the metav1.Status JSON the server put in the gRPC status details, so callers
check `e.code == 404`, `e.reason == "Conflict"` as they would with client-go.

Transport failures: reads (get, list) are retried while the apiserver is unreachable
(e.g. while Ray restarts it) until `timeout`; a write is retried only when it surely
never reached the server (connection refused), since a write that timed out may have
been applied. What remains becomes an APIError 503 ServiceUnavailable (or 504 Timeout).

`SyncAPIClient` is a blocking facade (its own loop thread) for the CLI and tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Generator, TypeVar

import grpc

from actors.api import errors
from actors.api.errors import APIError
from actors.common import grpcutil
from actors.common.loopthread import BlockingFacade, LoopThread
from protos.apipb import api_pb2, api_pb2_grpc

from .apierrors import from_details

T = TypeVar("T")

_NOT_SENT_HINTS = ("failed to connect", "connection refused", "Connection refused",
                   "connect failed", "No connection established", "DNS resolution failed",
                   "failed to pick subchannel")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def rpc_error(e: grpc.aio.AioRpcError) -> APIError:
    """The APIError an RPC failure stands for."""
    err = from_details(e.details())
    if err is not None:
        return err
    code = e.code()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.timeout("the server was unable to return a response in the time "
                              "allotted, but may still be processing the request")
    if code == grpc.StatusCode.UNAVAILABLE:
        return errors.service_unavailable(f"the apiserver is unavailable: {e.details()}")
    if code == grpc.StatusCode.CANCELLED:
        return errors.service_unavailable(f"the request was cancelled: {e.details()}")
    return errors.internal_error(f"{code.name}: {e.details()}")


class APIClient:
    def __init__(self, address: str, *, timeout: float = 30.0,
                 max_inflight: int | None = None) -> None:
        """`max_inflight` caps the unary calls in flight on the channel (a node pool
        shares one client among thousands of kubelets; with ~1,500 calls in flight on
        one HTTP/2 connection grpc starts answering CANCELLED)."""
        self.address = address
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._stub: api_pb2_grpc.APIStub | None = None
        self._max_inflight = max_inflight
        self._sem: asyncio.Semaphore | None = None

    @property
    def stub(self) -> api_pb2_grpc.APIStub:
        # created on first use, inside the loop that will drive it
        if self._stub is None:
            self._channel = grpcutil.aio_channel(self.address)
            self._stub = api_pb2_grpc.APIStub(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None

    async def __aenter__(self) -> "APIClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _call(self, fn: Callable[[float], Awaitable[T]], *, write: bool) -> T:
        if self._max_inflight is None:
            return await self._call_now(fn, write=write)
        if self._sem is None:
            self._sem = asyncio.Semaphore(self._max_inflight)
        async with self._sem:
            return await self._call_now(fn, write=write)

    async def _call_now(self, fn: Callable[[float], Awaitable[T]], *, write: bool) -> T:
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            try:
                return await fn(max(0.05, deadline - time.monotonic()))
            except grpc.aio.AioRpcError as e:
                # CANCELLED that we did not ask for (a task cancellation raises
                # CancelledError, not this): the server shed the call under load
                # (seen with ~1,000 calls in flight); retried like a call not sent:
                # a write that did land answers the retry with a 409 its caller handles
                shed = e.code() == grpc.StatusCode.CANCELLED
                if (e.code() != grpc.StatusCode.UNAVAILABLE and not shed) or \
                        from_details(e.details()):
                    raise rpc_error(e) from None
                details = e.details() or ""
                not_sent = shed or any(h in details for h in _NOT_SENT_HINTS)
                if (write and not not_sent) or time.monotonic() >= deadline:
                    raise rpc_error(e) from None
                attempt += 1
                await asyncio.sleep(min(0.05 * attempt, 0.5))

    @staticmethod
    def _ns(obj: dict[str, Any], namespace: str | None) -> str:
        return namespace or (obj.get("metadata") or {}).get("namespace") or ""

    async def create(self, resource: str, obj: dict[str, Any], namespace: str | None = None,
                     *, dry_run: bool = False, subresource: str = "") -> dict[str, Any]:
        req = api_pb2.CreateRequest(resource=resource, namespace=self._ns(obj, namespace),
                                    body=_dumps(obj), dry_run=dry_run, subresource=subresource)
        r = await self._call(lambda t: self.stub.Create(req, timeout=t), write=True)
        return json.loads(r.body)  # type: ignore[no-any-return]

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        req = api_pb2.GetRequest(resource=resource, namespace=namespace or "", name=name)
        r = await self._call(lambda t: self.stub.Get(req, timeout=t), write=False)
        return json.loads(r.body)  # type: ignore[no-any-return]

    async def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> dict[str, Any]:
        req = api_pb2.ListRequest(resource=resource, namespace=namespace or "",
                                  label_selector=label_selector, field_selector=field_selector,
                                  limit=limit, resource_version=resource_version,
                                  **{"continue": continue_})
        r = await self._call(lambda t: self.stub.List(req, timeout=t), write=False)
        return json.loads(r.body)  # type: ignore[no-any-return]

    async def list_all(self, resource: str, namespace: str | None = None,
                       label_selector: str = "", field_selector: str = "",
                       chunk_size: int = 500) -> dict[str, Any]:
        """Every item, fetched in chunks of `chunk_size` (kubectl's --chunk-size
        default): one list at the first chunk's resourceVersion, however many objects
        there are (a single response is capped by the message size)."""
        items: list[Any] = []
        cont = ""
        while True:
            page = await self.list(resource, namespace, label_selector, field_selector,
                                   limit=chunk_size, continue_=cont)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            cont = meta.get("continue") or ""
            if not cont:
                page["items"] = items
                meta.pop("continue", None)
                meta.pop("remainingItemCount", None)
                return page

    async def update(self, resource: str, obj: dict[str, Any], subresource: str = "",
                     namespace: str | None = None) -> dict[str, Any]:
        m = obj.get("metadata") or {}
        req = api_pb2.UpdateRequest(resource=resource, namespace=self._ns(obj, namespace),
                                    name=m.get("name") or "", body=_dumps(obj),
                                    subresource=subresource)
        r = await self._call(lambda t: self.stub.Update(req, timeout=t), write=True)
        return json.loads(r.body)  # type: ignore[no-any-return]

    async def update_status(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.update(resource, obj, subresource="status")

    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None,
                    patch_type: str = "merge", subresource: str = "") -> dict[str, Any]:
        req = api_pb2.PatchRequest(resource=resource, namespace=namespace or "", name=name,
                                   patch_type=patch_type, patch=_dumps(patch),
                                   subresource=subresource)
        r = await self._call(lambda t: self.stub.Patch(req, timeout=t), write=True)
        return json.loads(r.body)  # type: ignore[no-any-return]

    async def delete(self, resource: str, name: str, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions_uid: str | None = None) -> dict[str, Any]:
        req = api_pb2.DeleteRequest(
            resource=resource, namespace=namespace or "", name=name,
            grace_period_seconds=-1 if grace_period_seconds is None else grace_period_seconds,
            propagation_policy=propagation_policy or "",
            preconditions_uid=preconditions_uid or "")
        r = await self._call(lambda t: self.stub.Delete(req, timeout=t), write=True)
        return json.loads(r.body)  # type: ignore[no-any-return]

    async def bind(self, namespace: str, name: str, node: str) -> None:
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": name, "namespace": namespace},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        req = api_pb2.BindRequest(namespace=namespace, name=name, body=_dumps(binding))
        await self._call(lambda t: self.stub.Bind(req, timeout=t), write=True)

    async def watch(self, resource: str, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False
                    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield (type, object) until the server ends the stream.

        type is ADDED | MODIFIED | DELETED | BOOKMARK | ERROR; an ERROR's object is a
        metav1.Status (410 Expired: the resourceVersion is too old, list again). A
        failure to start or a broken stream raises APIError.
        """
        req = api_pb2.WatchRequest(resource=resource, namespace=namespace or "",
                                   resource_version=resource_version,
                                   label_selector=label_selector, field_selector=field_selector,
                                   allow_bookmarks=allow_bookmarks)
        call = self.stub.Watch(req)
        try:
            async for ev in call:
                yield ev.type, json.loads(ev.body)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and call.cancelled():
                return
            raise rpc_error(e) from None
        finally:
            call.cancel()


class SyncAPIClient(BlockingFacade):
    """Blocking facade over APIClient (its own loop thread), for the CLI and tests."""

    def __init__(self, address: str, *, timeout: float = 30.0) -> None:
        self._lt = LoopThread("api-client")
        self._c = APIClient(address, timeout=timeout)

    @property
    def address(self) -> str:
        return self._c.address

    def watch(self, resource: str, namespace: str | None = None, resource_version: str = "",
              label_selector: str = "", field_selector: str = "", allow_bookmarks: bool = False,
              timeout: float | None = None
              ) -> Generator[tuple[str, dict[str, Any]], None, None]:
        """Blocking iterator over watch events; `timeout` bounds the wait for each one."""
        agen = self._c.watch(resource, namespace, resource_version, label_selector,
                             field_selector, allow_bookmarks)
        import concurrent.futures

        try:
            while True:
                fut: concurrent.futures.Future[tuple[str, dict[str, Any]]] = \
                    asyncio.run_coroutine_threadsafe(
                    agen.__anext__(), self._lt.loop)  # type: ignore[arg-type]
                try:
                    yield fut.result(timeout)
                except StopAsyncIteration:
                    return
                except concurrent.futures.TimeoutError:
                    fut.cancel()
                    raise TimeoutError("no watch event within the timeout") from None
        finally:
            try:
                self._lt.run(agen.aclose(), timeout=5)  # type: ignore[attr-defined]
            except Exception:
                pass
