"""Per-kind REST strategies, pure: what the generic registry does to an object on
create, update and delete, kept free of I/O so it is unit-tested directly.

Mirrors k8s.io/apiserver's generic registry (`rest.BeforeCreate`, `rest.BeforeUpdate`,
`rest.BeforeDelete`, `Store.Delete`'s finalizer handling) and the strategies of
pkg/registry/... (PrepareForCreate / PrepareForUpdate / CheckGracefulDelete):

- create: system metadata (uid, creationTimestamp, generation 1), generateName, the
  status a kind starts with (Pod: Pending + qosClass; Deployment/ReplicaSet/Service:
  empty; Namespace: Active + the `kubernetes` finalizer; Node keeps what the kubelet
  registers);
- update: system metadata carried over from the stored object, the status subresource
  split (main resource keeps the old status, /status keeps the old spec and
  metadata), generation bumped when the spec changes, finalize for namespaces;
- delete: graceful deletion of pods (deletionTimestamp = now + grace), the garbage
  collector finalizers (orphan / foregroundDeletion) from the propagation policy,
  `markAsDeleting` for objects held by finalizers;
- pods/binding: nodeName set once, PodScheduled condition.

Time is a `now: float` argument; randomness an injected `random.Random`.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from actors.api import errors
from actors.api import meta as meta_util
from actors.api.resources import ResourceInfo
from actors.common.clock import parse_time, rfc3339

JSON = dict[str, Any]

# ---- names, keys, encoding ----------------------------------------------------------

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"
NAMESPACE_FINALIZER = "kubernetes"

PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")

# kinds whose Update creates the object when it does not exist (AllowCreateOnUpdate)
CREATE_ON_UPDATE = frozenset({"endpoints", "events", "leases", "services"})


def generate_name(base: str, rng: random.Random) -> str:
    """SimpleNameGenerator: base cut to 58 characters + 5 random characters."""
    return meta_util.generate_name(base, rng)


def new_uid(rng: random.Random) -> str:
    return meta_util.new_uid(rng)


def prefix(info: ResourceInfo, namespace: str | None = None) -> str:
    """`/registry/pods/` (all namespaces) or `/registry/pods/ns/`."""
    if info.namespaced and namespace:
        return f"/registry/{info.plural}/{namespace}/"
    return f"/registry/{info.plural}/"


def key(info: ResourceInfo, namespace: str | None, name: str) -> str:
    if info.namespaced:
        return f"/registry/{info.plural}/{namespace}/{name}"
    return f"/registry/{info.plural}/{name}"


def encode(obj: JSON) -> bytes:
    """Stored form: the object without metadata.resourceVersion (the store's mod_revision is)."""
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in meta.items() if k != "resourceVersion"}
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


def decode(value: bytes, revision: int) -> JSON:
    obj: JSON = json.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def meta(obj: JSON) -> JSON:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def parse_rv(rv: Any, field: str = "resourceVersion") -> int:
    """A resourceVersion string to an int; BadRequest when it is not one."""
    if rv in (None, ""):
        return 0
    try:
        n = int(str(rv))
    except ValueError:
        raise errors.bad_request(f'invalid {field}: "{rv}"') from None
    if n < 0:
        raise errors.bad_request(f'invalid {field}: "{rv}"')
    return n


def strip_rv(obj: JSON) -> JSON:
    out = dict(obj)
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items()
                       if k != "resourceVersion"}
    return out


def pod_qos_class(pod: JSON) -> str:
    return meta_util.qos_class(pod)


# ---- create ---------------------------------------------------------------------------


