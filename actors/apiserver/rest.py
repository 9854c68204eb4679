"""The Kubernetes REST API (HTTP/JSON) of the apiserver, beside its gRPC API.

The same `Registry` (writes, consistent reads) and `WatchCaches` (watches, lists at
resourceVersion "0") the gRPC servicer uses, behind the URL layout of kube-apiserver, so
the real kubectl, client-go programs and the official Python client work unchanged:

    /version /healthz /livez /readyz
    /api  /api/v1  /apis  /apis/GROUP/VERSION            discovery (discovery.py)
    /openapi/v2  /openapi/v3[/api/v1|/apis/G/V]           schemas (openapi.py)
    /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]
    /apis/G/V/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]
    /api/v1/watch/...                                     the old watch paths

Verbs: GET (get; list with labelSelector, fieldSelector, limit/continue,
resourceVersion; watch=true as a chunked stream of `{"type","object"}` lines with
bookmarks, an ERROR event with a 410 Status for an expired resourceVersion,
timeoutSeconds), POST (create, pods/binding, pods/eviction), PUT (update, status,
scale, namespaces/finalize), PATCH (json, merge, strategic merge, server-side apply by
Content-Type), DELETE (DeleteOptions in the body or the query) and deletecollection.
`Accept: ...;as=Table` answers with a metav1.Table (tables.py), per list, object or
watch event. Errors are metav1.Status with their HTTP code.

Authentication: every request but the health checks carries `Authorization: Bearer
TOKEN` with the token `kubemu up` generated, or gets 401 Unauthorized. TLS when the
apiserver config names a certificate (`rest_tls_cert`/`rest_tls_key`), as upstream's
secure port.

The route parsing and the request → registry-call translation are plain functions
(`parse_path`, `patch_type_of`, `delete_options`, `scale_of`) tested without a server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from actors.api import errors
from actors.api.errors import APIError
from actors.api.resources import RESOURCES, ResourceInfo

from . import discovery, tables
from .registry import Registry
from .watchcache import BOOKMARK, ERROR, WatchCaches

log = logging.getLogger("kubemu.apiserver.rest")

JSON = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# upstream's --min-request-timeout: a watch without timeoutSeconds ends after 30-60 min
MIN_REQUEST_TIMEOUT = 1800.0
_OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz"})

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "",
}


# ============================================================================ pure parts


@dataclass(frozen=True)
class Target:
    """A resource URL: /api/v1/namespaces/default/pods/web/status."""
    info: ResourceInfo
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    watch_path: bool = False  # /api/v1/watch/...


def not_found_path() -> APIError:
    return APIError({"message": "the server could not find the requested resource",
                     "reason": "NotFound", "details": {}, "code": 404})


def parse_path(path: str) -> Target | None:
    """The Target of a resource URL; None for anything that is not one."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    if not rest:
        return None

    def served(plural: str) -> ResourceInfo | None:
        info = RESOURCES.get(plural)
        if info is None or info.group != group or info.version != version:
            return None
        return info

    ns = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        inner = served(rest[2])
        if inner is not None and inner.namespaced:
            ns, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    info = served(rest[0])
    if info is None:
        return None
    if ns == "" and info.namespaced and len(rest) > 1:
        return None  # a namespaced object needs its namespace in the path
    return Target(info, ns, rest[1] if len(rest) > 1 else "",
                  rest[2] if len(rest) > 2 else "", watch)


def patch_type_of(content_type: str) -> str:
    """The registry's patch type for a PATCH Content-Type; 415 for any other."""
    ct = content_type.split(";")[0].strip().lower()
    pt = PATCH_TYPES.get(ct, "")
    if not pt:
        raise APIError({"message": f"the body of the request was in an unknown format - "
                                   f"accepted media types include: "
                                   f"{', '.join(t for t, v in PATCH_TYPES.items() if v)}",
                        "reason": "UnsupportedMediaType", "code": 415})
    return pt


