"""The garbage collector (upstream pkg/controller/garbagecollector), pure.

Deleting an owner deletes its dependents (objects listing it in
``metadata.ownerReferences``), in one of three modes chosen by the deleter's
propagationPolicy (the apiserver turns it into finalizers):

- **background** — the owner is gone at once; every dependent whose owners are all
  absent is deleted (``attemptToDeleteItem``: dangling references are confirmed with a
  live GET — the action's ``if_absent`` — before acting, as upstream does);
- **foreground** — the owner keeps ``deletionTimestamp`` + the ``foregroundDeletion``
  finalizer while its dependents are deleted (those with their own dependents in
  foreground too); once no dependent with ``blockOwnerDeletion: true`` is left the
  finalizer is removed and the apiserver finishes the delete;
- **orphan** — the owner has the ``orphan`` finalizer: the ownerReferences to it are
  removed from its dependents, then the finalizer.

Keys are ``<resource>/<namespace>/<name>`` (namespace empty for cluster-scoped
objects). The event handler keeps upstream's graph in its simplest form — which
objects reference which owner uid — only to know whom to wake: dependents when an
owner disappears or starts deleting, owners when a dependent goes away. The reconcile
reads everything else from the informer caches. Owners of kinds the collector does not
watch are checked only live (an owner that still exists ends the check).
"""

from __future__ import annotations

import random
from typing import Any, Mapping

from actors.api import resources as _res

from . import util as u
from .loop import Action, BaseController, Result, View, WatchEvent, register

FOREGROUND = "foregroundDeletion"  # metav1.FinalizerDeleteDependents
ORPHAN = "orphan"  # metav1.FinalizerOrphanDependents
# everything served that may carry ownerReferences (a node's Lease is owned by its Node)
DEFAULT_RESOURCES = ("pods", "replicasets", "deployments", "configmaps", "secrets", "services",
                     "endpoints", "nodes", "leases")

Obj = dict[str, Any]

# ---- detect --------------------------------------------------------------------------------


def gc_key(resource: str, o: Mapping[str, Any]) -> str:
    return f"{resource}/{u.namespace(o)}/{u.name(o)}"


def split_gc_key(key: str) -> tuple[str, str, str]:
    resource, ns, name = key.split("/", 2)
    return resource, ns, name


def owner_resource(ref: Mapping[str, Any]) -> _res.ResourceInfo | None:
    """The served resource of an ownerReference (apiVersion must match), else None."""
    try:
        info = _res.for_kind(str(ref.get("kind") or ""))
    except KeyError:
        return None
    if ref.get("apiVersion") and ref.get("apiVersion") != info.api_version:
        return None
    return info


def is_deleting_dependents(o: Mapping[str, Any]) -> bool:
    return u.deletion_timestamp(o) is not None and FOREGROUND in u.finalizers(o)


def classify(o: Mapping[str, Any], view: View, watched: tuple[str, ...]
             ) -> tuple[list[Obj], list[Obj], list[Obj], list[Obj]]:
    """classifyReferences over the cache: (solid, dangling, waitingForDependentsDeletion,
    unknown) — unknown = owners of unwatched kinds, to be checked live."""
    solid, dangling, waiting, unknown = [], [], [], []
    for ref in u.owner_references(o):
        info = owner_resource(ref)
        if info is None:
            solid.append(ref)  # a kind we cannot resolve: leave the object alone
            continue
        if info.namespaced and not u.namespace(o):
            solid.append(ref)  # a namespaced owner of a cluster-scoped object: invalid, ignore
            continue
        if info.plural not in watched:
            unknown.append(ref)
            continue
        ns = u.namespace(o) if info.namespaced else ""
        owner = view.get(info.plural, ns, str(ref.get("name") or ""))
        if owner is None or u.uid(owner) != ref.get("uid"):
            dangling.append(ref)
        elif is_deleting_dependents(owner):
            waiting.append(ref)
        else:
            solid.append(ref)
    return solid, dangling, waiting, unknown


def dependents(owner: Mapping[str, Any], view: View, watched: tuple[str, ...]
               ) -> list[tuple[str, Obj]]:
    """(resource, object) of everything referencing the owner's uid."""
    ouid = u.uid(owner)
    ns = u.namespace(owner) or None
    out = []
    for res in watched:
        for o in view.list(res, ns):
            if any(r.get("uid") == ouid for r in u.owner_references(o)):
                out.append((res, o))
    return out


def blocks(dep: Mapping[str, Any], owner_uid: str) -> bool:
    return any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion")
               for r in u.owner_references(dep))


def _absent_checks(o: Mapping[str, Any], refs: list[Obj]) -> list[dict[str, str]]:
    out = []
    for ref in refs:
        info = owner_resource(ref)
        if info is None:
            continue
        out.append({"resource": info.plural, "namespace": u.namespace(o) if info.namespaced else "",
                    "name": str(ref.get("name") or ""), "uid": str(ref.get("uid") or "")})
    return out


def remove_finalizer_patch(o: Mapping[str, Any], fin: str) -> list[dict[str, Any]]:
    fins = u.finalizers(o)
    return [{"op": "test", "path": "/metadata/uid", "value": u.uid(o)},
            {"op": "test", "path": "/metadata/finalizers", "value": fins},
            {"op": "replace", "path": "/metadata/finalizers", "value": [f for f in fins if f != fin]}]


def unblock_patch(o: Mapping[str, Any]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": u.uid(o)}]
    for i, r in enumerate(u.owner_references(o)):
        if r.get("blockOwnerDeletion"):
            ops.append({"op": "test", "path": f"/metadata/ownerReferences/{i}/uid", "value": r["uid"]})
            ops.append({"op": "replace", "path": f"/metadata/ownerReferences/{i}/blockOwnerDeletion",
                        "value": False})
    return ops


# ---- act ------------------------------------------------------------------------------------


class GarbageCollector(BaseController):
    name = "garbagecollector"
    component = "garbage-collector-controller"

    def __init__(self, resources: tuple[str, ...] = DEFAULT_RESOURCES) -> None:
        self.watches = tuple(resources)
        self._deps: dict[str, set[str]] = {}  # owner uid -> dependent keys
        self._refs: dict[str, dict[str, bool]] = {}  # dependent key -> {owner uid: blocking}
        self._keys: dict[str, str] = {}  # uid -> key

    # -- the graph builder --
    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        o = ev.obj
        key = gc_key(ev.resource, o)
        oid = u.uid(o)
        wake: list[str] = []
        old_refs = self._refs.get(key, {})
        if ev.type == "DELETED":
            wake += sorted(self._deps.get(oid, ()))  # their owner is gone
            wake += [k for ou in old_refs if (k := self._keys.get(ou)) is not None]
            self._set_refs(key, {})
            if self._keys.get(oid) == key:
                del self._keys[oid]
            return [(k, 0.0) for k in dict.fromkeys(wake)]
        self._keys[oid] = key
        new_refs = {str(r.get("uid")): bool(r.get("blockOwnerDeletion"))
                    for r in u.owner_references(o)}
        self._set_refs(key, new_refs)
        old = ev.old or {}
        deleting = u.deletion_timestamp(o) is not None
        was_deleting = ev.type == "MODIFIED" and u.deletion_timestamp(old) is not None
        fins_changed = ev.type == "ADDED" or u.finalizers(old) != u.finalizers(o)
        if new_refs and (ev.type == "ADDED" or new_refs != old_refs):
            wake.append(key)  # check its owners
        if deleting and (ORPHAN in u.finalizers(o) or FOREGROUND in u.finalizers(o)) and \
                (fins_changed or not was_deleting):
            wake.append(key)
        if deleting and not was_deleting and FOREGROUND in u.finalizers(o):
            wake += sorted(self._deps.get(oid, ()))  # attemptToDelete every dependent
        for ou, blocking in old_refs.items():  # references dropped or unblocked
            if ou not in new_refs or (blocking and not new_refs[ou]):
                if (k := self._keys.get(ou)) is not None:
                    wake.append(k)
        return [(k, 0.0) for k in dict.fromkeys(wake)]

    def _set_refs(self, key: str, refs: dict[str, bool]) -> None:
        for ou in self._refs.get(key, {}):
            if ou not in refs:
                s = self._deps.get(ou)
                if s is not None:
                    s.discard(key)
                    if not s:
                        del self._deps[ou]
        for ou in refs:
            self._deps.setdefault(ou, set()).add(key)
        if refs:
            self._refs[key] = refs
        else:
            self._refs.pop(key, None)

    # -- reconcile --
    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        resource, ns, name = split_gc_key(key)
        o = view.get(resource, ns, name)
        if o is None:
            return [], Result()
        if u.deletion_timestamp(o) is not None:
            if ORPHAN in u.finalizers(o):
                return self._orphan(resource, o, view), Result()
            if FOREGROUND in u.finalizers(o):
                return self._deleting_dependents(resource, o, view)
            return [], Result()  # one-way trip: wait for the delete, then wake dependents
        return self._attempt_to_delete(resource, o, view), Result()

    def _attempt_to_delete(self, resource: str, o: Obj, view: View) -> list[Action]:
        if not u.owner_references(o):
            return []
        solid, dangling, waiting, unknown = classify(o, view, self.watches)
        ns, name = u.namespace(o), u.name(o)
        if solid:
            if not dangling and not waiting:
                return []
            # drop the references to absent owners and to owners deleting in foreground
            # (else those owners would wait for this object forever)
            drop = [str(r.get("uid")) for r in (*dangling, *waiting)]
            return [Action("patch", resource, ns, name, options={
                "patch": u.remove_owner_patch(o, drop), "patch_type": "json",
                "if_absent": _absent_checks(o, dangling)}, tolerate=(404, 412))]
        if unknown and not dangling and not waiting:
            # every owner is of a kind we do not watch: delete only if all are really gone
            return [Action("delete", resource, ns, name, options={
                "propagation_policy": self._policy(o), "preconditions_uid": u.uid(o),
                "if_absent": _absent_checks(o, unknown)}, tolerate=(404, 412))]
        if waiting and dependents(o, view, self.watches):
            actions = []
            if any(is_deleting_dependents(d) for _, d in dependents(o, view, self.watches)):
                # a possible cycle: stop blocking the owners, then delete in foreground
                actions.append(Action("patch", resource, ns, name, options={
                    "patch": unblock_patch(o), "patch_type": "json"}, tolerate=(404,)))
            actions.append(Action("delete", resource, ns, name, options={
                "propagation_policy": "Foreground", "preconditions_uid": u.uid(o),
                "if_absent": _absent_checks(o, [*dangling, *unknown])}, tolerate=(404, 412)))
            return actions
        return [Action("delete", resource, ns, name, options={
            "propagation_policy": self._policy(o), "preconditions_uid": u.uid(o),
            "if_absent": _absent_checks(o, [*dangling, *unknown])}, tolerate=(404, 412))]

    @staticmethod
    def _policy(o: Mapping[str, Any]) -> str:
        """Honor a finalizer already on the object, else background."""
        if ORPHAN in u.finalizers(o):
            return "Orphan"
        if FOREGROUND in u.finalizers(o):
            return "Foreground"
        return "Background"

    def _deleting_dependents(self, resource: str, o: Obj,
                             view: View) -> tuple[list[Action], Result]:
        """processDeletingDependentsItem."""
        oid = u.uid(o)
        blocking = [(r, d) for r, d in dependents(o, view, self.watches) if blocks(d, oid)]
        if not blocking:
            return [Action("patch", resource, u.namespace(o), u.name(o), options={
                "patch": remove_finalizer_patch(o, FOREGROUND), "patch_type": "json"},
                tolerate=(404,))], Result()
        return [], Result(enqueue=[gc_key(r, d) for r, d in blocking
                                   if not is_deleting_dependents(d)])

    def _orphan(self, resource: str, o: Obj, view: View) -> list[Action]:
        """orphanDependents, then remove the orphan finalizer."""
        oid = u.uid(o)
        actions = [Action("patch", r, u.namespace(d), u.name(d), options={
            "patch": u.remove_owner_patch(d, [oid]), "patch_type": "json"}, batch=0,
            tolerate=(404,)) for r, d in dependents(o, view, self.watches)]
        actions.append(Action("patch", resource, u.namespace(o), u.name(o), options={
            "patch": remove_finalizer_patch(o, ORPHAN), "patch_type": "json"}, tolerate=(404,)))
        return actions


@register("garbagecollector")
def _new(config: dict[str, Any]) -> GarbageCollector:
    res = config.get("gcResources")
    return GarbageCollector(tuple(res) if res else DEFAULT_RESOURCES)