def prepare_for_create(info: ResourceInfo, obj: JSON, *, namespace: str | None, now: float,
                       rng: random.Random) -> None:
    """rest.BeforeCreate + the kind's PrepareForCreate (mutates `obj`).

    Raises BadRequest for a namespace mismatch or a resourceVersion set on create.
    """
    m = meta(obj)
    obj["apiVersion"] = info.api_version
    obj["kind"] = info.kind
    if info.namespaced:
        ns = m.get("namespace") or ""
        if namespace and ns and ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match "
                                     "the namespace sent on the request")
        m["namespace"] = ns or namespace or "default"
    else:
        m.pop("namespace", None)
    if m.get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    if not m.get("name") and m.get("generateName"):
        m["name"] = generate_name(m["generateName"], rng)
    m["uid"] = new_uid(rng)
    m["creationTimestamp"] = rfc3339(now)
    m["generation"] = 1
    for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        m.pop(k, None)
    plural = info.plural
    if plural == "pods":
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj)}
    elif plural in ("deployments",):
        obj["status"] = {}
    elif plural == "replicasets":
        obj["status"] = {"replicas": 0}
    elif plural == "services":
        obj["status"] = {"loadBalancer": {}}
    elif plural == "namespaces":
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {})
        fins = list(spec.get("finalizers") or [])
        if NAMESPACE_FINALIZER not in fins:
            fins.append(NAMESPACE_FINALIZER)
        spec["finalizers"] = fins


# ---- update ---------------------------------------------------------------------------


def check_update_target(info: ResourceInfo, obj: JSON, namespace: str | None,
                        name: str) -> None:
    """The body names the object the request is for (rest.BeforeUpdate's checks)."""
    m = meta(obj)
    body_name = m.get("name") or ""
    if body_name and body_name != name:
        raise errors.bad_request(f"the name of the object ({body_name}) does not match the "
                                 f"name on the URL ({name})")
    m["name"] = name
    if info.namespaced:
        ns = m.get("namespace") or ""
        if ns and namespace and ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match "
                                     "the namespace sent on the request")
        m["namespace"] = ns or namespace or ""
    else:
        m.pop("namespace", None)


def prepare_for_update(info: ResourceInfo, new: JSON, old: JSON, subresource: str = "") -> JSON:
    """The object to store for an update of `old` with `new` (neither is mutated).

    - "" (main resource): the body, with the old status (when the kind has a status
      subresource) and the old system metadata; generation + 1 when the spec changed.
    - "status": the old object with the body's status.
    - "finalize" (namespaces): the old object with the body's spec.finalizers.
    The result carries the body's resourceVersion (the precondition, checked later).
    """
    new_meta = new.get("metadata") or {}
    if subresource == "status":
        out = copy.deepcopy(old)
        if "status" in new:
            out["status"] = copy.deepcopy(new["status"])
        else:
            out.pop("status", None)
    elif subresource == "finalize":
        out = copy.deepcopy(old)
        fins = ((new.get("spec") or {}).get("finalizers")) or []
        out.setdefault("spec", {})["finalizers"] = list(fins)
    else:
        out = copy.deepcopy(new)
        out["apiVersion"] = info.api_version
        out["kind"] = info.kind
        if info.has_status:
            if "status" in old:
                out["status"] = copy.deepcopy(old["status"])
            else:
                out.pop("status", None)
        if info.plural == "namespaces":
            # spec.finalizers change only through /finalize
            old_fins = (old.get("spec") or {}).get("finalizers")
            spec = out.setdefault("spec", {})
            if old_fins is None:
                spec.pop("finalizers", None)
            else:
                spec["finalizers"] = list(old_fins)
    om = old.get("metadata") or {}
    m = meta(out)
    for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
              "generation"):
        if k in om:
            m[k] = om[k]
        else:
            m.pop(k, None)
    if "uid" not in m and new_meta.get("uid"):
        m["uid"] = new_meta["uid"]
    m.pop("selfLink", None)
    # managedFields: the writer's when it sent them (the field manager recomputed them),
    # else the stored ones, as upstream's field manager keeps the live object's
    if not m.get("managedFields"):
        if om.get("managedFields"):
            m["managedFields"] = om["managedFields"]
        else:
            m.pop("managedFields", None)
    if new_meta.get("resourceVersion"):
        m["resourceVersion"] = new_meta["resourceVersion"]
    else:
        m.pop("resourceVersion", None)
    if subresource == "" and "generation" in om:
        changed = out.get("spec") != old.get("spec")
        if info.plural == "deployments":  # the deployment strategy also counts annotations
            changed = changed or m.get("annotations") != om.get("annotations")
        if changed:
            m["generation"] = int(om["generation"]) + 1
    if subresource == "" and info.plural == "services":
        keep_service_allocations(out, old)
    return out


