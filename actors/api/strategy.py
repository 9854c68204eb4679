"""Registry strategy hooks: what kube-apiserver's generic store does around validation (pure).

Upstream, every write goes through ``rest.BeforeCreate`` / ``rest.BeforeUpdate`` and the
resource's strategy.  These helpers reproduce the parts kubemu needs, mutating the object in
place; the apiserver calls them in this order:

create: ``ensure_namespace`` -> ``apply_defaults`` -> ``fill_system_fields`` (uid,
creationTimestamp, name from generateName) -> ``prepare_for_create`` -> ``validate``.

update: ``ensure_namespace`` -> ``apply_defaults`` -> ``prepare_for_update`` (or
``prepare_for_status_update`` for the ``status`` subresource) -> ``validate(obj, old)``.

* ``prepare_for_create``: status reset on create (Pods start ``Pending`` with their QoS class;
  Deployments/ReplicaSets/Services get an empty status; Namespaces ``Active`` with the
  ``kubernetes`` finalizer), ``generation: 1`` for apps kinds.
* ``prepare_for_update``: system fields copied from the stored object (generation, uid,
  creationTimestamp, deletion fields), the status of kinds with a status subresource kept
  (status is written only through ``/status``), ``generation`` bumped on spec changes
  (Deployments also on annotation changes), a Namespace's finalizers kept, and a Service's
  allocated ``clusterIP(s)``/node ports carried over when the update omits them.
* ``prepare_for_status_update``: the spec (and what upstream protects) copied from the stored
  object, so a status write cannot change anything else.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from actors.api.errors import bad_request
from actors.api.meta import generate_name, new_uid, qos_class
from actors.api.resources import ResourceInfo
from actors.common.clock import rfc3339

_WITH_STATUS = {"Pod", "ReplicaSet", "Deployment", "Service", "Namespace", "Node"}


def _kind(obj: dict[str, Any]) -> str:
    k = obj.get("kind")
    return k if isinstance(k, str) else ""


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def ensure_namespace(obj: dict[str, Any], info: ResourceInfo, request_namespace: str) -> None:
    """``EnsureObjectNamespaceMatchesRequestNamespace``: an unset namespace takes the request's,
    cluster-scoped objects lose theirs, a mismatch is ``400 BadRequest``."""
    m = _meta(obj)
    want = request_namespace if info.namespaced else ""
    have = m.get("namespace") or ""
    if have == want:
        return
    if not have:
        if want:
            m["namespace"] = want
        return
    if not want:
        m.pop("namespace", None)
        return
    raise bad_request("the namespace of the provided object does not match the namespace sent "
                      "on the request")


def fill_system_fields(obj: dict[str, Any], now: float, rng: random.Random) -> None:
    """``FillObjectMetaSystemFields`` + name generation: ``uid``, ``creationTimestamp`` and,
    when ``name`` is empty, a name from ``generateName``.  Clears ``resourceVersion`` and
    deletion fields a client may have sent."""
    m = _meta(obj)
    if not m.get("name") and m.get("generateName"):
        m["name"] = generate_name(str(m["generateName"]), rng)
    m["uid"] = new_uid(rng)
    m["creationTimestamp"] = rfc3339(now)
    for f in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        m.pop(f, None)


def prepare_for_create(obj: dict[str, Any]) -> None:
    kind = _kind(obj)
    m = _meta(obj)
    if kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}
    elif kind in ("Deployment", "ReplicaSet"):
        obj["status"] = {}
        m["generation"] = 1
    elif kind == "Service":
        obj["status"] = {"loadBalancer": {}}
    elif kind == "Namespace":
        obj["status"] = {"phase": "Active"}
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = {}
            obj["spec"] = spec
        fins = spec.get("finalizers")
        if not isinstance(fins, list):
            fins = []
        if "kubernetes" not in fins:
            fins.append("kubernetes")
        spec["finalizers"] = fins


def _keep_system_fields(obj: dict[str, Any], old: dict[str, Any]) -> None:
    m, o = _meta(obj), _d(old.get("metadata"))
    if "generation" in o:
        m["generation"] = o["generation"]
    else:
        m.pop("generation", None)
    if not m.get("uid") and o.get("uid"):
        m["uid"] = o["uid"]
    if o.get("creationTimestamp"):
        m["creationTimestamp"] = o["creationTimestamp"]
    for f in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        if o.get(f) is not None:
            m[f] = o[f]


def prepare_for_update(obj: dict[str, Any], old: dict[str, Any]) -> None:
    kind = _kind(obj)
    _keep_system_fields(obj, old)
    m, o = _meta(obj), _d(old.get("metadata"))
    if kind in _WITH_STATUS:
        if "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        else:
            obj.pop("status", None)
    if kind == "Deployment":
        if obj.get("spec") != old.get("spec") or m.get("annotations") != o.get("annotations"):
            m["generation"] = int(o.get("generation") or 0) + 1
    elif kind == "ReplicaSet":
        if obj.get("spec") != old.get("spec"):
            m["generation"] = int(o.get("generation") or 0) + 1
    elif kind == "Namespace":
        ospec = old.get("spec") or {}
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            if "finalizers" in ospec:
                spec["finalizers"] = copy.deepcopy(ospec["finalizers"])
            else:
                spec.pop("finalizers", None)
    elif kind == "Service":
        _keep_allocations(obj, old)


def _keep_allocations(obj: dict[str, Any], old: dict[str, Any]) -> None:
    spec, ospec = obj.get("spec"), old.get("spec") or {}
    if not isinstance(spec, dict):
        return
    if ospec.get("type") == "ExternalName" or spec.get("type") == "ExternalName":
        return
    if not spec.get("clusterIP") and ospec.get("clusterIP"):
        spec["clusterIP"] = ospec["clusterIP"]
    if not spec.get("clusterIPs") and ospec.get("clusterIPs"):
        spec["clusterIPs"] = copy.deepcopy(ospec["clusterIPs"])
    if spec.get("type") in ("NodePort", "LoadBalancer") and ospec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("protocol", "TCP"), p.get("port")): p.get("nodePort")
                     for p in ospec.get("ports") or [] if isinstance(p, dict)}
        for p in spec.get("ports") or []:
            if isinstance(p, dict) and not p.get("nodePort"):
                np_ = old_ports.get((p.get("protocol", "TCP"), p.get("port")))
                if np_:
                    p["nodePort"] = np_


def prepare_for_status_update(obj: dict[str, Any], old: dict[str, Any]) -> None:
    kind = _kind(obj)
    _keep_system_fields(obj, old)
    m, o = _meta(obj), _d(old.get("metadata"))
    if "spec" in old:
        obj["spec"] = copy.deepcopy(old["spec"])
    else:
        obj.pop("spec", None)
    if kind == "Pod":
        if "ownerReferences" in o:
            m["ownerReferences"] = copy.deepcopy(o["ownerReferences"])
        else:
            m.pop("ownerReferences", None)
    elif kind in ("Deployment", "ReplicaSet"):
        if "labels" in o:
            m["labels"] = copy.deepcopy(o["labels"])
        else:
            m.pop("labels", None)
