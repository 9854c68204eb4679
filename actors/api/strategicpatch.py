"""Strategic merge patch (SMP), applied as kube-apiserver applies it (pure, non-mutating).

kube-apiserver answers ``Content-Type: application/strategic-merge-patch+json`` with
``k8s.io/apimachinery/pkg/util/strategicpatch.StrategicMergeMapPatch`` run on the stored
object's map, the Go struct tags of the kind (``patchStrategy:"merge" patchMergeKey:"name"``)
saying how each list merges.  This module is that, for the kinds kubemu serves.

Public API (stable; ``actors/api/openapi``-style callers rely on it)
-------------------------------------------------------------------

Patch metadata, taken from the Go struct tags of k8s.io/api v1.32 (each tag checked against
``kubectl patch --local`` of kubectl v1.32, which applies SMP with the same compiled-in
types)::

    KINDS: dict[str, str]                       # kind -> OpenAPI definition ("Pod" ->
                                                #   "io.k8s.api.core.v1.Pod")
    patch_meta(kind) -> PatchMeta               # the kind's tree (EMPTY for unknown kinds)
    list_meta(kind, path) -> (strategy, merge_key) | None
    tagged_fields(kind) -> list[(path, strategy, merge_key)]
    definition_meta(definition) -> dict[field, (strategy, merge_key)]
    DEFINITIONS: tuple[str, ...]                # the definitions that have tagged fields

* A **path** is a tuple of JSON field names from the object's root; list elements are
  crossed without an index: ``("spec", "containers", "ports")`` is every container's ports,
  ``("spec", "template", "spec", "volumes")`` a Deployment's pod volumes.
* **strategy** is the Go tag's ``patchStrategy`` verbatim (what OpenAPI's
  ``x-kubernetes-patch-strategy`` carries): ``"merge"``, ``"retainKeys"``,
  ``"merge,retainKeys"`` or ``"replace"``; **merge_key** is ``patchMergeKey``
  (``x-kubernetes-patch-merge-key``), ``""`` when the tag has none (primitive lists such as
  ``metadata.finalizers`` merge as sets).  A field without a tag gives ``None``: lists are
  then atomic (replaced whole), maps merge key by key.  ``list_meta`` answers for any tagged
  field, the one non-list among them being Deployment ``spec.strategy`` (``retainKeys``).
* ``PatchMeta`` is a frozen node: ``strategy``, ``merge_key``, ``definition`` (the OpenAPI
  name of the field's type, element type for lists, ``""`` when not modelled), ``elem``
  (``"struct"``/``"string"`` for list elements) and ``fields`` (its sub-fields that carry
  tags or lead to some); ``node.child(name)`` is ``EMPTY`` for anything else.  Only the
  branches that lead to tags are modelled: everything else has the untagged defaults, which
  is all SMP needs.

The patch::

    strategic_merge_patch(original: dict, patch: dict, kind: str) -> dict

Semantics (upstream's ``mergeMap`` / ``mergeSlice``, read from apimachinery v1.32 and
checked against kubectl): maps merge recursively and ``null`` deletes; a list whose field
has ``patchStrategy: merge`` merges -- lists of maps by the merge key (a patch entry with a
new key is appended, one with a known key is merged into it), lists of scalars as a
de-duplicated union; any other list is replaced.  The result order is upstream's: the
patch's entries in patch order, the server-only entries in their old order, interleaved by
the old order where both sides know it (``normalizeElementOrder`` + ``mergeSortedSlice``,
with Go's ``sort.SliceStable`` reproduced, ties and all).  Directives:

* ``{"$patch": "replace"}`` in a map replaces the map; ``"delete"`` empties it; any other
  value (``"merge"`` included) is ``unknown patch type: merge in map: map[...]``.
* in a merging list, ``{"name": "x", "$patch": "delete"}`` deletes the entries with that
  key, ``{"$patch": "replace"}`` makes the list the patch's other entries,
  ``{"$patch": "merge"}`` is ``merging lists cannot yet be specified in the patch``.
* ``"$retainKeys": [...]`` drops the map's keys not listed (every non-null key the patch
  sets must be listed).
* ``"$setElementOrder/<field>": [...]`` orders the list (what ``kubectl apply`` sends
  beside the changed entries: ``[{"name": "a"}, {"name": "b"}]`` or ``["a", "b"]``).
* ``"$deleteFromPrimitiveList/<field>": [...]`` removes those scalars from the list.
* a value the original lacks (or of another type) is taken from the patch without its
  nulls and without the maps that carry ``$patch`` (upstream ``discardNullValuesFromPatch``
  + ``removeDirectives``).

Errors are the apiserver's (``interpretStrategicMergePatchError``): malformed
``$deleteFromPrimitiveList``/``$setElementOrder``/``$retainKeys`` directives are 400
BadRequest (``invalid patch format of primitive list`` ...), lists of lists 422 (the generic
``unprocessable``), everything else the plain error the handler turns into a 500 with an
empty reason (kubectl prints ``Error from server: map: map[image:x] does not contain
declared merge key: name``).  Messages render values with Go's ``%v`` (``map[k:v]``).

Where this deliberately differs from running upstream on a bare map
-------------------------------------------------------------------

* kube-apiserver decodes the patched map into the kind's Go type, which drops keys the type
  does not have; directive keys a patch leaves behind in newly added values (an appended
  container's ``$setElementOrder/env``, a ``$patch`` entry inside it) are therefore removed
  here too, as the default ``fieldValidation=Warn`` does.  ``kubectl patch --local`` prints
  the bare map and keeps them.
* upstream rejects a field its Go type does not have when both sides hold a map or a list
  there (``unable to find api field in struct ...``); kubemu models only the tagged
  branches, so unknown fields merge with the untagged defaults instead.
* Go's map iteration order is random; keys are processed in patch order here.
"""

from __future__ import annotations

import copy
import decimal
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from actors.api.errors import APIError, bad_request, unprocessable

JSON = Any

__all__ = [
    "KINDS", "DEFINITIONS", "EMPTY", "PatchMeta", "patch_meta", "list_meta", "tagged_fields",
    "definition_meta", "strategic_merge_patch",
]

# ---------------------------------------------------------------------------------------------
# patch metadata
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchMeta:
    """The SMP metadata of one field (for a list: of the list, and of its element's fields)."""

    strategy: str = ""
    merge_key: str = ""
    definition: str = ""
    elem: str = ""
    fields: Mapping[str, "PatchMeta"] = field(default_factory=dict)

    def child(self, name: str) -> "PatchMeta":
        """The sub-field ``name`` (``EMPTY`` when it has no tag and leads to none)."""
        return self.fields.get(name, EMPTY)

    @property
    def patch_strategy(self) -> str:
        """The strategy without ``retainKeys`` (upstream ``extractRetainKeysPatchStrategy``)."""
        parts = [p for p in self.strategy.split(",") if p and p != "retainKeys"]
        return parts[0] if parts else ""

    @property
    def retain_keys(self) -> bool:
        return "retainKeys" in self.strategy.split(",")


EMPTY = PatchMeta()

_META_V1 = "io.k8s.apimachinery.pkg.apis.meta.v1."
_CORE = "io.k8s.api.core.v1."
_APPS = "io.k8s.api.apps.v1."
_OBJECT_META = _META_V1 + "ObjectMeta"

# definition -> field -> (patchStrategy, patchMergeKey, the field's (element) type).  Types are
# OpenAPI definition names, or "string" for lists of strings.  Untagged fields are listed only
# where they lead to a tagged one.
_S = tuple[str, str, str]
_CONTAINER_LISTS: dict[str, _S] = {
    "ports": ("merge", "containerPort", _CORE + "ContainerPort"),
    "env": ("merge", "name", _CORE + "EnvVar"),
    "volumeMounts": ("merge", "mountPath", _CORE + "VolumeMount"),
    "volumeDevices": ("merge", "devicePath", _CORE + "VolumeDevice"),
}
_TABLE: dict[str, dict[str, _S]] = {
    _OBJECT_META: {
        "finalizers": ("merge", "", "string"),
        "ownerReferences": ("merge", "uid", _META_V1 + "OwnerReference"),
    },
    # -- core/v1 ------------------------------------------------------------------------------
    _CORE + "Pod": {
        "metadata": ("", "", _OBJECT_META),
        "spec": ("", "", _CORE + "PodSpec"),
        "status": ("", "", _CORE + "PodStatus"),
    },
    _CORE + "PodTemplateSpec": {
        "metadata": ("", "", _OBJECT_META),
        "spec": ("", "", _CORE + "PodSpec"),
    },
    _CORE + "PodSpec": {
        "volumes": ("merge,retainKeys", "name", _CORE + "Volume"),
        "initContainers": ("merge", "name", _CORE + "Container"),
        "containers": ("merge", "name", _CORE + "Container"),
        "ephemeralContainers": ("merge", "name", _CORE + "EphemeralContainer"),
        "imagePullSecrets": ("merge", "name", _CORE + "LocalObjectReference"),
        "hostAliases": ("merge", "ip", _CORE + "HostAlias"),
        "topologySpreadConstraints": ("merge", "topologyKey", _CORE + "TopologySpreadConstraint"),
        "schedulingGates": ("merge", "name", _CORE + "PodSchedulingGate"),
        "resourceClaims": ("merge,retainKeys", "name", _CORE + "PodResourceClaim"),
    },
    # EphemeralContainer repeats Container's fields and tags (EphemeralContainerCommon)
    _CORE + "Container": _CONTAINER_LISTS,
    _CORE + "EphemeralContainer": _CONTAINER_LISTS,
    _CORE + "PodStatus": {
        "conditions": ("merge", "type", _CORE + "PodCondition"),
        "podIPs": ("merge", "ip", _CORE + "PodIP"),
        "hostIPs": ("merge", "ip", _CORE + "HostIP"),
        "resourceClaimStatuses": ("merge,retainKeys", "name", _CORE + "PodResourceClaimStatus"),
        # atomic lists whose element type has a tagged field (reachable only in OpenAPI)
        "containerStatuses": ("", "", _CORE + "ContainerStatus"),
        "initContainerStatuses": ("", "", _CORE + "ContainerStatus"),
        "ephemeralContainerStatuses": ("", "", _CORE + "ContainerStatus"),
    },
    _CORE + "ContainerStatus": {
        "allocatedResourcesStatus": ("merge", "name", _CORE + "ResourceStatus"),
    },
    _CORE + "Node": {
        "metadata": ("", "", _OBJECT_META),
        "spec": ("", "", _CORE + "NodeSpec"),
        "status": ("", "", _CORE + "NodeStatus"),
    },
    _CORE + "NodeSpec": {
        "podCIDRs": ("merge", "", "string"),
    },
    _CORE + "NodeStatus": {
        "conditions": ("merge", "type", _CORE + "NodeCondition"),
        "addresses": ("merge", "type", _CORE + "NodeAddress"),
    },
    _CORE + "Namespace": {
        "metadata": ("", "", _OBJECT_META),
        "status": ("", "", _CORE + "NamespaceStatus"),
    },
    _CORE + "NamespaceStatus": {
        "conditions": ("merge", "type", _CORE + "NamespaceCondition"),
    },
    _CORE + "Service": {
        "metadata": ("", "", _OBJECT_META),
        "spec": ("", "", _CORE + "ServiceSpec"),
        "status": ("", "", _CORE + "ServiceStatus"),
    },
    _CORE + "ServiceSpec": {
        "ports": ("merge", "port", _CORE + "ServicePort"),
    },
    _CORE + "ServiceStatus": {
        "conditions": ("merge", "type", _META_V1 + "Condition"),
    },
    _CORE + "Endpoints": {"metadata": ("", "", _OBJECT_META)},
    _CORE + "ConfigMap": {"metadata": ("", "", _OBJECT_META)},
    _CORE + "Secret": {"metadata": ("", "", _OBJECT_META)},
    _CORE + "Event": {"metadata": ("", "", _OBJECT_META)},
    # -- apps/v1 ------------------------------------------------------------------------------
    _APPS + "Deployment": {
        "metadata": ("", "", _OBJECT_META),
        "spec": ("", "", _APPS + "DeploymentSpec"),
        "status": ("", "", _APPS + "DeploymentStatus"),
    },
    _APPS + "DeploymentSpec": {
        "template": ("", "", _CORE + "PodTemplateSpec"),
        "strategy": ("retainKeys", "", _APPS + "DeploymentStrategy"),
    },
    _APPS + "DeploymentStatus": {
        "conditions": ("merge", "type", _APPS + "DeploymentCondition"),
    },
    _APPS + "ReplicaSet": {
        "metadata": ("", "", _OBJECT_META),
        "spec": ("", "", _APPS + "ReplicaSetSpec"),
        "status": ("", "", _APPS + "ReplicaSetStatus"),
    },
    _APPS + "ReplicaSetSpec": {
        "template": ("", "", _CORE + "PodTemplateSpec"),
    },
    _APPS + "ReplicaSetStatus": {
        "conditions": ("merge", "type", _APPS + "ReplicaSetCondition"),
    },
    # -- others -------------------------------------------------------------------------------
    "io.k8s.api.coordination.v1.Lease": {"metadata": ("", "", _OBJECT_META)},
    "io.k8s.api.scheduling.v1.PriorityClass": {"metadata": ("", "", _OBJECT_META)},
}

KINDS: dict[str, str] = {
    "Pod": _CORE + "Pod",
    "Node": _CORE + "Node",
    "Namespace": _CORE + "Namespace",
    "Service": _CORE + "Service",
    "Endpoints": _CORE + "Endpoints",
    "ConfigMap": _CORE + "ConfigMap",
    "Secret": _CORE + "Secret",
    "Event": _CORE + "Event",
    "Deployment": _APPS + "Deployment",
    "ReplicaSet": _APPS + "ReplicaSet",
    "Lease": "io.k8s.api.coordination.v1.Lease",
    "PriorityClass": "io.k8s.api.scheduling.v1.PriorityClass",
}

DEFINITIONS: tuple[str, ...] = tuple(d for d, fs in _TABLE.items() if any(s for s, _, _ in fs.values()))


def _build(definition: str) -> PatchMeta:
    fields: dict[str, PatchMeta] = {}
    for name, (strategy, key, typ) in _TABLE.get(definition, {}).items():
        sub = _build(typ) if typ in _TABLE else None
        fields[name] = PatchMeta(strategy=strategy, merge_key=key,
                                 definition="" if typ == "string" else typ,
                                 elem="string" if typ == "string" else "struct",
                                 fields=sub.fields if sub is not None else {})
    return PatchMeta(definition=definition, fields=fields)


_KIND_META: dict[str, PatchMeta] = {kind: _build(d) for kind, d in KINDS.items()}


def patch_meta(kind: str) -> PatchMeta:
    """The patch metadata tree of ``kind`` (``EMPTY`` for a kind kubemu does not model)."""
    return _KIND_META.get(kind, EMPTY)


def list_meta(kind: str, path: Sequence[str]) -> tuple[str, str] | None:
    """``(patchStrategy, patchMergeKey)`` of the field at ``path``, None when untagged."""
    node = patch_meta(kind)
    for name in path:
        node = node.child(name)
        if node is EMPTY:
            return None
    if not node.strategy:
        return None
    return node.strategy, node.merge_key


def tagged_fields(kind: str) -> list[tuple[tuple[str, ...], str, str]]:
    """Every tagged field of ``kind``: ``(path, patchStrategy, patchMergeKey)``, depth first."""
    out: list[tuple[tuple[str, ...], str, str]] = []

    def walk(node: PatchMeta, path: tuple[str, ...]) -> None:
        for name, sub in node.fields.items():
            if sub.strategy:
                out.append((path + (name,), sub.strategy, sub.merge_key))
            walk(sub, path + (name,))

    walk(patch_meta(kind), ())
    return out


def definition_meta(definition: str) -> dict[str, tuple[str, str]]:
    """The tagged fields of one OpenAPI definition (``"io.k8s.api.core.v1.Container"`` ->
    ``{"ports": ("merge", "containerPort"), ...}``), for ``x-kubernetes-patch-*``."""
    return {name: (s, k) for name, (s, k, _) in _TABLE.get(definition, {}).items() if s}


# ---------------------------------------------------------------------------------------------
# errors and Go value rendering
# ---------------------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList"

_ERR_PRIMITIVE = "invalid patch format of primitive list"
_ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_SET_ORDER = "invalid patch format of setElementOrder list"
_ERR_LIST_OF_LISTS = "lists of lists are not supported"


class _SMPError(Exception):
    """A merge failure; ``status`` says how the apiserver reports it."""

    def __init__(self, message: str, status: str = "plain") -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def api_error(self) -> APIError:
        if self.status == "bad_request":
            return bad_request(self.message)
        if self.status == "unprocessable":
            return unprocessable(self.message)
        # a plain Go error: ErrorToAPIStatus makes it a 500 with StatusReasonUnknown ("")
        return APIError({"message": self.message, "code": 500})


def _go_type(v: Any) -> str:
    """The Go type a JSON value decodes to in the apiserver (ints preserved as int64)."""
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    return "<nil>"


