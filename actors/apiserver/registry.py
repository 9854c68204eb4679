"""The generic registry: Kubernetes REST semantics over the KV store.

One `Registry` serves every resource of actors.api.resources. Objects live at
`/registry/<plural>/<namespace>/<name>` (cluster-scoped: `/registry/<plural>/<name>`)
as JSON without resourceVersion; an object's resourceVersion is its key's
mod_revision, a list's is the store revision it was read at.

The per-kind decisions are in `strategy` and `admission` (pure, unit-tested); this
module does the reads and the guarded writes (create-if-absent, update/delete if the
mod_revision is still the one read) and retries a read-modify-write that lost a race
unless the caller pinned a resourceVersion (then it is a Conflict, as upstream's
GuaranteedUpdate).

Namespaces: the first delete sets Terminating; the namespace controller empties the
namespace and finalizes it through namespaces/finalize, which removes it. The garbage
collector acts on the orphan / foregroundDeletion finalizers and on ownerReferences.

Patches: JSON, merge, strategic merge (actors.api.strategicpatch) and server-side apply
(actors.api.fieldmanager: managedFields, conflicts, force; an apply creates).

Every write takes ``dry_run``: everything but the store write (the REST layer's
dryRun=All). Not here yet: DeleteCollection (the REST layer lists and deletes one by
one).
"""

from __future__ import annotations

import base64
import builtins
import copy
import json
import random
from typing import Any, Awaitable, Callable, TypeVar, cast

from actors.api import errors
from actors.api.resources import ResourceInfo
from actors.common.clock import Clock, RealClock

from . import strategy
from .admission import CREATE, DELETE, UPDATE, Admission, AdmissionConfig, Attributes
from .apierrors import internal_error, resource_not_found, timeout_error, too_large_rv
from .filters import make_filter
from .storage import KV, CompactedError, KVError

JSON = dict[str, Any]

MAX_RETRIES = 32

CONTINUE_TOO_OLD = ("The provided continue parameter is too old to display a consistent "
                    "list result. You can start a new list without the continue parameter, "
                    "or use the continue token in this response to retrieve the remainder "
                    "of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted "
                    "between the time the first chunk was returned and now may show up in "
                    "the list.")


def encode_continue(revision: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        if d.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        rv, start = int(d["rv"]), str(d["start"])
    except Exception:
        raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)") from None
    if rv <= 0 or ".." in start or start.startswith("/"):
        raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)")
    return rv, start


def list_kind(info: ResourceInfo) -> str:
    return f"{info.kind}List"


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def kv_errors(fn: F) -> F:
    """Store failures become API errors: 504 Timeout or 500 InternalError."""
    import functools

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return await fn(*args, **kw)
        except CompactedError:
            raise errors.expired("too old resource version") from None
        except KVError as e:
            if e.timeout:
                raise timeout_error() from None
            raise internal_error(str(e)) from None
    return cast(F, wrapper)


