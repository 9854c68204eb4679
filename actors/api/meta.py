"""Object helpers shared by the apiserver, controllers, scheduler and kubelet (pure).

* Keys and names: ``key(ns, name)`` is client-go's ``MetaNamespaceKeyFunc`` (``ns/name``, or
  ``name`` for cluster-scoped objects); ``generate_name(prefix, rng)`` is the apiserver's
  ``SimpleNameGenerator`` (prefix cut to 58 characters + 5 characters from
  ``bcdfghjklmnpqrstvwxz2456789``); ``new_uid(rng)`` a version-4 UUID drawn from ``rng``.
* Ownership: ``owner_reference`` builds a controller ref (``metav1.NewControllerRef``),
  ``get_controller_of`` / ``is_controlled_by`` read them.
* Pods: readiness, termination, availability (``podutil.IsPodAvailable``), the requests the
  scheduler accounts (``pod_requests``: containers summed, then the max with each init
  container -- sidecars, i.e. init containers with ``restartPolicy: Always``, add up -- plus
  ``overhead``), QoS class, and taint toleration (``tolerates``, ``Toleration.ToleratesTaint``).

Objects are plain dicts; time is passed in (``now``), never read.
"""

from __future__ import annotations

import random
import uuid
from typing import Any, Iterable, Mapping

from actors.api.quantity import cpu_millis, parse_quantity, value
from actors.common.clock import parse_time

NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_NAME_LENGTH = 63
RANDOM_LENGTH = 5
MAX_GENERATED_NAME_LENGTH = MAX_NAME_LENGTH - RANDOM_LENGTH

# scheduler's non-zero defaults for pods without requests (scoring only)
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


# -- keys and names ------------------------------------------------------------------------------

def key(ns: str | None, name: str) -> str:
    """``ns/name``, or ``name`` when ``ns`` is empty."""
    return f"{ns}/{name}" if ns else name


def split_key(k: str) -> tuple[str, str]:
    """Inverse of ``key``: ``("ns", "name")`` or ``("", "name")``."""
    ns, sep, name = k.partition("/")
    return (ns, name) if sep else ("", ns)


