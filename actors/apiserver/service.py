"""The gRPC servicer of `kubemu.api.API` (protos/apipb/api.proto).

Decodes the JSON envelopes, calls the registry (writes, consistent reads) or the watch
cache (watches, resourceVersion "0" lists) and encodes the answers. An APIError goes
back as a gRPC status: code mapped from the HTTP code, details = the Status JSON. A
watch that cannot start because its resourceVersion is too old gets, as upstream, one
ERROR event carrying the 410 Status and then the end of the stream.
"""

from __future__ import annotations

import json
import logging
from typing import Any, AsyncIterator

import grpc

from actors.api import errors
from actors.api.errors import APIError
from protos.apipb import api_pb2, api_pb2_grpc

from .apierrors import grpc_code_name, internal_error, status_json
from .registry import Registry
from .watchcache import ERROR, WatchCaches

log = logging.getLogger("kubemu.apiserver")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _EncodeCache:
    """JSON of the watch cache's (immutable) objects, shared by every watcher that sends
    the same event: keyed by id() and holding the object, so an id is never reused while
    its entry lives."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._d: dict[int, tuple[Any, bytes]] = {}

    def __call__(self, obj: Any) -> bytes:
        hit = self._d.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        data = dumps(obj)
        if len(self._d) >= self.size:
            self._d.pop(next(iter(self._d)))
        self._d[id(obj)] = (obj, data)
        return data


def loads(body: bytes, what: str = "body") -> Any:
    if not body:
        raise errors.bad_request(f"the {what} of the request is empty")
    try:
        return json.loads(body)
    except ValueError as e:
        raise errors.bad_request(f"the {what} of the request was in an unknown format: {e}") \
            from None


async def abort(context: Any, err: APIError) -> None:
    await context.abort(grpc.StatusCode[grpc_code_name(err.status)], status_json(err))


class ApiService(api_pb2_grpc.APIServicer):
    def __init__(self, registry: Registry, caches: WatchCaches) -> None:
        self.registry = registry
        self.caches = caches
        self.stats: dict[str, int] = {}
        self.by_resource: dict[str, int] = {}
        self._encode = _EncodeCache()

    async def _do(self, name: str, context: Any, coro: Any, resource: str = "") -> Any:
        self.stats[name] = self.stats.get(name, 0) + 1
        if resource:  # per verb and resource, as apiserver_request_total
            key = f"{name} {resource}"
            self.by_resource[key] = self.by_resource.get(key, 0) + 1
        try:
            return await coro
        except APIError as e:
            await abort(context, e)
        except Exception as e:  # a bug: answer 500 rather than drop the connection
            log.exception("%s failed", name)
            await abort(context, internal_error(f"{type(e).__name__}: {e}"))

    async def Create(self, request: api_pb2.CreateRequest, context: Any) -> api_pb2.ObjectResponse:
        async def run() -> api_pb2.ObjectResponse:
            obj = await self.registry.create(request.resource, loads(request.body),
                                             request.namespace or None,
                                             subresource=request.subresource,
                                             dry_run=request.dry_run)
            return api_pb2.ObjectResponse(body=dumps(obj))
        return await self._do("create", context, run(), request.resource)  # type: ignore[no-any-return]

    async def Get(self, request: api_pb2.GetRequest, context: Any) -> api_pb2.ObjectResponse:
        async def run() -> api_pb2.ObjectResponse:
            obj = await self.registry.get(request.resource, request.name,
                                          request.namespace or None)
            return api_pb2.ObjectResponse(body=dumps(obj))
        return await self._do("get", context, run(), request.resource)  # type: ignore[no-any-return]

    async def List(self, request: api_pb2.ListRequest, context: Any) -> api_pb2.ListResponse:
        async def run() -> api_pb2.ListResponse:
            cont = getattr(request, "continue")
            rv = request.resource_version
            if rv and not cont:
                # resourceVersion "0" / "N": served from the watch cache, as upstream
                info = self.registry.info(request.resource)
                cache = await self.caches.get(info)
                out = await cache.list(request.namespace, request.label_selector,
                                       request.field_selector, rv)
            else:
                out = await self.registry.list(request.resource, request.namespace or None,
                                               request.label_selector, request.field_selector,
                                               int(request.limit), cont, rv)
            return api_pb2.ListResponse(body=dumps(out))
        return await self._do("list", context, run(), request.resource)  # type: ignore[no-any-return]

    async def Update(self, request: api_pb2.UpdateRequest, context: Any) -> api_pb2.ObjectResponse:
        async def run() -> api_pb2.ObjectResponse:
            obj = await self.registry.update(request.resource, loads(request.body),
                                             request.namespace or None, request.name or None,
                                             request.subresource)
            return api_pb2.ObjectResponse(body=dumps(obj))
        return await self._do("update", context, run(), request.resource)  # type: ignore[no-any-return]

    async def Patch(self, request: api_pb2.PatchRequest, context: Any) -> api_pb2.ObjectResponse:
        async def run() -> api_pb2.ObjectResponse:
            obj = await self.registry.patch(request.resource, request.name,
                                            loads(request.patch, "patch"),
                                            request.namespace or None,
                                            request.patch_type or "merge", request.subresource)
            return api_pb2.ObjectResponse(body=dumps(obj))
        return await self._do("patch", context, run(), request.resource)  # type: ignore[no-any-return]

    async def Delete(self, request: api_pb2.DeleteRequest, context: Any) -> api_pb2.ObjectResponse:
        async def run() -> api_pb2.ObjectResponse:
            grace = int(request.grace_period_seconds)
            obj = await self.registry.delete(
                request.resource, request.name, request.namespace or None,
                grace_period_seconds=None if grace == -1 else grace,
                propagation_policy=request.propagation_policy or None,
                preconditions_uid=request.preconditions_uid or None)
            return api_pb2.ObjectResponse(body=dumps(obj))
        return await self._do("delete", context, run(), request.resource)  # type: ignore[no-any-return]

    async def Bind(self, request: api_pb2.BindRequest, context: Any) -> api_pb2.ObjectResponse:
        async def run() -> api_pb2.ObjectResponse:
            st = await self.registry.bind(request.namespace, request.name, loads(request.body))
            return api_pb2.ObjectResponse(body=dumps(st))
        return await self._do("bind", context, run())  # type: ignore[no-any-return]

    async def Watch(self, request: api_pb2.WatchRequest,
                    context: Any) -> AsyncIterator[api_pb2.WatchEvent]:
        self.stats["watch"] = self.stats.get("watch", 0) + 1
        watcher = None
        try:
            try:
                info = self.registry.info(request.resource)
                cache = await self.caches.get(info)
                watcher = await cache.watch(request.namespace, request.label_selector,
                                            request.field_selector, request.resource_version,
                                            request.allow_bookmarks)
            except APIError as e:
                if e.code == 410:
                    yield api_pb2.WatchEvent(type=ERROR, body=dumps(e.status))
                    return
                await abort(context, e)
                return
            async for typ, obj in watcher:
                yield api_pb2.WatchEvent(type=typ, body=self._encode(obj))
        except Exception as e:
            if isinstance(e, (grpc.aio.AbortError, GeneratorExit)):
                raise
            log.exception("watch failed")
            await abort(context, internal_error(f"{type(e).__name__}: {e}"))
        finally:
            if watcher is not None:
                watcher.close()