def keep_service_allocations(new: JSON, old: JSON) -> None:
    """An update that omits the allocated clusterIP(s) / nodePorts keeps them."""
    spec, ospec = new.get("spec"), old.get("spec") or {}
    if not isinstance(spec, dict) or "ExternalName" in (spec.get("type"), ospec.get("type")):
        return
    if not spec.get("clusterIP") and not spec.get("clusterIPs") and ospec.get("clusterIP"):
        spec["clusterIP"] = ospec["clusterIP"]
        spec["clusterIPs"] = list(ospec.get("clusterIPs") or [ospec["clusterIP"]])
    if spec.get("type") in NODE_PORT_TYPES and ospec.get("type") in NODE_PORT_TYPES:
        old_ports = {(p.get("protocol") or "TCP", p.get("port")): p.get("nodePort")
                     for p in ospec.get("ports") or [] if isinstance(p, dict)}
        for p in spec.get("ports") or []:
            if isinstance(p, dict) and not p.get("nodePort"):
                np_ = old_ports.get((p.get("protocol") or "TCP", p.get("port")))
                if np_:
                    p["nodePort"] = np_


# ---- service allocations (the service registry's IP and port allocators) -----------------

SERVICE_CIDR = "10.96.0.0/12"
NODE_PORT_RANGE = (30000, 32767)
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def allocate_service(svc: JSON, used_ips: set[str], used_ports: set[int],
                     rng: random.Random, service_cidr: str = SERVICE_CIDR,
                     node_ports: tuple[int, int] = NODE_PORT_RANGE) -> list[Any]:
    """Fill spec.clusterIP(s) and the nodePorts a Service needs, from what other Services
    do not use (random picks, as upstream's bitmap allocators). Returns FieldErrors for
    requested values that are taken or out of range (mutates `svc` otherwise).

    The first address of the range is left for the `kubernetes` Service, as upstream.
    """
    import ipaddress

    from actors.api.errors import FieldError, GoRepr

    errs: list[Any] = []
    spec = svc.get("spec")
    if not isinstance(spec, dict) or spec.get("type") == "ExternalName":
        return errs
    net = ipaddress.ip_network(service_cidr)
    cip = spec.get("clusterIP") or ""
    if not cip:
        size = net.num_addresses - 3  # network, broadcast, the kubernetes Service
        for _ in range(10_000):
            ip = str(net.network_address + 2 + rng.randrange(size))
            if ip not in used_ips:
                break
        else:
            errs.append(FieldError("Internal error", "spec.clusterIPs", None,
                                   "failed to allocate a serviceIP: range is full"))
            return errs
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
    elif cip != "None":
        shown = GoRepr("[]string{" + ", ".join(f'"{x}"' for x in
                                               (spec.get("clusterIPs") or [cip])) + "}")
        try:
            inside = ipaddress.ip_address(cip) in net
        except ValueError:
            inside = True  # validation reports the malformed address
        if not inside:
            errs.append(FieldError("Invalid value", "spec.clusterIPs", shown,
                                   f"failed to allocate IP {cip}: the provided IP ({cip}) is "
                                   f"not in the valid range. The range of valid IPs is "
                                   f"{service_cidr}"))
        elif cip in used_ips:
            errs.append(FieldError("Invalid value", "spec.clusterIPs", shown,
                                   f"failed to allocate IP {cip}: provided IP is already "
                                   f"allocated"))
    if spec.get("type") in NODE_PORT_TYPES:
        lo, hi = node_ports
        taken = set(used_ports)
        for i, p in enumerate(spec.get("ports") or []):
            if not isinstance(p, dict):
                continue
            np_ = p.get("nodePort")
            if np_:
                if not lo <= int(np_) <= hi:
                    errs.append(FieldError("Invalid value", f"spec.ports[{i}].nodePort", np_,
                                           f"provided port is not in the valid range. The "
                                           f"range of valid ports is {lo}-{hi}"))
                elif int(np_) in taken:
                    errs.append(FieldError("Invalid value", f"spec.ports[{i}].nodePort", np_,
                                           "provided port is already allocated"))
                taken.add(int(np_))
                continue
            free = [x for x in range(lo, hi + 1) if x not in taken]
            if not free:
                errs.append(FieldError("Internal error", f"spec.ports[{i}].nodePort", None,
                                       "failed to allocate a nodePort: range is full"))
                continue
            p["nodePort"] = rng.choice(free)
            taken.add(p["nodePort"])
    return errs