def _int_param(q: Any, name: str) -> int | None:
    v = q.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise errors.bad_request(f"{name}: Invalid value: {v!r}: must be an integer") from None


def delete_options(body: JSON | None, query: Any) -> JSON:
    """DeleteOptions from the body and/or the query: gracePeriodSeconds,
    propagationPolicy (orphanDependents maps to Orphan), preconditions.uid, dryRun."""
    opts: JSON = dict(body or {})
    g = _int_param(query, "gracePeriodSeconds")
    if g is not None:
        opts["gracePeriodSeconds"] = g
    if query.get("propagationPolicy"):
        opts["propagationPolicy"] = query["propagationPolicy"]
    if query.get("orphanDependents") is not None and "propagationPolicy" not in opts:
        if query["orphanDependents"] in ("true", "1"):
            opts["propagationPolicy"] = "Orphan"
    if opts.get("orphanDependents") is True and not opts.get("propagationPolicy"):
        opts["propagationPolicy"] = "Orphan"
    if query.get("dryRun"):
        opts["dryRun"] = query.getall("dryRun") if hasattr(query, "getall") else [query["dryRun"]]
    return opts


def scale_of(info: ResourceInfo, obj: JSON) -> JSON:
    """autoscaling/v1 Scale of a Deployment or ReplicaSet."""
    from actors.api.printers import selector_string

    m = obj.get("metadata") or {}
    md = {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
          if k in m}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": md,
            "spec": {"replicas": int(spec.get("replicas", 1))},
            "status": {"replicas": int(status.get("replicas") or 0),
                       "selector": selector_string(spec.get("selector"))}}


def validate_scale(info: ResourceInfo, name: str, scale: JSON) -> int:
    spec = scale.get("spec") if isinstance(scale, dict) else None
    n = (spec or {}).get("replicas", 0)
    if not isinstance(n, int) or isinstance(n, bool):
        raise errors.bad_request("Scale.spec.replicas: must be an integer")
    if n < 0:
        raise errors.invalid("Scale.autoscaling", name, [errors.FieldError.invalid(
            "spec.replicas", n, "must be greater than or equal to 0")])
    return n


FIELD_VALIDATION = ("Ignore", "Warn", "Strict")


def field_validation(query: Any) -> str:
    """The fieldValidation directive (kube-apiserver's default is Warn)."""
    v = query.get("fieldValidation") or "Warn"
    if v not in FIELD_VALIDATION:
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{v}": supported '
                                 f'values: "Ignore", "Strict", "Warn"')
    return str(v)


def unknown_field_problems(info: ResourceInfo, doc: Any, patch: bool = False) -> list[str]:
    """`unknown field "spec.foo"` for each field the schema of `info` does not declare
    (patch directives such as $setElementOrder are not fields)."""
    if not isinstance(doc, dict):
        return []
    from . import openapi

    name = openapi.definition_for(info.api_version, info.kind)
    if name is None:
        return []
    paths = openapi.unknown_fields(doc, name)
    if patch:
        paths = [p for p in paths if "$" not in p]
    return [f'unknown field "{p}"' for p in paths]


def strict_decoding(info: ResourceInfo, problems: list[str], patch: bool = False) -> APIError:
    msg = "strict decoding error: " + ", ".join(problems)
    if not patch:
        msg = (f'{info.kind} in version "{info.version}" cannot be handled as a '
               f"{info.kind}: {msg}")
    return errors.bad_request(msg)