def key_of(obj: Mapping[str, Any]) -> str:
    m = obj.get("metadata") or {}
    return key(m.get("namespace") or "", str(m.get("name") or ""))


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def uid_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's labels (``{}`` when unset)."""
    lab = (obj.get("metadata") or {}).get("labels")
    return dict(lab) if isinstance(lab, Mapping) else {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    ann = (obj.get("metadata") or {}).get("annotations")
    return dict(ann) if isinstance(ann, Mapping) else {}


def new_uid(rng: random.Random) -> str:
    """A random (version 4) UUID string drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_suffix(rng: random.Random, n: int = RANDOM_LENGTH) -> str:
    """``utilrand.String(n)``."""
    return "".join(rng.choice(NAME_SUFFIX_ALPHABET) for _ in range(n))


def generate_name(prefix: str, rng: random.Random) -> str:
    """``SimpleNameGenerator.GenerateName``: ``web-7d4b9-`` -> ``web-7d4b9-x2k9q``."""
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[:MAX_GENERATED_NAME_LENGTH]
    return prefix + random_suffix(rng)


# -- owners ----------------------------------------------------------------------------------------

def owner_reference(owner: Mapping[str, Any], controller: bool = True,
                    block_owner_deletion: bool = True) -> dict[str, Any]:
    """An ownerReference to ``owner`` (``metav1.NewControllerRef`` when controller)."""
    m = owner.get("metadata") or {}
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": m.get("name", ""),
        "uid": m.get("uid", ""),
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
    }


def owner_references_of(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    refs = (obj.get("metadata") or {}).get("ownerReferences")
    return [r for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []


def get_controller_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any (``metav1.GetControllerOf``)."""
    for r in owner_references_of(obj):
        if r.get("controller") is True:
            return r
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    """Whether ``obj``'s controller ref points at ``owner`` (by uid)."""
    ref = get_controller_of(obj)
    return ref is not None and bool(ref.get("uid")) and ref.get("uid") == uid_of(owner)


# -- conditions --------------------------------------------------------------------------------------

def get_condition(obj: Mapping[str, Any], ctype: str) -> dict[str, Any] | None:
    conds = (obj.get("status") or {}).get("conditions")
    if isinstance(conds, list):
        for c in conds:
            if isinstance(c, dict) and c.get("type") == ctype:
                return c
    return None


def condition_true(obj: Mapping[str, Any], ctype: str) -> bool:
    c = get_condition(obj, ctype)
    return c is not None and c.get("status") == "True"


# -- pods ---------------------------------------------------------------------------------------------

def pod_is_ready(pod: Mapping[str, Any]) -> bool:
    """The pod's ``Ready`` condition is ``True``."""
    return condition_true(pod, "Ready")


def pod_is_terminating(pod: Mapping[str, Any]) -> bool:
    """``metadata.deletionTimestamp`` is set."""
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def pod_is_terminal(pod: Mapping[str, Any]) -> bool:
    """Phase ``Succeeded`` or ``Failed``."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_is_active(pod: Mapping[str, Any]) -> bool:
    """Counted by the ReplicaSet controller (``controller.IsPodActive``): not terminal and not
    being deleted."""
    return not pod_is_terminal(pod) and not pod_is_terminating(pod)


def pod_is_available(pod: Mapping[str, Any], min_ready_seconds: float, now: float) -> bool:
    """``podutil.IsPodAvailable``: ready for at least ``min_ready_seconds``."""
    c = get_condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    ltt = c.get("lastTransitionTime")
    if not ltt:
        return False
    try:
        since = parse_time(str(ltt))
    except ValueError:
        return False
    return since + min_ready_seconds <= now


def _containers(pod: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    cs = (pod.get("spec") or {}).get(field)
    return [c for c in cs if isinstance(c, dict)] if isinstance(cs, list) else []


def _amount(name: str, q: Any) -> int:
    return cpu_millis(q) if name == "cpu" else value(q)


def _container_requests(c: Mapping[str, Any], non_zero: bool) -> dict[str, int]:
    res = c.get("resources") or {}
    req = res.get("requests") or {}
    out: dict[str, int] = {}
    for name, q in req.items():
        try:
            out[str(name)] = _amount(str(name), q)
        except ValueError:
            continue
    if non_zero:
        if not out.get("cpu"):
            out["cpu"] = DEFAULT_MILLI_CPU_REQUEST
        if not out.get("memory"):
            out["memory"] = DEFAULT_MEMORY_REQUEST
    return out


def _add(a: dict[str, int], b: Mapping[str, int]) -> None:
    for k, v in b.items():
        a[k] = a.get(k, 0) + v


def _max(a: dict[str, int], b: Mapping[str, int]) -> None:
    for k, v in b.items():
        if v > a.get(k, 0):
            a[k] = v


def pod_requests(pod: Mapping[str, Any], non_zero: bool = False) -> dict[str, int]:
    """Resources the scheduler accounts for a pod (``resource.PodRequests``).

    ``cpu`` in millicores, ``memory`` (and every other resource) as an integer
    (``Quantity.Value()``).  App containers are summed; each init container is compared with
    that sum (an init container runs alone, plus the sidecars started before it); sidecars
    (init containers with ``restartPolicy: Always``) add to the sum; ``spec.overhead`` is
    added.  ``non_zero`` substitutes the scheduler's scoring defaults (100m cpu, 200Mi memory)
    for containers that request none.
    """
    reqs: dict[str, int] = {"cpu": 0, "memory": 0}
    for c in _containers(pod, "containers"):
        _add(reqs, _container_requests(c, non_zero))
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in _containers(pod, "initContainers"):
        cr = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            _add(reqs, cr)
            _add(sidecars, cr)
            _max(init_max, sidecars)
        else:
            tmp = dict(cr)
            _add(tmp, sidecars)
            _max(init_max, tmp)
    _max(reqs, init_max)
    overhead = (pod.get("spec") or {}).get("overhead") or {}
    for name, q in overhead.items():
        try:
            reqs[str(name)] = reqs.get(str(name), 0) + _amount(str(name), q)
        except ValueError:
            continue
    return reqs


def qos_class(pod: Mapping[str, Any]) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort`` (``qos.GetPodQOS``)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for c in _containers(pod, "initContainers") + _containers(pod, "containers"):
        res = c.get("resources") or {}
        for name, q in (res.get("requests") or {}).items():
            if name in ("cpu", "memory"):
                try:
                    v = parse_quantity(q)
                except ValueError:
                    continue
                if v != 0:
                    requests[name] = requests.get(name, 0) + v
        found: set[str] = set()
        for name, q in (res.get("limits") or {}).items():
            if name in ("cpu", "memory"):
                try:
                    v = parse_quantity(q)
                except ValueError:
                    continue
                if v != 0:
                    found.add(name)
                    limits[name] = limits.get(name, 0) + v
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests == limits:
        return "Guaranteed"
    return "Burstable"


# -- taints and tolerations ------------------------------------------------------------------------

def toleration_tolerates_taint(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """``Toleration.ToleratesTaint``: empty effect matches all effects, empty key with
    ``Exists`` matches all keys, ``Equal`` (or empty) compares values."""
    eff = toleration.get("effect") or ""
    if eff and eff != taint.get("effect"):
        return False
    k = toleration.get("key") or ""
    if k and k != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return op == "Exists"


def tolerates(taint: Mapping[str, Any], tolerations: Iterable[Mapping[str, Any]] | None) -> bool:
    """Whether any toleration tolerates the taint."""
    return any(toleration_tolerates_taint(t, taint) for t in (tolerations or ()))


def untolerated_taints(taints: Iterable[Mapping[str, Any]] | None,
                       tolerations: Iterable[Mapping[str, Any]] | None,
                       effects: Iterable[str] = ("NoSchedule", "NoExecute")
                       ) -> list[Mapping[str, Any]]:
    """Taints with one of ``effects`` that no toleration tolerates (the TaintToleration
    filter uses NoSchedule and NoExecute)."""
    effs = set(effects)
    tols = list(tolerations or ())
    return [t for t in (taints or ()) if t.get("effect") in effs and not tolerates(t, tols)]