def needs_allocation(svc: JSON) -> bool:
    """A cluster IP or a nodePort is still to be picked."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return False
    if not spec.get("clusterIP"):
        return True
    return spec.get("type") in NODE_PORT_TYPES and any(
        isinstance(p, dict) and not p.get("nodePort") for p in spec.get("ports") or [])


def service_allocations(svc: JSON) -> tuple[set[str], set[int]]:
    """The cluster IPs and node ports a stored Service holds."""
    spec = svc.get("spec") or {}
    ips = {ip for ip in (spec.get("clusterIPs") or [spec.get("clusterIP")])
           if ip and ip != "None"}
    ports = {int(p["nodePort"]) for p in spec.get("ports") or []
             if isinstance(p, dict) and p.get("nodePort")}
    return ips, ports


def uid_mismatch(new: JSON, old: JSON) -> bool:
    nu = (new.get("metadata") or {}).get("uid")
    ou = (old.get("metadata") or {}).get("uid")
    return bool(nu) and nu != ou


def same_object(a: JSON, b: JSON) -> bool:
    """Equal apart from resourceVersion: an update that changes nothing is not written."""
    return strip_rv(a) == strip_rv(b)


def should_delete_during_update(new: JSON, old: JSON) -> bool:
    """registry.ShouldDeleteDuringUpdate: the last finalizer of an object being deleted
    without grace is gone, so the update deletes it (a namespace also needs empty
    spec.finalizers: ShouldDeleteNamespaceDuringUpdate)."""
    if (new.get("metadata") or {}).get("finalizers"):
        return False
    if new.get("kind") == "Namespace" and (new.get("spec") or {}).get("finalizers"):
        return False
    om = old.get("metadata") or {}
    if not om.get("deletionTimestamp"):
        return False
    return not om.get("deletionGracePeriodSeconds")


# ---- delete ---------------------------------------------------------------------------


def check_graceful_delete(info: ResourceInfo, obj: JSON, grace: int | None) -> int | None:
    """The kind's CheckGracefulDelete: the grace period to use, None when the kind has
    no graceful deletion (everything but pods)."""
    if info.plural != "pods":
        return None
    spec = obj.get("spec") or {}
    if grace is not None:
        period = grace
    else:
        period = int(spec.get("terminationGracePeriodSeconds") or 0)
    if not spec.get("nodeName"):
        period = 0  # not scheduled: nothing to stop
    if (obj.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
        period = 0  # already terminated
    if period < 0:
        period = 1
    return period


def before_delete(info: ResourceInfo, obj: JSON, grace: int | None, now: float
                  ) -> tuple[bool, bool, int]:
    """rest.BeforeDelete: (graceful, graceful_pending, period); mutates `obj` when graceful.

    graceful_pending: a graceful deletion is already under way with a grace period no
    longer than the one asked for -- nothing to do.
    """
    if grace is not None and grace < 0:
        grace = 1
    m = meta(obj)
    dgps = m.get("deletionGracePeriodSeconds")
    if dgps is not None and dgps < 0:
        m["deletionGracePeriodSeconds"] = dgps = 1
    if info.plural != "pods":
        return False, False, 0
    if m.get("deletionTimestamp"):
        if not dgps:
            return False, False, 0
        if grace is None:
            return False, True, int(dgps)
        period = grace
        if period >= dgps:
            return False, True, period
        ts = parse_time(m["deletionTimestamp"]) - dgps + period
        if ts < now:
            ts = now
            if period != 0:
                period = 1
        m["deletionTimestamp"] = rfc3339(ts)
        m["deletionGracePeriodSeconds"] = period
        return True, False, period
    p = check_graceful_delete(info, obj, grace)
    if p is None:
        return False, False, 0
    m["deletionTimestamp"] = rfc3339(now + p)
    m["deletionGracePeriodSeconds"] = p
    if m.get("generation"):
        m["generation"] = int(m["generation"]) + 1
    return True, False, p


def gc_finalizers(obj: JSON, propagation_policy: str | None) -> tuple[bool, list[str]]:
    """deletionFinalizersForGarbageCollection: the finalizers after applying the policy
    (Orphan → `orphan`, Foreground → `foregroundDeletion`, Background → neither; unset →
    keep what the object says). Default policy of every served kind: Background."""
    fins = list((obj.get("metadata") or {}).get("finalizers") or [])
    if propagation_policy == "Orphan":
        orphan, foreground = True, False
    elif propagation_policy == "Foreground":
        orphan, foreground = False, True
    elif propagation_policy == "Background":
        orphan, foreground = False, False
    else:
        orphan = foreground = False
        for f in fins:
            if f == FINALIZER_ORPHAN:
                orphan = True
                break
            if f == FINALIZER_FOREGROUND:
                foreground = True
                break
    new = [f for f in fins if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
    if orphan:
        new.append(FINALIZER_ORPHAN)
    if foreground:
        new.append(FINALIZER_FOREGROUND)
    if set(new) == set(fins):
        return False, fins
    return True, new


def mark_as_deleting(obj: JSON, now: float) -> None:
    """An object held by finalizers: deletionTimestamp (not later than now), grace 0."""
    m = meta(obj)
    if not m.get("deletionTimestamp") and m.get("generation"):
        m["generation"] = int(m["generation"]) + 1
    ts = m.get("deletionTimestamp")
    if not ts or parse_time(ts) > now:
        m["deletionTimestamp"] = rfc3339(now)
    m["deletionGracePeriodSeconds"] = 0


def validate_delete_options(propagation_policy: str | None) -> None:
    if propagation_policy and propagation_policy not in PROPAGATION_POLICIES:
        from actors.api.errors import FieldError

        raise errors.invalid("DeleteOptions.meta.k8s.io", "", [FieldError(
            "Unsupported value", "propagationPolicy", propagation_policy,
            'supported values: "Foreground", "Background", "Orphan", "nil"')])


def namespace_terminate(obj: JSON, propagation_policy: str | None, now: float) -> None:
    """The namespace registry's first Delete: deletionTimestamp + phase Terminating."""
    m = meta(obj)
    if not m.get("deletionTimestamp"):
        m["deletionTimestamp"] = rfc3339(now)
    obj.setdefault("status", {})["phase"] = "Terminating"
    changed, fins = gc_finalizers(obj, propagation_policy)
    if changed:
        m["finalizers"] = fins