def _dry_run(query: Any) -> bool:
    v = query.get("dryRun")
    if v is None:
        return False
    if v != "All":
        raise errors.bad_request(f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return True


def _status_response(err: APIError) -> web.Response:
    return web.Response(status=err.code or 500, body=_dumps(err.status),
                        content_type="application/json")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _unauthorized() -> web.Response:
    return _status_response(APIError({"message": "Unauthorized", "reason": "Unauthorized",
                                      "code": 401}))


# ============================================================================ the server


class RestAPI:
    """The aiohttp application; `start()` listens, `stop()` closes."""

    def __init__(self, registry: Registry, caches: WatchCaches, *, token: str,
                 openapi: Any = None) -> None:
        self.registry = registry
        self.caches = caches
        self.token = token
        self.stats: dict[str, int] = {}
        self.address = ""
        self.app = web.Application(middlewares=[self._middleware], client_max_size=8 << 20)
        r = self.app.router
        r.add_get("/version", self._version)
        for p in ("/healthz", "/livez", "/readyz"):
            r.add_get(p, self._healthz)
        r.add_get("/api", self._api)
        r.add_get("/apis", self._apis)
        r.add_get("/openapi/v2", self._openapi_v2)
        r.add_get("/openapi/v3", self._openapi_v3_index)
        r.add_get("/openapi/v3/{path:.*}", self._openapi_v3)
        r.add_route("*", "/{path:.*}", self._resource)
        self._runner: web.AppRunner | None = None

    # ---- plumbing ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in _OPEN_PATHS:
            auth = request.headers.get("Authorization", "")
            if not (auth.startswith("Bearer ") and
                    hmac.compare_digest(auth[7:].strip().encode(), self.token.encode())):
                return _unauthorized()
        key = f"{request.method} {request.path.split('/')[1] if '/' in request.path else ''}"
        self.stats[key] = self.stats.get(key, 0) + 1
        try:
            return await handler(request)
        except APIError as e:
            return _status_response(e)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as e:  # a bug: a 500 Status rather than a dropped connection
            log.exception("%s %s failed", request.method, request.path_qs)
            return _status_response(errors.internal_error(f"{type(e).__name__}: {e}"))

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> int:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        scheme = "https" if ssl_context is not None else "http"
        self.address = f"{scheme}://{host}:{bound}"
        # the schemas take ~0.6 s of CPU to build: once, off the loop, before a client waits
        asyncio.get_running_loop().run_in_executor(None, self._warm_openapi)
        return int(bound)

    @staticmethod
    def _warm_openapi() -> None:
        try:
            from . import openapi

            openapi.v3_index()
            openapi.v2_protobuf()
        except Exception:  # served (and reported) on the first request instead
            log.exception("building the OpenAPI documents failed")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def _json(obj: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=_dumps(obj), content_type="application/json")

    def _now(self) -> float:
        return self.registry.clock.now()

    # ---- discovery, health, openapi ---------------------------------------------------

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return self._json(discovery.version_info())

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    def _aggregated(self, request: web.Request, legacy_core: bool) -> web.Response | None:
        v = discovery.aggregated_version(request.headers.get("Accept", ""))
        if v is None:
            return None
        resp = web.Response(body=_dumps(discovery.aggregated_discovery(legacy_core, v)))
        # set verbatim: client-go picks the parser by this exact media type
        resp.headers["Content-Type"] = discovery.aggregated_content_type(v)
        return resp

    async def _api(self, request: web.Request) -> web.StreamResponse:
        agg = self._aggregated(request, True)
        if agg is not None:
            return agg
        host = request.host or ""
        return self._json(discovery.api_versions(host))

    async def _apis(self, request: web.Request) -> web.StreamResponse:
        agg = self._aggregated(request, False)
        if agg is not None:
            return agg
        return self._json(discovery.api_group_list())

    async def _openapi_v2(self, request: web.Request) -> web.StreamResponse:
        from . import openapi

        accept = request.headers.get("Accept", "")
        if "protobuf" in accept and "json" not in accept:
            return web.Response(body=openapi.v2_protobuf(),
                                content_type=openapi.V2_PROTOBUF_CONTENT_TYPE)
        return web.Response(body=openapi.v2_document_bytes(), content_type="application/json")

    async def _openapi_v3_index(self, request: web.Request) -> web.StreamResponse:
        from . import openapi

        return self._json(openapi.v3_index())

    async def _openapi_v3(self, request: web.Request) -> web.StreamResponse:
        from . import openapi

        parts = [p for p in request.match_info["path"].split("/") if p]
        if len(parts) == 2 and parts[0] == "api":
            doc = openapi.v3_document_bytes("", parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = openapi.v3_document_bytes(parts[1], parts[2])
        else:
            doc = None
        if doc is None:
            raise not_found_path()
        return web.Response(body=doc, content_type="application/json")

    # ---- resources --------------------------------------------------------------------

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        parts = [p for p in path.split("/") if p]
        # group/version discovery: /api/v1, /apis/G/V
        if request.method == "GET":
            if len(parts) == 2 and parts[0] == "api":
                doc = discovery.api_resource_list("", parts[1])
                if doc is not None:
                    return self._json(doc)
            elif len(parts) == 3 and parts[0] == "apis":
                doc = discovery.api_resource_list(parts[1], parts[2])
                if doc is not None:
                    return self._json(doc)
            elif len(parts) == 2 and parts[0] == "apis":
                vs = discovery.group_versions().get(parts[1])
                if vs:
                    g = discovery.api_group(parts[1], vs)
                    return self._json({"kind": "APIGroup", "apiVersion": "v1", **g})
        t = parse_path(path)
        if t is None:
            if request.method == "POST":
                return await self._review(request, parts)
            raise not_found_path()
        m = request.method
        q = request.query
        if t.watch_path:
            if m != "GET":
                raise errors.method_not_supported(t.info, m.lower())
            return await self._watch(request, t)
        if not t.name:
            if m == "GET":
                if q.get("watch") in ("true", "1"):
                    return await self._watch(request, t)
                return await self._list(request, t)
            if m == "POST":
                return await self._create(request, t)
            if m == "DELETE":
                return await self._delete_collection(request, t)
            raise errors.method_not_supported(t.info, m.lower())
        sub = t.subresource
        if sub == "":
            if m == "GET":
                return await self._get(request, t)
            if m == "PUT":
                return await self._update(request, t)
            if m == "PATCH":
                return await self._patch(request, t)
            if m == "DELETE":
                return await self._delete(request, t)
        elif sub == "status" and t.info.has_status:
            if m == "GET":
                return await self._get(request, t)
            if m == "PUT":
                return await self._update(request, t)
            if m == "PATCH":
                return await self._patch(request, t)
        elif sub == "scale" and t.info.plural in ("deployments", "replicasets"):
            if m == "GET":
                obj = await self.registry.get(t.info.plural, t.name, t.namespace or None)
                return self._json(scale_of(t.info, obj))
            if m in ("PUT", "PATCH"):
                return await self._scale_write(request, t)
        elif t.info.plural == "pods" and sub == "binding" and m == "POST":
            body = await self._body(request)
            st = await self.registry.bind(t.namespace, t.name, body)
            return self._json(st, 201)
        elif t.info.plural == "pods" and sub == "eviction" and m == "POST":
            return await self._evict(request, t)
        elif t.info.plural == "pods" and sub == "log" and m == "GET":
            return await self._logs(request, t)
        elif t.info.plural == "namespaces" and sub == "finalize" and m == "PUT":
            return await self._update(request, t)
        else:
            raise not_found_path()
        raise errors.method_not_supported(t.info, m.lower())

    async def _body(self, request: web.Request, *, obj: bool = True,
                    optional: bool = False) -> Any:
        """The decoded request body: JSON, or YAML when the Content-Type says so
        (application/yaml, application/apply-patch+yaml). `obj`: it must be an object;
        `optional`: an empty body is None instead of a 400."""
        raw = await request.read()
        if not raw:
            if optional:
                return None
            raise errors.bad_request("the body of the request was empty")
        ct = (request.content_type or "application/json").lower()
        if "protobuf" in ct or "cbor" in ct:
            raise APIError({"message": f"the body of the request was in an unknown format - "
                                       f"accepted media types include: application/json, "
                                       f"application/yaml", "reason": "UnsupportedMediaType",
                            "code": 415})
        try:
            if "yaml" in ct:
                import yaml

                body = yaml.safe_load(raw)
            else:
                body = json.loads(raw)
        except ValueError as e:
            raise errors.bad_request(f"the body of the request could not be decoded: {e}") \
                from None
        except Exception as e:  # yaml.YAMLError
            raise errors.bad_request(f"error converting YAML to JSON: {e}") from None
        if obj and not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        return body

    @staticmethod
    def _check_fields(request: web.Request, info: ResourceInfo, doc: Any,
                      patch: bool = False) -> list[str]:
        """fieldValidation: Strict refuses unknown fields (400), Warn returns them as
        warnings, Ignore says nothing."""
        mode = field_validation(request.query)
        if mode == "Ignore":
            return []
        problems = unknown_field_problems(info, doc, patch)
        if problems and mode == "Strict":
            raise strict_decoding(info, problems, patch)
        return problems

    @staticmethod
    def _warn(resp: web.StreamResponse, warnings: list[str]) -> web.StreamResponse:
        for w in warnings:  # RFC 7234 Warning headers, as kube-apiserver sends them
            resp.headers.add("Warning", '299 - "' + w.replace('"', '\\"') + '"')
        return resp

    def _present(self, request: web.Request, info: ResourceInfo, obj: JSON,
                 status: int = 200) -> web.Response:
        """An object, or a one-row Table when the client asked for one."""
        if tables.wants_table(request.headers.get("Accept", "")):
            inc = tables.check_include_object(request.query.get("includeObject", ""))
            md = {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")}
            return self._json(tables.table(info, [obj], self._now(), include=inc,
                                           list_meta=md), status)
        return self._json(obj, status)

    async def _get(self, request: web.Request, t: Target) -> web.StreamResponse:
        obj = await self.registry.get(t.info.plural, t.name, t.namespace or None)
        return self._present(request, t.info, obj)

    async def _list(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        cont = q.get("continue", "")
        rv = q.get("resourceVersion", "")
        ls, fs = q.get("labelSelector", ""), q.get("fieldSelector", "")
        limit = _int_param(q, "limit") or 0
        if rv and not cont:
            cache = await self.caches.get(t.info)
            out = await cache.list(t.namespace, ls, fs, rv)
        else:
            out = await self.registry.list(t.info.plural, t.namespace or None, ls, fs, limit,
                                           cont, rv)
        if tables.wants_table(request.headers.get("Accept", "")):
            inc = tables.check_include_object(q.get("includeObject", ""))
            out = tables.table(t.info, out.get("items") or [], self._now(), include=inc,
                               list_meta=out.get("metadata"))
        return self._json(out)

    async def _create(self, request: web.Request, t: Target) -> web.StreamResponse:
        body = await self._body(request)
        self._check_kind(t.info, body)
        if t.namespace:
            bns = (body.get("metadata") or {}).get("namespace")
            if bns and bns != t.namespace:
                raise errors.bad_request("the namespace of the provided object does not "
                                         "match the namespace sent on the request")
        elif t.info.namespaced:
            raise errors.method_not_supported(t.info, "create")
        warnings = self._check_fields(request, t.info, body)
        obj = await self.registry.create(t.info.plural, body, t.namespace or None,
                                         dry_run=_dry_run(request.query),
                                         field_manager=request.query.get("fieldManager", ""))
        return self._warn(self._present(request, t.info, obj, 201), warnings)

    @staticmethod
    def _check_kind(info: ResourceInfo, body: JSON, kind: str = "", api_version: str = "") -> None:
        kind = kind or info.kind
        api_version = api_version or info.api_version
        bk, bav = body.get("kind"), body.get("apiVersion")
        if bk and bk != kind or bav and bav != api_version:
            raise errors.bad_request(f"the API version in the data ({bav}) does not match the "
                                     f"expected API version ({api_version})"
                                     if bav and bav != api_version else
                                     f"the kind in the data ({bk}) does not match the "
                                     f"expected kind ({kind})")

    async def _update(self, request: web.Request, t: Target) -> web.StreamResponse:
        body = await self._body(request)
        self._check_kind(t.info, body)
        bname = (body.get("metadata") or {}).get("name")
        if bname and bname != t.name:
            raise errors.bad_request("the name of the object "
                                     f"({bname}) does not match the name on the URL ({t.name})")
        warnings = self._check_fields(request, t.info, body)
        obj = await self.registry.update(t.info.plural, body, t.namespace or None, t.name,
                                         t.subresource, dry_run=_dry_run(request.query),
                                         field_manager=request.query.get("fieldManager", ""))
        return self._warn(self._present(request, t.info, obj), warnings)

    async def _patch(self, request: web.Request, t: Target) -> web.StreamResponse:
        pt = patch_type_of(request.content_type)
        q = request.query
        patch = await self._body(request, obj=False)  # a JSON patch is a list
        warnings = self._check_fields(request, t.info, patch, patch=True) \
            if pt != "json" else []
        kw: JSON = {"field_manager": q.get("fieldManager", ""), "dry_run": _dry_run(q)}
        if pt == "apply":
            kw["force"] = q.get("force") in ("true", "1")
        obj = await self.registry.patch(t.info.plural, t.name, patch, t.namespace or None,
                                        pt, t.subresource, **kw)
        return self._warn(self._present(request, t.info, obj), warnings)

    async def _delete(self, request: web.Request, t: Target) -> web.StreamResponse:
        body = await self._body(request, obj=False, optional=True)
        opts = delete_options(body if isinstance(body, dict) else None, request.query)
        obj = await self._delete_one(t.info, t.name, t.namespace, opts)
        # upstream: 202 Accepted while the object waits (grace period, finalizers)
        pending = bool((obj.get("metadata") or {}).get("deletionTimestamp"))
        return self._json(obj, 202 if pending else 200)

    async def _delete_one(self, info: ResourceInfo, name: str, namespace: str,
                          opts: JSON) -> JSON:
        if opts.get("dryRun"):
            # a dry-run delete: the object as it is (nothing changes)
            return await self.registry.get(info.plural, name, namespace or None)
        pre = opts.get("preconditions") or {}
        return await self.registry.delete(
            info.plural, name, namespace or None,
            grace_period_seconds=opts.get("gracePeriodSeconds"),
            propagation_policy=opts.get("propagationPolicy"),
            preconditions_uid=pre.get("uid"))

    async def _delete_collection(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        body = await self._body(request, obj=False, optional=True)
        opts = delete_options(body if isinstance(body, dict) else None, q)
        out = await self.registry.list(t.info.plural, t.namespace or None,
                                       q.get("labelSelector", ""), q.get("fieldSelector", ""))
        deleted = []
        for o in out.get("items") or []:
            md = o.get("metadata") or {}
            try:
                deleted.append(await self._delete_one(t.info, md.get("name", ""),
                                                      md.get("namespace", ""), opts))
            except APIError as e:
                if e.code != 404:
                    raise
        return self._json({"kind": out.get("kind"), "apiVersion": out.get("apiVersion"),
                           "metadata": out.get("metadata") or {}, "items": deleted})

    async def _scale_write(self, request: web.Request, t: Target) -> web.StreamResponse:
        """PUT or PATCH .../scale: the Scale's spec.replicas onto the parent's."""
        from actors.api import patch as patchlib

        if request.method == "PUT":
            scale = await self._body(request)
            self._check_kind(t.info, scale, "Scale", "autoscaling/v1")
        else:
            pt = patch_type_of(request.content_type)
            p = await self._body(request, obj=False)
            # the patch applies to the Scale of the object as it is now
            cur = await self.registry.get(t.info.plural, t.name, t.namespace or None)
            base = scale_of(t.info, cur)
            if pt == "json":
                scale = patchlib.json_patch(base, p)
            elif pt in ("merge", "strategic"):  # a Scale has no lists: SMP is a merge
                scale = patchlib.merge_patch(base, p)
            else:
                raise APIError({"message": "apply is not supported on the scale subresource",
                                "reason": "UnsupportedMediaType", "code": 415})
        n = validate_scale(t.info, t.name, scale)
        rv = ((scale.get("metadata") or {}).get("resourceVersion")) or ""
        p2: JSON = {"spec": {"replicas": n}}
        if rv and request.method == "PUT":
            p2["metadata"] = {"resourceVersion": rv}
        obj = await self.registry.patch(t.info.plural, t.name, p2, t.namespace or None, "merge",
                                        field_manager=request.query.get("fieldManager", ""),
                                        dry_run=_dry_run(request.query))
        return self._json(scale_of(t.info, obj))

    async def _review(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        """POST of a Self*Review (kubectl auth can-i / whoami)."""
        if len(parts) >= 4 and parts[0] == "apis":
            plural = parts[-1]
            body = await self._body(request, obj=False)
            out = discovery.review(parts[1], parts[2], plural,
                                   body if isinstance(body, dict) else {})
            if out is not None:
                return self._json(out, 201)
        raise not_found_path()

    async def _evict(self, request: web.Request, t: Target) -> web.StreamResponse:
        """pods/eviction: no PodDisruptionBudgets are served, so an eviction is the
        pod's deletion with the Eviction's DeleteOptions."""
        body = await self._body(request)
        ename = (body.get("metadata") or {}).get("name")
        if ename and ename != t.name:
            raise errors.bad_request(f"name in URL does not match name in Eviction object")
        opts = delete_options(body.get("deleteOptions") or None, request.query)
        await self._delete_one(t.info, t.name, t.namespace, opts)
        return self._json({"kind": "Status", "apiVersion": "v1", "metadata": {},
                           "status": "Success", "code": 201}, 201)

    async def _logs(self, request: web.Request, t: Target) -> web.StreamResponse:
        from . import podlogs

        opts = podlogs.LogOptions.from_query(request.query, t.name)
        # every refusal (options, pod, container, kubelet) comes before the first byte
        stream = await podlogs.pod_logs(self.registry, t.namespace, t.name, opts)
        if not opts.follow:
            return web.Response(body=await stream.read_all(), content_type="text/plain")
        resp = web.StreamResponse()
        resp.content_type = "text/plain"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            async for c in stream:
                await resp.write(c)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            await stream.aclose()
        return resp

    # ---- watch ------------------------------------------------------------------------

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        timeout = _int_param(q, "timeoutSeconds")
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        inc = tables.check_include_object(q.get("includeObject", "")) if as_table else ""
        name_sel = f"metadata.name={t.name}" if t.name else ""
        fs = q.get("fieldSelector", "")
        if name_sel:
            fs = f"{fs},{name_sel}" if fs else name_sel
        cache = await self.caches.get(t.info)
        watcher = None
        first_error: APIError | None = None
        try:
            watcher = await cache.watch(t.namespace, q.get("labelSelector", ""), fs,
                                        q.get("resourceVersion", ""),
                                        q.get("allowWatchBookmarks") in ("true", "1"))
        except APIError as e:
            if e.code != 410:
                raise
            first_error = e
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        self.stats["watch"] = self.stats.get("watch", 0) + 1
        headers_sent = False

        def encode(typ: str, obj: JSON) -> bytes:
            nonlocal headers_sent
            if as_table and typ not in (ERROR, BOOKMARK):
                obj = tables.table(t.info, [obj], self._now(), include=inc,
                                   headers=not headers_sent)
                headers_sent = True
            return _dumps({"type": typ, "object": obj}) + b"\n"

        try:
            if first_error is not None:
                await resp.write(encode(ERROR, first_error.status))
                return resp
            assert watcher is not None
            deadline = MIN_REQUEST_TIMEOUT if timeout is None else float(timeout)
            async with asyncio.timeout(deadline):
                async for typ, obj in watcher:
                    await resp.write(encode(typ, obj))
        except (TimeoutError, ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if watcher is not None:
                watcher.close()
        return resp


def make_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx

