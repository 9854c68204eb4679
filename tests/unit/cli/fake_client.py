"""An in-memory stand-in for the apiserver client the CLI uses (the APIClient methods,
synchronous): objects keyed by resource/namespace/name, resourceVersions, uids,
label and field selectors, scripted watch events, and a few server-side checks."""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterator

from actors.api import errors, resources
from actors.api.errors import FieldError
from actors.common.clock import rfc3339

Obj = dict[str, Any]


def _get_path(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _parse_labels(sel: str) -> list[tuple[str, str, str]]:
    out = []
    for term in filter(None, (t.strip() for t in sel.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            out.append((k, "!=", v))
        elif "==" in term:
            k, v = term.split("==", 1)
            out.append((k, "=", v))
        elif "=" in term:
            k, v = term.split("=", 1)
            out.append((k, "=", v))
        elif term.startswith("!"):
            out.append((term[1:], "!", ""))
        else:
            out.append((term, "exists", ""))
    return out


def _labels_match(obj: Obj, sel: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for k, op, v in _parse_labels(sel):
        if op == "=" and labels.get(k) != v:
            return False
        if op == "!=" and labels.get(k) == v:
            return False
        if op == "!" and k in labels:
            return False
        if op == "exists" and k not in labels:
            return False
    return True


def _fields_match(obj: Obj, sel: str) -> bool:
    for term in filter(None, (t.strip() for t in sel.split(","))):
        neg = "!=" in term
        k, v = term.split("!=" if neg else "=", 1)
        have = _get_path(obj, k.lstrip("="))
        have_s = "" if have is None else str(have)
        if neg == (have_s == v):
            return False
    return True


class FakeClient:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.store: dict[tuple[str, str, str], Obj] = {}
        self.rv = itertools.count(100)
        self.uids = itertools.count(1)
        self.calls: list[tuple[str, Any]] = []
        self.watch_events: list[tuple[str, Any]] = []  # an exception object is raised
        self.closed = False
        # a delete marks pods Terminating for this many get() calls before they vanish
        self.pod_grace_gets = 0
        self._terminating: dict[tuple[str, str, str], int] = {}
        self.validators: list[Callable[[str, Obj], list[FieldError]]] = [_replicas_ok]

    # -------------------------------------------------------------- seeding

    def add(self, obj: Obj) -> Obj:
        info = resources.for_kind(obj["kind"])
        o = copy.deepcopy(obj)
        o.setdefault("apiVersion", info.api_version)
        m = o.setdefault("metadata", {})
        if info.namespaced:
            m.setdefault("namespace", "default")
        m.setdefault("uid", f"uid-{next(self.uids)}")
        m.setdefault("creationTimestamp", rfc3339(self.now))
        m["resourceVersion"] = str(next(self.rv))
        self.store[(info.plural, m.get("namespace", ""), m["name"])] = o
        return copy.deepcopy(o)

    def stored(self, resource: str, name: str, namespace: str | None = "default") -> Obj | None:
        return self.store.get((resource, namespace or "", name))

    # -------------------------------------------------------------- the client API

    def _info(self, resource: str) -> Any:
        return resources.RESOURCES[resource]

    def _key(self, resource: str, name: str, namespace: str | None) -> tuple[str, str, str]:
        info = self._info(resource)
        return (resource, (namespace or "default") if info.namespaced else "", name)

    def get(self, resource: str, name: str, namespace: str | None = None) -> Obj:
        self.calls.append(("get", (resource, namespace, name)))
        key = self._key(resource, name, namespace)
        if key not in self.store:
            raise errors.not_found(self._info(resource), name)
        if key in self._terminating:
            if self._terminating[key] <= 0:  # the kubelet has finished: gone
                del self._terminating[key]
                del self.store[key]
                raise errors.not_found(self._info(resource), name)
            self._terminating[key] -= 1
        return copy.deepcopy(self.store[key])

    def list_all(self, resource: str, namespace: str | None = None, label_selector: str = "",
                 field_selector: str = "", chunk_size: int = 500) -> Obj:
        return self.list(resource, namespace, label_selector, field_selector)

    def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
             field_selector: str = "", limit: int = 0, continue_: str = "") -> Obj:
        self.calls.append(("list", (resource, namespace, label_selector, field_selector)))
        info = self._info(resource)
        items = []
        for (res, ns, _name), obj in sorted(self.store.items()):
            if res != resource:
                continue
            if info.namespaced and namespace and ns != namespace:
                continue
            if label_selector and not _labels_match(obj, label_selector):
                continue
            if field_selector and not _fields_match(obj, field_selector):
                continue
            items.append(copy.deepcopy(obj))
        return {"apiVersion": info.api_version, "kind": info.list_kind,
                "metadata": {"resourceVersion": str(next(self.rv))}, "items": items}

    def _validate(self, resource: str, obj: Obj) -> None:
        info = self._info(resource)
        errs = [e for v in self.validators for e in v(resource, obj)]
        if errs:
            raise errors.invalid(info, obj["metadata"].get("name", ""), errs)

    def create(self, resource: str, obj: Obj, namespace: str | None = None) -> Obj:
        self.calls.append(("create", (resource, namespace, copy.deepcopy(obj))))
        info = self._info(resource)
        name = obj["metadata"]["name"]
        key = self._key(resource, name, namespace or obj["metadata"].get("namespace"))
        if key in self.store:
            raise errors.already_exists(info, name)
        self._validate(resource, obj)
        return self.add(obj)

    def update(self, resource: str, obj: Obj, subresource: str = "") -> Obj:
        self.calls.append(("update", (resource, copy.deepcopy(obj))))
        info = self._info(resource)
        m = obj["metadata"]
        key = self._key(resource, m["name"], m.get("namespace"))
        if key not in self.store:
            raise errors.not_found(info, m["name"])
        cur = self.store[key]
        if m.get("resourceVersion") != cur["metadata"]["resourceVersion"]:
            raise errors.conflict(info, m["name"])
        self._validate(resource, obj)
        new = copy.deepcopy(obj)
        if "status" in cur:
            new["status"] = copy.deepcopy(cur["status"])
        new["metadata"]["resourceVersion"] = str(next(self.rv))
        self.store[key] = new
        return copy.deepcopy(new)

    def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None,
              patch_type: str = "merge", subresource: str = "") -> Obj:
        self.calls.append(("patch", (resource, namespace, name, copy.deepcopy(patch))))
        info = self._info(resource)
        key = self._key(resource, name, namespace)
        if key not in self.store:
            raise errors.not_found(info, name)
        new = _merge(copy.deepcopy(self.store[key]), patch)
        self._validate(resource, new)
        new["metadata"]["resourceVersion"] = str(next(self.rv))
        self.store[key] = new
        return copy.deepcopy(new)

    def delete(self, resource: str, name: str, namespace: str | None = None,
               grace_period_seconds: int | None = None,
               propagation_policy: str | None = None) -> Obj:
        self.calls.append(("delete", (resource, namespace, name, grace_period_seconds,
                                      propagation_policy)))
        info = self._info(resource)
        key = self._key(resource, name, namespace)
        if key not in self.store:
            raise errors.not_found(info, name)
        obj = self.store[key]
        if resource == "pods" and self.pod_grace_gets and grace_period_seconds != 0:
            obj["metadata"]["deletionTimestamp"] = rfc3339(self.now)
            self._terminating[key] = self.pod_grace_gets
            return copy.deepcopy(obj)
        return copy.deepcopy(self.store.pop(key))

    def watch(self, resource: str, namespace: str | None = None, resource_version: str = "",
              label_selector: str = "", field_selector: str = "") -> Iterator[tuple[str, Obj]]:
        self.calls.append(("watch", (resource, namespace, resource_version, label_selector,
                                     field_selector)))
        for typ, obj in self.watch_events:
            if isinstance(obj, BaseException):
                raise obj
            yield typ, copy.deepcopy(obj)

    def close(self) -> None:
        self.closed = True


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = _merge(target.get(k), v)
    return target


def _replicas_ok(resource: str, obj: Obj) -> list[FieldError]:
    if resource in ("deployments", "replicasets"):
        r = (obj.get("spec") or {}).get("replicas")
        if isinstance(r, int) and r < 0:
            return [FieldError.invalid("spec.replicas", r, "must be greater than or equal to 0")]
    return []