def _go_float(f: float) -> str:
    """Go's ``%v`` of a float64 (``strconv.FormatFloat(f, 'g', -1, 64)``)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign = "-" if f < 0 else ""
    tup = decimal.Decimal(repr(abs(f))).normalize().as_tuple()
    digits = "".join(str(d) for d in tup.digits)
    assert isinstance(tup.exponent, int)
    dp = len(digits) + tup.exponent          # value = 0.<digits> * 10**dp
    exp = dp - 1
    if exp < -4 or exp >= 6:                 # shortest: %e when exp < -4 || exp >= 6
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def go_v(v: Any) -> str:
    """Go's ``%v`` of a decoded JSON value: ``map[a:1 b:[x y]]`` (map keys sorted)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_v(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(go_v(x) for x in v) + "]"
    return str(v)


def _go_s(v: Any) -> str:
    """Go's ``%s`` of a decoded JSON scalar (``%!s(int64=1)`` for non-strings)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "%!s(<nil>)"
    if isinstance(v, (dict, list)):
        return go_v(v)
    return f"%!s({_go_type(v)}={go_v(v)})"


def _no_merge_key(m: Mapping[str, Any], key: str) -> _SMPError:
    return _SMPError(f"map: {go_v(m)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual: Any) -> _SMPError:
    got = _go_type(actual)
    return _SMPError(f"expected a {expected}, but received a "
                     f"{'%!s(<nil>)' if got == '<nil>' else got}")


def _bad_patch_type(directive: Any, m: Mapping[str, Any]) -> _SMPError:
    return _SMPError(f"unknown patch type: {_go_s(directive)} in map: {go_v(m)}")


# ---------------------------------------------------------------------------------------------
# Go semantics helpers
# ---------------------------------------------------------------------------------------------

_MAP = "map[string]interface {}"
_SLICE = "[]interface {}"


def _go_eq(a: Any, b: Any) -> bool:
    """Go's ``==`` on two ``interface{}`` values: same dynamic type and equal value."""
    return _go_type(a) == _go_type(b) and bool(a == b)


def _hkey(v: Any) -> Any:
    """A hashable key with Go ``interface{}`` map-key identity (``1 != 1.0 != true``)."""
    if isinstance(v, (dict, list)):
        return (_go_type(v), repr(v))
    return (_go_type(v), v)


def _is_directive_key(k: str) -> bool:
    return k in (_DIRECTIVE, _RETAIN_KEYS) or k.startswith(_SET_ORDER) or \
        k.startswith(_DELETE_PRIMITIVE)