class Registry:
    def __init__(self, kv: KV, *, clock: Clock | None = None, rng: random.Random | None = None,
                 admission: Admission | None = None,
                 default_toleration_seconds: int = 300) -> None:
        self.kv = kv
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.admission = admission or Admission(AdmissionConfig(default_toleration_seconds))
        # the watch cache's copy of a key, (object, mod revision), set by the server once
        # its caches run: used as upstream uses its informers and cachedExistingObject
        self.cache_lookup: Callable[[str], tuple[JSON, int] | None] | None = None
        self.cache_objects: Callable[[str], list[JSON] | None] | None = None
        self.stats = {"cached_update_hits": 0, "cached_update_misses": 0}

    # ---- helpers ----------------------------------------------------------------------

    @staticmethod
    def info(resource: str) -> ResourceInfo:
        from actors.api.resources import lookup

        try:
            return lookup(resource)
        except KeyError:
            raise resource_not_found() from None

    @staticmethod
    def _ns(info: ResourceInfo, namespace: str | None, obj: JSON | None = None) -> str:
        if not info.namespaced:
            return ""
        if namespace:
            return namespace
        if obj is not None:
            ns = (obj.get("metadata") or {}).get("namespace")
            if ns:
                return str(ns)
        return "default"

    async def _read(self, key: str) -> tuple[JSON, int] | None:
        kv = await self.kv.get(key)
        if kv is None:
            return None
        return strategy.decode(kv.value, kv.mod_revision), kv.mod_revision

    async def _namespace(self, name: str) -> JSON | None:
        """NamespaceLifecycle's lookup: the watch cache (upstream: the namespace
        lister), a consistent read of the store only when the cache has no such
        namespace (it may just have been created)."""
        from actors.api.resources import lookup

        key = strategy.key(lookup("namespaces"), None, name)
        if self.cache_lookup is not None:
            hit = self.cache_lookup(key)
            if hit is not None:
                return hit[0]
        cur = await self._read(key)
        return cur[0] if cur else None

    async def _priority_classes(self, a: Attributes, validating: bool) -> "builtins.list[JSON] | None":
        """The Priority admission plugin's view: every PriorityClass (from the watch
        cache, as upstream's lister; a consistent list before the cache runs), only for
        the requests it looks at them for."""
        from actors.api.resources import lookup

        from .admission import needs_priority_classes

        if not needs_priority_classes(a, validating):
            return None
        if self.cache_objects is not None:  # upstream's Priority plugin uses a lister
            cached = self.cache_objects("priorityclasses")
            want = ((a.obj or {}).get("spec") or {}).get("priorityClassName") \
                if isinstance(a.obj, dict) else None
            if cached is not None and (not want or any(
                    (c.get("metadata") or {}).get("name") == want for c in cached)):
                return cached  # (a class the cache has not seen yet: ask the store)
        res = await self.kv.list(strategy.prefix(lookup("priorityclasses")))
        return [strategy.decode(kv.value, kv.mod_revision) for kv in res.kvs]

    async def _admit_validate(self, a: Attributes) -> None:
        from .admission import needs_namespace

        ns_obj = await self._namespace(a.namespace) if needs_namespace(a) else None
        self.admission.validate(a, ns_obj, await self._priority_classes(a, True))

    @staticmethod
    def _validate(info: ResourceInfo, obj: JSON, old: JSON | None, subresource: str = "") -> None:
        from actors.api.validation import validate

        errs = validate(obj, old, subresource="status" if subresource == "status" else "")
        name = (obj.get("metadata") or {}).get("name") or ""
        if not errs and not name:
            from actors.api.errors import FieldError

            errs = [FieldError("Required value", "metadata.name", None,
                               "name or generateName is required")]
        if errs:
            raise errors.invalid(info, name, errs)

    async def _allocate_service(self, info: ResourceInfo, svc: JSON, old: JSON | None) -> None:
        """Cluster IP and node ports, against what the other Services hold (a consistent
        list; two racing creates may pick the same random address -- not guarded)."""
        if (svc.get("spec") or {}).get("type") == "ExternalName":
            return
        if old is not None and not strategy.needs_allocation(svc):
            new_ips, new_ports = strategy.service_allocations(svc)
            old_ips, old_ports = strategy.service_allocations(old)
            if new_ips <= old_ips and new_ports <= old_ports:
                return  # holds nothing it did not hold before
        m = svc.get("metadata") or {}
        used_ips: set[str] = set()
        used_ports: set[int] = set()
        res = await self.kv.list(strategy.prefix(info))
        for kv in res.kvs:
            other = strategy.decode(kv.value, kv.mod_revision)
            om = other.get("metadata") or {}
            if (om.get("namespace"), om.get("name")) == (m.get("namespace"), m.get("name")):
                continue
            ips, ports = strategy.service_allocations(other)
            used_ips |= ips
            used_ports |= ports
        errs = strategy.allocate_service(svc, used_ips, used_ports, self.rng)
        if errs:
            raise errors.invalid(info, m.get("name") or "", errs)

    # ---- create -----------------------------------------------------------------------

    @kv_errors
    async def create(self, resource: str, obj: JSON, namespace: str | None = None, *,
                     subresource: str = "", dry_run: bool = False,
                     field_manager: str = "") -> JSON:
        info = self.info(resource)
        if subresource:
            if info.plural == "pods" and subresource == "binding":
                name = (obj.get("metadata") or {}).get("name") or ""
                return await self.bind(self._ns(info, namespace, obj), name, obj)
            raise resource_not_found()
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        obj = copy.deepcopy(obj)
        from actors.api.defaults import apply_defaults

        ns = self._ns(info, namespace, obj)
        m = strategy.meta(obj)
        attrs = Attributes(CREATE, info, ns, m.get("name") or "", obj=obj)
        # mutating admission (DefaultTolerationSeconds with the configured value, Priority, ...)
        self.admission.mutate(attrs, await self._priority_classes(attrs, False))
        apply_defaults(obj)
        await self._admit_validate(attrs)
        strategy.prepare_for_create(info, obj, namespace=ns or None, now=self.clock.now(),
                                    rng=self.rng)
        if info.plural == "services":
            await self._allocate_service(info, obj, None)
        self._validate(info, obj, None)
        if field_manager:  # the creator owns what it wrote (metadata.managedFields)
            obj = self._managed(info, None, obj, field_manager)
            m = strategy.meta(obj)
        if dry_run:
            return obj
        name = m["name"]
        res = await self.kv.create(strategy.key(info, ns, name), strategy.encode(obj))
        if not res.ok:
            raise errors.already_exists(info, name)
        m["resourceVersion"] = str(res.revision)
        return obj

    # ---- read -------------------------------------------------------------------------

    @kv_errors
    async def get(self, resource: str, name: str, namespace: str | None = None) -> JSON:
        info = self.info(resource)
        cur = await self._read(strategy.key(info, self._ns(info, namespace), name))
        if cur is None:
            raise errors.not_found(info, name)
        return cur[0]

    @kv_errors
    async def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> JSON:
        """A consistent list from the store, paginated with limit / continue."""
        info = self.info(resource)
        match = make_filter(info, namespace or "", label_selector, field_selector)
        pfx = strategy.prefix(info, namespace or None)
        min_rv = strategy.parse_rv(resource_version)
        revision = 0
        start = pfx
        if continue_:
            revision, rel = decode_continue(continue_)
            start = pfx + rel
        items: list[JSON] = []
        token = ""
        remaining: int | None = None
        filtered = bool(label_selector or field_selector)
        list_rv = 0
        while True:
            try:
                res = await self.kv.list(pfx, start=start, revision=revision,
                                         limit=limit if limit > 0 else 0)
            except CompactedError:
                raise errors.expired(CONTINUE_TOO_OLD if continue_ else
                                     "too old resource version") from None
            revision = list_rv = res.revision
            if min_rv and min_rv > list_rv:
                raise too_large_rv(min_rv, list_rv)
            full = False
            for i, kv in enumerate(res.kvs):
                obj = strategy.decode(kv.value, kv.mod_revision)
                if match(obj):
                    items.append(obj)
                if limit > 0 and len(items) >= limit:
                    full = True
                    more = i < len(res.kvs) - 1 or res.more
                    if more:
                        token = encode_continue(list_rv, kv.key[len(pfx):] + "\x00")
                        if not filtered:
                            remaining = res.count - (i + 1)
                    break
            if full or not res.more or not res.kvs:
                break
            start = res.kvs[-1].key + "\x00"
        md: JSON = {"resourceVersion": str(list_rv)}
        if token:
            md["continue"] = token
            if remaining is not None:
                md["remainingItemCount"] = remaining
        return {"kind": list_kind(info), "apiVersion": info.api_version, "metadata": md,
                "items": items}

    # ---- update / patch ---------------------------------------------------------------

    @kv_errors
    async def update(self, resource: str, obj: JSON, namespace: str | None = None,
                     name: str | None = None, subresource: str = "", *,
                     dry_run: bool = False, field_manager: str = "") -> JSON:
        info = self.info(resource)
        self._check_subresource(info, subresource)
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        body = copy.deepcopy(obj)
        ns = self._ns(info, namespace, body)
        name = name or (body.get("metadata") or {}).get("name") or ""
        if not name:
            raise errors.bad_request("name is required")
        strategy.check_update_target(info, body, ns or None, name)
        from actors.api.defaults import apply_defaults

        if subresource != "finalize":
            apply_defaults(body)
        user_rv = strategy.parse_rv(body["metadata"].get("resourceVersion"))

        def compute(old: JSON, mod: int) -> JSON:
            if not field_manager:
                return body
            return self._managed(info, old, body, field_manager, subresource)

        return await self._guaranteed_update(info, ns, name, subresource, compute, user_rv,
                                             create_body=body, dry_run=dry_run)

    @kv_errors
    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None,
                    patch_type: str = "merge", subresource: str = "", *,
                    field_manager: str = "", force: bool = False,
                    dry_run: bool = False) -> JSON:
        """PATCH: ``patch_type`` "merge" (RFC 7386), "json" (RFC 6902), "strategic"
        (strategic merge patch, by the kind's patch tags) or "apply" (server-side apply of
        the configuration ``patch`` by ``field_manager``; creates the object when it does
        not exist; ``force`` takes over fields other managers own instead of a 409).
        A ``field_manager`` given with the other types records the write in
        metadata.managedFields (operation Update)."""
        info = self.info(resource)
        self._check_subresource(info, subresource)
        ns = self._ns(info, namespace)
        from actors.api import fieldmanager
        from actors.api import patch as patchlib
        from actors.api.defaults import apply_defaults
        from actors.common.clock import rfc3339

        if patch_type in ("merge", "strategic"):
            if not isinstance(patch, dict):
                raise errors.bad_request("json: cannot unmarshal into Go value of type "
                                         "map[string]interface {}")
        elif patch_type == "json":
            if not isinstance(patch, list):
                raise errors.bad_request("json: cannot unmarshal object into Go value of "
                                         "type jsonpatch.Patch")
        elif patch_type == "apply":
            if not isinstance(patch, dict):
                raise errors.bad_request("error decoding YAML: the apply configuration is "
                                         "not an object")
            if not field_manager:
                raise errors.invalid(info, name, [errors.FieldError.required(
                    "fieldManager", "is required for apply requests")])
            pname = (patch.get("metadata") or {}).get("name")
            if pname and pname != name:
                raise errors.bad_request(f"the name of the object ({pname}) does not match "
                                         f"the name on the URL ({name})")
        else:
            raise errors.bad_request(f"unsupported patch type: {patch_type!r} "
                                     f"(merge, json, strategic or apply)")
        pinned: list[int] = [0]
        now = rfc3339(self.clock.now())

        def place(out: JSON) -> JSON:
            m = out.get("metadata")
            if not isinstance(m, dict):
                m = out["metadata"] = {}
            m["name"] = name
            if info.namespaced:
                m["namespace"] = ns
            apply_defaults(out)
            return out

        def apply(old: JSON, mod: int) -> JSON:
            cur = copy.deepcopy(old)
            if patch_type == "apply":
                return place(fieldmanager.apply(
                    cur, patch, field_manager, force, kind=info.kind,
                    api_version=info.api_version, now=now, subresource=subresource))
            if patch_type == "json":
                out = patchlib.json_patch(cur, patch)
            elif patch_type == "strategic":
                out = patchlib.strategic_merge_patch(cur, patch, info.kind)
            else:
                out = patchlib.merge_patch(cur, patch)
            if not isinstance(out, dict):
                raise errors.bad_request("the patched object is not a JSON object")
            m = out.get("metadata")
            if not isinstance(m, dict):
                m = out["metadata"] = {}
            # a resourceVersion the patch sets is the caller's precondition
            patched_rv = m.get("resourceVersion")
            if patched_rv and patched_rv != str(mod):
                pinned[0] = strategy.parse_rv(patched_rv)
            if field_manager:
                out = self._managed(info, old, out, field_manager, subresource)
            return place(out)

        for _ in range(2):
            try:
                return await self._guaranteed_update(info, ns, name, subresource, apply, 0,
                                                     pinned=pinned, dry_run=dry_run)
            except errors.APIError as e:
                if patch_type != "apply" or subresource or e.code != 404 or \
                        e.reason != "NotFound":
                    raise
            # apply creates what does not exist
            body = place(fieldmanager.apply(None, patch, field_manager, force, kind=info.kind,
                                            api_version=info.api_version, now=now))
            try:
                return await self.create(info.plural, body, ns, dry_run=dry_run)
            except errors.APIError as e:
                if e.code != 409 or e.reason != "AlreadyExists":
                    raise
        raise errors.conflict(info, name, errors_optimistic_lock())

    def _managed(self, info: ResourceInfo, old: JSON | None, new: JSON, manager: str,
                  subresource: str = "") -> JSON:
        """`new` with the managedFields an ordinary write (operation Update) by `manager`
        leaves on it."""
        from actors.api import fieldmanager
        from actors.common.clock import rfc3339

        return fieldmanager.update_managed_fields(
            old, new, manager, kind=info.kind, api_version=info.api_version,
            now=rfc3339(self.clock.now()), subresource=subresource)

    @staticmethod
    def _check_subresource(info: ResourceInfo, subresource: str) -> None:
        if subresource == "":
            return
        if subresource == "status" and info.has_status:
            return
        if subresource == "finalize" and info.plural == "namespaces":
            return
        raise resource_not_found()

    async def _guaranteed_update(self, info: ResourceInfo, ns: str, name: str,
                                 subresource: str, compute: Callable[[JSON, int], JSON],
                                 user_rv: int, *, create_body: JSON | None = None,
                                 pinned: "builtins.list[int] | None" = None,
                                 dry_run: bool = False) -> JSON:
        key = strategy.key(info, ns, name)
        # GuaranteedUpdate with a cachedExistingObject: the first attempt starts from the
        # watch cache's copy and lets the store's compare on mod_revision say whether it
        # was current; a failed compare hands back the current value for the next try
        cur: tuple[JSON, int] | None = None
        from_cache = False
        if self.cache_lookup is not None:
            hit = self.cache_lookup(key)
            want = user_rv or (pinned[0] if pinned else 0)
            if hit is not None and (not want or hit[1] >= want):
                cur, from_cache = (copy.deepcopy(hit[0]), hit[1]), True
        known = cur is not None
        for _ in range(MAX_RETRIES):
            if not known:
                cur = await self._read(key)
            known = False
            if cur is None:
                if create_body is not None and not subresource and \
                        info.plural in strategy.CREATE_ON_UPDATE:
                    try:
                        return await self.create(info.plural, strategy.strip_rv(create_body), ns,
                                                 dry_run=dry_run)
                    except errors.APIError as e:
                        if e.code == 409 and e.reason == "AlreadyExists":
                            continue
                        raise
                raise errors.not_found(info, name)
            old, mod = cur
            body = compute(old, mod)
            rv = user_rv or (pinned[0] if pinned else 0)
            if rv and rv != mod:
                raise errors.conflict(info, name, errors_optimistic_lock())
            if not subresource and strategy.uid_mismatch(body, old):
                from actors.api.errors import FieldError

                raise errors.invalid(info, name, [FieldError(
                    "Invalid value", "metadata.uid", body["metadata"]["uid"],
                    "field is immutable")])
            new = strategy.prepare_for_update(info, body, old, subresource)
            new["metadata"]["resourceVersion"] = str(mod)  # the precondition held
            if strategy.should_delete_during_update(new, old):
                if dry_run:
                    return new
                res = await self.kv.delete(key, mod)
                if res.ok:
                    new["metadata"]["resourceVersion"] = str(mod)
                    return new
                if rv:
                    raise errors.conflict(info, name, errors_optimistic_lock())
                continue
            attrs = Attributes(UPDATE, info, ns, name, subresource, obj=new, old=old)
            self.admission.mutate(attrs)
            await self._admit_validate(attrs)
            if info.plural == "services" and not subresource and not dry_run:
                await self._allocate_service(info, new, old)
            self._validate(info, new, old, subresource)
            if dry_run:  # everything but the write (dryRun=All)
                return new
            if strategy.same_object(new, old):
                if from_cache:  # a no-op against a cached copy: check it was current
                    from_cache = False
                    continue
                return old
            res = await self.kv.update(key, strategy.encode(new), mod)
            if res.ok:
                if from_cache:
                    self.stats["cached_update_hits"] += 1
                new["metadata"]["resourceVersion"] = str(res.revision)
                return new
            if res.current is None:
                raise errors.not_found(info, name)
            if from_cache:
                self.stats["cached_update_misses"] += 1
            from_cache = False
            cur = (strategy.decode(res.current.value, res.current.mod_revision),
                   res.current.mod_revision)
            known = True
            if rv and rv != res.current.mod_revision:
                raise errors.conflict(info, name, errors_optimistic_lock())
        raise errors.conflict(info, name, errors_optimistic_lock())

    async def _write_back(self, info: ResourceInfo, key: str, name: str, new: JSON,
                          mod: int) -> JSON | None:
        """Store `new` over revision `mod`; None when the object changed meanwhile."""
        res = await self.kv.update(key, strategy.encode(new), mod)
        if res.ok:
            new["metadata"]["resourceVersion"] = str(res.revision)
            return new
        if res.current is None:
            raise errors.not_found(info, name)
        return None

    # ---- delete -----------------------------------------------------------------------

    @kv_errors
    async def delete(self, resource: str, name: str, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions_uid: str | None = None) -> JSON:
        """Store.Delete: graceful deletion (pods), finalizers, propagation policy.

        Returns the object: its last state when it is gone, else its state now
        (deletionTimestamp set, waiting for the kubelet or for finalizers).
        """
        info = self.info(resource)
        ns = self._ns(info, namespace)
        strategy.validate_delete_options(propagation_policy)
        self.admission.validate(Attributes(DELETE, info, ns, name), None)
        key = strategy.key(info, ns, name)
        now = self.clock.now
        for _ in range(MAX_RETRIES):
            cur = await self._read(key)
            if cur is None:
                raise errors.not_found(info, name)
            old, mod = cur
            if preconditions_uid and preconditions_uid != old["metadata"].get("uid"):
                raise errors.conflict(
                    info.group_kind, name,
                    f"the UID in the precondition ({preconditions_uid}) does not match the "
                    f"UID in record ({old['metadata'].get('uid')}). The object might have "
                    f"been deleted and then recreated")
            obj = copy.deepcopy(old)
            if info.plural == "namespaces" and not old["metadata"].get("deletionTimestamp"):
                strategy.namespace_terminate(obj, propagation_policy, now())
                out = await self._write_back(info, key, name, obj, mod)
                if out is None:
                    continue
                return out
            if info.plural == "namespaces" and (old.get("spec") or {}).get("finalizers"):
                return old  # waiting for the namespace controller
            graceful, pending, period = strategy.before_delete(info, obj, grace_period_seconds,
                                                               now())
            if pending:
                return old
            changed, fins = strategy.gc_finalizers(obj, propagation_policy)
            if changed:
                obj["metadata"]["finalizers"] = fins
            has_fins = bool(obj["metadata"].get("finalizers"))
            if not graceful and has_fins:
                strategy.mark_as_deleting(obj, now())
            if has_fins or (graceful and period > 0):
                if strategy.same_object(obj, old):
                    return old
                out = await self._write_back(info, key, name, obj, mod)
                if out is None:
                    continue
                return out
            res = await self.kv.delete(key, mod)
            if res.ok:
                return old
            if res.current is None:
                raise errors.not_found(info, name)
        raise errors.conflict(info, name, errors_optimistic_lock())

    # ---- pods/binding -----------------------------------------------------------------

    @kv_errors
    async def bind(self, namespace: str, name: str, binding: JSON) -> JSON:
        from actors.api.resources import lookup

        info = lookup("pods")
        ns = namespace or (binding.get("metadata") or {}).get("namespace") or "default"
        bm = binding.get("metadata") or {}
        if bm.get("namespace") and bm["namespace"] != ns:
            raise errors.bad_request("the namespace of the provided object does not match "
                                     "the namespace sent on the request")
        name = name or bm.get("name") or ""
        if not name:
            raise errors.bad_request("name is required")
        key = strategy.key(info, ns, name)
        # as _guaranteed_update: the first try from the watch cache's copy
        hit = self.cache_lookup(key) if self.cache_lookup is not None else None
        cur: tuple[JSON, int] | None = (copy.deepcopy(hit[0]), hit[1]) if hit else None
        known = cur is not None
        for _ in range(MAX_RETRIES):
            if not known:
                cur = await self._read(key)
            known = False
            if cur is None:
                raise errors.not_found(info, name)
            pod, mod = cur
            new = strategy.bind_pod(info, pod, binding, self.clock.now())
            if await self._write_back(info, key, name, new, mod) is not None:
                return strategy.success_status(201)
        raise errors.conflict(info, name, errors_optimistic_lock())

    # ---- bootstrap --------------------------------------------------------------------

    async def ensure_system_namespaces(self) -> "builtins.list[str]":
        """Create default, kube-system, kube-public, kube-node-lease if absent."""
        created = []
        for n in strategy.SYSTEM_NAMESPACES:
            try:
                await self.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": n}})
                created.append(n)
            except errors.APIError as e:
                if e.code != 409:
                    raise
        return created

    async def ensure_system_priority_classes(self) -> "builtins.list[str]":
        """Create the built-in system-node-critical and system-cluster-critical
        PriorityClasses if absent (upstream's scheduling/bootstrap-system-priority-classes)."""
        from .admission import system_priority_classes

        created = []
        for pc in system_priority_classes():
            try:
                await self.create("priorityclasses", pc)
                created.append(pc["metadata"]["name"])
            except errors.APIError as e:
                if e.code != 409:
                    raise
        return created


def errors_optimistic_lock() -> str:
    return errors.OPTIMISTIC_LOCK_MSG
