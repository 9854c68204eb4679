"""An in-memory stand-in for APIClient (async): enough apiserver for kubelet/proxy shells.

Objects live in a dict; every write bumps a global resourceVersion and appends to an
event log that watches replay from the requested resourceVersion, so an informer's
list-then-watch loses nothing. Supports the `spec.nodeName=<node>` field selector,
status-subresource updates, merge patches, optimistic concurrency on update, and
graceful pod deletion (deletionTimestamp first, removal on a grace-0 delete).
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any, AsyncIterator

from actors.api import errors
from actors.common.clock import rfc3339

Obj = dict[str, Any]
CLUSTER_SCOPED = {"nodes", "namespaces"}


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


class FakeAPI:
    def __init__(self) -> None:
        self.objs: dict[tuple[str, str, str], Obj] = {}
        self.rv = 0
        self.log: list[tuple[int, str, str, Obj]] = []  # (rv, resource, type, obj)
        self.changed = asyncio.Condition()
        self.calls: list[tuple[str, str, str]] = []  # (verb, resource, name)
        self.fail: dict[tuple[str, str], int] = {}  # (verb, resource) -> 503s to inject
        self.conflicts: dict[str, int] = {}  # resource -> update conflicts to inject
        self.uid_seq = 0

    # ---- helpers --------------------------------------------------------------------

    def _key(self, resource: str, ns: str | None, name: str) -> tuple[str, str, str]:
        return (resource, "" if resource in CLUSTER_SCOPED else (ns or "default"), name)

    def _maybe_fail(self, verb: str, resource: str) -> None:
        n = self.fail.get((verb, resource), 0)
        if n:
            self.fail[(verb, resource)] = n - 1
            raise errors.service_unavailable("injected failure")

    async def _emit(self, resource: str, typ: str, obj: Obj) -> None:
        self.log.append((self.rv, resource, typ, copy.deepcopy(obj)))
        async with self.changed:
            self.changed.notify_all()

    def _bump(self, obj: Obj) -> None:
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)

    @staticmethod
    def _matches(obj: Obj, field_selector: str) -> bool:
        for term in filter(None, field_selector.split(",")):
            k, _, v = term.partition("=")
            cur: Any = obj
            for part in k.split("."):
                cur = cur.get(part) if isinstance(cur, dict) else None
            if (cur or "") != v:
                return False
        return True

    def items(self, resource: str) -> list[Obj]:
        return [copy.deepcopy(o) for (r, _, _), o in sorted(self.objs.items()) if r == resource]

    def peek(self, resource: str, name: str, namespace: str | None = None) -> Obj | None:
        o = self.objs.get(self._key(resource, namespace, name))
        return copy.deepcopy(o) if o is not None else None

    # ---- the APIClient surface ------------------------------------------------------

    async def create(self, resource: str, obj: Obj, namespace: str | None = None,
                     **_: Any) -> Obj:
        self.calls.append(("create", resource, (obj.get("metadata") or {}).get("name", "")))
        self._maybe_fail("create", resource)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        ns = namespace or meta.get("namespace")
        key = self._key(resource, ns, meta.get("name", ""))
        if key in self.objs:
            raise errors.already_exists(resource, key[2])
        if resource not in CLUSTER_SCOPED:
            meta["namespace"] = key[1]
        self.uid_seq += 1
        meta.setdefault("uid", f"uid-{resource}-{self.uid_seq}")
        meta.setdefault("creationTimestamp", rfc3339(time.time()))
        self._bump(obj)
        self.objs[key] = obj
        await self._emit(resource, "ADDED", obj)
        return copy.deepcopy(obj)

    async def get(self, resource: str, name: str, namespace: str | None = None) -> Obj:
        self.calls.append(("get", resource, name))
        self._maybe_fail("get", resource)
        o = self.objs.get(self._key(resource, namespace, name))
        if o is None:
            raise errors.not_found(resource, name)
        return copy.deepcopy(o)

    async def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> Obj:
        self.calls.append(("list", resource, ""))
        items = [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objs.items())
                 if r == resource and (not namespace or ns == namespace)
                 and self._matches(o, field_selector)]
        return {"kind": "List", "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    async def update(self, resource: str, obj: Obj, subresource: str = "",
                     namespace: str | None = None) -> Obj:
        meta = obj.get("metadata") or {}
        self.calls.append(("update" + (f"/{subresource}" if subresource else ""), resource,
                           meta.get("name", "")))
        self._maybe_fail("update", resource)
        key = self._key(resource, namespace or meta.get("namespace"), meta.get("name", ""))
        cur = self.objs.get(key)
        if cur is None:
            raise errors.not_found(resource, key[2])
        if meta.get("resourceVersion") and meta["resourceVersion"] != \
                cur["metadata"]["resourceVersion"] or self.conflicts.get(resource, 0):
            if self.conflicts.get(resource, 0):
                self.conflicts[resource] -= 1
            raise errors.conflict(resource, key[2])
        if subresource == "status":
            new = copy.deepcopy(cur)
            new["status"] = copy.deepcopy(obj.get("status"))
        else:
            new = copy.deepcopy(obj)
            if "status" in cur:
                new["status"] = copy.deepcopy(cur["status"])
            for k in ("uid", "creationTimestamp", "namespace", "deletionTimestamp"):
                if k in cur["metadata"]:
                    new["metadata"][k] = cur["metadata"][k]
        self._bump(new)
        self.objs[key] = new
        await self._emit(resource, "MODIFIED", new)
        return copy.deepcopy(new)

    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None,
                    patch_type: str = "merge", subresource: str = "") -> Obj:
        self.calls.append(("patch", resource, name))
        key = self._key(resource, namespace, name)
        cur = self.objs.get(key)
        if cur is None:
            raise errors.not_found(resource, name)
        new = _merge(cur, patch)
        self._bump(new)
        self.objs[key] = new
        await self._emit(resource, "MODIFIED", new)
        return copy.deepcopy(new)

    async def delete(self, resource: str, name: str, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions_uid: str | None = None) -> Obj:
        self.calls.append(("delete", resource, name))
        key = self._key(resource, namespace, name)
        cur = self.objs.get(key)
        if cur is None:
            raise errors.not_found(resource, name)
        if preconditions_uid and cur["metadata"].get("uid") != preconditions_uid:
            raise errors.conflict(resource, name, "the UID in the precondition does not match")
        if resource == "pods" and grace_period_seconds != 0 and cur.get("spec", {}).get(
                "nodeName"):
            if not cur["metadata"].get("deletionTimestamp"):
                grace = grace_period_seconds if grace_period_seconds is not None else \
                    cur["spec"].get("terminationGracePeriodSeconds", 30)
                new = copy.deepcopy(cur)
                new["metadata"]["deletionTimestamp"] = rfc3339(time.time() + grace)
                new["metadata"]["deletionGracePeriodSeconds"] = grace
                self._bump(new)
                self.objs[key] = new
                await self._emit(resource, "MODIFIED", new)
                return copy.deepcopy(new)
            return copy.deepcopy(cur)
        del self.objs[key]
        gone = copy.deepcopy(cur)
        self._bump(gone)
        await self._emit(resource, "DELETED", gone)
        return gone

    async def watch(self, resource: str, namespace: str | None = None,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", allow_bookmarks: bool = False
                    ) -> AsyncIterator[tuple[str, Obj]]:
        pos = int(resource_version or self.rv)
        while True:
            for rv, res, typ, obj in list(self.log):
                if rv <= pos or res != resource:
                    continue
                pos = rv
                if namespace and (obj.get("metadata") or {}).get("namespace") != namespace:
                    continue
                if self._matches(obj, field_selector):
                    yield typ, copy.deepcopy(obj)
            pos = max(pos, self.log[-1][0] if self.log else 0)
            async with self.changed:
                await self.changed.wait_for(lambda: bool(self.log) and self.log[-1][0] > pos)

    async def close(self) -> None:
        return None