def _go_stable_sort(items: list[Any], less: Callable[[Any, Any], bool]) -> list[Any]:
    """Go's ``sort.SliceStable`` (insertion sort on blocks of 20, then SymMerge), step for
    step: upstream's comparators are not consistent orders, so only the same algorithm gives
    the same result."""
    data = list(items)
    n = len(data)

    def lt(i: int, j: int) -> bool:
        return less(data[i], data[j])

    def swap(i: int, j: int) -> None:
        data[i], data[j] = data[j], data[i]

    def insertion_sort(a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and lt(j, j - 1):
                swap(j, j - 1)
                j -= 1

    def swap_range(a: int, b: int, k: int) -> None:
        for i in range(k):
            swap(a + i, b + i)

    def rotate(a: int, m: int, b: int) -> None:
        i, j = m - a, b - m
        while i != j:
            if i > j:
                swap_range(m - i, m, j)
                i -= j
            else:
                swap_range(m - i, m + j - i, i)
                j -= i
        swap_range(m - i, m, i)

    def sym_merge(a: int, m: int, b: int) -> None:
        if m - a == 1:
            i, j = m, b
            while i < j:
                h = (i + j) // 2
                if lt(h, a):
                    i = h + 1
                else:
                    j = h
            for k in range(a, i - 1):
                swap(k, k + 1)
            return
        if b - m == 1:
            i, j = a, m
            while i < j:
                h = (i + j) // 2
                if not lt(m, h):
                    i = h + 1
                else:
                    j = h
            for k in range(m, i, -1):
                swap(k, k - 1)
            return
        mid = (a + b) // 2
        nn = mid + m
        if m > mid:
            start, r = nn - b, mid
        else:
            start, r = a, m
        p = nn - 1
        while start < r:
            c = (start + r) // 2
            if not lt(p - c, c):
                start = c + 1
            else:
                r = c
        end = nn - start
        if start < m < end:
            rotate(start, m, end)
        if a < start < mid:
            sym_merge(a, start, mid)
        if mid < end < b:
            sym_merge(mid, end, b)

    block = 20
    a, b = 0, block
    while b <= n:
        insertion_sort(a, b)
        a, b = b, b + block
    insertion_sort(a, n)
    while block < n:
        a, b = 0, 2 * block
        while b <= n:
            sym_merge(a, a + block, b)
            a, b = b, b + 2 * block
        m = a + block
        if m < n:
            sym_merge(a, m, n)
        block *= 2
    return data


def _dedupe_scalars(s: list[Any]) -> list[Any]:
    """Upstream ``deduplicateScalars`` (a duplicate is overwritten by the last element)."""
    s = list(s)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if _go_eq(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _slice_element_type(*slices: list[Any]) -> str:
    prev = ""
    for s in slices:
        for v in s:
            t = _go_type(v)
            if not prev:
                prev = t
                if t == _SLICE:
                    raise _SMPError(_ERR_LIST_OF_LISTS, "unprocessable")
            elif prev != t:
                raise _SMPError("list element types are not identical: " + go_v(list(slices)))
    if not prev:
        raise _SMPError("no elements in any of the given slices")
    return prev


def _extract_key(s: str, prefix: str) -> str:
    parts = s.split("/", 1)
    if len(parts) <= 1 or parts[0] != prefix:
        raise _SMPError(_ERR_PRIMITIVE if prefix == _DELETE_PRIMITIVE else _ERR_SET_ORDER,
                        "bad_request")
    return parts[1]


def _find_map(items: list[Any], key: str, value: Any) -> int:
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise _SMPError(f"value for key {i} is not a map")
        if key in v and _go_eq(v[key], value):
            return i
    return -1


def _index(items: list[Any], val: Any, key: str, elem: str) -> int:
    def get(item: Any) -> Any:
        if elem == _MAP:
            return item.get(key) if isinstance(item, dict) else None
        return item

    target = get(val)
    for i, v in enumerate(items):
        if _go_eq(target, get(v)):
            return i
    return -1


def _remove_directives(obj: Any) -> tuple[Any, bool]:
    """Upstream ``removeDirectives``: maps carrying ``$patch`` vanish (from lists too)."""
    if isinstance(obj, dict):
        if _DIRECTIVE in obj:
            return None, False
        for k in list(obj):
            nv, keep = _remove_directives(obj[k])
            if keep:
                obj[k] = nv
            else:
                del obj[k]
        return obj, True
    if isinstance(obj, list):
        out = []
        for v in obj:
            nv, keep = _remove_directives(v)
            if keep:
                out.append(nv)
        return out, True
    return obj, True


def _discard_nulls(v: Any) -> None:
    """Upstream ``discardNullValuesFromPatch``: null members go (null list elements stay)."""
    if isinstance(v, dict):
        for k in list(v):
            if v[k] is None:
                del v[k]
            else:
                _discard_nulls(v[k])
    elif isinstance(v, list):
        for x in v:
            _discard_nulls(x)


def _strip_directive_keys(v: Any) -> Any:
    """Drop directive keys left in the result (the typed decode in the apiserver does)."""
    if isinstance(v, dict):
        return {k: _strip_directive_keys(x) for k, x in v.items() if not _is_directive_key(k)}
    if isinstance(v, list):
        return [_strip_directive_keys(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------
# the merge
# ---------------------------------------------------------------------------------------------


def strategic_merge_patch(original: JSON, patch: JSON, kind: str) -> JSON:
    """Apply the strategic merge patch ``patch`` to a copy of ``original`` (an object of
    ``kind``); raises ``APIError`` as kube-apiserver answers a patch that does not apply."""
    if not isinstance(patch, dict):
        raise bad_request(f"json: cannot unmarshal {_json_kind(patch)} into Go value of type "
                          "map[string]interface {}")
    target: dict[str, Any] = copy.deepcopy(original) if isinstance(original, dict) else {}
    try:
        out = _merge_map(target, copy.deepcopy(patch), patch_meta(kind))
    except _SMPError as e:
        raise e.api_error() from None
    return _strip_directive_keys(out)


def _json_kind(v: Any) -> str:
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "null"


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any],
               meta: PatchMeta) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if _go_eq(directive, "replace"):
            del patch[_DIRECTIVE]
            return patch
        if _go_eq(directive, "delete"):
            return {}
        raise _bad_patch_type(directive, patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_set_element_order(original, patch, meta)

    for key in list(patch):
        pv = patch[key]
        k = key
        is_delete_list = False
        if key.startswith(_DELETE_PRIMITIVE):
            k = _extract_key(key, _DELETE_PRIMITIVE)
            is_delete_list = True
        if pv is None:
            original.pop(k, None)
            continue
        if k not in original or _go_type(original[k]) != _go_type(pv):
            if not is_delete_list:
                _discard_nulls(pv)
                nv, keep = _remove_directives(pv)
                if keep:
                    original[k] = nv
                else:
                    original.pop(k, None)
            continue
        ov = original[k]
        sub = meta.child(k)
        if isinstance(ov, dict):
            original[k] = pv if sub.patch_strategy == "replace" else _merge_map(ov, pv, sub)
        elif isinstance(ov, list):
            original[k] = _merge_slice_handler(ov, pv, sub, is_delete_list)
        else:
            original[k] = pv
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    keys = patch.pop(_RETAIN_KEYS)
    if not isinstance(keys, list):
        raise _SMPError(_ERR_RETAIN_KEYS, "bad_request")
    allowed = {_hkey(k) for k in keys}
    for k, v in patch.items():
        if v is None or k.startswith(_DELETE_PRIMITIVE) or k.startswith(_SET_ORDER):
            continue
        if _hkey(k) not in allowed:
            raise _SMPError(_ERR_RETAIN_KEYS, "bad_request")
    for k in list(original):
        if _hkey(k) not in allowed:
            del original[k]


def _merge_set_element_order(original: dict[str, Any], patch: dict[str, Any],
                             meta: PatchMeta) -> None:
    for key in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type(_SLICE, order)
        okey = _extract_key(key, _SET_ORDER)
        found_o, found_p = okey in original, okey in patch
        ov, pv = original.get(okey), patch.get(okey)
        if found_o and not isinstance(ov, list):
            raise _bad_arg_type(_SLICE, ov)
        if found_p and not isinstance(pv, list):
            raise _bad_arg_type(_SLICE, pv)
        olist: list[Any] = ov if isinstance(ov, list) else []
        plist: list[Any] = pv if isinstance(pv, list) else []
        sub = meta.child(okey)
        mk = sub.merge_key
        _validate_patch_with_set_order(plist, order, mk)
        if found_o and not found_p:
            merged = olist
        elif found_p and not found_o:
            merged = _remove_directives(plist)[0]
        elif found_o and found_p:
            merged = _merge_slice_handler(olist, plist, sub, False)
        else:
            continue
        if mk == "":
            p_items, s_items = _partition_primitives(merged, order)
        else:
            p_items, s_items = _partition_maps(merged, order, mk)
        elem = _slice_element_type(olist, plist)
        original[okey] = _normalize_element_order(p_items, s_items, order, olist, mk, elem)
        patch.pop(okey, None)


def _validate_patch_with_set_order(patch_list: list[Any], order: list[Any], mk: str) -> None:
    if not order or not patch_list:
        return
    non_delete = _extract_to_delete(patch_list)[0] if mk else patch_list
    pi = si = 0
    while pi < len(non_delete) and si < len(order):
        item = non_delete[pi]
        if isinstance(item, dict) and _DIRECTIVE in item:
            pi += 1
            continue
        if _merge_key_value_equal(item, order[si], mk):
            pi += 1
        si += 1
    if pi < len(non_delete) and si >= len(order):
        raise _SMPError(f"The order in patch list:\n{go_v(patch_list)}\n doesn't match "
                        f"{_SET_ORDER} list:\n{go_v(order)}\n")


def _merge_key_value_equal(left: Any, right: Any, mk: str) -> bool:
    if not mk:
        return _go_eq(left, right)
    if not isinstance(left, dict):
        raise _bad_arg_type(_MAP, left)
    if not isinstance(right, dict):
        raise _bad_arg_type(_MAP, right)
    if mk not in left:
        raise _no_merge_key(left, mk)
    if mk not in right:
        raise _no_merge_key(right, mk)
    return _go_eq(left[mk], right[mk])


def _extract_to_delete(items: list[Any]) -> tuple[list[Any], list[Any]]:
    keep: list[Any] = []
    delete: list[Any] = []
    for v in items:
        if not isinstance(v, dict):
            raise _bad_arg_type(_MAP, v)
        if _DIRECTIVE in v and _go_eq(v[_DIRECTIVE], "delete"):
            delete.append(v)
        else:
            keep.append(v)
    return keep, delete


def _merge_slice_handler(original: list[Any], patch: list[Any], meta: PatchMeta,
                         is_delete_list: bool) -> list[Any]:
    # a deletion list is applied whatever the field's strategy (upstream does the same)
    if meta.patch_strategy == "merge" or is_delete_list:
        return _merge_slice(original, patch, meta, is_delete_list)
    return patch


def _merge_slice(original: list[Any], patch: list[Any], meta: PatchMeta,
                 is_delete_list: bool) -> list[Any]:
    if not original and not patch:
        return original
    mk = meta.merge_key
    elem = _slice_element_type(original, patch)
    if elem != _MAP:
        if is_delete_list:
            gone = {_hkey(v) for v in patch}
            return [v for v in original if _hkey(v) not in gone]
        merged = _dedupe_scalars(original + patch)
    else:
        if mk == "":
            raise _SMPError(f"cannot merge lists without merge key for {meta.elem or 'struct'}")
        original, patch = _merge_special_elements(original, patch, mk)
        merged = _merge_plain_elements(original, patch, mk, meta)
    if mk == "":
        p_items, s_items = _partition_primitives(merged, patch)
    else:
        p_items, s_items = _partition_maps(merged, patch, mk)
    return _normalize_element_order(p_items, s_items, patch, original, mk, elem)


def _merge_special_elements(original: list[Any], patch: list[Any],
                            mk: str) -> tuple[list[Any], list[Any]]:
    """``$patch`` entries of a merging list: delete by key, replace the list, or fail."""
    plain: list[Any] = []
    replace = False
    for v in patch:
        if _DIRECTIVE not in v:
            plain.append(v)
            continue
        directive = v[_DIRECTIVE]
        if _go_eq(directive, "delete"):
            if mk not in v:
                raise _no_merge_key(v, mk)
            while (i := _find_map(original, mk, v[mk])) >= 0:
                original = original[:i] + original[i + 1:]
        elif _go_eq(directive, "replace"):
            replace = True
        elif _go_eq(directive, "merge"):
            raise _SMPError("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, v)
    if replace:
        return plain, []
    return original, plain


def _merge_plain_elements(original: list[Any], patch: list[Any], mk: str,
                          meta: PatchMeta) -> list[Any]:
    merged = list(original)
    for v in patch:
        if mk not in v:
            raise _no_merge_key(v, mk)
        i = _find_map(merged, mk, v[mk])
        if i >= 0:
            merged[i] = _merge_map(merged[i], v, meta)
        else:
            merged.append(v)
    return merged


def _partition_primitives(items: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    inside = {_hkey(v) for v in by}
    p_items = [v for v in items if _hkey(v) in inside]
    s_items = [v for v in items if _hkey(v) not in inside]
    return p_items, s_items


def _partition_maps(items: list[Any], by: list[Any], mk: str) -> tuple[list[Any], list[Any]]:
    p_items: list[Any] = []
    s_items: list[Any] = []
    for v in items:
        if not isinstance(v, dict):
            raise _bad_arg_type(_MAP, v)
        if mk not in v:
            raise _no_merge_key(v, mk)
        (p_items if _find_map(by, mk, v[mk]) >= 0 else s_items).append(v)
    return p_items, s_items


def _normalize_element_order(p_items: list[Any], s_items: list[Any], p_order: list[Any],
                             s_order: list[Any], mk: str, elem: str) -> list[Any]:
    """Patch items in patch order, server-only items in server order, then interleaved."""
    p_items = _normalize_slice_order(p_items, p_order, mk, elem)
    s_items = _normalize_slice_order(s_items, s_order, mk, elem)
    return _merge_sorted(s_items, p_items, s_order, mk, elem)


def _normalize_slice_order(items: list[Any], order: list[Any], mk: str, elem: str) -> list[Any]:
    to_delete: list[Any] = []
    if elem == _MAP:
        for lst in (items, order):
            for v in lst:
                if not isinstance(v, dict):
                    raise _bad_arg_type(_MAP, v)
                if mk not in v:
                    raise _no_merge_key(v, mk)
        items, to_delete = _extract_to_delete(items)

    def less(a: Any, b: Any) -> bool:
        ia = _index(order, a, mk, elem)
        if ia >= 0:
            ib = _index(order, b, mk, elem)
            if ib >= 0:
                return ia < ib
        return True

    return _go_stable_sort(items, less) + to_delete


def _merge_sorted(left: list[Any], right: list[Any], order: list[Any], mk: str,
                  elem: str) -> list[Any]:
    """Upstream ``mergeSortedSlice``: server-only items (left) into patch items (right)."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index(order, left[i], mk, elem), _index(order, right[j], mk, elem)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out