# ---- pods/binding ---------------------------------------------------------------------


def bind_pod(info: ResourceInfo, pod: JSON, binding: JSON, now: float) -> JSON:
    """BindingREST.setPodHostAndAnnotations: the pod with spec.nodeName set."""
    name = (pod.get("metadata") or {}).get("name", "")
    target = binding.get("target") or {}
    node = target.get("name") or ""
    from actors.api.errors import FieldError

    if target.get("kind") not in (None, "", "Node"):
        raise errors.invalid("Binding", name, [FieldError(
            "Invalid value", "target.kind", target.get("kind"), "must be empty or 'Node'")])
    if not node:
        raise errors.invalid("Binding", name, [FieldError(
            "Required value", "target.name", None, "")])
    bm = binding.get("metadata") or {}
    pm = pod.get("metadata") or {}
    if bm.get("uid") and bm["uid"] != pm.get("uid"):
        raise errors.conflict(info, name, f"Precondition failed: UID in precondition: "
                                          f"{bm['uid']}, UID in object meta: {pm.get('uid')}")
    if pm.get("deletionTimestamp"):
        raise errors.conflict(f"{info.plural}/binding", name,
                              f"pod {name} is being deleted, cannot be assigned to a host")
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        raise errors.conflict(f"{info.plural}/binding", name,
                              f'pod {name} is already assigned to node "{spec["nodeName"]}"')
    out = copy.deepcopy(pod)
    out.setdefault("spec", {})["nodeName"] = node
    ann = bm.get("annotations") or {}
    if ann:
        out["metadata"].setdefault("annotations", {}).update(ann)
    status = out.setdefault("status", {})
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == "PodScheduled":
            if c.get("status") != "True":
                c["status"] = "True"
                c["lastTransitionTime"] = rfc3339(now)
            c.pop("reason", None)
            c.pop("message", None)
            break
    else:
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": rfc3339(now)})
    return out


def success_status(code: int = 201, details: JSON | None = None) -> JSON:
    st: JSON = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": code}
    if details:
        st["details"] = details
    return st
